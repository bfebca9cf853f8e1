//! The bench's client: keep-alive connections, a fixed number of workers, one body.

use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, Default)]
pub struct LoadResult {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
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
pub async fn flood_apart(target: &Target<'_>, body: Bytes, concurrency: usize, duration: Duration) -> LoadResult {
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

/// Posts `body` to the target from `concurrency` workers until `duration` passes; counts answers
/// with the expected status.
pub async fn flood(
    client: &reqwest::Client,
    target: &Target<'_>,
    body: Bytes,
    concurrency: usize,
    duration: Duration,
) -> LoadResult {
    let (urls, token, expect) = (target.urls, target.token, target.expect);
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|i| {
            let (client, url, body) = (client.clone(), urls[i % urls.len().max(1)].clone(), body.clone());
            let token = token.map(str::to_string);
            let (ok, failed) = (ok.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let mut req = client.post(&url).header("content-type", "application/json").body(body.clone());
                    if let Some(t) = &token {
                        req = req.bearer_auth(t);
                    }
                    match req.send().await {
                        Ok(resp) if resp.status().as_u16() == expect => {
                            let _ = resp.bytes().await;
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(resp) => {
                            let _ = resp.bytes().await;
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    LoadResult { ok: ok.load(Ordering::Relaxed), failed: failed.load(Ordering::Relaxed), elapsed: start.elapsed() }
}
