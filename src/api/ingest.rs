//! `POST /v1/events` (and a test event for one subscription): answers 202 only once the event and
//! its deliveries are on disk.

use super::error::{body_rejection, require_json};
use super::extract::Path;
use super::{ApiError, AppState, ErrorBody};
use crate::engine::Ingested;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// `POST /v1/subscriptions/{id}/test`: an event for that subscription alone (admin).
/// Sends a test event to this subscription alone, whatever its actions and filters.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/test", operation_id = "sendTestEvent", tag = "subscriptions", params(("id" = String, Path, description = "sub_…")),
    request_body(content = Object, description = "a Pipefy-style payload, as for POST /v1/events", example = json!(crate::domain::catalog::card_move())),
    responses((status = 202, body = Ingested), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn test(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_rejection)?;
    require_json(&headers)?;
    let ingested = app.engine.send_test(&id, body).await?;
    Ok((StatusCode::ACCEPTED, Json(&ingested)).into_response())
}

/// Stores an event durably (answered after its commit) and delivers it to every matching subscription.
#[utoipa::path(post, path = "/v1/events", operation_id = "ingestEvent", tag = "events", security(("ingest_token" = []), ("admin_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a repeat with the same key and body is answered as the first, with Idempotent-Replayed: true")),
    request_body(content = Object, description = "`{\"data\": {\"action\": …}}`, Pipefy's webhook shape", example = json!(crate::domain::catalog::card_move())),
    responses((status = 202, body = Ingested, headers(("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, description = "storage unavailable; Retry-After says when to try again", body = ErrorBody)))]
pub async fn ingest(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_rejection)?;
    require_json(&headers)?;
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_idempotency_key",
                        "Idempotency-Key must be printable ASCII",
                    )
                })?
                .to_string(),
        ),
        None => None,
    };
    let ingested = app.engine.ingest(body, key).await?;
    let mut response = (StatusCode::ACCEPTED, Json(&ingested)).into_response();
    if ingested.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}
