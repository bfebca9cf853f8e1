//! `POST /v1/events` (and a test event for one subscription): answers 202 only once the event and
//! its deliveries are on disk.

use super::error::{body_rejection, require_json};
use super::{ApiError, AppState};
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// `POST /v1/subscriptions/{id}/test`: an event for that subscription alone (admin).
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
