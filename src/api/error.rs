//! Every error response is `{"error":{"code":"…","message":"…"}}` with a message a person can act on.

use crate::domain::error::Error;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::BadInput { code: "payload_too_large", .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::BadInput { code: "unsupported_media_type", .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::BadInput { .. } => StatusCode::BAD_REQUEST,
            Error::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Unavailable { .. } | Error::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let retry_after = match &e {
            Error::Unavailable { retry_after, .. } => Some(retry_after.as_secs().max(1)),
            Error::Storage(_) => Some(STORAGE_RETRY_AFTER),
            _ => None,
        };
        let message = match &e {
            // The cause is the operator's (a driver's text, a path, a disk): logged, never answered.
            Error::Storage(cause) => {
                tracing::error!("a request failed in the database: {cause}");
                format!(
                    "the database could not complete this request; retry in {STORAGE_RETRY_AFTER} s \
                     (the server's log has the cause)"
                )
            }
            _ => e.to_string(),
        };
        ApiError { status, code: e.code(), message, retry_after }
    }
}

/// Seconds a client is asked to wait after a database fault.
const STORAGE_RETRY_AFTER: u64 = 5;

/// What every error answer carries.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: e.g. `invalid_field`, `not_found`, `unauthorized`.
    pub code: String,
    /// For people: what was wrong and how to fix it.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route {}; see the API reference in the README", uri.path()),
    )
}

pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not supported on {}", uri.path()),
    )
}

/// Reads a JSON request body: checks the content type, the size and the syntax, saying what was wrong.
pub fn json_body<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: Result<bytes::Bytes, axum::extract::rejection::BytesRejection>,
    allow_empty: bool,
) -> Result<Option<T>, ApiError> {
    let body = body.map_err(body_rejection)?;
    if body.iter().all(u8::is_ascii_whitespace) && allow_empty {
        return Ok(None);
    }
    require_json(headers)?;
    serde_json::from_slice(&body).map(Some).map_err(|e| {
        let (status, code) = match e.classify() {
            serde_json::error::Category::Data => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            _ => (StatusCode::BAD_REQUEST, "malformed_json"),
        };
        // serde_json's message already ends with where: "… at line 1 column 130".
        ApiError::new(status, code, e.to_string())
    })
}

pub fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        return Ok(());
    }
    let shown = if content_type.is_empty() { "none".to_string() } else { format!("{content_type:?}") };
    Err(Error::bad_input(
        "unsupported_media_type",
        format!("the body must be JSON: send Content-Type: application/json (got {shown})"),
    )
    .into())
}

/// A query string the route cannot read, with the form it takes (`usage`, e.g. "?limit=1..1000").
pub fn query_rejection(e: axum::extract::rejection::QueryRejection, usage: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", format!("{}; use {usage}", e.body_text()))
}

/// A body the handler could not take. Its size and deadline were checked as it arrived
/// (`limits::read_body`, the one place a route's limit is kept), so only the read itself is left.
pub fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", format!("the body could not be read: {}", e.body_text()))
}
