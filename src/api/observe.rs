//! Read-only views: `/v1/stats`, an endpoint's history, `/v1/alerts`, `/healthz`, `/metrics`, `/v1/catalog`.

use super::error::query_rejection;
use super::{ApiError, AppState};
use crate::catalog::ACTIONS;
use crate::model::Actor;
use crate::stats::Span;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

pub async fn stats(State(app): State<AppState>) -> Json<Value> {
    Json(serde_json::to_value(app.engine.stats()).unwrap_or(Value::Null))
}

pub async fn alerts(State(app): State<AppState>) -> Json<Value> {
    let mut alerts = app.engine.alerts();
    alerts.reverse();
    Json(json!({"data": alerts}))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<u32>,
}

/// The newest changes first: who made each, what, to which id.
pub async fn audit(
    State(app): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| query_rejection(e, "?limit=1..1000"))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_limit",
            format!("limit {limit} is out of range; use 1 to 1000"),
        ));
    }
    Ok(Json(json!({"data": app.engine.audit_log(limit).await?})))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    span: Option<String>,
}

/// One endpoint's attempts per time slot over `span` (2m, 1h or 24h), its responses by status
/// and error, its recent failures and its breaker's changes.
pub async fn history(
    State(app): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|e| query_rejection(e, "?span=2m, 1h or 24h"))?;
    let span = match query.span.as_deref() {
        None => Span::default(),
        Some(text) => Span::parse(text).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_span", format!("span {text:?} is not one of 2m, 1h, 24h"))
        })?,
    };
    Ok(Json(serde_json::to_value(app.engine.endpoint_history(&id, span)?).unwrap_or(Value::Null)))
}

/// What the request's token may do: `attach` makes its dashboard read-only for a viewer.
pub async fn access(Extension(actor): Extension<Actor>) -> Json<Value> {
    Json(json!({"actor": actor, "can_change": actor == Actor::Admin}))
}

pub async fn healthz(State(app): State<AppState>) -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "uptime_s": app.engine.uptime().as_secs()}))
}

pub async fn catalog(State(app): State<AppState>) -> Json<Value> {
    let catalog = app.engine.catalog();
    let actions: Vec<Value> = catalog
        .names()
        .into_iter()
        .map(|name| match crate::catalog::find(&name) {
            Some(spec) => {
                let aliases: Vec<&str> =
                    crate::catalog::ALIASES.iter().filter(|(_, n)| *n == spec.name).map(|(a, _)| *a).collect();
                json!({"action": spec.name, "description": spec.description, "sample": spec.sample(),
                    "operational": crate::catalog::is_operational(spec.name), "aliases": aliases})
            }
            None => json!({"action": name, "description": "declared in the config file", "sample": null, "operational": false}),
        })
        .collect();
    Json(json!({"data": actions, "builtin": ACTIONS.len()}))
}

pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], app.engine.metrics())
}
