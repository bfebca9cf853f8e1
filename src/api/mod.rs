//! The HTTP API (axum): routes, auth, and the translation of domain errors into responses.
//! Handlers validate and translate; the engine never sees HTTP types.

mod auth;
mod error;
mod events;
mod graphql;
mod ingest;
mod observe;
mod openapi;
mod replays;
mod stream;
mod subscriptions;

pub use error::{ApiError, ErrorBody};
pub use openapi::document as openapi_document;

use crate::engine::Engine;
use crate::tokens::Tokens;
use axum::Router;
use axum::extract::DefaultBodyLimit;
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

/// The routes that need no token.
fn public_table() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    vec![
        (Method::GET, "/healthz", get(observe::healthz)),
        (Method::GET, "/metrics", get(observe::metrics)),
        (Method::GET, "/v1/catalog", get(observe::catalog)),
        (Method::GET, "/v1/openapi.json", get(openapi::serve)),
    ]
}

/// The ingest route, behind the ingest (or admin) token.
const INGEST_ROUTE: (Method, &str) = (Method::POST, "/v1/events");

/// Every route behind the admin (or viewer) token, as (method, path template).
pub fn admin_routes() -> Vec<(Method, &'static str)> {
    admin_table().into_iter().map(|(method, path, _)| (method, path)).collect()
}

/// Every route the router serves, as (method, path template): what the OpenAPI document must cover.
pub fn routes() -> Vec<(Method, &'static str)> {
    let public = public_table().into_iter().map(|(method, path, _)| (method, path));
    std::iter::once(INGEST_ROUTE).chain(admin_routes()).chain(public).collect()
}

/// The body of every list answer: `{"data": [...]}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct List<T> {
    pub data: Vec<T>,
}

impl<T> List<T> {
    pub fn of(data: Vec<T>) -> axum::Json<List<T>> {
        axum::Json(List { data })
    }
}

/// Admin API bodies are small; ingest has its own configurable limit.
const ADMIN_BODY_LIMIT: usize = 64 * 1024;

pub fn router(engine: Arc<Engine>, tokens: Tokens, stopping: tokio::sync::watch::Receiver<bool>) -> Router {
    let graphql = graphql::schema(engine.clone());
    let state = AppState { tokens: Arc::new(tokens), engine: engine.clone(), graphql, stopping };
    let body_limit = |bytes: usize, what: &'static str| {
        let limit = error::BodyLimit { bytes, what };
        axum::middleware::from_fn(move |request, next| error::refuse_declared_oversize(limit, request, next))
    };
    let ingest_limit = engine.config().max_body_bytes;
    let ingest = Router::new()
        .route(INGEST_ROUTE.1, post(ingest::ingest))
        .layer(DefaultBodyLimit::max(ingest_limit))
        .layer(body_limit(ingest_limit, "an event (max_body_bytes)"))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_ingest));
    let admin = admin_table()
        .into_iter()
        .fold(Router::new(), |router, (_, path, handler)| router.route(path, handler))
        .layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT))
        .layer(body_limit(ADMIN_BODY_LIMIT, "an admin request"))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_admin));
    let public =
        public_table().into_iter().fold(Router::new(), |router, (_, path, handler)| router.route(path, handler));
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

/// Connections served at once; past this, new ones are closed at accept so the server stays up.
const MAX_CONNECTIONS: usize = 4096;
/// Request heads larger than this are refused (431) before anything else reads them.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves the API until `shutdown` resolves, then lets requests in progress finish (3 s at most).
/// Hand-rolled around hyper-util (rather than `axum::serve`) for two guards against hostile
/// clients: a header-read timeout, so connections that send nothing or trickle bytes are closed,
/// and a cap on open connections.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!("{MAX_CONNECTIONS} connections are open; refusing another");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_header_size(MAX_HEAD_BYTES)
            .max_headers(100)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(3), graceful.shutdown()).await;
    Ok(())
}
