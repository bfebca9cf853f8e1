//! `Idempotency-Key` on the admin API's POSTs: a retried request is answered as the first and
//! does nothing again; another request under the same key is refused; duplicates sent at once run
//! once; a key belongs to one token and one route, for `idempotency_window`.

use crate::common::*;
use hookwatch::engine::KeyedRequest;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// An answer's status, its `Idempotent-Replayed` header and its body.
struct Answer {
    status: u16,
    replayed: bool,
    body: Value,
}

async fn keyed(base: &str, token: &str, path: &str, key: &str, body: Value) -> Answer {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    Answer { status, replayed, body }
}

fn new_subscription(url: &str) -> Value {
    json!({"name": "crm", "url": url, "actions": ["card.move"]})
}

async fn subscription_count(hw: &Hookwatch) -> usize {
    hw.get("/v1/subscriptions").await["data"].as_array().unwrap().len()
}

/// A create retried with its key gets the first answer (the same subscription, 201), marked as
/// a replay; nothing is created twice, and the audit log has one creation.
#[tokio::test]
async fn a_retried_create_is_answered_as_the_first() {
    let hw = Hookwatch::start().await;
    let body = new_subscription("http://127.0.0.1:9/hooks");
    let first = keyed(&hw.base, ADMIN, "/v1/subscriptions", "create-crm-1", body.clone()).await;
    assert_eq!((first.status, first.replayed), (201, false), "{}", first.body);
    let again = keyed(&hw.base, ADMIN, "/v1/subscriptions", "create-crm-1", body).await;
    assert_eq!((again.status, again.replayed), (201, true), "{}", again.body);
    assert_eq!(again.body, first.body, "the first answer, whole");
    assert_eq!(subscription_count(&hw).await, 1);
    let audit = hw.get("/v1/audit").await;
    let creations = audit["data"].as_array().unwrap().iter().filter(|e| e["action"] == "subscription.create").count();
    assert_eq!(creations, 1, "{audit}");
}

/// The same key with another body, or on another subscription of the same route, is refused
/// with 422 `idempotency_key_reused`, and does nothing.
#[tokio::test]
async fn the_same_key_for_another_request_is_refused() {
    let hw = Hookwatch::start().await;
    let first = keyed(&hw.base, ADMIN, "/v1/subscriptions", "k1", new_subscription("http://127.0.0.1:9/a")).await;
    assert_eq!(first.status, 201);
    let other = keyed(&hw.base, ADMIN, "/v1/subscriptions", "k1", new_subscription("http://127.0.0.1:9/b")).await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(other.body["error"]["code"], "idempotency_key_reused");
    assert!(other.body["error"]["message"].as_str().unwrap().contains("send a new key"), "{}", other.body);
    assert_eq!(subscription_count(&hw).await, 1, "the refused request created nothing");

    let a = first.body["id"].as_str().unwrap();
    let b = hw.subscribe("http://127.0.0.1:9/c", &["card.move"], json!({})).await;
    let b = b["id"].as_str().unwrap();
    assert_eq!(keyed(&hw.base, ADMIN, &format!("/v1/subscriptions/{a}/pause"), "p1", json!({})).await.status, 200);
    let elsewhere = keyed(&hw.base, ADMIN, &format!("/v1/subscriptions/{b}/pause"), "p1", json!({})).await;
    assert_eq!((elsewhere.status, elsewhere.body["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));
    assert_eq!(hw.get(&format!("/v1/subscriptions/{b}")).await["state"], "active", "b was not paused");
}

/// Duplicates sent at once run once: every answer is the one subscription's 201 or a 409
/// `idempotency_key_in_use`, and one subscription exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicates_sent_at_once_run_once() {
    let hw = Hookwatch::start().await;
    let body = new_subscription("http://127.0.0.1:9/hooks");
    let sends = (0..12).map(|_| keyed(&hw.base, ADMIN, "/v1/subscriptions", "burst", body.clone()));
    let answers = futures::future::join_all(sends).await;
    let mut ids = std::collections::BTreeSet::new();
    for answer in &answers {
        match answer.status {
            201 => {
                ids.insert(answer.body["id"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(answer.body["error"]["code"], "idempotency_key_in_use", "{}", answer.body),
            other => panic!("{other}: {}", answer.body),
        }
    }
    assert_eq!(ids.len(), 1, "one subscription answered: {ids:?}");
    assert_eq!(answers.iter().filter(|a| a.status == 201 && !a.replayed).count(), 1, "one ran");
    assert_eq!(subscription_count(&hw).await, 1);

    // The claim itself: of many at once, one runs and the others find it in flight.
    let engine = &hw.server.engine;
    let claims = (0..16).map(|_| engine.claim_key("admin. POST /test", "same", "fingerprint"));
    let claims: Vec<KeyedRequest> = futures::future::join_all(claims).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(claims.iter().filter(|c| **c == KeyedRequest::Run).count(), 1, "{claims:?}");
    assert!(claims.iter().all(|c| matches!(c, KeyedRequest::Run | KeyedRequest::InFlight)), "{claims:?}");
}

/// A key belongs to one token and one route: another token, or another route, with the same key
/// runs its own request.
#[tokio::test]
async fn a_key_belongs_to_one_token_and_one_route() {
    const ALICE: &str = "hw_alice_0123456789abcdef";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hookwatch.tokens"), format!("admin_token.alice = \"{ALICE}\"\n")).unwrap();
    let db = dir.path().join("hookwatch.db").to_string_lossy().into_owned();
    let hw = Hookwatch::start_with(|c| c.db = db).await;
    let sink = Sink::start(Behaviour::default()).await;
    let sub = hw.subscribe(&sink.url, &["card.move"], json!({})).await;
    let test = format!("/v1/subscriptions/{}/test", sub["id"].as_str().unwrap());

    let alice = keyed(&hw.base, ALICE, &test, "t1", card_move("p1", 1)).await;
    let admin = keyed(&hw.base, ADMIN, &test, "t1", card_move("p1", 1)).await;
    assert_eq!((alice.status, admin.status, admin.replayed), (202, 202, false), "{} {}", alice.body, admin.body);
    assert_ne!(alice.body["id"], admin.body["id"], "each token's request ran");
    let alice_again = keyed(&hw.base, ALICE, &test, "t1", card_move("p1", 1)).await;
    assert_eq!((alice_again.replayed, &alice_again.body["id"]), (true, &alice.body["id"]));

    let id = sub["id"].as_str().unwrap();
    let paused = keyed(&hw.base, ADMIN, &format!("/v1/subscriptions/{id}/pause"), "same", json!({})).await;
    let resumed = keyed(&hw.base, ADMIN, &format!("/v1/subscriptions/{id}/resume"), "same", json!({})).await;
    assert_eq!((paused.body["state"].as_str(), resumed.body["state"].as_str()), (Some("paused"), Some("active")));
    assert!(!resumed.replayed);
}

/// After `idempotency_window` a key is forgotten: the same request runs again.
#[tokio::test]
async fn a_key_is_forgotten_after_its_window() {
    let hw = Hookwatch::start_with(|c| c.idempotency_window = "1s".parse().unwrap()).await;
    let body = new_subscription("http://127.0.0.1:9/hooks");
    let first = keyed(&hw.base, ADMIN, "/v1/subscriptions", "k", body.clone()).await;
    let id = first.body["id"].as_str().unwrap();
    assert_eq!(hw.admin(Method::DELETE, &format!("/v1/subscriptions/{id}"), None).await.0, 204);
    assert!(keyed(&hw.base, ADMIN, "/v1/subscriptions", "k", body.clone()).await.replayed, "within the window");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = keyed(&hw.base, ADMIN, "/v1/subscriptions", "k", body).await;
    assert_eq!((later.status, later.replayed), (201, false), "{}", later.body);
    assert_ne!(later.body["id"], first.body["id"], "created anew");
}

/// A key that is too long or not printable ASCII is refused with 400 before anything runs.
#[tokio::test]
async fn a_bad_key_is_refused() {
    let hw = Hookwatch::start().await;
    let long = "k".repeat(256);
    let answer = keyed(&hw.base, ADMIN, "/v1/subscriptions", &long, new_subscription("http://127.0.0.1:9/")).await;
    assert_eq!((answer.status, answer.body["error"]["code"].as_str()), (400, Some("invalid_idempotency_key")));
    assert!(answer.body["error"]["message"].as_str().unwrap().contains("1 to 255 printable ASCII"), "{}", answer.body);
    assert_eq!(subscription_count(&hw).await, 0);
}

/// A refusal the same request would get again is kept too: a 404 stays a 404 under its key.
#[tokio::test]
async fn a_final_refusal_is_kept() {
    let hw = Hookwatch::start().await;
    let missing = "/v1/subscriptions/sub_01KQBIL0000000000000000009/probe";
    let first = keyed(&hw.base, ADMIN, missing, "probe-1", json!({})).await;
    let again = keyed(&hw.base, ADMIN, missing, "probe-1", json!({})).await;
    assert_eq!((first.status, again.status, again.replayed), (404, 404, true));
    assert_eq!(again.body, first.body);
}

/// An answer that asks for a retry (503, the backlog full) is not kept: the retry with the same
/// key runs, and its answer is the one kept.
#[tokio::test]
async fn a_retry_after_a_503_runs() {
    let hw = Hookwatch::start_with(|c| c.max_backlog = 1).await;
    let sink = Sink::start(Behaviour::default()).await;
    let sub = hw.subscribe(&sink.url, &["card.move"], json!({})).await;
    let id = sub["id"].as_str().unwrap();
    assert_eq!(hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/pause"), None).await.0, 200);
    hw.send(&card_move("p1", 1)).await;
    let test = format!("/v1/subscriptions/{id}/test");
    let full = keyed(&hw.base, ADMIN, &test, "t", card_move("p1", 2)).await;
    assert_eq!((full.status, full.body["error"]["code"].as_str()), (503, Some("unavailable")), "{}", full.body);

    assert_eq!(hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/resume"), None).await.0, 200);
    assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await, 1);
    hw.idle(Duration::from_secs(10)).await;
    let retried = keyed(&hw.base, ADMIN, &test, "t", card_move("p1", 2)).await;
    assert_eq!((retried.status, retried.replayed), (202, false), "{}", retried.body);
    let again = keyed(&hw.base, ADMIN, &test, "t", card_move("p1", 2)).await;
    assert_eq!((again.status, again.replayed, &again.body["id"]), (202, true, &retried.body["id"]));
}

/// On PostgreSQL two nodes share the keys: a create retried on the other node is answered as the
/// first, and nothing is created twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_nodes_share_the_keys() {
    let Some(db) = fresh_pg_database().await else { return };
    let start = |node: &'static str| {
        let db = db.clone();
        Hookwatch::start_with(move |c| {
            c.db = db;
            c.node_id = Some(node.into());
        })
    };
    let (a, b) = (start("node-a").await, start("node-b").await);
    let body = new_subscription("http://127.0.0.1:9/hooks");
    let first = keyed(&a.base, ADMIN, "/v1/subscriptions", "shared", body.clone()).await;
    let on_b = keyed(&b.base, ADMIN, "/v1/subscriptions", "shared", body).await;
    assert_eq!((first.status, on_b.status, on_b.replayed), (201, 201, true), "{}", on_b.body);
    assert_eq!(on_b.body["id"], first.body["id"]);
    let claims = (0..8).map(|i| {
        let engine = if i % 2 == 0 { &a.server.engine } else { &b.server.engine };
        engine.claim_key("admin. POST /test", "same", "fingerprint")
    });
    let claims: Vec<KeyedRequest> = futures::future::join_all(claims).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(claims.iter().filter(|c| **c == KeyedRequest::Run).count(), 1, "{claims:?}");
}
