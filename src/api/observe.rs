//! Read-only views: `/v1/stats`, `/v1/alerts`, `/healthz`, `/metrics`, `/v1/catalog`.

use super::AppState;
use crate::catalog::ACTIONS;
use axum::Json;
use axum::extract::State;
use axum::http::header;
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

pub async fn healthz(State(app): State<AppState>) -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "uptime_s": app.engine.uptime().as_secs()}))
}

pub async fn catalog(State(app): State<AppState>) -> Json<Value> {
    let catalog = app.engine.catalog();
    let actions: Vec<Value> = catalog
        .names()
        .into_iter()
        .map(|name| match crate::catalog::find(&name) {
            Some(spec) => json!({"action": spec.name, "description": spec.description, "sample": spec.sample()}),
            None => json!({"action": name, "description": "declared in the config file", "sample": null}),
        })
        .collect();
    Json(json!({"data": actions, "builtin": ACTIONS.len()}))
}

pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], app.engine.metrics())
}
