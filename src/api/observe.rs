//! Read-only views: `/v1/stats`, `/v1/alerts`, `/healthz`, `/metrics`, `/v1/catalog`.

use super::AppState;
use crate::catalog::ACTIONS;
use crate::model::SubscriptionState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use std::fmt::Write;

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

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    let report = app.engine.stats();
    let mut out = String::new();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(&mut out, "hookwatch_up", "gauge", "1 while the server runs.");
    let _ = writeln!(out, "hookwatch_up 1");
    family(&mut out, "hookwatch_uptime_seconds", "gauge", "Seconds since the server started.");
    let _ = writeln!(out, "hookwatch_uptime_seconds {}", report.uptime_s);
    family(&mut out, "hookwatch_events_ingested_total", "counter", "Events accepted since start.");
    let _ = writeln!(out, "hookwatch_events_ingested_total {}", report.events_ingested);
    family(&mut out, "hookwatch_ingest_rate", "gauge", "Events accepted per second over the last 10 seconds.");
    let _ = writeln!(out, "hookwatch_ingest_rate {}", report.ingest_per_second);
    family(&mut out, "hookwatch_backlog_all_subscriptions", "gauge", "Deliveries waiting across all subscriptions.");
    let _ = writeln!(out, "hookwatch_backlog_all_subscriptions {}", report.backlog);

    let subs = &report.subscriptions;
    let labels =
        |s: &crate::report::EndpointReport| format!("subscription=\"{}\",name=\"{}\"", label(&s.id), label(&s.name));
    family(&mut out, "hookwatch_delivery_attempts_total", "counter", "Delivery attempts since start, by outcome.");
    for s in subs {
        let l = labels(s);
        let _ = writeln!(out, "hookwatch_delivery_attempts_total{{{l},outcome=\"success\"}} {}", s.total_successes);
        let _ = writeln!(
            out,
            "hookwatch_delivery_attempts_total{{{l},outcome=\"failure\"}} {}",
            s.total_attempts - s.total_successes
        );
    }
    family(&mut out, "hookwatch_success_ratio", "gauge", "Attempt success ratio per window (absent without attempts).");
    for s in subs {
        for (window, rate) in &s.success_rate {
            if let Some(rate) = rate {
                let _ = writeln!(out, "hookwatch_success_ratio{{{},window=\"{window}\"}} {rate}", labels(s));
            }
        }
    }
    family(
        &mut out,
        "hookwatch_delivery_latency_seconds",
        "gauge",
        "Attempt latency quantiles over the last 5 minutes.",
    );
    for s in subs {
        for (q, v) in [("0.5", s.latency_ms.p50_ms), ("0.95", s.latency_ms.p95_ms), ("0.99", s.latency_ms.p99_ms)] {
            if let Some(ms) = v {
                let _ = writeln!(
                    out,
                    "hookwatch_delivery_latency_seconds{{{},quantile=\"{q}\"}} {}",
                    labels(s),
                    ms as f64 / 1000.0
                );
            }
        }
    }
    family(&mut out, "hookwatch_backlog", "gauge", "Deliveries waiting for this subscription.");
    for s in subs {
        let _ = writeln!(out, "hookwatch_backlog{{{}}} {}", labels(s), s.backlog);
    }
    family(&mut out, "hookwatch_in_flight", "gauge", "Attempts in flight for this subscription.");
    for s in subs {
        let _ = writeln!(out, "hookwatch_in_flight{{{}}} {}", labels(s), s.in_flight);
    }
    family(&mut out, "hookwatch_breaker_open", "gauge", "1 when the circuit breaker is open or half-open.");
    for s in subs {
        let open = u8::from(s.breaker != crate::dispatch::BreakerState::Closed);
        let _ = writeln!(out, "hookwatch_breaker_open{{{}}} {open}", labels(s));
    }
    family(&mut out, "hookwatch_subscription_state", "gauge", "1 for the subscription's current state.");
    for s in subs {
        for state in [SubscriptionState::Active, SubscriptionState::Paused, SubscriptionState::Disabled] {
            let _ = writeln!(
                out,
                "hookwatch_subscription_state{{{},state=\"{}\"}} {}",
                labels(s),
                state.as_str(),
                u8::from(s.state == state)
            );
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out)
}
