//! `hookwatch bench --soak 10m`: a steady load for a long time, sampling memory, errors and backlog,
//! to show that nothing grows that should not.

use super::targets::{self, SinkLog};
use crate::api::server::Server;
use crate::config::Config;
use crate::wire::SubscriptionInput;
use hyper::StatusCode;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub at_s: u64,
    pub rss_mib: f64,
    pub accepted: u64,
    pub refused: u64,
    pub delivered: u64,
    pub backlog: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub rate: u64,
    pub samples: Vec<Sample>,
    /// Largest resident size in the first and in the last third of the run (after warm-up).
    pub rss_early_mib: f64,
    pub rss_late_mib: f64,
    pub refused: u64,
    pub final_backlog: u64,
    pub flat_memory: bool,
    pub passed: bool,
}

pub async fn run(duration: Duration, rate: u64, every: Duration) -> anyhow::Result<SoakReport> {
    let dir = tempfile::tempdir()?;
    let sink_log = Arc::new(SinkLog::default());
    let sink = targets::start(StatusCode::OK, Some(sink_log.clone())).await?;
    let config = Config {
        listen: "127.0.0.1:0".parse()?,
        db: dir.path().join("soak.db").to_string_lossy().into_owned(),
        allow_private: true,
        admin_token: Some("soak-admin".into()),
        ingest_token: Some("soak-ingest".into()),
        viewer_token: Some("soak-viewer".into()),
        ..Config::default()
    };
    let server = Server::start(config).await?;
    server
        .engine
        .create_subscription(
            &SubscriptionInput {
                name: Some("soak-sink".into()),
                url: Some(format!("http://{sink}/hook")),
                actions: Some(vec!["*".into()]),
                ..Default::default()
            },
            crate::domain::model::Actor::Local,
        )
        .await?;
    let url = format!("http://{}/v1/events", server.addr);
    let client = super::load::client(64);
    let (accepted, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let start = Instant::now();
    let generator = {
        let (accepted, refused) = (accepted.clone(), refused.clone());
        tokio::spawn(async move {
            let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
            let mut n = 0u64;
            let t0 = tokio::time::Instant::now();
            while t0.elapsed() < duration {
                tokio::time::sleep_until(t0 + interval.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))).await;
                n += 1;
                let body = crate::tools::demo::realistic(usize::try_from(n).unwrap_or(usize::MAX), &mut rand::rng())
                    .to_string();
                let (client, url, accepted, refused) = (client.clone(), url.clone(), accepted.clone(), refused.clone());
                tokio::spawn(async move {
                    let sent = client
                        .post(url)
                        .bearer_auth("soak-ingest")
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().as_u16() == 202 => accepted.fetch_add(1, Ordering::Relaxed),
                        _ => refused.fetch_add(1, Ordering::Relaxed),
                    };
                });
            }
        })
    };
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    while start.elapsed() < duration {
        tick.tick().await;
        let sample = Sample {
            at_s: start.elapsed().as_secs(),
            rss_mib: super::rss_mib("VmRSS:"),
            accepted: accepted.load(Ordering::Relaxed),
            refused: refused.load(Ordering::Relaxed),
            delivered: sink_log.received.load(Ordering::Relaxed),
            backlog: server.engine.backlog() as u64,
        };
        eprintln!(
            "  {:>5}s  rss {:>6.1} MiB  accepted {:>8}  refused {:>4}  delivered {:>8}  backlog {:>5}",
            sample.at_s, sample.rss_mib, sample.accepted, sample.refused, sample.delivered, sample.backlog
        );
        samples.push(sample);
    }
    let _ = generator.await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let final_backlog = server.engine.backlog() as u64;
    server.shutdown().await?;
    // The first sixth is warm-up (caches, pools); then compare the early and late thirds.
    let n = samples.len();
    let peak = |s: &[Sample]| s.iter().map(|x| x.rss_mib).fold(0.0, f64::max);
    let (early, late) = if n >= 6 {
        (peak(&samples[n / 6..n / 2]), peak(&samples[n * 2 / 3..]))
    } else {
        (peak(&samples), peak(&samples))
    };
    let flat_memory = late <= early * 1.2 + 8.0;
    let refused = refused.load(Ordering::Relaxed);
    Ok(SoakReport {
        rate,
        samples,
        rss_early_mib: early,
        rss_late_mib: late,
        refused,
        final_backlog,
        flat_memory,
        passed: flat_memory && refused == 0 && final_backlog < rate * 2,
    })
}

pub fn summary(r: &SoakReport) -> String {
    let verdict = if r.passed { "steady: memory flat, no refusals, backlog drained" } else { "NOT steady" };
    format!(
        "soak at {} events/s over {} s: resident {:.1} MiB early, {:.1} MiB late ({}), {} refused, backlog at the end {}\n{verdict}",
        r.rate,
        r.samples.last().map_or(0, |s| s.at_s),
        r.rss_early_mib,
        r.rss_late_mib,
        if r.flat_memory { "flat" } else { "GROWING" },
        r.refused,
        r.final_backlog,
    )
}
