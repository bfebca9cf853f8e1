//! The live phase: closed-loop ingest at `--concurrency` while every event is delivered to the
//! no-op sink, as in production. hookwatch runs as a child process (`hookwatch serve`), so its
//! CPU is read from /proc apart from the client's and the sink's, which share the bench process.

use super::load::{self, Payload, Target};
use super::targets::SinkLog;
use serde_json::json;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const ADMIN: &str = "bench-admin";
const INGEST: &str = "bench-ingest";
/// The kernel's USER_HZ: /proc reports CPU time in ticks of 1/100 s on every Linux ABI.
const TICKS_PER_S: f64 = 100.0;
/// Load before the measurement, so connections, caches and the WAL are in their steady state.
const WARM_UP: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct Live {
    /// Events acknowledged (202) during the measured flood.
    pub acknowledged: u64,
    /// Of those, how many the sink had not received when the drain deadline passed.
    pub undelivered: u64,
    /// Acknowledged events per second, from the flood's start until the last was delivered.
    pub per_s: f64,
    pub ingest_p99_ms: f64,
    /// From the ingest request's start to the sink's arrival.
    pub delivery_p99_ms: f64,
    /// hookwatch's CPU time (user + system, every thread) per acknowledged event.
    pub cpu_us_per_event: f64,
}

/// Runs `hookwatch serve` on `db` (exporting its traces to `otlp_endpoint`, if given), subscribes
/// the sink, and measures ingest and delivery at once.
pub async fn run(
    db: &str,
    sink: SocketAddr,
    sink_log: &SinkLog,
    concurrency: usize,
    duration: Duration,
    otlp_endpoint: Option<&str>,
) -> anyhow::Result<Live> {
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
        probe.local_addr()?
    };
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--listen", &addr.to_string(), "--db", db, "--allow-private", "--max-backlog", "10000000"])
        .args(otlp_endpoint.map(|url| ["--otlp-endpoint", url]).into_iter().flatten())
        .env("HOOKWATCH_ADMIN_TOKEN", ADMIN)
        .env("HOOKWATCH_INGEST_TOKEN", INGEST)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or_else(|| anyhow::anyhow!("the hookwatch child exited at once"))?;
    let base = format!("http://{addr}");
    let http = load::client(concurrency);
    ready(&http, &base).await?;
    subscribe_only(&http, &base, sink, concurrency).await?;

    let urls = [format!("{base}/v1/events")];
    let ingest = Target { urls: &urls, token: Some(INGEST), expect: 202 };
    let same = Payload::Same(bytes::Bytes::from(crate::domain::catalog::card_move().to_string()));
    let before_warm = sink_log.received.load(Ordering::Relaxed);
    let warm = load::flood_apart(&ingest, same, concurrency, WARM_UP).await;
    drain(sink_log, before_warm, warm.ok, Duration::from_secs(30)).await;

    sink_log.arrivals.lock().await.clear();
    sink_log.track.store(true, Ordering::Relaxed);
    let received_before = sink_log.received.load(Ordering::Relaxed);
    let cpu_before = cpu_seconds(pid)?;
    let started = Instant::now();
    let flood =
        load::flood_apart(&ingest, Payload::Numbered(crate::domain::catalog::card_move()), concurrency, duration).await;
    drain(sink_log, received_before, flood.ok, Duration::from_secs(60)).await;
    let elapsed = started.elapsed();
    let cpu = cpu_seconds(pid)? - cpu_before;
    sink_log.track.store(false, Ordering::Relaxed);

    let sent: std::collections::HashMap<u64, Instant> = flood.sent.iter().copied().collect();
    // Delivered: the acknowledged events the sink saw, each counted once (a redelivery or a
    // retry that also arrived does not make up for one that did not).
    let (_, delivery_p99_ms, _, delivered) =
        super::arrivals_since_sent(|seq| sent.get(&seq).copied(), sink_log).await?;
    let _ = child.start_kill();
    let _ = child.wait().await;
    Ok(Live {
        acknowledged: flood.ok,
        undelivered: flood.ok.saturating_sub(delivered),
        per_s: flood.ok as f64 / elapsed.as_secs_f64().max(1e-9),
        ingest_p99_ms: flood.answer_p99_ms,
        delivery_p99_ms,
        cpu_us_per_event: cpu * 1e6 / flood.ok.max(1) as f64,
    })
}

/// Waits for the child's `/healthz`.
async fn ready(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match http.get(format!("{base}/healthz")).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            _ if Instant::now() > deadline => anyhow::bail!("hookwatch serve did not answer /healthz within 30 s"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// The sink, subscribed to every card event, as the only subscription (a PostgreSQL database the
/// earlier phases used still holds theirs).
async fn subscribe_only(
    http: &reqwest::Client,
    base: &str,
    sink: SocketAddr,
    concurrency: usize,
) -> anyhow::Result<()> {
    // The list is read a page at a time: each round deletes the first page, until none is left.
    loop {
        let listed = http
            .get(format!("{base}/v1/subscriptions?limit=500"))
            .bearer_auth(ADMIN)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let listed: serde_json::Value = serde_json::from_slice(&listed)?;
        let ids: Vec<&str> = listed["data"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str()).collect();
        if ids.is_empty() {
            break;
        }
        for id in ids {
            http.delete(format!("{base}/v1/subscriptions/{id}")).bearer_auth(ADMIN).send().await?.error_for_status()?;
        }
    }
    let body = json!({"name": "bench-sink", "url": format!("http://{sink}/hook"), "actions": ["card.*"],
        "max_in_flight": concurrency.clamp(1, 256)});
    http.post(format!("{base}/v1/subscriptions"))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Waits until the sink received `expected` more than `before`, or `within` passes.
async fn drain(sink: &SinkLog, before: u64, expected: u64, within: Duration) {
    let deadline = Instant::now() + within;
    while sink.received.load(Ordering::Relaxed).saturating_sub(before) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// User + system CPU time of every thread of `pid`, from /proc/<pid>/stat.
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces), from the state (field 3) on.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => Ok((user + system) / TICKS_PER_S),
        _ => anyhow::bail!("/proc/{pid}/stat has no CPU times"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_a_process_cpu_time() {
        let spent = super::cpu_seconds(std::process::id()).unwrap();
        assert!(spent >= 0.0);
        assert!(super::cpu_seconds(u32::MAX).is_err(), "no such process");
    }
}
