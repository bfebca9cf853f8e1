//! The bench's reference servers: a bare hyper server that answers 202 (the ingest baseline) and a
//! no-op sink that answers 200 and counts what it receives (the delivery target).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::Mutex;

/// What a sink saw: a count, and for latency runs the arrival time of each numbered event.
#[derive(Default)]
pub struct SinkLog {
    pub received: AtomicU64,
    /// (sequence number from the payload, arrival) while `track` is on.
    pub arrivals: Mutex<Vec<(u64, Instant)>>,
    pub track: std::sync::atomic::AtomicBool,
}

/// Starts a hyper HTTP/1 server on a free loopback port that reads the body and answers `status`.
pub async fn start(status: StatusCode, log: Option<Arc<SinkLog>>) -> anyhow::Result<SocketAddr> {
    start_on(SocketAddr::from(([127, 0, 0, 1], 0)), status, log).await
}

pub async fn start_on(addr: SocketAddr, status: StatusCode, log: Option<Arc<SinkLog>>) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        if let Some(log) = &log {
                            log.received.fetch_add(1, Ordering::Relaxed);
                            if log.track.load(Ordering::Relaxed)
                                && let Some(seq) = sequence_of(&body)
                            {
                                log.arrivals.lock().await.push((seq, Instant::now()));
                            }
                        }
                        let mut resp = Response::new(Full::new(Bytes::from_static(b"{}")));
                        *resp.status_mut() = status;
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(addr)
}

/// Latency payloads carry their sequence number as the card title `bench-<n>`.
fn sequence_of(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("\"bench-")? + 7;
    let end = text[start..].find('"')? + start;
    text[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_sequence_number() {
        assert_eq!(super::sequence_of(br#"{"data":{"card":{"title":"bench-42"}}}"#), Some(42));
        assert_eq!(super::sequence_of(b"{}"), None);
    }
}
