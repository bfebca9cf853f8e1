//! Accepting and serving connections, with the guards against hostile clients that live below
//! HTTP: a cap on open connections (`max_connections`), a share of it per client address (so one
//! address cannot fill it), shedding the oldest idle connection for a new one when the cap is
//! near (so many addresses cannot fill it either), and the time a client has to send its request
//! head. Hand-rolled around hyper rather than `axum::serve` for these.

use axum::Router;
use axum::body::Body;
use http_body_util::BodyExt;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Request heads larger than this are refused (431) before anything else reads them.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How connections are admitted.
pub struct Limits {
    pub header_timeout: Duration,
    /// Connections served at once. Past 90% of it, a new connection closes the oldest idle one;
    /// at it, with none idle, new ones are closed at accept.
    pub max_connections: usize,
    /// Connections one client address may hold at once; 0: no limit.
    pub per_address: usize,
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

/// The open connections, oldest first, and how many each client holds.
struct Open {
    table: Mutex<Table>,
    max: usize,
    /// Past this many, a new connection sheds the oldest idle one.
    high_water: usize,
    per_address: usize,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    /// By id, which grows with each accept: the first idle one is the oldest.
    connections: BTreeMap<u64, Tracked>,
    per_address: HashMap<IpAddr, usize>,
    /// Connections told to close that have not yet: they no longer count against the cap.
    closing: usize,
}

struct Tracked {
    /// Requests it is serving; an answer's body counts until it is sent (an SSE stream, too).
    in_flight: Arc<AtomicUsize>,
    /// Tells it to close; taken when it is, so a connection is shed once.
    shed: Option<oneshot::Sender<()>>,
}

/// A connection let in: its place in the table (given back when dropped), its requests in
/// flight, and the signal that it is shed.
struct Admitted {
    place: Place,
    in_flight: Arc<AtomicUsize>,
    shed: oneshot::Receiver<()>,
}

struct Place {
    open: Arc<Open>,
    id: u64,
    client: IpAddr,
}

/// Why a connection was closed at accept.
enum Refused {
    AddressFull,
    Full,
}

impl Open {
    fn new(limits: &Limits) -> Arc<Open> {
        let max = limits.max_connections.max(1);
        Arc::new(Open { table: Mutex::default(), max, high_water: max * 9 / 10, per_address: limits.per_address })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the next connection let in sheds an idle one.
    fn near_cap(&self) -> bool {
        self.table().counted() >= self.high_water
    }

    /// Lets a connection from `ip` in, shedding the oldest idle one first when the cap is near.
    fn admit(self: &Arc<Open>, ip: IpAddr) -> Result<Admitted, Refused> {
        let client = client_of(ip);
        let mut table = self.table();
        if self.per_address > 0 && table.per_address.get(&client).is_some_and(|n| *n >= self.per_address) {
            return Err(Refused::AddressFull);
        }
        if table.counted() >= self.high_water && table.shed_oldest_idle() {
            tracing::warn!(
                "closed the oldest idle connection to let a new one in: max_connections ({}) is near",
                self.max
            );
        }
        if table.counted() >= self.max {
            return Err(Refused::Full);
        }
        let id = table.next_id;
        table.next_id += 1;
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (shed, signal) = oneshot::channel();
        table.connections.insert(id, Tracked { in_flight: in_flight.clone(), shed: Some(shed) });
        *table.per_address.entry(client).or_insert(0) += 1;
        Ok(Admitted { place: Place { open: self.clone(), id, client }, in_flight, shed: signal })
    }
}

impl Table {
    /// Open connections that count against the cap.
    fn counted(&self) -> usize {
        self.connections.len() - self.closing
    }

    /// Tells the oldest connection serving no request to close; false when every one is busy.
    fn shed_oldest_idle(&mut self) -> bool {
        let idle = self
            .connections
            .values_mut()
            .find(|c| c.shed.is_some() && c.in_flight.load(Ordering::Relaxed) == 0)
            .and_then(|c| c.shed.take());
        let Some(shed) = idle else { return false };
        // Sent or not (its task may be ending anyway), it is closing.
        let _ = shed.send(());
        self.closing += 1;
        true
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut table = self.open.table();
        if let Some(gone) = table.connections.remove(&self.id)
            && gone.shed.is_none()
        {
            table.closing -= 1;
        }
        if let Some(count) = table.per_address.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                table.per_address.remove(&self.client);
            }
        }
    }
}

/// A request being served on a connection, counted until its answer's body is dropped (sent,
/// or abandoned with the connection).
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn start(in_flight: &Arc<AtomicUsize>) -> Busy {
        in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(in_flight.clone())
    }

    /// The answer's body, holding the count until it is dropped.
    fn until_sent(self, body: Body) -> Body {
        Body::new(body.map_frame(move |frame| {
            let _counted = &self;
            frame
        }))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves the API until `shutdown` resolves, then lets requests in progress finish (3 s at most).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    raise_open_file_limit(limits.max_connections);
    let open = Open::new(&limits);
    let (stop, stopping) = watch::channel(false);
    // Each connection's task holds a sender; once all are dropped, every connection has ended.
    let (alive, mut all_ended) = mpsc::channel::<()>(1);
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
        if open.near_cap() {
            // The next admission sheds the oldest idle connection. Let every task that is ready run
            // and the runtime collect what arrived first, so a connection whose request head is
            // here is read (and busy) before it can be judged idle: a flood of accepts does not
            // starve the connections already let in.
            tokio::task::yield_now().await;
        }
        let admitted = match open.admit(peer.ip()) {
            Ok(admitted) => admitted,
            // A line per refusal: the log's throttle (`logging`) keeps an attack to a few and a count.
            Err(Refused::AddressFull) => {
                tracing::warn!("refused a connection: its address holds max_connections_per_address already");
                continue;
            }
            Err(Refused::Full) => {
                tracing::warn!("refused a connection: max_connections ({}) are open and serving", open.max);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = serve_connection(stream, app.clone(), limits.header_timeout, admitted, stopping.clone());
        let alive = alive.clone();
        tokio::spawn(async move {
            connection.await;
            drop(alive);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(alive);
    let _ = tokio::time::timeout(Duration::from_secs(3), all_ended.recv()).await;
    Ok(())
}

/// One connection, until it ends, is shed while idle, or the server stops (requests in progress
/// finish first).
async fn serve_connection(
    stream: tokio::net::TcpStream,
    app: Router,
    header_timeout: Duration,
    admitted: Admitted,
    mut stopping: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let Admitted { place: _place, in_flight, mut shed } = admitted;
    let service = {
        let app = hyper_util::service::TowerToHyperService::new(app);
        let in_flight = in_flight.clone();
        hyper::service::service_fn(move |request| {
            let busy = Busy::start(&in_flight);
            let answer = hyper::service::Service::call(&app, request);
            async move { answer.await.map(|response| response.map(|body| busy.until_sent(body))) }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .max_headers(100)
        .serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = &mut shed => {}
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    // Shed or stopping. Only this task serves the connection's requests, so an idle one stays
    // idle until dropped here; one that took a request meanwhile finishes it, then closes.
    if in_flight.load(Ordering::Relaxed) == 0 {
        return;
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Each connection is a file descriptor: the soft limit (often 1,024) is raised to the hard one,
/// and a hard one too low for `max_connections` is said at start rather than found under load.
fn raise_open_file_limit(max_connections: usize) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    let raised = unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
        }
    };
    // The database, its search index, the log and outgoing deliveries need descriptors too.
    let needed = max_connections as libc::rlim_t + 256;
    if !raised {
        tracing::warn!("cannot raise the open-file limit: {}", std::io::Error::last_os_error());
    } else if limit.rlim_cur < needed {
        tracing::warn!(
            "the open-file limit is {}, below max_connections ({max_connections}) and what the server needs \
             beside them; raise it (ulimit -n, LimitNOFILE= in systemd) or lower max_connections",
            limit.rlim_cur
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_a_mapped_one_as_ipv4() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::1")), client_of(ip("2001:db8:1:2:bbbb::9")));
        assert_ne!(client_of(ip("2001:db8:1:2::1")), client_of(ip("2001:db8:1:3::1")));
        assert_eq!(client_of(ip("::ffff:10.0.0.5")), ip("10.0.0.5"));
        assert_eq!(client_of(ip("10.0.0.5")), ip("10.0.0.5"));
    }

    /// Past the high-water mark each new connection sheds the oldest idle one, never a busy one;
    /// with every one busy, the cap refuses.
    #[test]
    fn near_the_cap_the_oldest_idle_connection_is_shed_never_a_busy_one() {
        let open = Open::new(&Limits { header_timeout: Duration::from_secs(1), max_connections: 10, per_address: 0 });
        let ip = "10.0.0.1".parse().unwrap();
        let mut held: Vec<Admitted> = (0..9).map(|_| open.admit(ip).ok().unwrap()).collect();
        let _busy = Busy::start(&held[0].in_flight);
        let tenth = open.admit(ip).ok().unwrap();
        assert!(held[0].shed.try_recv().is_err(), "the oldest is busy: kept");
        assert!(held[1].shed.try_recv().is_ok(), "the oldest idle one is shed");
        assert!(held[2..].iter_mut().all(|a| a.shed.try_recv().is_err()));
        held.remove(1);
        held.push(tenth);
        let mut busy: Vec<Busy> = held.iter().map(|a| Busy::start(&a.in_flight)).collect();
        let last = open.admit(ip).ok().expect("none idle: admitted up to the cap");
        busy.push(Busy::start(&last.in_flight));
        assert!(matches!(open.admit(ip), Err(Refused::Full)), "every one busy: the cap holds");
        assert_eq!(open.table().per_address.get(&client_of(ip)), Some(&10));
    }
}
