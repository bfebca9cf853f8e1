//! `POST /v1/events`: answers 202 only once the event and its deliveries are on disk.

use super::error::{body_rejection, require_json};
use super::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

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
