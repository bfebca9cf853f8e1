//! hookwatch's own alerts as events (`hookwatch.*`), through the real binary: sent signed to the
//! subscriptions that name them, never to the endpoint an alert is about, never taken from outside.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

struct Server {
    _dir: tempfile::TempDir,
    process: Process,
    http: reqwest::Client,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let process = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), extra);
        Server { _dir: dir, process, http: reqwest::Client::new() }
    }

    async fn subscribe(&self, name: &str, sink: &Sink, actions: &[&str], extra: Value) -> Value {
        let mut body = json!({"name": name, "url": sink.url, "actions": actions});
        body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        let url = format!("{}/v1/subscriptions", self.process.base);
        let (status, sub) = call(&self.http, Method::POST, &url, ADMIN, Some(body)).await;
        assert_eq!(status, 201, "{sub}");
        sub
    }

    async fn ingest(&self, body: Value) -> (reqwest::StatusCode, Value) {
        call(&self.http, Method::POST, &format!("{}/v1/events", self.process.base), INGEST, Some(body)).await
    }
}

/// The bodies a sink received, parsed.
fn bodies(sink: &Sink) -> Vec<Value> {
    sink.requests().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect()
}

/// The first request whose action is `action` and which is about `subscription_id`, once it came.
async fn alert_about(sink: &Sink, action: &str, subscription_id: &str, within: Duration) -> Received {
    let deadline = std::time::Instant::now() + within;
    loop {
        let found = sink.requests().into_iter().find(|r| {
            let v: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            v["data"]["action"] == action && v["data"]["subscription"]["id"] == subscription_id
        });
        if let Some(found) = found {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "no {action} about {subscription_id}; got {:?}", bodies(sink));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_reaches_the_subscribers_that_ask_and_not_the_endpoint() {
    let server = Server::start(&[]);
    let failing = Behaviour { default_status: 500, ..Behaviour::default() };
    let (shop_sink, pager_sink, everything_sink) = (
        Sink::start(failing.clone()).await,
        Sink::start(Behaviour::default()).await,
        Sink::start(Behaviour::default()).await,
    );
    // A second bridge that fails too: its own failing alert goes to the first bridge, not to it.
    let bridge_sink = Sink::start(failing).await;
    let shop = server.subscribe("shop", &shop_sink, &["card.*"], json!({})).await;
    let pager = server.subscribe("pager", &pager_sink, &["hookwatch.*"], json!({})).await;
    server.subscribe("everything", &everything_sink, &["*"], json!({})).await;
    let bridge = server.subscribe("bridge", &bridge_sink, &["hookwatch.endpoint_failing"], json!({})).await;

    let (status, _) = server.ingest(card_move("P", 2)).await;
    assert_eq!(status, 202);
    let shop_id = shop["id"].as_str().unwrap();
    let got = alert_about(&pager_sink, "hookwatch.endpoint_failing", shop_id, Duration::from_secs(10)).await;
    let wh = standardwebhooks::Webhook::new(&secret_of(&server.http, &server.process.base, &pager).await).unwrap();
    wh.verify(&got.body, &got.headers).expect("signed like any delivery");
    let alert: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(alert["data"]["subscription"]["name"], "shop");
    assert_eq!(alert["data"]["subscription"]["url"], shop_sink.url.as_str());
    assert!(alert["data"]["message"].as_str().unwrap().contains("500"), "{alert}");
    assert!(alert["data"]["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{alert}");

    // The bridge got the shop's alert, failed it three times, and its own alert went to the pager.
    let bridge_id = bridge["id"].as_str().unwrap();
    alert_about(&pager_sink, "hookwatch.endpoint_failing", bridge_id, Duration::from_secs(10)).await;
    assert!(
        bodies(&bridge_sink).iter().all(|b| b["data"]["subscription"]["id"] != bridge_id),
        "an alert never goes to the endpoint it is about: {:?}",
        bodies(&bridge_sink)
    );
    assert!(bodies(&bridge_sink).iter().all(|b| b["data"]["action"] == "hookwatch.endpoint_failing"));
    let is_own = |b: &Value| b["data"]["action"].as_str().is_some_and(|a| a.starts_with("hookwatch."));
    assert!(!bodies(&shop_sink).iter().any(is_own), "the shop asked for card.* only");
    assert!(!bodies(&everything_sink).iter().any(is_own), "* means every Pipefy action, not the alerts");
    assert!(!bodies(&everything_sink).is_empty(), "* still gets the card event");

    // The alert is an event like any other: listed, with its delivery to the pager.
    let base = &server.process.base;
    let listed = until(base, "/v1/events?action=hookwatch.endpoint_failing", Duration::from_secs(5), |v| {
        v["data"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert!(listed["data"][0]["deliveries"].as_array().is_some_and(|d| !d.is_empty()), "{listed}");

    let (status, refused) =
        server.ingest(json!({"data": {"action": "hookwatch.breaker_open", "subscription": {"id": shop_id}}})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "reserved_action", "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_past_backlog_alert_raises_backlog_high() {
    let server = Server::start(&["--backlog-alert", "3", "--backlog-check", "200ms"]);
    let slow = Behaviour { delay: Duration::from_secs(3), ..Behaviour::default() };
    let (slow_sink, pager_sink) = (Sink::start(slow).await, Sink::start(Behaviour::default()).await);
    let queue = server.subscribe("queue", &slow_sink, &["card.*"], json!({"max_in_flight": 1})).await;
    server.subscribe("pager", &pager_sink, &["hookwatch.backlog_high"], json!({})).await;
    for _ in 0..8 {
        server.ingest(card_move("P", 2)).await;
    }
    let got =
        alert_about(&pager_sink, "hookwatch.backlog_high", queue["id"].as_str().unwrap(), Duration::from_secs(12))
            .await;
    let alert: Value = serde_json::from_slice(&got.body).unwrap();
    assert!(alert["data"]["message"].as_str().unwrap().contains("backlog_alert is 3"), "{alert}");
    // Five more checks, the queue still over the line.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let raised = bodies(&pager_sink).iter().filter(|b| b["data"]["action"] == "hookwatch.backlog_high").count();
    assert_eq!(raised, 1, "said once while the queue stays over the line");
}

/// A fixed pseudo-random bit per attempt (splitmix64), so a flaky endpoint fails the same way in
/// every run.
fn coin(i: u64) -> bool {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) & 1 == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_half_its_requests_raises_a_few_alerts_that_are_not_ingest_traffic() {
    let server = Server::start(&[]);
    let script = (0..10_000).map(|i| if coin(i) { 500 } else { 200 }).collect();
    let (flaky_sink, pager_sink) =
        (Sink::start(Behaviour { script, ..Behaviour::default() }).await, Sink::start(Behaviour::default()).await);
    let flaky = server.subscribe("flaky", &flaky_sink, &["card.*"], json!({})).await;
    server.subscribe("pager", &pager_sink, &["hookwatch.*"], json!({})).await;
    let flaky_id = flaky["id"].as_str().unwrap();

    // 40 events a second for 10 s, each failing half its attempts, retries included.
    let sent = 400;
    for i in 0..sent {
        let (status, _) = server.ingest(card_move("P", i)).await;
        assert_eq!(status, 202);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let base = &server.process.base;
    let alerts = until(base, "/v1/alerts", Duration::from_secs(5), |v| {
        v["data"].as_array().is_some_and(|a| a.iter().any(|a| a["kind"] == "endpoint_flapping"))
    })
    .await;
    let alerts: Vec<&Value> = alerts["data"].as_array().unwrap().iter().collect();
    let kinds: Vec<&str> = alerts.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert!(alerts.iter().all(|a| a["subscription_id"] == flaky_id), "{alerts:?}");
    assert!((2..=4).contains(&alerts.len()), "a spell raises at most four alerts: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "endpoint_flapping").count(), 1, "{kinds:?}");
    assert!(!kinds.contains(&"endpoint_recovered"), "successes between failures are no recovery: {kinds:?}");
    let flapping = alerts.iter().find(|a| a["kind"] == "endpoint_flapping").unwrap();
    assert!(flapping["message"].as_str().unwrap().contains(" attempts failed over "), "{flapping}");

    // Each alert reached the pager as an event once, and none counts as a client's event.
    assert_eq!(pager_sink.wait_for(alerts.len(), Duration::from_secs(5)).await, alerts.len());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(pager_sink.count(), alerts.len(), "{:?}", bodies(&pager_sink));
    let stats = until(base, "/v1/stats", Duration::from_secs(1), |_| true).await;
    assert_eq!(stats["events_ingested"], sent, "{stats}");
    let metrics = server.http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(&format!("hookwatch_own_events_total {}", alerts.len())), "{metrics}");
    assert!(metrics.contains(&format!("hookwatch_events_ingested_total {sent}")), "{metrics}");
}
