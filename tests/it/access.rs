//! Who may do what, through the real binary: the viewer token reads every admin route and is
//! refused (403 `forbidden`) on every route that changes something; the route list comes from the
//! router itself, so a route added later is checked too.

use crate::common::*;
use hookwatch::domain::model::mask;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_viewer_token_reads_everything_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let http = reqwest::Client::new();
    let (status, sub) = call(
        &http,
        Method::POST,
        &format!("{}/v1/subscriptions", server.base),
        ADMIN,
        Some(json!({"name": "crm", "url": "http://127.0.0.1:9/h", "actions": ["*"],
                    "headers": {"Authorization": "Bearer consumer-credential"}})),
    )
    .await;
    assert_eq!(status, 201, "the admin token still changes things: {sub}");
    let sub_id = sub["id"].as_str().unwrap();
    let (_, event) =
        call(&http, Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(card_move("P", 2))).await;
    let event_id = event["id"].as_str().unwrap();
    let (_, replay) = call(
        &http,
        Method::POST,
        &format!("{}/v1/replays", server.base),
        ADMIN,
        Some(json!({"filter": {"action": "card.create"}})),
    )
    .await;
    let replay_id = replay["id"].as_str().expect("a replay was created");

    let routes = hookwatch::api::admin_routes();
    assert!(routes.len() >= 15, "the router's table was read: {routes:?}");
    let mut refused = 0;
    for (method, template) in routes {
        let id = match template {
            t if t.starts_with("/v1/events/") => event_id,
            t if t.starts_with("/v1/replays/") => replay_id,
            _ => sub_id,
        };
        let path = template.replace("{id}", id);
        let url = format!("{}{path}", server.base);
        let resp = http
            .request(method.clone(), &url)
            .bearer_auth(VIEWER)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if method == Method::GET && !hookwatch::api::ADMIN_ONLY_READS.contains(&template) {
            assert_eq!(status, 200, "{method} {path}: the viewer reads it");
            continue;
        }
        let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or_default();
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{method} {path}: {body}");
        refused += 1;
    }
    assert!(refused >= 8, "every mutating route was tried ({refused})");
    let (status, body) =
        call(&http, Method::POST, &format!("{}/v1/events", server.base), VIEWER, Some(card_move("P", 2))).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("forbidden")), "ingest: {body}");
    let (_, still) =
        call(&http, Method::GET, &format!("{}/v1/subscriptions/{sub_id}", server.base), VIEWER, None).await;
    assert_eq!(still["state"], "active", "nothing the viewer tried changed it: {still}");
    let (_, listed) = call(&http, Method::GET, &format!("{}/v1/subscriptions", server.base), VIEWER, None).await;
    for seen in [&still, &listed["data"][0]] {
        assert_eq!(seen["secret"], json!(mask(sub["secret"].as_str().unwrap())), "the viewer sees secrets masked");
        assert_eq!(seen["headers"]["Authorization"], json!(mask("Bearer consumer-credential")));
    }
    let (_, access) = call(&http, Method::GET, &format!("{}/v1/access", server.base), VIEWER, None).await;
    assert_eq!((access["actor"].as_str(), access["can_change"].as_bool()), (Some("viewer"), Some(false)));
    let (_, access) = call(&http, Method::GET, &format!("{}/v1/access", server.base), ADMIN, None).await;
    assert_eq!(access["can_change"], true);
}

/// Every change made through the API is in the audit log once, newest first, with the token kind
/// that made it; a refused change leaves nothing; no secret reaches a summary.
#[tokio::test]
async fn every_change_is_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let (_, sub) = call(
        &http,
        Method::POST,
        &url("/v1/subscriptions"),
        ADMIN,
        Some(json!({"name": "crm", "url": "http://127.0.0.1:9/h", "actions": ["*"], "secret": secret})),
    )
    .await;
    let id = sub["id"].as_str().unwrap().to_string();
    let (_, event) = call(&http, Method::POST, &url("/v1/events"), INGEST, Some(card_move("P", 2))).await;
    let event_id = event["id"].as_str().unwrap();
    let changes: [(Method, String, serde_json::Value); 7] = [
        (Method::PATCH, format!("/v1/subscriptions/{id}"), json!({"timeout_ms": 5000})),
        (Method::POST, format!("/v1/subscriptions/{id}/pause"), json!({})),
        (Method::POST, format!("/v1/subscriptions/{id}/resume"), json!({})),
        (Method::POST, format!("/v1/subscriptions/{id}/rotate-secret"), json!({})),
        (Method::POST, format!("/v1/events/{event_id}/redeliver"), json!({"failed_only": true})),
        (Method::POST, format!("/v1/subscriptions/{id}/recover"), json!({"since": "2026-01-01T00:00:00Z"})),
        (Method::DELETE, format!("/v1/subscriptions/{id}"), json!({})),
    ];
    for (method, path, body) in changes {
        let (status, answer) = call(&http, method.clone(), &url(&path), ADMIN, Some(body)).await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
    }
    let (status, _) = call(&http, Method::POST, &url("/v1/subscriptions/sub_none/pause"), ADMIN, None).await;
    assert_eq!(status, 404, "a refused change");

    let (status, log) = call(&http, Method::GET, &url("/v1/audit"), VIEWER, None).await;
    assert_eq!(status, 200, "the viewer reads the audit log: {log}");
    let entries = log["data"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "subscription.delete",
            "subscription.recover",
            "event.redeliver",
            "subscription.rotate_secret",
            "subscription.resume",
            "subscription.pause",
            "subscription.update",
            "subscription.create",
        ],
        "one entry per change, newest first: {log}"
    );
    assert!(entries.iter().all(|e| e["actor"] == "admin" && e["at"].is_string()), "{log}");
    assert_eq!(entries[2]["target"], event_id);
    assert!(entries.iter().filter(|e| e["action"] != "event.redeliver").all(|e| e["target"] == id.as_str()));
    assert!(!log.to_string().contains(secret), "no secret in the audit log");
    let (status, body) = call(&http, Method::GET, &url("/v1/audit?limit=0"), ADMIN, None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("invalid_limit")), "{body}");
}

/// An operator probes an open breaker now instead of waiting out its cooldown (a minute here):
/// the held delivery goes out, succeeds, and the breaker closes. A closed breaker has nothing to
/// probe (409). The probe is audited.
#[tokio::test]
async fn a_probe_closes_an_open_breaker_before_its_cooldown_ends() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(
        &dir.path().join("hw.db").to_string_lossy(),
        &["--breaker-threshold", "2", "--breaker-cooldown", "60s", "--retry-schedule", "10ms,10ms,10ms,10ms"],
    );
    let sink = Sink::start(Behaviour { default_status: 500, ..Default::default() }).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let (_, sub) = call(
        &http,
        Method::POST,
        &url("/v1/subscriptions"),
        ADMIN,
        Some(json!({"name": "crm", "url": sink.url, "actions": ["*"], "max_in_flight": 1})),
    )
    .await;
    let id = sub["id"].as_str().unwrap().to_string();
    let (status, refused) =
        call(&http, Method::POST, &url(&format!("/v1/subscriptions/{id}/probe")), ADMIN, None).await;
    assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (409, Some("conflict")), "{refused}");
    let (_, event) = call(&http, Method::POST, &url("/v1/events"), INGEST, Some(card_move("P", 2))).await;
    let event_path = format!("/v1/events/{}", event["id"].as_str().unwrap());
    let stats = until(&server.base, "/v1/stats", std::time::Duration::from_secs(5), |s| {
        s["subscriptions"][0]["breaker"] == "open"
    })
    .await;
    assert_eq!(stats["subscriptions"][0]["breaker"], "open", "the breaker never opened: {stats}");
    let attempts_when_open = sink.count();
    sink.behaviour.lock().unwrap().default_status = 200;
    let (status, probing) =
        call(&http, Method::POST, &url(&format!("/v1/subscriptions/{id}/probe")), ADMIN, None).await;
    assert_eq!((status.as_u16(), probing["held"].as_u64()), (202, Some(1)), "{probing}");
    assert_eq!(sink.wait_for(attempts_when_open + 1, std::time::Duration::from_secs(5)).await, attempts_when_open + 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, detail) = call(&http, Method::GET, &url(&event_path), ADMIN, None).await;
        let (_, stats) = call(&http, Method::GET, &url("/v1/stats"), ADMIN, None).await;
        if detail["deliveries"][0]["status"] == "succeeded" && stats["subscriptions"][0]["breaker"] == "closed" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the probe did not close the breaker: {stats} {detail}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (_, log) = call(&http, Method::GET, &url("/v1/audit"), ADMIN, None).await;
    assert_eq!(log["data"][0]["action"], "subscription.probe", "{log}");
}

/// Named tokens in the token file: each acts as its kind, and the audit log records its name;
/// the unnamed tokens go on working beside them.
#[tokio::test]
async fn a_named_token_is_named_in_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, noc) = ("hw_alice_0123456789abcdef", "hw_noc_0123456789abcdef");
    let named = format!("admin_token.alice = {alice:?}\nviewer_token.noc-screen = {noc:?}\n");
    std::fs::write(dir.path().join("hookwatch.tokens"), named).unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let body = json!({"name": "crm", "url": "http://127.0.0.1:9/h", "actions": ["*"]});
    let (status, sub) = call(&http, Method::POST, &url("/v1/subscriptions"), alice, Some(body)).await;
    assert_eq!(status, 201, "{sub}");
    let pause = url(&format!("/v1/subscriptions/{}/pause", sub["id"].as_str().unwrap()));
    let (status, refused) = call(&http, Method::POST, &pause, noc, None).await;
    assert_eq!(status, 403, "a named viewer token changes nothing: {refused}");
    let (status, _) = call(&http, Method::POST, &pause, ADMIN, None).await;
    assert_eq!(status, 200);
    let (status, log) = call(&http, Method::GET, &url("/v1/audit"), noc, None).await;
    assert_eq!(status, 200, "{log}");
    let who: Vec<(&str, Option<&str>, &str)> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["name"].as_str(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(who, [("subscription.pause", None, "admin"), ("subscription.create", Some("alice"), "admin")]);
}
