//! `hookwatch demo`: a throwaway server with three loopback endpoints (healthy; flaky with 5xx and
//! slow answers; down, recovering after a while) and a generator of realistic events.

use crate::api::server::Server;
use crate::config::Config;
use crate::domain::catalog::ACTIONS;
use crate::engine::Engine;
use axum::http::StatusCode;
use rand::RngExt;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// When the "down" endpoint comes back.
pub const DOWN_FOR: Duration = Duration::from_secs(45);

#[derive(Clone, Copy)]
enum Kind {
    Healthy,
    Flaky,
}

async fn sink(kind: Kind) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (delay, status) = {
        let mut rng = rand::rng();
        match kind {
            Kind::Healthy => (rng.random_range(5..40), StatusCode::OK),
            Kind::Flaky => {
                let roll: f64 = rng.random();
                let delay = if rng.random_bool(0.2) { rng.random_range(400..1500) } else { rng.random_range(20..120) };
                let status = match roll {
                    r if r < 0.06 => StatusCode::SERVICE_UNAVAILABLE,
                    r if r < 0.10 => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::OK,
                };
                (delay, status)
            }
        }
    };
    tokio::time::sleep(Duration::from_millis(delay)).await;
    let body = if status.is_success() { r#"{"ok":true}"# } else { r#"{"error":"upstream overloaded, try again"}"# };
    let mut resp = (status, [("content-type", "application/json")], body).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        resp.headers_mut().insert("retry-after", axum::http::HeaderValue::from_static("1"));
    }
    resp
}

async fn serve_sink(listener: tokio::net::TcpListener, kind: Kind) {
    let app = axum::Router::new().fallback(move || sink(kind));
    let _ = axum::serve(listener, app).await;
}

async fn bind() -> anyhow::Result<(tokio::net::TcpListener, SocketAddr)> {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = l.local_addr()?;
    Ok((l, addr))
}

/// Starts the demo server, its endpoints and the event generator.
pub async fn start(dir: &std::path::Path, listen: Option<SocketAddr>) -> anyhow::Result<Server> {
    let (healthy, healthy_addr) = bind().await?;
    let (flaky, flaky_addr) = bind().await?;
    // The down endpoint's port is reserved and released: connections are refused until it recovers.
    let (down, down_addr) = bind().await?;
    drop(down);
    tokio::spawn(serve_sink(healthy, Kind::Healthy));
    tokio::spawn(serve_sink(flaky, Kind::Flaky));
    tokio::spawn(async move {
        tokio::time::sleep(DOWN_FOR).await;
        if let Ok(l) = tokio::net::TcpListener::bind(down_addr).await {
            serve_sink(l, Kind::Healthy).await;
        }
    });

    let mut config = Config {
        listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        db: dir.join("demo.db").to_string_lossy().into_owned(),
        allow_private: true,
        retry_schedule: "1s,2s,4s,8s,15s,30s".parse().map_err(anyhow::Error::msg)?,
        admin_token: Some("demo-admin".into()),
        ingest_token: Some("demo-ingest".into()),
        viewer_token: Some("demo-viewer".into()),
        log_file: Some(dir.join("hookwatch.log")),
        ..Config::default()
    };
    config.breaker_cooldown = Duration::from_secs(5).into();
    config.breaker_max_cooldown = Duration::from_secs(20).into();
    let subscription = |name: &str, addr: SocketAddr, path: &str, actions: &[&str]| serde_json::json!({ "name": name, "url": format!("http://{addr}{path}"), "actions": actions });
    config.subscriptions = vec![
        subscription("crm-sync", healthy_addr, "/hooks", &["card.*"]),
        subscription("analytics", flaky_addr, "/ingest", &["*"]),
        subscription("billing", down_addr, "/webhooks", &["user.*", "card.done"]),
    ];
    let server = Server::start(config).await?;
    tokio::spawn(generate(server.engine.clone()));
    Ok(server)
}

const PIPES: [&str; 4] = ["CxeXHeOR", "Pq81LmZa", "Zt4nWq0B", "Hh72KdLs"];
const PHASES: [(u64, &str); 5] = [
    (311_214_433, "Inbox"),
    (311_214_434, "Qualification"),
    (311_214_435, "Proposal"),
    (311_214_436, "Negotiation"),
    (311_214_440, "Won"),
];
const TITLES: [&str; 6] =
    ["Acme Corp renewal", "Globex onboarding", "Initech upgrade", "Umbrella audit", "Stark expansion", "Wayne pilot"];

/// A sample payload with varied ids, titles, pipes and phases.
pub fn realistic(action_index: usize, rng: &mut impl RngExt) -> Value {
    let mut v = ACTIONS[action_index % ACTIONS.len()].sample();
    let data = &mut v["data"];
    if let Some(card) = data.get_mut("card") {
        card["id"] = Value::from(rng.random_range(4_800_000..4_900_000u64));
        card["title"] = Value::from(TITLES[rng.random_range(0..TITLES.len())]);
        card["pipe_id"] = Value::from(PIPES[rng.random_range(0..PIPES.len())]);
    }
    // A move goes forward one phase; other events sit somewhere in the pipe.
    let at = rng.random_range(0..PHASES.len() - 1);
    for (key, offset) in [("from", 0), ("to", 1), ("on_phase", 0)] {
        if data.get(key).is_some_and(|p| p.get("name").is_some() && p.get("organization_id").is_none()) {
            let (id, name) = PHASES[at + offset];
            data[key] = serde_json::json!({"id": id, "name": name});
        }
    }
    v
}

/// Emits events forever: a burst at start so the dashboard is alive at once, then 5–20 per second.
async fn generate(engine: Arc<Engine>) {
    // Card events dominate in a real pipe; user events are rarer.
    let weights: Vec<usize> = ACTIONS
        .iter()
        .map(|a| {
            if a.name == "card.move" {
                8
            } else if a.name.starts_with("card.") {
                3
            } else {
                1
            }
        })
        .collect();
    let total: usize = weights.iter().sum();
    let mut sent = 0u64;
    loop {
        let payload = {
            let mut rng = rand::rng();
            let mut pick = rng.random_range(0..total);
            let index = weights.iter().position(|w| {
                if pick < *w {
                    return true;
                }
                pick -= w;
                false
            });
            realistic(index.unwrap_or(0), &mut rng)
        };
        if let Err(e) = engine.ingest(payload.to_string().into(), None).await {
            tracing::warn!("demo generator: {e}");
        }
        sent += 1;
        let pause = if sent < 25 { 10 } else { rand::rng().random_range(50..200) };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realistic_payloads_stay_valid() {
        let catalog = crate::domain::catalog::Catalog::default();
        let mut rng = rand::rng();
        for i in 0..ACTIONS.len() * 3 {
            let v = realistic(i, &mut rng);
            let facts = crate::validate::payload::inspect(v.to_string().as_bytes(), &catalog).unwrap();
            assert_eq!(facts.action, ACTIONS[i % ACTIONS.len()].name);
        }
    }
}
