//! What a client may make the server hold while it sends a request body: no more than the
//! route's limit, arriving within `body_timeout`, copied into one buffer as it comes. hyper hands
//! a trickled body over in tiny chunks, each pinning the 8 KiB read buffer it was cut from; kept
//! as chunks (as a plain `Bytes` extractor keeps them), 20,000 one-byte segments held 160 MiB.

use super::ApiError;
use crate::domain::error::Error;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use http_body_util::BodyExt;
use std::time::Duration;

/// A route's body rules.
#[derive(Clone, Copy)]
pub struct BodyRules {
    pub limit: usize,
    /// What the route takes, as a refusal names it ("an event (max_body_bytes)").
    pub what: &'static str,
    /// How long the whole body may take to arrive once the head is read.
    pub timeout: Duration,
}

/// How reading a body ended, short of having it all.
enum Unread {
    TooLarge,
    Broken(String),
}

/// Reads the body under `rules` and hands the request on with the body whole. A declared
/// `Content-Length` over the limit is refused before any of it is read; a body that is larger,
/// or slower than `timeout`, is refused when that is known. Each refusal closes the connection,
/// so no more of a body the server will not use is read or waited for.
pub async fn read_body(rules: BodyRules, request: Request, next: Next) -> Response {
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u128>().ok());
    if declared.is_some_and(|n| n > rules.limit as u128) {
        return closing(too_large(rules));
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(rules.timeout, collect(body, rules.limit)).await {
        Ok(Ok(whole)) => next.run(Request::from_parts(parts, Body::from(whole.freeze()))).await,
        Ok(Err(Unread::TooLarge)) => closing(too_large(rules)),
        Ok(Err(Unread::Broken(why))) => {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", format!("the body could not be read: {why}"))
                .into_response()
        }
        Err(_) => closing(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the body did not arrive within {} (body_timeout); send it whole, at once",
                humantime::format_duration(rules.timeout)
            ),
        )),
    }
}

/// The body copied into one buffer as it arrives, so no chunk outlives its copy.
async fn collect(mut body: Body, limit: usize) -> Result<BytesMut, Unread> {
    let mut whole = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Unread::Broken(crate::domain::error::root_cause(&e)))?;
        if let Some(data) = frame.data_ref() {
            if whole.len() + data.len() > limit {
                return Err(Unread::TooLarge);
            }
            whole.extend_from_slice(data);
        }
    }
    Ok(whole)
}

/// A body over the route's limit.
fn too_large(rules: BodyRules) -> ApiError {
    let limit = match rules.limit % 1024 {
        0 => format!("{} KiB", rules.limit / 1024),
        _ => format!("{} bytes", rules.limit),
    };
    let message = format!("the body is larger than {limit}, the limit for {}; send a smaller one", rules.what);
    Error::bad_input("payload_too_large", message).into()
}

/// The answer, and the connection closed after it.
fn closing(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
