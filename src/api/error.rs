//! Every error response is `{"error":{"code":"…","message":"…"}}` with a message a person can act on.

use crate::domain::error::{Error, FieldProblem};
use crate::wire::{ErrorBody, ErrorDetail};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Each field that was wrong, for a validation error.
    pub fields: Vec<FieldProblem>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), fields: Vec::new(), retry_after: None }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::BadInput { code: "payload_too_large", .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::BadInput { code: "unsupported_media_type", .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::BadInput { .. } => StatusCode::BAD_REQUEST,
            Error::Invalid { .. } | Error::Fields(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
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
        let code = e.code();
        let fields = match e {
            Error::Fields(problems) => problems,
            _ => Vec::new(),
        };
        ApiError { status, code, message, fields, retry_after }
    }
}

/// Seconds a client is asked to wait after a database fault.
const STORAGE_RETRY_AFTER: u64 = 5;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                errors: self.fields.into_iter().map(Into::into).collect(),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// The last word on every answer: an error that some layer of the stack gave in another form (a
/// framework's plain-text refusal, an empty 408 from the timeout) leaves in the API's shape, its
/// text kept as the message and its headers (`Allow`, `Retry-After`…) kept as they were.
pub async fn in_error_shape(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    // A server error's words are the operator's (they may name internals): logged, not answered.
    let message = if text.is_empty() || status.is_server_error() {
        if !text.is_empty() {
            tracing::warn!("answered {status}: {text}");
        }
        unexplained(status)
    } else {
        text
    };
    let mut shaped = ApiError::new(status, code_of(status), message).into_response();
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    shaped.headers_mut().extend(headers);
    shaped
}

/// The code an error answer of `status` carries when the part that gave it named none.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_field",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal_error",
        _ => "bad_request",
    }
}

/// What an error answer that came without a word says.
fn unexplained(status: StatusCode) -> String {
    match status {
        StatusCode::REQUEST_TIMEOUT => "the request took longer than the server waits for one; retry it".to_string(),
        s if s.is_server_error() => format!("{s}: the server could not complete this request (its log has the cause)"),
        s => format!("{s}: the request was refused"),
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

/// Reads a JSON request body: checks the content type, the size and the syntax, saying what was
/// wrong. Every body the API takes is an object; a number written with a zero fraction (`441.0`)
/// is the integer JSON Schema says it is, so it is read as one.
pub fn json_body<T: serde::de::DeserializeOwned>(
    headers: &axum::http::HeaderMap,
    body: Result<bytes::Bytes, axum::extract::rejection::BytesRejection>,
    allow_empty: bool,
) -> Result<Option<T>, ApiError> {
    let body = body.map_err(body_rejection)?;
    // No body is none at all: whitespace alone is a JSON text that is not valid.
    if body.is_empty() && allow_empty {
        return Ok(None);
    }
    require_json(headers)?;
    // serde_json's messages already end with where: "… at line 1 column 130".
    let mut value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()))?;
    if !value.is_object() {
        let message = "the body must be a JSON object, {…} (see this route in docs/api.md)";
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message);
        error.fields = vec![FieldProblem { field: String::new(), code: "invalid_body", message: message.to_string() }];
        return Err(error);
    }
    // Read from the text, so that a wrong field's message says where it is; from the rewritten
    // text when a whole number was rewritten (its errors' `field` says where then).
    let rewritten = whole_numbers_as_integers(&mut value).then(|| value.to_string().into_bytes());
    let mut json = serde_json::Deserializer::from_slice(rewritten.as_deref().unwrap_or(&body));
    let value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let field = e.path().to_string();
        let message = e.into_inner().to_string();
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message.clone());
        error.fields = vec![FieldProblem { field, code: "invalid_field", message }];
        error
    })?;
    Ok(Some(value))
}

/// Rewrites every number with a zero fraction (`441.0`) as that integer, where the float is exact
/// (below 2^53): a larger one may stand for another number, so it is left to be refused. Whether
/// it rewrote any.
fn whole_numbers_as_integers(value: &mut serde_json::Value) -> bool {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        serde_json::Value::Number(n) => {
            match n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < EXACT) {
                Some(f) => {
                    #[expect(clippy::cast_possible_truncation, reason = "f is whole and below 2^53: exact")]
                    let whole = f as i64;
                    *n = whole.into();
                    true
                }
                None => false,
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().fold(false, |any, v| whole_numbers_as_integers(v) | any),
        serde_json::Value::Object(map) => map.values_mut().fold(false, |any, v| whole_numbers_as_integers(v) | any),
        _ => false,
    }
}

/// Whether `headers` say the body is JSON: `application/json` or any `application/…+json`.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

pub fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    if is_json(headers) {
        return Ok(());
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let shown = if content_type.is_empty() { "none".to_string() } else { format!("{content_type:?}") };
    Err(Error::bad_input(
        "unsupported_media_type",
        format!("the body must be JSON: send Content-Type: application/json (got {shown})"),
    )
    .into())
}

/// A body the handler could not take. Its size and deadline were checked as it arrived
/// (`limits::read_body`, the one place a route's limit is kept), so only the read itself is left.
pub fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", format!("the body could not be read: {}", e.body_text()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_in_another_form_is_put_in_the_shape_keeping_its_headers() {
        let plain = Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(header::RETRY_AFTER, "3")
            .body(axum::body::Body::from("Failed to parse the request"))
            .unwrap();
        let shaped = in_error_shape(plain).await;
        assert_eq!(shaped.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(shaped.headers()[header::RETRY_AFTER], "3");
        let body = axum::body::to_bytes(shaped.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "bad_request", "message": "Failed to parse the request"}})
        );

        let timed_out =
            Response::builder().status(StatusCode::REQUEST_TIMEOUT).body(axum::body::Body::empty()).unwrap();
        let body = axum::body::to_bytes(in_error_shape(timed_out).await.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"]["code"], "request_timeout");
        assert!(body["error"]["message"].as_str().unwrap().contains("retry"), "{body}");

        let fine = Response::builder().status(StatusCode::OK).body(axum::body::Body::from("ok")).unwrap();
        assert_eq!(in_error_shape(fine).await.headers().get(header::CONTENT_TYPE), None, "success is left alone");
    }
}
