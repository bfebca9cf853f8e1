//! One error shape for every refusal: `{"error": {"code", "message", "errors"?}}` as JSON, the
//! framework's own refusals (query strings, paths, GraphQL bodies) included, and each field that
//! was wrong listed once.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// Sends a raw request with the admin token; the status, the content type and the body as JSON.
async fn raw(
    hw: &Hookwatch,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String, Value) {
    let mut request = hw.http.request(method, format!("{}{path}", hw.base)).bearer_auth(ADMIN).body(body.to_string());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text:?}"));
    (status, content_type.unwrap_or_default(), body)
}

type Case = ((Method, &'static str, Option<&'static str>, &'static str), (u16, &'static str, &'static str));

#[tokio::test]
async fn every_refusal_is_json_in_one_shape_and_says_what_to_send() {
    let hw = Hookwatch::start().await;
    // (method, path, content type, body) → (status, code, a phrase of the message)
    let cases: [Case; 7] = [
        ((Method::GET, "/v1/events?limit=1&limit=2", None, ""), (400, "invalid_query", "each parameter once")),
        ((Method::GET, "/v1/audit?page=2", None, ""), (400, "invalid_query", "?limit=1..500&iterator=")),
        ((Method::GET, "/v1/events/%FF", None, ""), (400, "invalid_path", "ids are ASCII")),
        ((Method::POST, "/graphql", None, ""), (400, "malformed_graphql_request", "\"query\"")),
        (
            (Method::POST, "/graphql", Some("application/json"), "{\"query\": "),
            (400, "malformed_graphql_request", "JSON"),
        ),
        ((Method::POST, "/v1/subscriptions", None, "{}"), (415, "unsupported_media_type", "application/json")),
        ((Method::PUT, "/v1/events", None, ""), (405, "method_not_allowed", "PUT")),
    ];
    for ((method, path, content_type, body), (status, code, says)) in cases {
        let (got, media, answer) = raw(&hw, method.clone(), path, content_type, body).await;
        assert_eq!((got, media.as_str()), (status, "application/json"), "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{method} {path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{method} {path}: {message}");
        // Never a framework's type name or debug form.
        assert!(!message.contains("InvalidRequest(") && !message.contains("Failed to deserialize"), "{message}");
    }
}

/// Each route's id is of one kind (`evt_…`, `sub_…`, `rpl_…`): text that is no id of that kind,
/// an id of another kind among them, names nothing and is answered as an unknown id is (404
/// `not_found`), saying what the route's ids look like and where they are listed.
#[tokio::test]
async fn an_id_of_another_kind_names_nothing_and_says_what_the_route_takes() {
    let hw = Hookwatch::start().await;
    let sub = hw.subscribe("https://crm.example.com/h", &["*"], json!({})).await;
    let sub_id = sub["id"].as_str().unwrap();
    let cases = [
        (Method::GET, format!("/v1/events/{sub_id}"), "event ids begin with `evt_`"),
        (Method::POST, format!("/v1/events/{sub_id}/redeliver"), "list them with GET /v1/events"),
        (Method::GET, "/v1/subscriptions/evt_01M8TQ4KT8MYNWP4CXCXDK780E".into(), "subscription ids begin with `sub_`"),
        (Method::POST, "/v1/subscriptions/sub_a.b/pause".into(), "subscription ids begin with `sub_`"),
        (Method::GET, format!("/v1/replays/{sub_id}"), "replay ids begin with `rpl_`"),
        // An id of the right kind that names nothing, as before.
        (Method::GET, "/v1/events/evt_01M8TQ4KT8MYNWP4CXCXDK780E".into(), "list events with GET /v1/events"),
    ];
    for (method, path, says) in cases {
        let (got, media, answer) = raw(&hw, method.clone(), &path, None, "").await;
        assert_eq!((got, media.as_str()), (404, "application/json"), "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found", "{method} {path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{method} {path}: {message}");
    }
    let (status, _) = hw.admin(Method::GET, &format!("/v1/subscriptions/{sub_id}"), None).await;
    assert_eq!(status, 200, "its own kind of id still finds it");
}

#[tokio::test]
async fn every_wrong_field_of_a_subscription_is_listed_once() {
    let hw = Hookwatch::start().await;
    let (status, answer) = hw
        .admin(
            Method::POST,
            "/v1/subscriptions",
            Some(json!({"url": "ftp://x.example.com", "actions": ["card.explode"], "timeout_ms": 5, "name": ""})),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let fields: Vec<(&str, &str)> = answer["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["field"].as_str().unwrap(), p["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [
            ("name", "invalid_name"),
            ("url", "invalid_url"),
            ("actions", "unknown_action"),
            ("timeout_ms", "invalid_timeout")
        ]
    );
    assert_eq!(answer["error"]["code"], "invalid_name", "the first problem's code, for clients that read one");
    let (_, missing) = hw.admin(Method::POST, "/v1/subscriptions", Some(json!({}))).await;
    let codes: Vec<&str> =
        missing["error"]["errors"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["missing_url", "missing_actions"], "{missing}");
    // A field of the wrong type is named by its path in the body.
    let (status, typed) = hw
        .admin(
            Method::POST,
            "/v1/subscriptions",
            Some(json!({"url": "https://x.example.com", "actions": ["*"], "headers": {"X-Team": 7}})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), typed["error"]["errors"][0]["field"].as_str()),
        (422, Some("headers.X-Team")),
        "{typed}"
    );
    assert_eq!(hw.get("/v1/subscriptions").await["data"].as_array().unwrap().len(), 0, "nothing was stored");
}

#[tokio::test]
async fn graphql_answers_the_media_type_the_client_accepts() {
    let hw = Hookwatch::start().await;
    let query = r#"{"query": "{ pipes(ids: [1]) { id } }"}"#;
    for (accept, expected) in [
        (None, "application/json"),
        (Some("application/json"), "application/json"),
        (Some("application/graphql-response+json, application/json;q=0.9"), "application/graphql-response+json"),
    ] {
        let mut request = hw
            .http
            .post(format!("{}/graphql", hw.base))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(query);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], expected, "Accept: {accept:?}");
    }
}

/// Every answer carries a request id, the client's own when usable; a 5xx answer is logged with
/// it, so the request a client reports is found in the server's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id_that_its_log_lines_carry_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &["--max-backlog", "1"]);
    let http = reqwest::Client::new();
    let ingest = |id: Option<&str>| {
        let mut request = http
            .post(format!("{}/v1/events", server.base))
            .bearer_auth(INGEST)
            .header("content-type", "application/json")
            .body(card_move("P", 2).to_string());
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    let id_of = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();
    let made = id_of(&http.get(format!("{}/healthz", server.base)).send().await.unwrap());
    assert!(made.starts_with("req_") && made.len() == 30, "{made}");
    let refused = http.get(format!("{}/v1/nowhere", server.base)).bearer_auth(ADMIN).send().await.unwrap();
    assert!(id_of(&refused).starts_with("req_"), "refusals carry one too");
    // A paused subscription keeps what is ingested queued: the second event is past max_backlog.
    let sink = Sink::start(Behaviour::default()).await;
    let body = json!({"url": sink.url, "actions": ["*"], "state": "paused"});
    let created = http
        .post(format!("{}/v1/subscriptions", server.base))
        .bearer_auth(ADMIN)
        .header("x-request-id", "change-2026-12-07.1")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    // The change's audit entry names the request that made it.
    let (_, audit) = call(&http, Method::GET, &format!("{}/v1/audit", server.base), ADMIN, None).await;
    assert_eq!(audit["data"][0]["request_id"], "change-2026-12-07.1", "{audit}");
    // A usable id is the client's own; one that a log line should not carry whole is replaced.
    let first = ingest(Some("client-7f3a:retry.1")).await.unwrap();
    assert_eq!((first.status().as_u16(), id_of(&first).as_str()), (202, "client-7f3a:retry.1"));
    for unusable in ["a b", &"x".repeat(129), "\u{1b}[31m"] {
        let answer = ingest(Some(unusable)).await;
        let Ok(answer) = answer else { continue }; // a header value reqwest itself refuses to send
        assert!(id_of(&answer).starts_with("req_"), "{unusable:?} → {}", id_of(&answer));
    }
    // The backlog is full: a 503, logged with the client's id.
    let full = ingest(Some("incident-42")).await.unwrap();
    assert_eq!((full.status().as_u16(), id_of(&full).as_str()), (503, "incident-42"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let logged = loop {
        let line = server.log.lock().unwrap().iter().find(|l| l.contains("incident-42")).cloned();
        if line.is_some() || std::time::Instant::now() > deadline {
            break line;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let logged = logged.expect("the 503 is in the log with its request id");
    assert!(logged.contains("503") && logged.contains("POST /v1/events"), "{logged}");
}
