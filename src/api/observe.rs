//! Read-only views: `/v1/stats`, an endpoint's history, `/v1/alerts`, `/healthz`, `/metrics`, `/v1/catalog`.

use super::extract::{PathId, Query};
use super::page::{ListResponse, Listing, PageParams};
use super::{ApiError, AppState, ErrorBody};
use crate::domain::catalog::ACTIONS;
use crate::domain::ids::SubscriptionId;
use crate::domain::model::{Actor, Alert, AuditEntry};
use crate::wire::StatsReport;
use crate::wire::{Access, Catalog, CatalogAction, EndpointHistory, Health, Span};
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

/// Per endpoint: success over 1m/5m/1h/24h, latency, backlog, breaker; and the cluster's nodes.
#[utoipa::path(get, path = "/v1/stats", operation_id = "getStats", tag = "observe", responses((status = 200, body = StatsReport)))]
pub async fn stats(State(app): State<AppState>, Extension(actor): Extension<Actor>) -> Json<StatsReport> {
    let report = app.engine.stats();
    Json(if actor == Actor::Admin { report } else { report.for_viewer() })
}

/// This node's recent alerts (failing, recovered, breaker open, disabled, backlog high), newest
/// first, a page at a time (docs/api.md, Lists). The log keeps the newest 500; a position is this
/// node's, so an iterator does not outlive a restart.
#[utoipa::path(get, path = "/v1/alerts", operation_id = "listAlerts", tag = "observe", params(PageParams),
    responses((status = 200, body = ListResponse<Alert>), (status = 400, body = ErrorBody)))]
pub async fn alerts(
    State(app): State<AppState>,
    Query(params): Query<PageParams>,
) -> Result<Json<ListResponse<Alert>>, ApiError> {
    let page = params.request(Listing::Alerts)?;
    let found = app.engine.alerts_window(&page.window());
    let (positions, alerts): (Vec<i64>, Vec<Alert>) = found.into_iter().unzip();
    Ok(Json(page.answer_at(alerts, positions)))
}

/// The newest changes first, a page at a time (docs/api.md, Lists): who made each, what, to which id.
#[utoipa::path(get, path = "/v1/audit", operation_id = "listAudit", tag = "observe", params(PageParams),
    responses((status = 200, body = ListResponse<AuditEntry>), (status = 400, body = ErrorBody)))]
pub async fn audit(
    State(app): State<AppState>,
    Query(params): Query<PageParams>,
) -> Result<Json<ListResponse<AuditEntry>>, ApiError> {
    let page = params.request(Listing::Audit)?;
    let (positions, entries): (Vec<i64>, Vec<AuditEntry>) =
        app.engine.audit_window(page.window()).await?.into_iter().unzip();
    Ok(Json(page.answer_at(entries, positions)))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// `2m` (by the second), `1h` (by the minute, the default) or `24h` (by ten minutes).
    #[param(schema_with = span_schema)]
    span: Option<String>,
}

fn span_schema() -> utoipa::openapi::Object {
    let spans = ["2m", "1h", "24h"];
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).enum_values(Some(spans)).build()
}

impl super::extract::Usage for HistoryQuery {
    const USAGE: &'static str = "?span=2m, 1h or 24h";
}

/// One endpoint's attempts per time slot over `span` (2m, 1h or 24h), its responses by status
/// and error, its recent failures and its breaker's changes.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/history", operation_id = "getEndpointHistory", tag = "observe",
    params(("id" = String, Path, description = "sub_…"), HistoryQuery),
    responses((status = 200, body = EndpointHistory), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(app): State<AppState>,
    PathId(id): PathId<SubscriptionId>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<EndpointHistory>, ApiError> {
    let span = match query.span.as_deref() {
        None => Span::default(),
        Some(text) => Span::parse(text).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_span", format!("span {text:?} is not one of 2m, 1h, 24h"))
        })?,
    };
    Ok(Json(app.engine.endpoint_history(&id, span)?))
}

/// What the request's token may do: `attach` makes its dashboard read-only for a viewer.
#[utoipa::path(get, path = "/v1/access", operation_id = "getAccess", tag = "observe", responses((status = 200, body = Access)))]
pub async fn access(Extension(actor): Extension<Actor>) -> Json<Access> {
    Json(Access { actor, can_change: actor == Actor::Admin })
}

/// Liveness: answers while the server runs.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "public", security(()),
    responses((status = 200, body = Health)))]
pub async fn healthz(State(app): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_s: app.engine.uptime().as_secs(),
    })
}

/// Readiness, for load balancers: 200 while the store commits writes, 503 while it cannot (a
/// full disk, the database at `max_db_bytes`, PostgreSQL unreachable). `/healthz` stays 200 then:
/// the process lives, it only cannot take events.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "public", security(()),
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(app): State<AppState>) -> Result<Json<Health>, ApiError> {
    match app.engine.ready().await {
        Ok(()) => Ok(healthz(State(app)).await),
        Err(cause) => {
            tracing::warn!("not ready: the store cannot commit: {cause}");
            let mut refused = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the store cannot commit writes now; events sent here would be refused (the server's log has the cause)",
            );
            refused.retry_after = Some(5);
            Err(refused)
        }
    }
}

/// Every action, with a description and a sample payload.
#[utoipa::path(get, path = "/v1/catalog", operation_id = "getCatalog", tag = "public", security(()),
    responses((status = 200, body = Catalog)))]
pub async fn catalog(State(app): State<AppState>) -> Json<Catalog> {
    let action = |name: String| match crate::domain::catalog::find(&name) {
        Some(spec) => CatalogAction {
            description: spec.description.to_string(),
            sample: Some(spec.sample()),
            operational: crate::domain::catalog::is_operational(spec.name),
            aliases: crate::domain::catalog::ALIASES
                .iter()
                .filter(|(_, n)| *n == spec.name)
                .map(|(a, _)| a.to_string())
                .collect(),
            action: name,
        },
        None => CatalogAction {
            action: name,
            description: "declared in the config file".to_string(),
            sample: None,
            operational: false,
            aliases: Vec::new(),
        },
    };
    Json(Catalog { data: app.engine.catalog().names().into_iter().map(action).collect(), builtin: ACTIONS.len() })
}

/// The exposition's content type, with its charset: labels (subscription names) may be any UTF-8,
/// and a client that is not told reads them as Latin-1.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Prometheus exposition. Needs no token unless `metrics_token` is set; then that token or the
/// admin token.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "public",
    security((), ("metrics_token" = []), ("admin_token" = [])),
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain", body = String),
        (status = 401, description = "metrics_token is set, and neither it nor the admin token was sent", body = ErrorBody)))]
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, EXPOSITION)], app.engine.metrics())
}
