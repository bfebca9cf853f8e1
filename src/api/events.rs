//! `/v1/events`: newest first with per-delivery summaries, one event in full, redelivery.

use super::error::json_body;
use super::extract::{PathId, Query};
use super::page::{ListResponse, Listing, PageRequest};
use super::{ApiError, AppState, ErrorBody};
use crate::domain::ids::EventId;
use crate::domain::model::{Actor, Caller};
use crate::domain::query::{EventQuery, StatusFilter};
use crate::wire::{EventSummary, EventWithPayload, RedeliverBody, Redelivering};
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// An action (or alias), e.g. `card.move`: the built-in ones are listed (a server's
    /// `extra_actions` add to them).
    #[param(schema_with = action_schema)]
    action: Option<String>,
    /// Events with a delivery to this subscription.
    subscription: Option<String>,
    /// `pending`, `retrying`, `succeeded`, `dead`, `cancelled`, or `failed` (retrying or dead).
    #[param(schema_with = status_schema)]
    status: Option<String>,
    /// A card id.
    card: Option<String>,
    /// 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// `iterator` or `prev_iterator` of a page of this list: the page after it, or before it.
    iterator: Option<String>,
    /// Payload search: words, and `data.path:value` field conditions (a term whose key has a dot
    /// is a field path: dot-separated letters, digits, `_` and `-`, and a value).
    #[param(schema_with = search_schema)]
    q: Option<String>,
}

/// A delivery status `StatusFilter::parse` takes (empty: any, as when it is left out).
fn status_schema() -> utoipa::openapi::Object {
    let names = StatusFilter::NAMES.split(", ").chain([""]);
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).enum_values(Some(names)).build()
}

/// An action the catalog knows (hookwatch's own too: their events are listed like any other;
/// empty: any).
fn action_schema() -> utoipa::openapi::Object {
    let names = crate::domain::catalog::subscribable_patterns()
        .into_iter()
        .filter(|p| !p.ends_with('*'))
        .chain([String::new()]);
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).enum_values(Some(names)).build()
}

/// A search as `store::search_terms` takes it: whitespace-separated terms without control
/// characters, each a word or, when the part before its first `:` has a dot, a field condition.
fn search_schema() -> utoipa::openapi::Object {
    const SPACE: &str = r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
    const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
    let any = format!("[^{SPACE}{CONTROL}]");
    let no_colon = format!("[^{SPACE}{CONTROL}:]");
    let no_colon_or_dot = format!("[^{SPACE}{CONTROL}:.]");
    let term = format!(r"({no_colon}+|{no_colon_or_dot}*:{any}*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+:{any}+)");
    let pattern = format!("^[{SPACE}]*({term}([{SPACE}]+{term})*)?[{SPACE}]*$");
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).pattern(Some(pattern)).build()
}

impl super::extract::Usage for ListParams {
    const USAGE: &'static str =
        "?action=&subscription=&status=&card=&limit=1..500&iterator=&q= (docs/api.md, GET /v1/events)";
}

fn invalid(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

/// Lists stored events, newest first, with their deliveries; a page at a time (docs/api.md, Lists).
#[utoipa::path(get, path = "/v1/events", operation_id = "listEvents", tag = "events", params(ListParams),
    responses((status = 200, body = ListResponse<EventSummary>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    Query(p): Query<ListParams>,
) -> Result<Json<ListResponse<EventSummary>>, ApiError> {
    let page = PageRequest::parse(Listing::Events, p.limit.as_deref(), p.iterator.as_deref())?;
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
    let (words, fields) = crate::domain::query::search_terms(p.q.as_deref().unwrap_or_default())
        .map_err(|e| invalid("invalid_query", format!("q: {e}")))?;
    let query = EventQuery {
        words,
        fields,
        action,
        subscription: p.subscription.filter(|s| !s.is_empty()),
        status,
        card_id: p.card.filter(|s| !s.is_empty()),
        ..EventQuery::default()
    };
    let events = app.engine.list_events(query.in_window(page.window())).await?;
    Ok(Json(page.answer(events, |e| e.id.to_string())))
}

/// One event: its payload, every delivery and every attempt.
#[utoipa::path(get, path = "/v1/events/{id}", operation_id = "getEvent", tag = "events",
    params(("id" = String, Path, description = "evt_…")),
    responses((status = 200, body = EventWithPayload), (status = 404, body = ErrorBody)))]
pub async fn detail(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId<EventId>,
) -> Result<Json<EventWithPayload>, ApiError> {
    let mut event = app.engine.event(&id).await?;
    if actor != Actor::Admin {
        let attempts = event.deliveries.iter_mut().flat_map(|d| d.attempts.iter_mut());
        attempts.for_each(|a| crate::domain::model::headers_for_viewer(&mut a.request_headers));
    }
    let payload = serde_json::from_str(&event.body).unwrap_or(Value::Null);
    Ok(Json(EventWithPayload { event, payload }))
}

/// Sends an event's deliveries again, each as a new series of attempts.
#[utoipa::path(post, path = "/v1/events/{id}/redeliver", operation_id = "redeliverEvent", tag = "events",
    params(("id" = String, Path, description = "evt_…")), request_body(content = Option<RedeliverBody>),
    responses((status = 202, body = Redelivering), (status = 404, description = "no such event, or no subscription the body names", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn redeliver(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<EventId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Redelivering>), ApiError> {
    let input: RedeliverBody = json_body(&headers, body, true)?.unwrap_or_default();
    let redelivering = app.engine.redeliver(&id, input.subscription.as_ref(), input.failed_only, actor).await?;
    Ok((StatusCode::ACCEPTED, Json(Redelivering { redelivering })))
}
