//! One delivery attempt over HTTP: sign, send, read at most 16 KiB back, classify the outcome.
//! The attempt's timeout is kept here rather than by reqwest, so that an answer that is there
//! when its timer fires wins (`Deadline::by`).

use super::ssrf::{Blocked, DnsFailure, SsrfGuard};
use crate::domain::model::{ErrorKind, Millis, Subscription, is_sensitive, mask, now_ms};
use crate::domain::signing;
use crate::domain::trace::TraceContext;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of a response body is kept for the operator.
pub const RESPONSE_BODY_LIMIT: usize = 16 * 1024;
pub const USER_AGENT: &str = concat!("hookwatch/", env!("CARGO_PKG_VERSION"));
const TIMED_OUT: &str = "timed out waiting for the endpoint";
/// How late an attempt's timer may wake before that is taken to mean the process was not
/// running when the deadline passed (stopped with SIGSTOP, or starved of CPU).
const WOKE_LATE: Duration = Duration::from_millis(100);
/// How long an attempt whose timer woke late gets to pick up what the endpoint sent meanwhile.
const CATCH_UP: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub started_at: Millis,
    pub duration: Duration,
    pub status_code: Option<u16>,
    pub error_kind: Option<ErrorKind>,
    pub error: Option<String>,
    pub response_body: Vec<u8>,
    pub response_truncated: bool,
    pub retry_after: Option<Duration>,
    pub request_headers: BTreeMap<String, String>,
}

impl AttemptOutcome {
    pub fn succeeded(&self) -> bool {
        self.error_kind.is_none()
    }
}

/// Builds the shared outbound client: no redirects, connect timeout, SSRF-checking resolver.
/// Fails rather than fall back to a client without those guards.
pub fn build_client(guard: &Arc<SsrfGuard>) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // hookwatch's own schedule decides every retry and records each attempt. reqwest's
        // policy (resending what an HTTP/2 server refused) would copy every request to be able to.
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .connect_timeout(Duration::from_secs(5))
        .user_agent(USER_AGENT)
        .dns_resolver(guard.resolver())
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the outbound HTTP client: {}", crate::domain::error::root_cause(&e)))
}

/// What every attempt to one subscription shares, worked out when the lane gets the subscription
/// rather than at each attempt: its URL parsed once (the guard's parse and reqwest's were 2% of
/// the live path's CPU, perf 2026-12-05), the guard's verdict on an IP literal, and the headers that
/// do not change, as sent and as recorded (secrets masked).
pub struct Endpoint {
    /// The URL, or why nothing can be sent to it.
    url: Result<reqwest::Url, String>,
    headers: HeaderMap,
    recorded: BTreeMap<String, String>,
    timeout: Duration,
}

impl Endpoint {
    pub fn new(sub: &Subscription, guard: &SsrfGuard) -> Self {
        let mut headers = HeaderMap::new();
        // reqwest adds the user agent the client was built with.
        let mut recorded = BTreeMap::from([("user-agent".to_string(), USER_AGENT.to_string())]);
        let mut fault = None;
        let mut set = |name: &str, value: &str| {
            match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                (Ok(name), Ok(value)) => {
                    headers.append(name, value);
                }
                _ => fault = Some(format!("header {name:?} cannot be sent; edit the subscription's headers")),
            }
            recorded.insert(name.to_string(), if is_sensitive(name) { mask(value) } else { value.to_string() });
        };
        set("content-type", "application/json");
        for (name, value) in &sub.headers {
            set(name, value);
        }
        let url = match (reqwest::Url::parse(&sub.url), fault) {
            (_, Some(fault)) => Err(fault),
            (Err(e), None) => Err(format!("the subscription's URL cannot be used: {e}")),
            // IP literals never reach the resolver, so the guard checks them here.
            (Ok(url), None) => guard.check_parsed(&url).map(|()| url).map_err(|blocked| blocked.0),
        };
        Endpoint { url, headers, recorded, timeout: Duration::from_millis(sub.timeout_ms) }
    }
}

/// One attempt; `trace`, when given, goes out as the W3C `traceparent` (and `tracestate`).
pub async fn attempt(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    sub: &Subscription,
    event_id: &str,
    body: Bytes,
    trace: Option<&TraceContext>,
) -> AttemptOutcome {
    let started_at = now_ms();
    let clock = Instant::now();
    let timestamp = started_at / 1000;
    let fail = |kind, error: String, headers| AttemptOutcome {
        started_at,
        duration: clock.elapsed(),
        status_code: None,
        error_kind: Some(kind),
        error: Some(error),
        response_body: Vec::new(),
        response_truncated: false,
        retry_after: None,
        request_headers: headers,
    };
    let url = match &endpoint.url {
        Ok(url) => url.clone(),
        Err(why) => return fail(ErrorKind::Connect, why.clone(), BTreeMap::new()),
    };
    let mut recorded = endpoint.recorded.clone();
    let signature = match signing::signature_header(&sub.signing_secrets(started_at), event_id, timestamp, &body) {
        Ok(s) => s,
        Err(e) => return fail(ErrorKind::Connect, format!("cannot sign: {e}"), recorded),
    };
    let timestamp = timestamp.to_string();
    let mut deadline = Deadline::new(tokio::time::Instant::now() + endpoint.timeout);
    let mut request = reqwest::Request::new(reqwest::Method::POST, url);
    *request.headers_mut() = endpoint.headers.clone();
    *request.body_mut() = Some(body.into());
    for (name, value) in
        [("webhook-id", event_id), ("webhook-timestamp", &timestamp), ("webhook-signature", &signature)]
    {
        match HeaderValue::from_str(value) {
            Ok(header) => request.headers_mut().insert(name, header),
            Err(_) => return fail(ErrorKind::Connect, format!("cannot send {name} {value:?}"), recorded),
        };
        recorded.insert(name.to_string(), value.to_string());
    }
    let trace_headers = trace.map(|t| [("traceparent", Some(t.parent.to_string())), ("tracestate", t.state.clone())]);
    for (name, text) in trace_headers.into_iter().flatten() {
        if let Some(text) = text
            && let Ok(value) = HeaderValue::from_str(&text)
        {
            request.headers_mut().insert(name, value);
            recorded.insert(name.to_string(), text);
        }
    }

    let mut response = match deadline.by(client.execute(request)).await {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            let (kind, msg) = classify(&e);
            return fail(kind, msg, recorded);
        }
        None => return fail(ErrorKind::Timeout, TIMED_OUT.into(), recorded),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
    let mut response_body = Vec::new();
    let mut truncated = false;
    let mut read_error = None;
    loop {
        let read = match deadline.by(response.chunk()).await {
            Some(read) => read.map_err(|e| classify(&e)),
            None => Err((ErrorKind::Timeout, TIMED_OUT.to_string())),
        };
        match read {
            Ok(Some(chunk)) => {
                let room = RESPONSE_BODY_LIMIT - response_body.len();
                if chunk.len() > room {
                    response_body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                response_body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(failure) => {
                read_error = Some(failure);
                break;
            }
        }
    }
    let (error_kind, error) = match (status.is_success(), read_error) {
        (_, Some((kind, msg))) => (Some(kind), Some(format!("HTTP {} then the body failed: {msg}", status.as_u16()))),
        (true, None) => (None, None),
        (false, None) => (Some(ErrorKind::Status), Some(status_message(status))),
    };
    AttemptOutcome {
        started_at,
        duration: clock.elapsed(),
        status_code: Some(status.as_u16()),
        error_kind,
        error,
        response_body,
        response_truncated: truncated,
        retry_after,
        request_headers: recorded,
    }
}

/// An attempt's deadline, and the catch-up it gets, once, if the process was not watching when
/// the deadline passed.
struct Deadline {
    at: tokio::time::Instant,
    catch_up_until: Option<tokio::time::Instant>,
}

impl Deadline {
    fn new(at: tokio::time::Instant) -> Deadline {
        Deadline { at, catch_up_until: None }
    }

    /// Awaits `step` by the deadline; `None` when the endpoint had not answered by then.
    ///
    /// An answer that is there when the timer fires wins: `step` is polled before the timer at
    /// every wake-up. And a timer that wakes late means the process was not watching when the
    /// deadline passed: what the endpoint sent meanwhile sits unread in the socket, and the
    /// connection's task has not yet run to hand it over. So from that first late wake the attempt
    /// gets `CATCH_UP` to pick it up before the endpoint is blamed for a pause that was this
    /// process's own; once for the attempt, so an endpoint that trickles a body chunk by chunk
    /// cannot stretch it a catch-up per chunk.
    async fn by<T>(&mut self, step: impl Future<Output = T>) -> Option<T> {
        let mut step = std::pin::pin!(step);
        let limit = self.catch_up_until.unwrap_or(self.at);
        tokio::select! {
            biased;
            done = &mut step => return Some(done),
            () = tokio::time::sleep_until(limit) => {}
        }
        if self.catch_up_until.is_some() || limit.elapsed() < WOKE_LATE {
            return None;
        }
        let until = tokio::time::Instant::now() + CATCH_UP;
        self.catch_up_until = Some(until);
        tokio::time::timeout_at(until, step).await.ok()
    }
}

fn status_message(status: reqwest::StatusCode) -> String {
    let mut msg = format!("HTTP {}", status.as_u16());
    if let Some(reason) = status.canonical_reason() {
        msg += &format!(" {reason}");
    }
    if status.is_redirection() {
        msg += " (redirects are not followed; point the subscription at the final URL)";
    }
    msg
}

/// Whether `e` is a rustls error, bare or inside io::Errors (which hide it from `source()`).
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => None,
        };
    }
    false
}

/// Maps a client error to an attempt's error kind by walking its cause chain.
fn classify(err: &reqwest::Error) -> (ErrorKind, String) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut chain = Vec::new();
    while let Some(e) = source {
        if let Some(b) = e.downcast_ref::<Blocked>() {
            return (ErrorKind::Connect, b.0.clone());
        }
        if let Some(d) = e.downcast_ref::<DnsFailure>() {
            return (ErrorKind::Dns, d.0.clone());
        }
        if is_tls(e) {
            return (ErrorKind::Tls, format!("TLS failed: {e}"));
        }
        chain.push(e.to_string());
        source = e.source();
    }
    let detail = chain.last().cloned().unwrap_or_default();
    if err.is_timeout() {
        return (ErrorKind::Timeout, TIMED_OUT.into());
    }
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return (ErrorKind::Tls, format!("TLS failed: {detail}"));
    }
    if err.is_connect() {
        return (ErrorKind::Connect, format!("could not connect: {detail}"));
    }
    (ErrorKind::Connect, format!("connection failed: {detail}"))
}

/// Reads `Retry-After` as delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((when.with_timezone(&chrono::Utc) - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("later", now), None);
    }

    #[tokio::test]
    async fn an_answer_before_the_deadline_wins_and_none_is_a_timeout() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        let answer = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            200
        };
        assert_eq!(Deadline::new(deadline).by(answer).await, Some(200));
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        assert_eq!(Deadline::new(deadline).by(std::future::pending::<u16>()).await, None);
    }

    /// The process stands still past the deadline (here its only thread is blocked, as SIGSTOP
    /// would) while the answer comes; it is handed over a little after the process runs again, as
    /// a response waits for its connection's task. It is read, not called a timeout.
    #[tokio::test]
    async fn after_a_pause_past_the_deadline_the_answer_that_came_meanwhile_wins() {
        let start = std::time::Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(50);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handover = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(450).saturating_sub(start.elapsed()));
            tx.send(200u16)
        });
        let mut deadline = Deadline::new(deadline);
        let mut decided = std::pin::pin!(deadline.by(rx));
        assert!(futures::poll!(decided.as_mut()).is_pending());
        std::thread::sleep(Duration::from_millis(400).saturating_sub(start.elapsed()));
        assert_eq!(decided.await, Some(Ok(200)));
        assert!(handover.join().unwrap().is_ok());
    }

    #[tokio::test]
    async fn the_catch_up_is_the_attempts_once_not_each_steps() {
        // The first step wakes late and takes 600 ms of the catch-up; the next, which never ends,
        // gets only what is left of it, not a catch-up of its own.
        let mut deadline = Deadline::new(tokio::time::Instant::now() - CATCH_UP * 2);
        let first = tokio::time::sleep(CATCH_UP * 6 / 10);
        assert_eq!(deadline.by(first).await, Some(()));
        let asked = std::time::Instant::now();
        assert_eq!(deadline.by(std::future::pending::<()>()).await, None);
        assert!(asked.elapsed() < CATCH_UP * 7 / 10, "{:?}", asked.elapsed());
    }
}
