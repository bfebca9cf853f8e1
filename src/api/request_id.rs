//! Every answer carries a request id (`X-Request-Id`): the client's own when it sent a usable one,
//! else a new one. The request's log lines carry it too (a span around the request), so an
//! operator finds what the server did about the request a client reports.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

const HEADER: &str = "x-request-id";
/// The longest id taken from a client: enough for a UUID or a trace id with a prefix.
const MAX_LEN: usize = 128;

/// The request's id, for what keeps it (the audit log, through the caller).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The client's id when it is 1 to 128 letters, digits or `-_.:`; anything else (which a log
/// line would carry whole) is replaced rather than trusted.
fn given(request: &Request) -> Option<String> {
    let id = request.headers().get(HEADER)?.to_str().ok()?;
    let usable = !id.is_empty()
        && id.len() <= MAX_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    usable.then(|| id.to_string())
}

pub async fn tag(mut request: Request, next: Next) -> Response {
    let id =
        given(&request).unwrap_or_else(|| format!("req_{}", ulid::Ulid::from_datetime(std::time::SystemTime::now())));
    request.extensions_mut().insert(RequestId(id.clone()));
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let span = tracing::info_span!("request", id = %id);
    let mut response = next.run(request).instrument(span.clone()).await;
    if response.status().is_server_error() {
        // The client is told to retry; the operator reads which request it was and why.
        span.in_scope(|| tracing::warn!("answered {method} {path} with {}", response.status()));
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
