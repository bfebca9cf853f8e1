//! `/v1/replays`: create (or preview with `?dry_run=true`), list, read, cancel.

use super::error::{json_body, query_rejection};
use super::{ApiError, AppState};
use crate::engine::DEFAULT_REPLAY_RATE;
use crate::model::{Actor, ReplayFilter};
use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[serde(default)]
    filter: ReplayFilter,
    rate_per_s: Option<u32>,
}

#[derive(Deserialize, Default)]
pub struct CreateQuery {
    #[serde(default)]
    dry_run: bool,
}

pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<CreateQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Query(query) = query.map_err(|e| query_rejection(e, "?dry_run=true"))?;
    let input: CreateBody = json_body(&headers, body, true)?.unwrap_or_default();
    let rate = input.rate_per_s.unwrap_or(DEFAULT_REPLAY_RATE);
    if query.dry_run {
        let preview = app.engine.preview_replay(&input.filter, rate).await?;
        return Ok((StatusCode::OK, Json(serde_json::to_value(preview).unwrap_or(Value::Null))));
    }
    let replay = app.engine.start_replay(input.filter, rate, actor).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::to_value(replay).unwrap_or(Value::Null))))
}

pub async fn list(State(app): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({"data": app.engine.replays().await?})))
}

pub async fn get(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(serde_json::to_value(app.engine.replay(&id).await?).unwrap_or(Value::Null)))
}

pub async fn cancel(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(serde_json::to_value(app.engine.cancel_replay(&id, actor).await?).unwrap_or(Value::Null)))
}
