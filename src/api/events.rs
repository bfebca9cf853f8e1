//! `/v1/events`: newest first with per-delivery summaries, one event in full, redelivery.

use super::error::json_body;
use super::{ApiError, AppState};
use crate::model::Actor;
use crate::store::{EventQuery, StatusFilter};
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

#[derive(Deserialize, Default)]
pub struct ListParams {
    action: Option<String>,
    subscription: Option<String>,
    status: Option<String>,
    card: Option<String>,
    limit: Option<String>,
    before: Option<String>,
    /// Payload search: words, and `data.path:value` field conditions.
    q: Option<String>,
}

fn invalid(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

pub async fn list(State(app): State<AppState>, Query(p): Query<ListParams>) -> Result<Json<Value>, ApiError> {
    let limit = match p.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(l) => l.parse::<u32>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            invalid("invalid_limit", format!("limit must be a number from 1 to {MAX_LIMIT}, not {l:?}"))
        })?,
    };
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(StatusFilter::parse(s).ok_or_else(|| {
            invalid("invalid_status", format!("status must be one of {}; not {s:?}", StatusFilter::NAMES))
        })?),
    };
    let action = match p.action.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(a) => Some(app.engine.catalog().canonical(a).ok_or_else(|| {
            invalid(
                "unknown_action",
                format!("unknown action {a:?}; valid actions: {}", app.engine.catalog().names().join(", ")),
            )
        })?),
    };
    let (words, fields) = crate::store::search_terms(p.q.as_deref().unwrap_or_default())
        .map_err(|e| invalid("invalid_query", format!("q: {e}")))?;
    let query = EventQuery {
        words,
        fields,
        action,
        subscription: p.subscription.filter(|s| !s.is_empty()),
        status,
        card_id: p.card.filter(|s| !s.is_empty()),
        before: p.before.filter(|s| !s.is_empty()),
        limit,
        ..EventQuery::default()
    };
    let events = app.engine.list_events(query).await?;
    let next = (events.len() == limit as usize).then(|| events.last().map(|e| e.id.clone())).flatten();
    Ok(Json(json!({"data": events, "next_before": next})))
}

pub async fn detail(State(app): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let event = app.engine.event(&id).await?;
    let mut value = serde_json::to_value(&event).unwrap_or(Value::Null);
    // The payload as JSON for readers, beside the exact ingested text in "body".
    value["payload"] = serde_json::from_str(&event.body).unwrap_or(Value::Null);
    Ok(Json(value))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RedeliverBody {
    subscription: Option<String>,
    /// Only the deliveries that failed (retrying or dead), not those that went through.
    #[serde(default)]
    failed_only: bool,
}

pub async fn redeliver(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: RedeliverBody = json_body(&headers, body, true)?.unwrap_or_default();
    let n = app.engine.redeliver(&id, input.subscription.as_deref(), input.failed_only, actor).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"redelivering": n}))))
}
