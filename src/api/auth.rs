//! Bearer-token checks: ingest routes take the ingest (or admin) token, the rest the admin token,
//! or the viewer token for reads; `/metrics` takes `metrics_token` (or the admin token) when one is
//! set.

use super::request_id::RequestId;
use super::{ApiError, AppState};
use crate::domain::model::{Actor, Caller};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn bearer(req: &Request) -> Option<String> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string());
    }
    // Browsers' EventSource cannot set headers: the stream, and only the stream, takes the token in
    // its query (elsewhere it would put tokens in URLs and proxy logs for no need).
    if req.uri().path() != "/v1/stream" {
        return None;
    }
    req.uri().query()?.split('&').find_map(|kv| kv.strip_prefix("access_token=")).map(str::to_string)
}

fn unauthorized(which: &str) -> Response {
    refused(format!(
        "missing or wrong token: send Authorization: Bearer <{which} token> (see HOOKWATCH_{}_TOKEN or hookwatch.tokens)",
        which.to_uppercase()
    ))
}

/// A 401 saying what to send.
fn refused(message: String) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message).into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    r
}

fn forbidden() -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "the viewer token reads only; this change needs the admin token".to_string(),
    )
    .into_response()
}

fn secret_refused() -> Response {
    let message = "the viewer token does not read signing secrets; this read needs the admin token";
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response()
}

/// Whether a request only reads: the viewer token may make it.
fn reads_only(req: &Request) -> bool {
    matches!(*req.method(), Method::GET | Method::HEAD)
}

/// Whether a request reads what only the admin token may (`super::ADMIN_ONLY_READS`).
fn reads_secrets(req: &Request) -> bool {
    let path = req.extensions().get::<MatchedPath>();
    path.is_some_and(|p| super::ADMIN_ONLY_READS.contains(&p.as_str()))
}

/// The admin routes: the admin token for everything, the viewer token for reads but those of
/// secrets. The rule is the method's, so a new route is covered the day it is added. The request carries its `Actor` and
/// its `Caller` (the token's name too, for the audit log).
pub async fn require_admin(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let mut caller = match bearer(&req).and_then(|t| app.tokens.caller(&t)) {
        Some(Caller { actor: Actor::Viewer, .. }) if !reads_only(&req) => return forbidden(),
        Some(Caller { actor: Actor::Viewer, .. }) if reads_secrets(&req) => return secret_refused(),
        Some(caller @ Caller { actor: Actor::Admin | Actor::Viewer, .. }) => caller,
        _ => return unauthorized("admin"),
    };
    caller.request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
    req.extensions_mut().insert(caller.actor);
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Ingest takes the ingest or the admin token; the viewer token changes nothing.
pub async fn require_ingest(State(app): State<AppState>, req: Request, next: Next) -> Response {
    match bearer(&req).and_then(|t| app.tokens.actor(&t)) {
        Some(Actor::Ingest | Actor::Admin) => next.run(req).await,
        Some(Actor::Viewer) => forbidden(),
        _ => unauthorized("ingest"),
    }
}

/// `/metrics` needs no token unless `metrics_token` is set; then it takes that token or the admin
/// token (named admin tokens too).
pub async fn require_metrics(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let Some(expected) = app.engine.config().metrics_token.as_deref() else { return next.run(req).await };
    let given = bearer(&req);
    let allowed = given.is_some_and(|t| {
        crate::api::tokens::matches(&t, expected) | app.tokens.caller(&t).is_some_and(|c| c.actor == Actor::Admin)
    });
    if !allowed {
        return refused(
            "missing or wrong token: /metrics needs Authorization: Bearer <metrics token> (metrics_token, \
             HOOKWATCH_METRICS_TOKEN) or the admin token; in Prometheus, set authorization.credentials"
                .to_string(),
        );
    }
    next.run(req).await
}
