//! The bench's client: keep-alive connections, a fixed number of workers, one body (or one
//! numbered payload per request).

use bytes::Bytes;
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
    /// How long the accepted requests took to be answered, 99th percentile.
    pub answer_p99_ms: f64,
    /// (sequence number, when it was sent) of every accepted numbered request.
    pub sent: Vec<(u64, Instant)>,
}

/// What a flood posts: the same body every time, or a payload whose card title carries each
/// request's sequence number (`bench-<n>`, what the sink reads), so its arrival can be timed.
#[derive(Debug, Clone)]
pub enum Payload {
    Same(Bytes),
    Numbered(serde_json::Value),
}

impl Payload {
    pub fn body(&self, seq: u64) -> Bytes {
        match self {
            Payload::Same(body) => body.clone(),
            Payload::Numbered(template) => {
                let mut payload = template.clone();
                payload["data"]["card"]["title"] = format!("bench-{seq}").into();
                Bytes::from(payload.to_string())
            }
        }
    }
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

pub fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(concurrency).tcp_nodelay(true).build().unwrap_or_default()
}

/// Where a flood goes and what counts as answered.
pub struct Target<'a> {
    /// Worker `i` posts to `urls[i % urls.len()]`: several nodes share the load evenly.
    pub urls: &'a [String],
    pub token: Option<&'a str>,
    pub expect: u16,
}

/// Runs a flood on a runtime of its own, on threads of its own, as an outside load generator would:
/// the client then competes with the server only for the CPU, not for the server's task queue.
pub async fn flood_apart(target: &Target<'_>, body: Payload, concurrency: usize, duration: Duration) -> LoadResult {
    let (urls, token, expect) = (target.urls.to_vec(), target.token.map(str::to_string), target.expect);
    let worker = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().ok()?;
        Some(rt.block_on(async move {
            let client = client(concurrency);
            let target = Target { urls: &urls, token: token.as_deref(), expect };
            flood(&client, &target, body, concurrency, duration).await
        }))
    });
    tokio::task::spawn_blocking(move || worker.join().ok().flatten().unwrap_or_default()).await.unwrap_or_default()
}

/// What one worker saw.
struct Worker {
    ok: u64,
    failed: u64,
    answered: Histogram<u64>,
    sent: Vec<(u64, Instant)>,
}

/// Posts `body` to the target from `concurrency` workers until `duration` passes; counts answers
/// with the expected status and times them.
pub async fn flood(
    client: &reqwest::Client,
    target: &Target<'_>,
    body: Payload,
    concurrency: usize,
    duration: Duration,
) -> LoadResult {
    let (urls, token, expect) = (target.urls, target.token, target.expect);
    let numbered = matches!(body, Payload::Numbered(_));
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|i| {
            let (client, url, body) = (client.clone(), urls[i % urls.len().max(1)].clone(), body.clone());
            let token = token.map(str::to_string);
            tokio::spawn(async move {
                let answered = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok()?;
                let mut seen = Worker { ok: 0, failed: 0, answered, sent: Vec::new() };
                // Worker i numbers its requests i, i + concurrency, …: unique across workers.
                let mut seq = i as u64;
                while Instant::now() < deadline {
                    let mut req = client.post(&url).header("content-type", "application/json").body(body.body(seq));
                    if let Some(t) = &token {
                        req = req.bearer_auth(t);
                    }
                    let sent = Instant::now();
                    match req.send().await {
                        Ok(resp) if resp.status().as_u16() == expect => {
                            let _ = resp.bytes().await;
                            seen.ok += 1;
                            seen.answered
                                .saturating_record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                            if numbered {
                                seen.sent.push((seq, sent));
                            }
                        }
                        Ok(resp) => {
                            let _ = resp.bytes().await;
                            seen.failed += 1;
                        }
                        Err(_) => seen.failed += 1,
                    }
                    seq += concurrency as u64;
                }
                Some(seen)
            })
        })
        .collect();
    let mut result = LoadResult::default();
    let mut answered = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
    for w in workers {
        let Ok(Some(seen)) = w.await else { continue };
        result.ok += seen.ok;
        result.failed += seen.failed;
        result.sent.extend(seen.sent);
        if let Some(all) = answered.as_mut() {
            let _ = all.add(&seen.answered);
        }
    }
    result.elapsed = start.elapsed();
    result.answer_p99_ms = answered.map_or(0.0, |h| h.value_at_quantile(0.99) as f64 / 1000.0);
    result
}
