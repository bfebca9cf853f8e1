//! `/v1/subscriptions`: create, list, read, change, delete, pause, resume, rotate, recover.

use super::error::json_body;
use super::{ApiError, AppState};
use crate::model::{Actor, Subscription, SubscriptionState};
use crate::subscriptions::SubscriptionInput;
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

type Body = Result<Bytes, BytesRejection>;

fn one(sub: Arc<Subscription>) -> Json<Value> {
    Json(serde_json::to_value(&*sub).unwrap_or(Value::Null))
}

pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: SubscriptionInput = json_body(&headers, body, false)?.unwrap_or_default();
    let (sub, replaced) = app.engine.create_subscription(&input, actor).await?;
    let mut value = serde_json::to_value(&*sub).unwrap_or(Value::Null);
    if !replaced.is_empty() {
        value["replaced"] = json!(replaced);
    }
    Ok((StatusCode::CREATED, Json(value)))
}

/// A subscription as `actor` may read it: a viewer sees secrets and credential headers masked
/// (reading must not hand out what signs or authenticates deliveries).
fn as_read_by(sub: Arc<Subscription>, actor: Actor) -> Arc<Subscription> {
    if actor == Actor::Admin { sub } else { Arc::new(sub.masked()) }
}

pub async fn list(State(app): State<AppState>, Extension(actor): Extension<Actor>) -> Result<Json<Value>, ApiError> {
    let subs: Vec<Arc<Subscription>> =
        app.engine.current_subscriptions().await?.into_iter().map(|s| as_read_by(s, actor)).collect();
    Ok(Json(json!({"data": subs})))
}

pub async fn get(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(one(as_read_by(app.engine.current_subscription(&id).await?, actor)))
}

pub async fn update(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let input: SubscriptionInput = json_body(&headers, body, false)?.unwrap_or_default();
    Ok(one(app.engine.update_subscription(&id, &input, actor).await?))
}

pub async fn delete(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.engine.delete_subscription(&id, actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn pause(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(one(app.engine.set_state(&id, SubscriptionState::Paused, actor).await?))
}

pub async fn resume(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(one(app.engine.set_state(&id, SubscriptionState::Active, actor).await?))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    secret: Option<String>,
}

pub async fn rotate_secret(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let input: RotateBody = json_body(&headers, body, true)?.unwrap_or_default();
    Ok(one(app.engine.rotate_secret(&id, input.secret, actor).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoverBody {
    since: String,
}

pub async fn recover(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(input): Option<RecoverBody> = json_body(&headers, body, true)? else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_since",
            "send {\"since\": \"2026-01-31T00:00:00Z\"} (RFC 3339)",
        ));
    };
    let since = chrono::DateTime::parse_from_rfc3339(&input.since).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_since",
            format!("\"since\" {:?} is not an RFC 3339 time ({e}), e.g. 2026-01-31T00:00:00Z", input.since),
        )
    })?;
    let n = app.engine.recover(&id, since.timestamp_millis(), actor).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"redelivering": n}))))
}

/// Probes an open breaker now instead of at the end of its cooldown.
pub async fn probe(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let held = app.engine.probe(&id, actor).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"probing": true, "held": held}))))
}
