//! The HTTP API (axum): routes, auth, and the translation of domain errors into responses.
//! Handlers validate and translate; the engine never sees HTTP types.

mod auth;
mod connections;
mod error;
mod events;
mod extract;
mod graphql;
mod idempotency;
mod ingest;
mod limits;
mod observe;
mod openapi;
mod page;
mod replays;
mod request_id;
mod schema;
pub mod server;
mod stream;
mod subscriptions;
pub mod tokens;

pub use crate::wire::ErrorBody;
pub use connections::{Limits, serve};
pub use error::ApiError;
pub use openapi::document as openapi_document;

use crate::api::tokens::Tokens;
use crate::engine::Engine;
use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub tokens: Arc<Tokens>,
    /// Pipefy's webhook API, over the same engine.
    pub graphql: graphql::PipefySchema,
    /// Turns true when the server stops, so long-lived SSE streams end and shutdown can finish.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// The admin API, a (method, path, handler) per route: the router is built from it and the tests
/// read it (`admin_routes`), so a new route is in every check of the routes from the day it exists.
fn admin_table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/v1/events", get(events::list)),
        (Method::GET, "/v1/events/{id}", get(events::detail)),
        (Method::POST, "/v1/events/{id}/redeliver", post(events::redeliver)),
        (Method::POST, "/v1/subscriptions", post(subscriptions::create)),
        (Method::GET, "/v1/subscriptions", get(subscriptions::list)),
        (Method::GET, "/v1/subscriptions/{id}", get(subscriptions::get)),
        (Method::GET, "/v1/subscriptions/{id}/secret", get(subscriptions::secret)),
        (Method::PATCH, "/v1/subscriptions/{id}", patch(subscriptions::update)),
        (Method::DELETE, "/v1/subscriptions/{id}", delete(subscriptions::delete)),
        (Method::POST, "/v1/subscriptions/{id}/pause", post(subscriptions::pause)),
        (Method::POST, "/v1/subscriptions/{id}/resume", post(subscriptions::resume)),
        (Method::POST, "/v1/subscriptions/{id}/rotate-secret", post(subscriptions::rotate_secret)),
        (Method::POST, "/v1/subscriptions/{id}/recover", post(subscriptions::recover)),
        (Method::POST, "/v1/subscriptions/{id}/probe", post(subscriptions::probe)),
        (Method::POST, "/v1/subscriptions/{id}/test", post(ingest::test)),
        (Method::GET, "/v1/subscriptions/{id}/history", get(observe::history)),
        (Method::POST, "/v1/replays", post(replays::create)),
        (Method::GET, "/v1/replays", get(replays::list)),
        (Method::GET, "/v1/replays/{id}", get(replays::get)),
        (Method::POST, "/v1/replays/{id}/cancel", post(replays::cancel)),
        (Method::GET, "/v1/stats", get(observe::stats)),
        (Method::GET, "/v1/access", get(observe::access)),
        (Method::GET, "/v1/alerts", get(observe::alerts)),
        (Method::GET, "/v1/audit", get(observe::audit)),
        (Method::GET, "/v1/stream", get(stream::stream)),
        (Method::POST, "/graphql", post(graphql::serve)),
    ]
}

/// The admin routes the viewer token may not read, though it reads every other: they answer
/// signing secrets.
pub const ADMIN_ONLY_READS: [&str; 1] = ["/v1/subscriptions/{id}/secret"];

/// The routes that need no token.
fn public_table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/healthz", get(observe::healthz)),
        (Method::GET, "/readyz", get(observe::readyz)),
        (Method::GET, "/v1/catalog", get(observe::catalog)),
        (Method::GET, "/v1/openapi.json", get(openapi::serve)),
    ]
}

/// The ingest route, behind the ingest (or admin) token.
const INGEST_ROUTE: (Method, &str) = (Method::POST, "/v1/events");

/// The Prometheus route: open, or behind `metrics_token` (or the admin token) when that is set.
const METRICS_ROUTE: (Method, &str) = (Method::GET, "/metrics");

/// Every route behind the admin (or viewer) token, as (method, path template).
pub fn admin_routes() -> Vec<(Method, &'static str)> {
    admin_table().into_iter().map(|(method, path, _)| (method, path)).collect()
}

/// Every route the router serves, as (method, path template): what the OpenAPI document must cover.
pub fn routes() -> Vec<(Method, &'static str)> {
    let public = public_table().into_iter().map(|(method, path, _)| (method, path));
    [INGEST_ROUTE, METRICS_ROUTE].into_iter().chain(admin_routes()).chain(public).collect()
}

/// Admin API bodies are small; ingest has its own configurable limit.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

pub fn router(engine: Arc<Engine>, tokens: Tokens, stopping: tokio::sync::watch::Receiver<bool>) -> Router {
    let graphql = graphql::schema(engine.clone());
    let state = AppState { tokens: Arc::new(tokens), engine: engine.clone(), graphql, stopping };
    let body_timeout = *engine.config().body_timeout;
    let body_limit = |limit: usize, what: &'static str| {
        let rules = limits::BodyRules { limit, what, timeout: body_timeout };
        axum::middleware::from_fn(move |request, next| limits::read_body(rules, request, next))
    };
    let ingest_limit = engine.config().max_body_bytes;
    let ingest = Router::new()
        .route(INGEST_ROUTE.1, post(ingest::ingest))
        .layer(body_limit(ingest_limit, "an event (max_body_bytes)"))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_ingest));
    let admin = admin_table()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| router.route(path, handler))
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::honour))
        .layer(body_limit(ADMIN_BODY_LIMIT, "an admin request"))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_admin));
    let metrics = Router::new()
        .route(METRICS_ROUTE.1, get(observe::metrics))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_metrics));
    let public =
        public_table().into_iter().fold(Router::new(), |router, (_, path, handler)| router.route(path, handler));
    ingest
        .merge(admin)
        .merge(metrics)
        .merge(public)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(axum::middleware::map_response(error::in_error_shape))
        .layer(axum::middleware::from_fn(request_id::tag))
}
