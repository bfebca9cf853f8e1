//! `hookwatch bench`: the load benchmark whose phases and targets docs/performance.md lists. Everything runs on loopback: hookwatch on a
//! fresh database, a no-op sink subscribed to every action, a bare hyper server, and one client
//! that loads each in turn, so the ratios compare like with like. Phases 1–5 run hookwatch in this
//! process; the live phase (6) runs it as a child process, to read its CPU apart.

mod live;
mod load;
pub mod soak;
mod targets;

use crate::api::server::Server;
use crate::config::Config;
use crate::dashboard::app::{App, Outcome};
use crate::dashboard::theme::Theme;
use crate::domain::ids::SubscriptionId;
use crate::domain::model::SubscriptionState;
use crate::wire::SubscriptionInput;
use hdrhistogram::Histogram;
use hyper::StatusCode;
use load::Target;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use targets::SinkLog;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    /// Concurrent client connections (also the sink subscription's in-flight limit)
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Length of each throughput phase, e.g. 10s
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Events per second in the latency phase
    #[arg(long, default_value_t = 1000)]
    pub latency_rate: u64,
    /// Length of the latency phase
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub latency_duration: Duration,
    /// Stored events for the dashboard frame measurement
    #[arg(long, default_value_t = 100_000)]
    pub frame_events: u64,
    /// Stored events for the memory measurement
    #[arg(long, default_value_t = 1_000_000)]
    pub memory_events: u64,
    /// Print one JSON object as the last line
    #[arg(long)]
    pub json: bool,
    /// Instead of the benchmark, a steady load for this long (e.g. 10m), sampling memory and errors
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub soak: Option<Duration>,
    /// Events per second during a soak
    #[arg(long, default_value_t = 500)]
    pub soak_rate: u64,
    /// Database to benchmark: an empty postgres://… database (default: a fresh SQLite file)
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// hookwatch nodes sharing the --db PostgreSQL database; the client spreads its connections
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Only run the bare 202 server on this address until stopped (for outside load generators)
    #[arg(long, value_name = "ADDR")]
    pub serve_bare: Option<std::net::SocketAddr>,
    /// Export the benchmarked servers' traces to this OTLP/HTTP traces URL (what tracing costs)
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
}

/// Serves the bench's bare 202 baseline on `addr` until the process is stopped.
pub async fn serve_bare(addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let bound = targets::start_on(addr, StatusCode::ACCEPTED, None).await?;
    eprintln!("bare 202 server on http://{bound}");
    crate::domain::signals::termination().await;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct BenchReport {
    pub cores: usize,
    pub concurrency: usize,
    /// "sqlite" or "postgres".
    pub storage: String,
    pub nodes: usize,
    pub ingest_per_s: f64,
    pub bare_ingest_per_s: f64,
    pub ingest_ratio: f64,
    pub ingest_errors: u64,
    pub deliveries: u64,
    pub delivery_per_s: f64,
    pub bare_delivery_per_s: f64,
    pub delivery_ratio: f64,
    pub latency_events: u64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub latency_max_ms: f64,
    pub frame_ms: f64,
    pub frame_events: u64,
    pub rss_mib: f64,
    pub memory_events: u64,
    /// Ingest and delivery at once, `hookwatch serve` as a child process: events per second both
    /// acknowledged and delivered, against the bare 202 server of this run.
    pub live_per_s: f64,
    pub live_ratio: f64,
    pub live_cpu_us_per_event: f64,
    /// Ingest request → the sink's arrival, under that load.
    pub live_p99_ms: f64,
    pub live_ingest_p99_ms: f64,
    pub live_events: u64,
    /// Acknowledged in the live phase and not delivered within a minute of its end.
    pub live_undelivered: u64,
    pub passed: bool,
}

/// The targets of docs/performance.md, and the live phase's.
const TARGETS: Targets = Targets {
    ingest_ratio: 0.5,
    delivery_ratio: 0.5,
    latency_p99_ms: 10.0,
    frame_ms: 2.0,
    rss_mib: 200.0,
    live_ratio: 0.25,
    live_cpu_us_per_event: 100.0,
};

struct Targets {
    ingest_ratio: f64,
    delivery_ratio: f64,
    latency_p99_ms: f64,
    frame_ms: f64,
    rss_mib: f64,
    live_ratio: f64,
    live_cpu_us_per_event: f64,
}

fn step(n: usize, text: &str) {
    eprintln!("▸ [{n}/6] {text} (resident now {:.0} MiB)", rss_mib("VmRSS:"));
}

pub async fn run(opts: &BenchOptions) -> anyhow::Result<BenchReport> {
    let dir = tempfile::tempdir()?;
    let sink_log = Arc::new(SinkLog::default());
    let sink = targets::start(StatusCode::OK, Some(sink_log.clone())).await?;
    let bare = targets::start(StatusCode::ACCEPTED, None).await?;
    let db = match &opts.db {
        Some(url) => url.clone(),
        None => dir.path().join("bench.db").to_string_lossy().into_owned(),
    };
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        db,
        allow_private: true,
        max_backlog: 10_000_000,
        admin_token: Some("bench-admin".into()),
        ingest_token: Some("bench-ingest".into()),
        viewer_token: Some("bench-viewer".into()),
        extra_actions: vec!["bench.fill".into()],
        otlp_endpoint: opts.otlp_endpoint.clone(),
        ..Config::default()
    };
    let postgres = crate::store::Database::parse(&config.db).sqlite_path().is_none();
    anyhow::ensure!(opts.nodes >= 1, "--nodes must be at least 1");
    anyhow::ensure!(opts.nodes == 1 || postgres, "--nodes {} needs a shared database: --db postgres://…", opts.nodes);
    let mut servers = Vec::with_capacity(opts.nodes);
    for _ in 0..opts.nodes {
        servers.push(Server::start(config.clone()).await?);
    }
    let engine = servers[0].engine.clone();
    let engines: Vec<_> = servers.iter().map(|s| s.engine.clone()).collect();
    let stored = engine.count_events().await?;
    anyhow::ensure!(stored == 0, "the bench needs an empty database, and this one holds {stored} events");
    let (sub, _) = engine
        .create_subscription(
            &SubscriptionInput {
                name: Some("bench-sink".into()),
                url: Some(format!("http://{sink}/hook")),
                actions: Some(vec!["card.*".into(), "user.*".into()]),
                max_in_flight: u32::try_from(opts.concurrency.clamp(1, 256)).ok(),
                ..Default::default()
            },
            crate::domain::model::Actor::Local,
        )
        .await?;
    let mut report = BenchReport {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        concurrency: opts.concurrency,
        storage: if postgres { "postgres" } else { "sqlite" }.into(),
        nodes: opts.nodes,
        ..Default::default()
    };
    // Every node runs the subscription, so each holds and drains its own share.
    let every = |state| set_state_everywhere(&engines, &sub.id, state);
    let client = load::client(opts.concurrency);
    let body = load::Payload::Same(bytes::Bytes::from(crate::domain::catalog::card_move().to_string()));
    let secs = opts.duration.as_secs_f64();

    // 1. Ingest: durable 202s against hookwatch, then the bare server, same client and body.
    //    Deliveries are held (subscription paused) so this phase measures the ingest path alone.
    every(SubscriptionState::Paused).await?;
    step(1, &format!("ingest: hookwatch, then a bare hyper server, {secs:.0} s each"));
    let urls: Vec<String> = servers.iter().map(|s| format!("http://{}/v1/events", s.addr)).collect();
    let url = urls[0].clone();
    let (c, d) = (opts.concurrency, opts.duration);
    let ingest = Target { urls: &urls, token: Some("bench-ingest"), expect: 202 };
    let hw = load::flood_apart(&ingest, body.clone(), c, d).await;
    let bare_url = [format!("http://{bare}/")];
    let base = load::flood_apart(&Target { urls: &bare_url, token: None, expect: 202 }, body.clone(), c, d).await;
    report.ingest_per_s = hw.per_second();
    report.bare_ingest_per_s = base.per_second();
    report.ingest_ratio = report.ingest_per_s / report.bare_ingest_per_s.max(1e-9);
    report.ingest_errors = hw.failed;

    // 2. Delivery: release the backlog the ingest phase built and time how fast it drains,
    //    then the client's own rate to the same sink with the same concurrency.
    report.deliveries = hw.ok;
    step(2, &format!("delivery: draining {} queued deliveries, then the client's bare rate to the sink", hw.ok));
    let before = sink_log.received.load(Ordering::Relaxed);
    let started = Instant::now();
    every(SubscriptionState::Active).await?;
    let drain_deadline = started + Duration::from_secs(300);
    while sink_log.received.load(Ordering::Relaxed) < before + hw.ok && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let delivered = sink_log.received.load(Ordering::Relaxed) - before;
    report.delivery_per_s = delivered as f64 / started.elapsed().as_secs_f64();
    let sink_url = [format!("http://{sink}/hook")];
    let direct = load::flood_apart(&Target { urls: &sink_url, token: None, expect: 200 }, body.clone(), c, d).await;
    report.bare_delivery_per_s = direct.per_second();
    report.delivery_ratio = report.delivery_per_s / report.bare_delivery_per_s.max(1e-9);
    // Let in-flight attempt records settle before the latency run.
    while engines.iter().any(|e| e.backlog() > 0) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // 3. Latency: a steady rate; from the moment the ingest request starts to the sink's arrival.
    step(3, &format!("latency: {} events/s for {:.0} s", opts.latency_rate, opts.latency_duration.as_secs_f64()));
    let (p50, p99, max, n) = latency(&client, &url, &sink_log, opts.latency_rate, opts.latency_duration).await?;
    (report.latency_p50_ms, report.latency_p99_ms, report.latency_max_ms, report.latency_events) = (p50, p99, max, n);

    // 4. Dashboard: one 200x50 frame with at least `frame_events` stored.
    step(4, &format!("dashboard: rendering 200x50 frames over {} stored events", opts.frame_events));
    fill(&engine, opts.frame_events).await?;
    report.frame_events = engine.count_events().await?;
    report.frame_ms = frame_time(&engine).await?;

    // 5. Memory: peak resident size once `memory_events` are stored.
    step(5, &format!("memory: storing {} events, reading the peak resident size", opts.memory_events));
    fill(&engine, opts.memory_events).await?;
    report.memory_events = engine.count_events().await?;
    report.rss_mib = rss_mib("VmHWM:");

    for server in servers {
        server.shutdown().await?;
    }

    // 6. Live: ingest and delivery at once, hookwatch as a child process (SQLite: a fresh file;
    //    PostgreSQL: the same database, the earlier phases' subscription removed).
    step(6, &format!("live: ingest while delivering, hookwatch serve as a child process, {secs:.0} s"));
    let live_db = if postgres { config.db.clone() } else { dir.path().join("live.db").to_string_lossy().into_owned() };
    let live = live::run(&live_db, sink, &sink_log, c, d, opts.otlp_endpoint.as_deref()).await?;
    report.live_per_s = live.per_s;
    report.live_ratio = live.per_s / report.bare_ingest_per_s.max(1e-9);
    report.live_cpu_us_per_event = live.cpu_us_per_event;
    report.live_p99_ms = live.delivery_p99_ms;
    report.live_ingest_p99_ms = live.ingest_p99_ms;
    report.live_events = live.acknowledged;
    report.live_undelivered = live.undelivered;

    let t = &TARGETS;
    report.passed = report.ingest_ratio >= t.ingest_ratio
        && report.delivery_ratio >= t.delivery_ratio
        && report.latency_p99_ms < t.latency_p99_ms
        && report.frame_ms < t.frame_ms
        && report.rss_mib < t.rss_mib
        && report.live_ratio >= t.live_ratio
        && report.live_cpu_us_per_event <= t.live_cpu_us_per_event
        && report.live_undelivered == 0;
    Ok(report)
}

/// Pauses or resumes the subscription on every node at once, rather than waiting for the other
/// nodes to notice the change, so each phase starts everywhere together.
async fn set_state_everywhere(
    engines: &[Arc<crate::engine::Engine>],
    id: &SubscriptionId,
    state: SubscriptionState,
) -> anyhow::Result<()> {
    for engine in engines {
        let deadline = Instant::now() + Duration::from_secs(10);
        // A node that has not yet seen the new subscription learns of it within a cluster tick.
        while engine.subscription(id).is_err() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        engine.set_state(id, state, crate::domain::model::Actor::Local).await?;
    }
    Ok(())
}

async fn latency(
    client: &reqwest::Client,
    url: &str,
    sink: &SinkLog,
    rate: u64,
    duration: Duration,
) -> anyhow::Result<(f64, f64, f64, u64)> {
    sink.arrivals.lock().await.clear();
    sink.track.store(true, Ordering::Relaxed);
    let total = u64::try_from(u128::from(rate) * duration.as_millis() / 1000).unwrap_or(u64::MAX);
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let start = tokio::time::Instant::now();
    let capacity = usize::try_from(total).unwrap_or(0);
    let mut sent = Vec::with_capacity(capacity);
    let mut tasks = Vec::with_capacity(capacity);
    let numbered = load::Payload::Numbered(crate::domain::catalog::card_move());
    for seq in 0..total {
        tokio::time::sleep_until(start + interval.saturating_mul(u32::try_from(seq).unwrap_or(u32::MAX))).await;
        let payload = numbered.body(seq);
        let (client, url) = (client.clone(), url.to_string());
        sent.push(Instant::now());
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth("bench-ingest")
                .header("content-type", "application/json")
                .body(payload)
                .send()
                .await
                .map(|r| r.status().as_u16() == 202)
                .unwrap_or(false)
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while (sink.arrivals.lock().await.len() as u64) < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sink.track.store(false, Ordering::Relaxed);
    arrivals_since_sent(|seq| usize::try_from(seq).ok().and_then(|i| sent.get(i)).copied(), sink).await
}

/// From each numbered request's sending to its first arrival at the sink: (p50, p99, max) in ms,
/// and how many arrived.
async fn arrivals_since_sent(
    sent: impl Fn(u64) -> Option<Instant>,
    sink: &SinkLog,
) -> anyhow::Result<(f64, f64, f64, u64)> {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut seen = std::collections::HashSet::new();
    for (seq, at) in sink.arrivals.lock().await.iter() {
        if let Some(start) = sent(*seq)
            && seen.insert(*seq)
        {
            hist.saturating_record(u64::try_from(at.saturating_duration_since(start).as_micros()).unwrap_or(u64::MAX));
        }
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Ok((ms(0.5), ms(0.99), hist.max() as f64 / 1000.0, hist.len()))
}

/// Stores events that no subscription matches until `target` are stored, through the engine's
/// ingest (validation, group commit) without HTTP, from many tasks at once.
async fn fill(engine: &Arc<crate::engine::Engine>, target: u64) -> anyhow::Result<()> {
    let have = engine.count_events().await?;
    if have >= target {
        return Ok(());
    }
    let remaining = Arc::new(std::sync::atomic::AtomicI64::new(i64::try_from(target - have).unwrap_or(i64::MAX)));
    let body = bytes::Bytes::from_static(br#"{"data":{"action":"bench.fill","card":{"id":1,"pipe_id":"bench"}}}"#);
    let workers: Vec<_> = (0..256)
        .map(|_| {
            let (engine, remaining, body) = (engine.clone(), remaining.clone(), body.clone());
            tokio::spawn(async move {
                while remaining.fetch_sub(1, Ordering::Relaxed) > 0 {
                    if let Err(e) = engine.ingest(body.clone(), None).await {
                        return Err(anyhow::anyhow!("filling the store failed: {e}"));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.await??;
    }
    Ok(())
}

/// The median time to draw one 200x50 frame of the real dashboard over the engine's data.
async fn frame_time(engine: &Arc<crate::engine::Engine>) -> anyhow::Result<f64> {
    let mut app = App::new("bench".into());
    app.now = crate::domain::model::now_ms();
    app.apply_outcome(Outcome::Stats(Box::new(engine.stats())));
    app.apply_outcome(Outcome::Subscriptions(engine.subscriptions().iter().map(|s| (**s).clone()).collect()));
    let query = App::stream_query();
    let list = engine.list_events(query.clone()).await?;
    app.apply_outcome(Outcome::Events { query, list });
    let theme = Theme::named(crate::config::ThemeName::Default);
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(200, 50))?;
    let mut times = Vec::with_capacity(200);
    for _ in 0..200 {
        let t = Instant::now();
        terminal.draw(|f| crate::dashboard::view::draw(f, &app, &theme))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// A size line of /proc/self/status (`VmRSS:` now, `VmHWM:` at the peak), in MiB.
fn rss_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn mark(ok: bool) -> &'static str {
    if ok { "✓" } else { "✗" }
}

/// A ratio row: hookwatch's rate against the baseline's, with the target ratio.
fn ratio_row(name: &str, ours: f64, baseline: f64, ratio: f64, target: f64) -> String {
    format!("{name:<34}{ours:>12.0}{baseline:>12.0}{ratio:>8.2}   ≥ {target:.2} {}", mark(ratio >= target))
}

/// An upper-bound row: a value that must stay below `limit`.
fn limit_row(name: &str, value: f64, decimals: usize, limit: f64) -> String {
    format!("{name:<34}{value:>12.decimals$}{:>32} {}", format!("< {limit:.0}"), mark(value < limit))
}

pub fn table(r: &BenchReport) -> String {
    let t = &TARGETS;
    let rows = [
        ratio_row("ingest, durable 202/s", r.ingest_per_s, r.bare_ingest_per_s, r.ingest_ratio, t.ingest_ratio),
        ratio_row(
            "delivery, requests/s to the sink",
            r.delivery_per_s,
            r.bare_delivery_per_s,
            r.delivery_ratio,
            t.delivery_ratio,
        ),
        format!("{:<34}{:>12.2}", "ingest → first attempt p50, ms", r.latency_p50_ms),
        limit_row("ingest → first attempt p99, ms", r.latency_p99_ms, 2, t.latency_p99_ms),
        limit_row(&format!("frame 200x50 ({}k events), ms", r.frame_events / 1000), r.frame_ms, 3, t.frame_ms),
        limit_row(&format!("peak RSS ({}k events), MiB", r.memory_events / 1000), r.rss_mib, 1, t.rss_mib),
        ratio_row("live, ingested + delivered/s", r.live_per_s, r.bare_ingest_per_s, r.live_ratio, t.live_ratio),
        format!(
            "{:<34}{:>12.0}{:>32} {}",
            "live, hookwatch CPU µs/event",
            r.live_cpu_us_per_event,
            format!("≤ {:.0}", t.live_cpu_us_per_event),
            mark(r.live_cpu_us_per_event <= t.live_cpu_us_per_event)
        ),
        format!("{:<34}{:>12.2}", "live, ingest answer p99, ms", r.live_ingest_p99_ms),
        format!("{:<34}{:>12.2}", "live, ingest → delivery p99, ms", r.live_p99_ms),
        format!(
            "{:<34}{:>12}{:>32} {}",
            format!("live, undelivered of {}k", r.live_events / 1000),
            r.live_undelivered,
            "= 0",
            mark(r.live_undelivered == 0)
        ),
    ];
    format!(
        "hookwatch bench · {} cores · {} connections · {} · {} node(s) · latency over {} events\n{:<34}{:>12}{:>12}{:>8}   target\n{}\n{}",
        r.cores,
        r.concurrency,
        r.storage,
        r.nodes,
        r.latency_events,
        "metric",
        "hookwatch",
        "baseline",
        "ratio",
        rows.join("\n"),
        if r.passed { "all targets met" } else { "some targets missed" }
    )
}
