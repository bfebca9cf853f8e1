//! Delivery end to end: signatures, filters, retries, isolation, pause/resume, redelivery.

use crate::common::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn deliveries_are_byte_exact_and_verify_with_the_standard_webhooks_library() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let sub = hw.subscribe(&sink.url, &["card.*"], json!({"headers": {"X-Team": "crm"}})).await;
    // Odd spacing and key order must survive: the delivered body is the ingested body.
    let raw = r#"{ "data" : {"action":"Card.Move", "card": {"id": 7, "pipe_id": "P1"}, "zeta": 1, "alpha": [1,2]} }"#;
    let (status, _, accepted) = hw.ingest_raw(raw, "application/json", INGEST).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["action"], "card.move");
    assert_eq!(accepted["deliveries"], 1);
    assert_eq!(sink.wait_for(1, Duration::from_secs(5)).await, 1);
    let got = &sink.requests()[0];
    assert_eq!(&got.body[..], raw.as_bytes());
    assert_eq!(got.headers["webhook-id"], accepted["id"].as_str().unwrap());
    assert_eq!(got.headers["x-team"], "crm");
    assert_eq!(got.headers["content-type"], "application/json");
    assert!(got.headers["user-agent"].to_str().unwrap().starts_with("hookwatch/"));
    let wh = standardwebhooks::Webhook::new(&hw.secret(&sub).await).unwrap();
    wh.verify(&got.body, &got.headers).expect("the official verifier accepts the signature");

    let event = hw.settled(accepted["id"].as_str().unwrap(), Duration::from_secs(5)).await;
    let attempt = &event["deliveries"][0]["attempts"][0];
    assert_eq!(event["deliveries"][0]["status"], "succeeded");
    assert_eq!(attempt["status_code"], 200);
    assert_eq!(attempt["response_body"], "sink answered 200");
    assert!(attempt["request_headers"]["webhook-signature"].as_str().unwrap().starts_with("v1,"));
}

#[tokio::test]
async fn every_secret_rotated_out_within_a_day_keeps_signing() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({})).await;
    let old = hw.secret(&sub).await;
    let id = sub["id"].as_str().unwrap();
    let (status, rotated) = hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/rotate-secret"), None).await;
    assert_eq!(status, 200, "{rotated}");
    assert!(rotated["secret"].as_str().unwrap().ends_with("(masked)"), "the answer masks it: {rotated}");
    let new = hw.secret(&sub).await;
    assert_ne!(old, new);
    // A second rotation within the 24 hours: the first secret keeps signing too.
    hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/rotate-secret"), None).await;
    let keys = hw.get(&format!("/v1/subscriptions/{id}/secret")).await;
    let newest = keys["key"].as_str().unwrap().to_string();
    hw.send(&card_move("P", 2)).await;
    sink.wait_for(1, Duration::from_secs(5)).await;
    let got = &sink.requests()[0];
    assert_eq!(got.headers["webhook-signature"].to_str().unwrap().split(' ').count(), 3);
    for secret in [&old, &new, &newest] {
        standardwebhooks::Webhook::new(secret).unwrap().verify(&got.body, &got.headers).expect("every secret verifies");
    }
    let previous: Vec<&str> =
        keys["previous"].as_array().unwrap().iter().map(|p| p["secret"].as_str().unwrap()).collect();
    assert_eq!(previous, [new.as_str(), old.as_str()], "the admin reads what still signs, newest first: {keys}");
    assert!(keys["previous"].as_array().unwrap().iter().all(|p| p["until"].is_string()), "each with its end: {keys}");
}

/// A subscription signing with `v1a` (Ed25519): deliveries carry `v1a,…`, verified here by an
/// independent implementation with the public key the API shows (to a viewer too); switching a
/// `v1` subscription to `v1a` keeps the old secret signing beside the new key.
#[tokio::test]
async fn v1a_deliveries_verify_with_the_published_public_key() {
    use base64::Engine as _;
    use ed25519_dalek::Verifier;
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({"signing": "v1a"})).await;
    assert!(hw.secret(&sub).await.starts_with("whsk_"), "{sub}");
    let id = sub["id"].as_str().unwrap();
    let (_, as_viewer) = call(&hw.http, Method::GET, &format!("{}/v1/subscriptions/{id}", hw.base), VIEWER, None).await;
    assert_eq!(as_viewer["public_key"], sub["public_key"], "the public key is for anyone who reads");
    assert!(as_viewer["secret"].as_str().unwrap().ends_with("(masked)"));
    let public = sub["public_key"].as_str().unwrap().strip_prefix("whpk_").unwrap();
    let public: [u8; 32] = base64::engine::general_purpose::STANDARD.decode(public).unwrap().try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();

    hw.send(&card_move("P", 2)).await;
    sink.wait_for(1, Duration::from_secs(5)).await;
    let got = &sink.requests()[0];
    let header = |name: &str| got.headers[name].to_str().unwrap().to_string();
    let signature = header("webhook-signature");
    let signature = signature.strip_prefix("v1a,").expect("a v1a signature");
    let signature = base64::engine::general_purpose::STANDARD.decode(signature).unwrap();
    let mut signed = format!("{}.{}.", header("webhook-id"), header("webhook-timestamp")).into_bytes();
    signed.extend_from_slice(&got.body);
    key.verify(&signed, &ed25519_dalek::Signature::from_slice(&signature).unwrap()).expect("the delivery verifies");

    // A v1 subscription switched to v1a: both schemes sign until the old secret's day is over.
    let other = Sink::start(Behaviour::default()).await;
    let v1 = hw.subscribe(&other.url, &["*"], json!({})).await;
    let v1_secret = hw.secret(&v1).await;
    let path = format!("/v1/subscriptions/{}", v1["id"].as_str().unwrap());
    let (status, switched) = hw.admin(Method::PATCH, &path, Some(json!({"signing": "v1a"}))).await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(switched["previous_secret"], v1["secret"], "masked alike");
    hw.send(&card_move("P", 2)).await;
    other.wait_for(1, Duration::from_secs(5)).await;
    let got = &other.requests()[0];
    let schemes: Vec<&str> =
        got.headers["webhook-signature"].to_str().unwrap().split(' ').filter_map(|s| s.split(',').next()).collect();
    assert_eq!(schemes, ["v1a", "v1"]);
    standardwebhooks::Webhook::new(&v1_secret)
        .unwrap()
        .verify(&got.body, &got.headers)
        .expect("a v1 consumer still verifies");
}

#[tokio::test]
async fn filters_and_actions_decide_who_receives_what() {
    let hw = Hookwatch::start().await;
    let crm = Sink::start(Behaviour::default()).await;
    let users = Sink::start(Behaviour::default()).await;
    // Ids as numbers or strings, as Pipefy's own examples give them.
    hw.subscribe(&crm.url, &["card.move"], json!({"filters": {"pipe_id": ["P1"], "to_phase_id": [20, "21"]}})).await;
    hw.subscribe(&users.url, &["user.*"], json!({})).await;
    // `field_id` names the field's numeric internal_id, as Pipefy's filters do.
    let fields = Sink::start(Behaviour::default()).await;
    hw.subscribe(&fields.url, &["card.field_update"], json!({"filters": {"field_id": [318406017]}})).await;
    let update = hookwatch::domain::catalog::find("card.field_update").unwrap().sample();
    assert_eq!(update["data"]["field"]["internal_id"], 318406017, "the sample carries the internal id");
    assert_eq!(hw.send(&update).await["deliveries"], 1);
    assert_eq!(fields.wait_for(1, Duration::from_secs(5)).await, 1);

    assert_eq!(hw.send(&card_move("P1", 20)).await["deliveries"], 1);
    assert_eq!(hw.send(&card_move("P2", 20)).await["deliveries"], 0, "pipe filter");
    assert_eq!(hw.send(&card_move("P1", 99)).await["deliveries"], 0, "phase filter");
    let role = hookwatch::domain::catalog::find("user.role_set").unwrap().sample();
    assert_eq!(hw.send(&role).await["deliveries"], 1);
    // The changelog's spelling is the same action.
    let accepted = json!({"data": {"action": "user.invitation_accepted", "user": {"id": 402118}}});
    let sent = hw.send(&accepted).await;
    assert_eq!((sent["action"].as_str(), sent["deliveries"].as_u64()), (Some("user.invitation_acceptance"), Some(1)));

    assert_eq!(crm.wait_for(1, Duration::from_secs(5)).await, 1);
    assert_eq!(users.wait_for(2, Duration::from_secs(5)).await, 2);
    hw.idle(Duration::from_secs(5)).await;
    assert_eq!((crm.count(), users.count()), (1, 2), "nothing else was delivered");
    let as_sent = br#"{"data":{"action":"user.invitation_accepted""#;
    assert!(users.requests().iter().any(|r| r.body.starts_with(as_sent)), "delivered byte for byte");
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_until_it_recovers() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour { script: [500, 503].into(), ..Default::default() }).await;
    hw.subscribe(&sink.url, &["*"], json!({})).await;
    let id = hw.send(&card_move("P", 2)).await["id"].as_str().unwrap().to_string();
    let event = hw.settled(&id, Duration::from_secs(10)).await;
    let delivery = &event["deliveries"][0];
    assert_eq!(delivery["status"], "succeeded", "{event}");
    let attempts = delivery["attempts"].as_array().unwrap();
    let codes: Vec<_> = attempts.iter().map(|a| a["status_code"].as_u64().unwrap()).collect();
    assert_eq!(codes, vec![500, 503, 200]);
    assert_eq!(attempts[0]["error_kind"], "status");
    assert!(attempts[0]["next_retry_at"].is_string());
    // Every attempt carries the same webhook-id.
    let ids: Vec<_> = sink.requests().iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn exhausted_deliveries_are_dead_and_can_be_redelivered() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour { default_status: 500, ..Default::default() }).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({})).await;
    let id = hw.send(&card_move("P", 2)).await["id"].as_str().unwrap().to_string();
    let event = hw.settled(&id, Duration::from_secs(10)).await;
    assert_eq!(event["deliveries"][0]["status"], "dead");
    assert_eq!(sink.count(), 4, "one attempt plus three retries");

    let failed = hw.get("/v1/events?status=failed").await;
    assert_eq!(failed["data"].as_array().unwrap().len(), 1);

    sink.behaviour.lock().unwrap().default_status = 200;
    let (status, body) = hw.admin(Method::POST, &format!("/v1/events/{id}/redeliver"), None).await;
    assert_eq!((status.as_u16(), body["redelivering"].as_u64()), (202, Some(1)));
    let event = hw.settled(&id, Duration::from_secs(5)).await;
    assert_eq!(event["deliveries"][0]["status"], "succeeded");

    // Bulk recovery picks up every failed delivery since a time.
    sink.behaviour.lock().unwrap().default_status = 500;
    let id2 = hw.send(&card_move("P", 2)).await["id"].as_str().unwrap().to_string();
    assert_eq!(hw.settled(&id2, Duration::from_secs(10)).await["deliveries"][0]["status"], "dead");
    sink.behaviour.lock().unwrap().default_status = 200;
    let sub_id = sub["id"].as_str().unwrap();
    let (status, body) = hw
        .admin(
            Method::POST,
            &format!("/v1/subscriptions/{sub_id}/recover"),
            Some(json!({"since": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!((status.as_u16(), body["redelivering"].as_u64()), (202, Some(1)), "{body}");
    assert_eq!(hw.settled(&id2, Duration::from_secs(5)).await["deliveries"][0]["status"], "succeeded");
}

#[tokio::test]
async fn a_slow_endpoint_does_not_delay_a_fast_one() {
    let hw = Hookwatch::start().await;
    let slow = Sink::start(Behaviour { delay: Duration::from_secs(5), ..Default::default() }).await;
    let fast = Sink::start(Behaviour::default()).await;
    hw.subscribe(&slow.url, &["*"], json!({"max_in_flight": 1})).await;
    hw.subscribe(&fast.url, &["*"], json!({})).await;
    for _ in 0..10 {
        hw.send(&card_move("P", 2)).await;
    }
    // The fast endpoint has everything long before the slow one answers even once.
    assert_eq!(fast.wait_for(10, Duration::from_secs(3)).await, 10);
    assert_eq!(slow.count(), 1, "the slow endpoint has one request in flight");
}

#[tokio::test]
async fn paused_subscriptions_queue_and_resume_delivers() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let slow = Sink::start(Behaviour { delay: Duration::from_secs(3), ..Default::default() }).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({})).await;
    let busy = hw.subscribe(&slow.url, &["*"], json!({"max_in_flight": 1})).await;
    let (id, busy_id) = (sub["id"].as_str().unwrap(), busy["id"].as_str().unwrap());
    let (status, paused) = hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/pause"), None).await;
    assert_eq!((status.as_u16(), paused["state"].as_str()), (200, Some("paused")));
    let mut sent: Vec<String> = (0..3).map(|phase| card_move(&format!("pipe-{phase}"), phase).to_string()).collect();
    for body in &sent {
        let (status, _, answer) = hw.ingest_raw(body.clone(), "application/json", INGEST).await;
        assert_eq!(status.as_u16(), 202, "{answer}");
    }
    let lane = |stats: &serde_json::Value, id: &str| {
        stats["subscriptions"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone()
    };
    let stats = hw
        .until("/v1/stats", Duration::from_secs(5), |s| {
            lane(s, id)["backlog"] == 3 && lane(s, busy_id)["in_flight"] == 1
        })
        .await;
    assert_eq!(lane(&stats, id)["backlog"], 3, "the paused lane holds them: {stats}");
    assert_eq!(lane(&stats, id)["in_flight"], 0);
    let bytes: usize = sent.iter().map(String::len).sum();
    assert_eq!(
        stats["held_body_bytes"], bytes,
        "the busy lane keeps its three bodies at hand; the paused lane leaves its own in the store: {stats}"
    );
    assert_eq!(sink.count(), 0, "nothing is attempted while paused");
    hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/resume"), None).await;
    assert_eq!(sink.wait_for(3, Duration::from_secs(5)).await, 3);
    let mut delivered: Vec<String> =
        sink.requests().iter().map(|r| String::from_utf8(r.body.to_vec()).unwrap()).collect();
    delivered.sort();
    sent.sort();
    assert_eq!(delivered, sent, "each body read back from the store, byte for byte, once");
}

#[tokio::test]
async fn ordered_subscriptions_deliver_one_at_a_time_in_order() {
    let hw = Hookwatch::start().await;
    let sink =
        Sink::start(Behaviour { script: [500].into(), delay: Duration::from_millis(20), ..Default::default() }).await;
    hw.subscribe(&sink.url, &["*"], json!({"ordered": true})).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(hw.send(&card_move("P", 2)).await["id"].as_str().unwrap().to_string());
    }
    sink.wait_for(6, Duration::from_secs(5)).await;
    let seen: Vec<String> =
        sink.requests().iter().map(|r| r.headers["webhook-id"].to_str().unwrap().to_string()).collect();
    // The first event failed once and was retried before anything behind it went out.
    let mut expected = vec![ids[0].clone()];
    expected.extend(ids.iter().cloned());
    assert_eq!(seen, expected);
}

/// A resumed ordered lane reads its bodies back from the store in batches and still sends in
/// event order, each body with its own event.
#[tokio::test]
async fn a_resumed_ordered_subscription_keeps_event_order() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({"ordered": true})).await;
    let id = sub["id"].as_str().unwrap();
    hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/pause"), None).await;
    // More than one read-ahead's worth (eight jobs for an ordered lane).
    let mut sent = Vec::new();
    for phase in 0..20 {
        let body = card_move(&format!("pipe-{phase}"), phase);
        sent.push((hw.send(&body).await["id"].as_str().unwrap().to_string(), body.to_string()));
    }
    hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/resume"), None).await;
    assert_eq!(sink.wait_for(20, Duration::from_secs(5)).await, 20);
    let seen: Vec<(String, String)> = sink
        .requests()
        .iter()
        .map(|r| (r.headers["webhook-id"].to_str().unwrap().to_string(), String::from_utf8(r.body.to_vec()).unwrap()))
        .collect();
    assert_eq!(seen, sent);
}

#[tokio::test]
async fn gone_disables_the_subscription_and_raises_an_alert() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour { default_status: 410, ..Default::default() }).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({})).await;
    let gone = hw.send(&card_move("P", 2)).await;
    let id = sub["id"].as_str().unwrap();
    let mut state = String::new();
    for _ in 0..100 {
        state = hw.get(&format!("/v1/subscriptions/{id}")).await["state"].as_str().unwrap().to_string();
        if state == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "disabled");
    let alerts = hw.get("/v1/alerts").await;
    assert!(alerts["data"].as_array().unwrap().iter().any(|a| a["kind"] == "disabled"), "{alerts}");
    // Disabled subscriptions receive no new deliveries until an operator resumes them.
    assert_eq!(hw.send(&card_move("P", 2)).await["deliveries"], 0);
    // The endpoint said it is gone: its delivery is final, not a retry that never comes.
    let event = hw.settled(gone["id"].as_str().unwrap(), Duration::from_secs(5)).await;
    assert_eq!(event["deliveries"][0]["status"], "dead", "{event}");
    assert_eq!(event["deliveries"][0]["attempts"].as_array().map_or(1, Vec::len), 1, "{event}");
    assert_eq!(hw.get("/v1/stats").await["backlog"], 0);
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour {
        script: [429].into(),
        extra_headers: vec![("retry-after".into(), "1".into())],
        ..Default::default()
    })
    .await;
    hw.subscribe(&sink.url, &["*"], json!({})).await;
    hw.send(&card_move("P", 2)).await;
    assert_eq!(sink.wait_for(2, Duration::from_secs(5)).await, 2);
    let r = sink.requests();
    let gap = r[1].at - r[0].at;
    // The schedule says 100 ms; the endpoint asked for a second.
    assert!(gap >= Duration::from_millis(900), "retried after {gap:?}");
}

/// The first attempt of `event_id`'s delivery to `sub_id`, once there is one (or null after 5 s).
async fn first_attempt(base: &str, event_id: &str, sub_id: &str) -> serde_json::Value {
    let found = until(base, &format!("/v1/events/{event_id}"), Duration::from_secs(5), |event| {
        let mine =
            event["deliveries"].as_array().and_then(|d| d.iter().find(|d| d["subscription_id"] == sub_id).cloned());
        mine.is_some_and(|d| !d["attempts"][0].is_null())
    })
    .await;
    let mine = found["deliveries"].as_array().and_then(|d| d.iter().find(|d| d["subscription_id"] == sub_id).cloned());
    mine.map(|d| d["attempts"][0].clone()).unwrap_or_default()
}

#[tokio::test]
async fn private_targets_are_refused_without_allow_private() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.allow_private = false;
    // A network of documentation addresses only: nothing here is in it.
    config.allow_networks = vec!["192.0.2.0/24".parse().unwrap()];
    let sink = Sink::start(Behaviour::default()).await;
    let port = sink.addr.port();
    let server = hookwatch::api::server::Server::start(config.clone()).await.unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let create = |url: String| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let body = json!({"url": url, "actions": ["*"]});
            call(&http, Method::POST, &format!("{base}/v1/subscriptions"), ADMIN, Some(body)).await
        }
    };
    // An address literal that is not public could never be reached: refused when it is set.
    let literals = [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://[::127.0.0.2]:{port}/hook"),
        format!("http://[::ffff:0:7f00:1]:{port}/hook"),
        format!("http://0.0.0.0:{port}/hook"),
        "https://10.1.2.3/hook".to_string(),
    ];
    for url in &literals {
        let (status, body) = create(url.clone()).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (422, Some("blocked_target")), "{url}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("allow_networks"), "says how to allow it: {body}");
    }
    // A name is checked where it resolves, at delivery: localhost is refused there. (Without
    // allow_networks it would be refused when set, as a name without a dot.)
    let (_, named) = create(format!("http://localhost:{port}/hook")).await;
    let (_, event) = call(&http, Method::POST, &format!("{base}/v1/events"), INGEST, Some(card_move("P", 2))).await;
    let attempt = first_attempt(&base, event["id"].as_str().unwrap(), named["id"].as_str().unwrap()).await;
    assert_eq!(attempt["error_kind"], "connect", "{attempt}");
    assert!(attempt["error"].as_str().unwrap().contains("SSRF"), "{attempt}");
    // Its delivery would retry, and the next server, which allows private targets, would send it.
    let named_path = format!("{base}/v1/subscriptions/{}", named["id"].as_str().unwrap());
    assert_eq!(call(&http, Method::DELETE, &named_path, ADMIN, None).await.0, 204);
    server.shutdown().await.unwrap();

    // A literal stored while private targets were allowed is still refused at delivery once they
    // are not.
    let open =
        hookwatch::api::server::Server::start(hookwatch::config::Config { allow_private: true, ..config.clone() })
            .await
            .unwrap();
    let open_base = format!("http://{}", open.addr);
    let body = json!({"url": format!("http://127.0.0.1:{port}/stored"), "actions": ["card.move"]});
    let (status, stored) = call(&http, Method::POST, &format!("{open_base}/v1/subscriptions"), ADMIN, Some(body)).await;
    assert_eq!(status, 201, "{stored}");
    open.shutdown().await.unwrap();
    let server = hookwatch::api::server::Server::start(config).await.unwrap();
    let base = format!("http://{}", server.addr);
    let (_, event) = call(&http, Method::POST, &format!("{base}/v1/events"), INGEST, Some(card_move("P", 2))).await;
    let attempt = first_attempt(&base, event["id"].as_str().unwrap(), stored["id"].as_str().unwrap()).await;
    assert!(attempt["error"].as_str().unwrap_or_default().contains("SSRF"), "{attempt}");
    assert_eq!(sink.count(), 0);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_breaker_opens_holds_deliveries_without_spending_retries_and_closes_on_a_probe() {
    let hw = Hookwatch::start_with(|c| {
        c.breaker_threshold = 3;
        c.breaker_cooldown = Duration::from_millis(1500).into();
        c.retry_schedule = ["50ms"; 8].join(",").parse().unwrap();
    })
    .await;
    let sink = Sink::start(Behaviour { default_status: 500, ..Default::default() }).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({"max_in_flight": 1})).await;
    for _ in 0..5 {
        hw.send(&card_move("P", 2)).await;
    }
    // Three failures open the breaker; then nothing is attempted during the cooldown.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while hw.get("/v1/stats").await["subscriptions"][0]["breaker"] != "open" {
        assert!(std::time::Instant::now() < deadline, "the breaker never opened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let attempts_when_open = sink.count();
    assert_eq!(attempts_when_open, 3);
    // The stats say since when the deliveries are held, so no rate is read as the present.
    let endpoint = &hw.get("/v1/stats").await["subscriptions"][0];
    let since = endpoint["breaker_since"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let probe = endpoint["next_probe_at"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    assert!(since.zip(probe).is_some_and(|(since, probe)| since < probe), "{endpoint}");
    // The endpoint recovers meanwhile; watched through the whole cooldown, not one attempt goes
    // out while the stats say the breaker is open. The sink is counted before the stats are read:
    // the probe may go out while a slow stats answer is on its way, but not before it was taken.
    sink.behaviour.lock().unwrap().default_status = 200;
    loop {
        let attempts = sink.count();
        if hw.get("/v1/stats").await["subscriptions"][0]["breaker"] != "open" {
            break;
        }
        assert_eq!(attempts, attempts_when_open, "no attempt while the breaker is open");
        assert!(std::time::Instant::now() < deadline, "the breaker never let a probe through");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let alerts = hw.get("/v1/alerts").await;
    assert!(alerts["data"].as_array().unwrap().iter().any(|a| a["kind"] == "breaker_open"), "{alerts}");

    // The probe after the cooldown succeeds, the breaker closes and the held deliveries go out.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let failed = hw.get(&format!("/v1/events?subscription={}&status=failed", sub["id"].as_str().unwrap())).await;
        let pending = hw.get(&format!("/v1/events?subscription={}&status=pending", sub["id"].as_str().unwrap())).await;
        if failed["data"].as_array().unwrap().is_empty() && pending["data"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "deliveries never completed: {failed}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hw.get("/v1/stats").await["subscriptions"][0]["breaker"], "closed");
}

#[tokio::test]
async fn retention_prunes_finished_events_and_keeps_unfinished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    let server = hookwatch::api::server::Server::start(config.clone()).await.unwrap();
    let engine = server.engine.clone();
    let paused = engine
        .create_subscription(
            &hookwatch::wire::SubscriptionInput {
                name: Some("held".into()),
                url: Some("http://127.0.0.1:9/never".into()),
                actions: Some(vec!["user.*".into()]),
                state: Some(hookwatch::domain::model::SubscriptionState::Paused),
                ..Default::default()
            },
            hookwatch::domain::model::Actor::Local,
        )
        .await
        .unwrap()
        .0;
    let finished = engine.ingest(card_move("P", 2).to_string().into(), None).await.unwrap();
    let role = hookwatch::domain::catalog::find("user.role_set").unwrap().sample().to_string();
    let waiting = engine.ingest(role.into(), None).await.unwrap();
    assert_eq!((finished.deliveries, waiting.deliveries), (0, 1));
    server.shutdown().await.unwrap();
    drop(engine);
    tokio::time::sleep(Duration::from_millis(20)).await;

    // Restart with a retention shorter than the events' age: the pass at start prunes.
    config.retention = Duration::from_millis(10).into();
    let server = hookwatch::api::server::Server::start(config).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.engine.event(&finished.id).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "the finished event was not pruned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.engine.event(&waiting.id).await.is_ok(), "an event still waiting for {} is kept", paused.id);
}

/// A subscription's rate limit paces every delivery, however many are queued: 30 events at once
/// to a 20/s endpoint arrive evenly over about 1.5 s, never more than 20 in any second. Through
/// the real binary; the limit is shown in the stats and can be removed again.
#[tokio::test]
async fn a_rate_limit_paces_every_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let sink = Sink::start(Behaviour::default()).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let body = json!({"name": "paced", "url": sink.url, "actions": ["*"], "rate_limit_per_s": 20, "max_in_flight": 64});
    let (status, sub) = call(&http, Method::POST, &url("/v1/subscriptions"), ADMIN, Some(body)).await;
    assert_eq!((status.as_u16(), sub["rate_limit_per_s"].as_u64()), (201, Some(20)), "{sub}");
    for _ in 0..30 {
        let (status, _) = call(&http, Method::POST, &url("/v1/events"), INGEST, Some(card_move("P", 2))).await;
        assert_eq!(status, 202);
    }
    assert_eq!(sink.wait_for(30, Duration::from_secs(10)).await, 30);
    let times: Vec<std::time::Instant> = sink.requests().iter().map(|r| r.at).collect();
    let span = *times.last().unwrap() - times[0];
    assert!(span >= Duration::from_millis(29 * 50 - 100), "30 at 20/s take about 1.45 s, not {span:?}");
    for (i, start) in times.iter().enumerate() {
        let within_a_second = times[i..].iter().take_while(|t| **t - *start < Duration::from_secs(1)).count();
        assert!(within_a_second <= 21, "{within_a_second} attempts within one second of attempt {i}");
    }
    let (_, stats) = call(&http, Method::GET, &url("/v1/stats"), ADMIN, None).await;
    assert_eq!(stats["subscriptions"][0]["rate_limit_per_s"], 20, "{stats}");
    let id = sub["id"].as_str().unwrap();
    let (_, unlimited) = call(
        &http,
        Method::PATCH,
        &url(&format!("/v1/subscriptions/{id}")),
        ADMIN,
        Some(json!({"rate_limit_per_s": null})),
    )
    .await;
    assert!(unlimited.get("rate_limit_per_s").is_none(), "null removes the limit: {unlimited}");
    let (status, refused) = call(
        &http,
        Method::PATCH,
        &url(&format!("/v1/subscriptions/{id}")),
        ADMIN,
        Some(json!({"rate_limit_per_s": 0})),
    )
    .await;
    assert_eq!((status.as_u16(), refused["error"]["code"].as_str()), (422, Some("invalid_rate_limit")), "{refused}");
}

/// An answer that came while the server was stopped is not a timeout. The real binary is stopped
/// (SIGSTOP) while a sink is answering its attempts, and continued after their deadline has
/// passed: every attempt is recorded as the 200 it got, once, the breaker stays closed and no
/// alert is raised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_came_while_the_server_was_stopped_are_not_timeouts() {
    const EVENTS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let answer_after = Duration::from_millis(600);
    let sink = Sink::start(Behaviour { delay: answer_after, ..Default::default() }).await;
    let http = reqwest::Client::new();
    let body = json!({"name": "crm", "url": sink.url, "actions": ["*"], "timeout_ms": 1500, "max_in_flight": 32});
    let (_, sub) =
        call(&http, reqwest::Method::POST, &format!("{}/v1/subscriptions", server.base), ADMIN, Some(body)).await;
    let events_url = format!("{}/v1/events", server.base);
    let sends =
        (0..EVENTS).map(|i| call(&http, reqwest::Method::POST, &events_url, INGEST, Some(card_move("P", i as u64))));
    let ids: Vec<String> = futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|(status, v)| {
            assert_eq!(status, 202, "{v}");
            v["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(sink.wait_for(EVENTS, Duration::from_secs(10)).await, EVENTS);
    server.signal("STOP");
    let stopped_at = std::time::Instant::now();
    // The sink answers while the server stands still, and every attempt's deadline passes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.signal("CONT");
    let answered_while_stopped = sink.requests().iter().filter(|r| r.at + answer_after > stopped_at).count();
    assert!(answered_while_stopped > 0, "no answer came while the server was stopped: the test proves nothing");

    for id in &ids {
        let event = until(&server.base, &format!("/v1/events/{id}"), Duration::from_secs(10), |e| {
            e["deliveries"][0]["status"] != "pending" && e["deliveries"][0]["status"] != "retrying"
        })
        .await;
        let delivery = &event["deliveries"][0];
        assert_eq!(delivery["status"], "succeeded", "an answer that was there is a success: {event}");
        let attempts = delivery["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{event}");
        assert_eq!(attempts[0]["status_code"], 200, "{event}");
    }
    assert_eq!(sink.count(), EVENTS, "nothing was sent again");
    let stats = until(&server.base, "/v1/stats", Duration::from_secs(1), |_| true).await;
    assert_eq!(stats["subscriptions"][0]["breaker"], "closed", "{stats}");
    let (_, alerts) = call(&http, reqwest::Method::GET, &format!("{}/v1/alerts", server.base), ADMIN, None).await;
    assert_eq!(alerts["data"].as_array().map(Vec::len), Some(0), "no false alert for {}: {alerts}", sub["id"]);
}

/// Every change of the breaker is in the endpoint's history, not only its first opening: the
/// opening, each probe sent, a failed probe (open again, with the next probe's time: its cooldown
/// doubled) and the probe that closed it.
#[tokio::test]
async fn the_history_lists_every_change_of_the_breaker() {
    let hw = Hookwatch::start_with(|c| {
        c.breaker_threshold = 2;
        c.breaker_cooldown = Duration::from_millis(300).into();
        c.retry_schedule = ["20ms"; 20].join(",").parse().unwrap();
    })
    .await;
    // Failing until the third probe, then answering.
    let script = [500, 500, 500, 500].into_iter().collect();
    let sink = Sink::start(Behaviour { script, ..Default::default() }).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({"max_in_flight": 1})).await;
    let event = hw.send(&card_move("P", 2)).await;
    hw.settled(event["id"].as_str().unwrap(), Duration::from_secs(10)).await;
    let path = format!("/v1/subscriptions/{}/history?span=2m", sub["id"].as_str().unwrap());
    let history = hw.until(&path, Duration::from_secs(5), |h| h["breaker_changes"][0]["to"] == "closed").await;
    let mut changes = history["breaker_changes"].as_array().unwrap().clone();
    changes.reverse();
    let steps: Vec<(&str, &str)> =
        changes.iter().map(|c| (c["from"].as_str().unwrap(), c["to"].as_str().unwrap())).collect();
    assert_eq!(
        steps,
        [
            ("closed", "open"),
            ("open", "half_open"),
            ("half_open", "open"),
            ("open", "half_open"),
            ("half_open", "open"),
            ("open", "half_open"),
            ("half_open", "closed")
        ],
        "{history}"
    );
    let cooldown = |c: &serde_json::Value| {
        let ms = |k: &str| chrono::DateTime::parse_from_rfc3339(c[k].as_str().unwrap()).unwrap().timestamp_millis();
        ms("next_probe_at") - ms("at")
    };
    let cooldowns: Vec<i64> = [0, 2, 4].iter().map(|i| cooldown(&changes[*i])).collect();
    assert!(
        (250..=350).contains(&cooldowns[0])
            && (550..=650).contains(&cooldowns[1])
            && (1150..=1250).contains(&cooldowns[2]),
        "each failed probe doubles the cooldown: {cooldowns:?}"
    );
    assert_eq!(changes[6].get("next_probe_at"), None, "a closed breaker has no probe to wait for");
}
