//! The HTTP API (axum): routes, auth, and the translation of domain errors into responses.
//! Handlers validate and translate; the engine never sees HTTP types.

mod auth;
mod error;
mod events;
mod ingest;
mod observe;
mod stream;
mod subscriptions;

pub use error::ApiError;

use crate::engine::Engine;
use crate::tokens::Tokens;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub tokens: Arc<Tokens>,
    /// Turns true when the server stops, so long-lived SSE streams end and shutdown can finish.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// Admin API bodies are small; ingest has its own configurable limit.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

pub fn router(engine: Arc<Engine>, tokens: Tokens, stopping: tokio::sync::watch::Receiver<bool>) -> Router {
    let state = AppState { tokens: Arc::new(tokens), engine: engine.clone(), stopping };
    let ingest = Router::new()
        .route("/v1/events", post(ingest::ingest))
        .layer(DefaultBodyLimit::max(engine.config().max_body_bytes))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_ingest));
    let admin = Router::new()
        .route("/v1/events", get(events::list))
        .route("/v1/events/{id}", get(events::detail))
        .route("/v1/events/{id}/redeliver", post(events::redeliver))
        .route("/v1/subscriptions", post(subscriptions::create).get(subscriptions::list))
        .route(
            "/v1/subscriptions/{id}",
            get(subscriptions::get).patch(subscriptions::update).delete(subscriptions::delete),
        )
        .route("/v1/subscriptions/{id}/pause", post(subscriptions::pause))
        .route("/v1/subscriptions/{id}/resume", post(subscriptions::resume))
        .route("/v1/subscriptions/{id}/rotate-secret", post(subscriptions::rotate_secret))
        .route("/v1/subscriptions/{id}/recover", post(subscriptions::recover))
        .route("/v1/stats", get(observe::stats))
        .route("/v1/alerts", get(observe::alerts))
        .route("/v1/stream", get(stream::stream))
        .layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_admin));
    let public = Router::new()
        .route("/healthz", get(observe::healthz))
        .route("/metrics", get(observe::metrics))
        .route("/v1/catalog", get(observe::catalog));
    ingest
        .merge(admin)
        .merge(public)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
}

/// Serves the API until `shutdown` resolves, then lets requests in progress finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
