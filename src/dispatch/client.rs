//! One delivery attempt over HTTP: sign, send, read at most 16 KiB back, classify the outcome.

use super::signing;
use super::ssrf::{Blocked, DnsFailure, SsrfGuard};
use crate::model::{ErrorKind, Millis, Subscription, is_sensitive, mask, now_ms};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How much of a response body is kept for the operator.
pub const RESPONSE_BODY_LIMIT: usize = 16 * 1024;
pub const USER_AGENT: &str = concat!("hookwatch/", env!("CARGO_PKG_VERSION"));

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
        .map_err(|e| anyhow::anyhow!("cannot build the outbound HTTP client: {}", crate::error::root_cause(&e)))
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

pub async fn attempt(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    sub: &Subscription,
    event_id: &str,
    body: Bytes,
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
    let mut request = reqwest::Request::new(reqwest::Method::POST, url);
    *request.headers_mut() = endpoint.headers.clone();
    *request.timeout_mut() = Some(endpoint.timeout);
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

    let mut response = match client.execute(request).await {
        Ok(r) => r,
        Err(e) => {
            let (kind, msg) = classify(&e);
            return fail(kind, msg, recorded);
        }
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| super::retry::parse_retry_after(v, chrono::Utc::now()));
    let mut response_body = Vec::new();
    let mut truncated = false;
    let mut read_error = None;
    loop {
        match response.chunk().await {
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
            Err(e) => {
                read_error = Some(classify(&e));
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

/// Maps a client error to the SPEC's error kinds by walking its cause chain.
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
        return (ErrorKind::Timeout, "timed out waiting for the endpoint".into());
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
