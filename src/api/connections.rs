//! Accepting and serving connections, with the guards against hostile clients that live below
//! HTTP: a cap on open connections, a share of it per client address (so one address cannot
//! fill it), and the time a client has to send its request head. Hand-rolled around hyper-util
//! rather than `axum::serve` for these.

use axum::Router;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connections served at once; past this, new ones are closed at accept so the server stays up.
const MAX_CONNECTIONS: usize = 4096;
/// Request heads larger than this are refused (431) before anything else reads them.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How connections are admitted.
pub struct Limits {
    pub header_timeout: Duration,
    /// Connections one client address may hold at once; 0: no limit.
    pub per_address: usize,
}

/// Open connections per client address.
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
    limit: usize,
}

/// One open connection of an address; gives its place back when dropped.
struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

/// The client a connection counts against: its IPv4 address, or its IPv6 /64 (one host is
/// given a whole /64, so counting single IPv6 addresses would not bound it).
fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl PerAddress {
    fn admit(table: &Arc<PerAddress>, ip: IpAddr) -> Option<AddressSlot> {
        let ip = client_of(ip);
        let mut open = table.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if table.limit > 0 && *count >= table.limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot { table: table.clone(), ip })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves the API until `shutdown` resolves, then lets requests in progress finish (3 s at most).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let per_address = Arc::new(PerAddress { open: Mutex::new(HashMap::new()), limit: limits.per_address });
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(address_slot) = PerAddress::admit(&per_address, peer.ip()) else {
            // A line per refusal: the log's throttle (`logging`) keeps an attack to a few and a count.
            tracing::warn!("refused a connection: its address holds max_connections_per_address already");
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!("refused a connection: {MAX_CONNECTIONS} connections are open");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_header_size(MAX_HEAD_BYTES)
            .max_headers(100)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop((slot, address_slot));
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(3), graceful.shutdown()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::client_of;

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_a_mapped_one_as_ipv4() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::1")), client_of(ip("2001:db8:1:2:bbbb::9")));
        assert_ne!(client_of(ip("2001:db8:1:2::1")), client_of(ip("2001:db8:1:3::1")));
        assert_eq!(client_of(ip("::ffff:10.0.0.5")), ip("10.0.0.5"));
        assert_eq!(client_of(ip("10.0.0.5")), ip("10.0.0.5"));
    }
}
