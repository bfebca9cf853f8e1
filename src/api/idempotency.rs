//! `Idempotency-Key` on every admin POST, as Stripe and Svix honour it: a request sent again with
//! the same key and the same method, path and body is answered as the first was (with
//! `Idempotent-Replayed: true`) and does nothing again; the same key with another request is
//! refused (422 `idempotency_key_reused`); a repeat sent while the first still runs is refused
//! (409 `idempotency_key_in_use`), so duplicates never both run. A key names one request of one
//! caller (the token's kind and name) on one route, for `idempotency_window`.
//!
//! Only final answers are kept: a success, or a refusal that the same request would get again. A
//! 5xx, a 408 or a 429 (and an answer a handler marks `NotFinal`) lets the key go, so a retry runs.
//! Ingest (`POST /v1/events`) keeps its own keys, on the events themselves (`engine/ingest.rs`).

use super::{ADMIN_BODY_LIMIT, ApiError, AppState};
use crate::domain::model::Caller;
use crate::engine::KeyedRequest;
use crate::store::StoredAnswer;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

const KEY_HEADER: &str = "idempotency-key";
/// On an answer given again for a repeated key.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// The longest key taken, as Stripe's.
pub const MAX_KEY_LEN: usize = 255;
/// The largest answer kept for a key: the admin routes' answers are a few KiB. A larger one is
/// given once and its key let go.
const MAX_KEPT_ANSWER: usize = 256 * 1024;
/// The headers of an answer kept with it: what a client reads of an answer besides its body.
const KEPT_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::ETAG, header::LOCATION];

/// Marks an answer that is no final one though its status says so (a GraphQL answer whose
/// resolver met a database fault): its key is let go, so a retry runs.
#[derive(Clone, Copy, Debug)]
pub struct NotFinal;

/// Runs a POST that carries a key at most once per key; any other request passes untouched.
pub async fn honour(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let key = match key_of(request.headers()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(request).await,
        Err(refusal) => return refusal.into_response(),
    };
    let scope = scope_of(&request);
    let (parts, body) = request.into_parts();
    // The body was read whole under the route's limit (`limits::read_body`) before this layer.
    let body = match axum::body::to_bytes(body, ADMIN_BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => {
            let message = format!("the body could not be read: {e}");
            return ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", message).into_response();
        }
    };
    let fingerprint = fingerprint(&parts.method, &parts.uri, &body);
    let keyed = Keyed { app: app.clone(), scope, key, fingerprint };
    match app.engine.claim_key(&keyed.scope, &keyed.key, &keyed.fingerprint).await {
        Err(e) => ApiError::from(e).into_response(),
        Ok(KeyedRequest::Answered(answer)) => replayed(answer),
        Ok(KeyedRequest::InFlight) => in_use(&keyed.key),
        Ok(KeyedRequest::Reused) => reused(&keyed.key),
        Ok(KeyedRequest::Run) => {
            // Run to its end even when the client goes away (a timed-out client retries with the
            // key, and is then answered what this request did).
            let request = Request::from_parts(parts, Body::from(body));
            let run = async move { keyed.settle(next.run(request).await).await };
            tokio::spawn(run.instrument(tracing::Span::current())).await.unwrap_or_else(|e| {
                tracing::error!("a request with an Idempotency-Key ended early: {e}");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            })
        }
    }
}

/// The request's key: none, or 1 to 255 printable ASCII characters, else a 400 saying so.
fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(KEY_HEADER).iter();
    let Some(value) = values.next() else { return Ok(None) };
    let refused = |why: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!(
                "Idempotency-Key {why}: send one key of 1 to {MAX_KEY_LEN} printable ASCII characters, \
                 e.g. a UUID, new for each new request"
            ),
        )
    };
    if values.next().is_some() {
        return Err(refused("was sent more than once"));
    }
    let key = value.as_bytes();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(refused(&format!("has {} characters", key.len())));
    }
    if !key.iter().all(|b| (0x20..0x7f).contains(b)) || key.starts_with(b" ") || key.ends_with(b" ") {
        return Err(refused("has a character that is not printable ASCII, or begins or ends with a space"));
    }
    Ok(Some(String::from_utf8_lossy(key).into_owned()))
}

/// Whose key it is and where: the caller's token (kind and name) and the route (its template, so
/// one key on two routes names two requests).
fn scope_of(request: &Request) -> String {
    let caller = request.extensions().get::<Caller>();
    let actor = caller.map_or("unknown", |c| c.actor.as_str());
    let name = caller.and_then(|c| c.name.as_deref()).unwrap_or("");
    let route = request.extensions().get::<MatchedPath>().map_or(request.uri().path(), MatchedPath::as_str);
    format!("{actor}.{name} {} {route}", request.method())
}

/// What makes two requests the same one: method, path with query, body (SHA-256).
fn fingerprint(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    use sha2::Digest;
    let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let mut hasher = sha2::Sha256::new();
    for part in [method.as_str().as_bytes(), b"\n", target.as_bytes(), b"\n", body] {
        hasher.update(part);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A request that holds its key while it runs.
struct Keyed {
    app: AppState,
    scope: String,
    key: String,
    fingerprint: String,
}

impl Keyed {
    /// Keeps a final answer for the key, or lets the key go; the answer is given either way.
    async fn settle(self, response: Response) -> Response {
        let (parts, body) = response.into_parts();
        let body = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(body) => body,
            Err(e) => {
                tracing::error!("an answer could not be read to keep it for its Idempotency-Key: {e}");
                self.release().await;
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        if is_final(&parts) && body.len() <= MAX_KEPT_ANSWER {
            let headers = KEPT_HEADERS
                .iter()
                .filter_map(|name| Some((name.to_string(), parts.headers.get(name)?.to_str().ok()?.to_string())))
                .collect();
            let answer = StoredAnswer { status: parts.status.as_u16(), headers, body: body.to_vec() };
            let engine = &self.app.engine;
            if let Err(e) = engine.keep_answer(&self.scope, &self.key, &self.fingerprint, &answer).await {
                tracing::warn!(
                    "the answer to a request with an Idempotency-Key was not kept ({e}); a retry runs it again"
                );
                self.release().await;
            }
        } else {
            self.release().await;
        }
        Response::from_parts(parts, Body::from(body))
    }

    async fn release(&self) {
        if let Err(e) = self.app.engine.release_key(&self.scope, &self.key, &self.fingerprint).await {
            tracing::warn!("an Idempotency-Key could not be let go ({e}); it is held until its claim lapses (2 min)");
        }
    }
}

/// Whether the same request would be answered the same again: not for a server fault, a timeout,
/// a rate limit, or what a handler marks `NotFinal`.
fn is_final(parts: &axum::http::response::Parts) -> bool {
    let transient = [StatusCode::REQUEST_TIMEOUT, StatusCode::TOO_MANY_REQUESTS];
    !parts.status.is_server_error()
        && !transient.contains(&parts.status)
        && parts.extensions.get::<NotFinal>().is_none()
}

/// The kept answer, given again.
fn replayed(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

fn in_use(key: &str) -> Response {
    let mut refusal = ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_key_in_use",
        format!(
            "a request with Idempotency-Key {key:?} is still being answered; retry in a moment, and get its \
             answer then"
        ),
    );
    refusal.retry_after = Some(1);
    refusal.into_response()
}

fn reused(key: &str) -> Response {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        format!(
            "Idempotency-Key {key:?} was already used on this route for another request (another path or \
             body); send a new key for a new request (the same request with this key gets the first answer again)"
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_key(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(KEY_HEADER, HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    #[test]
    fn a_key_is_one_of_1_to_255_printable_ascii_characters() {
        assert_eq!(key_of(&HeaderMap::new()).unwrap(), None);
        assert_eq!(key_of(&with_key(&[b"7f3a-01 retry"])).unwrap().as_deref(), Some("7f3a-01 retry"));
        assert!(key_of(&with_key(&["k".repeat(255).as_bytes()])).unwrap().is_some());
        for bad in [&b"k".repeat(256)[..], b"caf\xc3\xa9", b"a\tb", b" padded"] {
            let refusal = key_of(&with_key(&[bad])).unwrap_err();
            assert_eq!((refusal.status, refusal.code), (StatusCode::BAD_REQUEST, "invalid_idempotency_key"), "{bad:?}");
        }
        assert!(key_of(&with_key(&[b"a", b"b"])).unwrap_err().message.contains("more than once"));
    }
}
