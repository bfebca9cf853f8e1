//! Several nodes on one PostgreSQL (runs when `HOOKWATCH_TEST_PG` names a server; `.ci/run`
//! starts one): a node is SIGKILLed mid-flood and the survivor delivers everything it acknowledged.

use crate::common::*;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

async fn get(base: &str, path: &str) -> Value {
    call(&reqwest::Client::new(), reqwest::Method::GET, &format!("{base}{path}"), ADMIN, None).await.1
}

async fn post(base: &str, path: &str, token: &str, body: Value) -> (axum::http::StatusCode, Value) {
    call(&reqwest::Client::new(), reqwest::Method::POST, &format!("{base}{path}"), token, Some(body)).await
}

/// Two real nodes on a fresh PostgreSQL database with the given lease, and a slow sink (20 ms per
/// request) subscribed through node-a, so a node holds a backlog when it goes away. `None` when no
/// PostgreSQL is configured.
async fn two_nodes(
    lease: &str,
    max_in_flight: u32,
    extra_args: &[&str],
) -> Option<(Process, Process, Sink, tempfile::TempDir)> {
    let db = fresh_pg_database().await?;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.toml");
    std::fs::write(&config, format!("lease = \"{lease}\"\n")).unwrap();
    let config = config.to_string_lossy().into_owned();
    let sink = Sink::start(Behaviour { delay: Duration::from_millis(20), ..Behaviour::default() }).await;
    let args = |node| [&["--config", config.as_str(), "--node-id", node][..], extra_args].concat();
    let a = Process::spawn(&db, &args("node-a"));
    let b = Process::spawn(&db, &args("node-b"));
    let body = json!({"name": "sink", "url": sink.url, "actions": ["*"], "max_in_flight": max_in_flight});
    let (status, created) = post(&a.base, "/v1/subscriptions", ADMIN, body).await;
    assert_eq!(status, 201, "{created}");
    Some((a, b, sink, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_s_deliveries_are_taken_over() {
    let Some((mut a, b, sink, _dir)) = two_nodes("2s", 4, &[]).await else { return };
    let subs = until(&b.base, "/v1/subscriptions", Duration::from_secs(5), |v| {
        v["data"].as_array().is_some_and(|d| d.len() == 1)
    })
    .await;
    assert_eq!(subs["data"][0]["name"], "sink", "node-b follows a subscription created on node-a");

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = flood(&a.base, 6, acked.clone(), stop.clone());
    senders.extend(flood(&b.base, 6, acked.clone(), stop.clone()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 1500 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let delivered_before_kill = sink.count();
    a.kill();
    let killed_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    let expected: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(expected.len() >= 1500, "the flood was acknowledged ({} events)", expected.len());
    assert!(delivered_before_kill < expected.len(), "node-a died with work left (else the test proves nothing)");

    let missing = missing_deliveries(&sink, &expected, Duration::from_secs(90)).await;
    assert_eq!(missing, 0, "{missing} of {} acknowledged events were never delivered", expected.len());
    let mut per_event: HashMap<String, usize> = HashMap::new();
    for r in sink.requests() {
        if let Some(id) = r.headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
            *per_event.entry(id.to_string()).or_default() += 1;
        }
    }
    let duplicates: usize = per_event.values().map(|n| n - 1).sum();
    eprintln!(
        "{} events acknowledged, all delivered {:.1} s after the kill; {duplicates} duplicate deliveries",
        expected.len(),
        killed_at.elapsed().as_secs_f64()
    );
    // Duplicates come only from attempts node-a made but had not recorded when it died.
    assert!(duplicates * 20 < expected.len(), "duplicates stay rare: {duplicates} of {}", expected.len());

    // The survivor shows the whole cluster: node-a's events, and node-a as a silent node.
    let events = get(&b.base, "/v1/events?limit=500").await;
    assert!(events["data"].as_array().unwrap().len() >= 500);
    // Node-b may still be resending the few attempts node-a made but never recorded.
    let stats = until(&b.base, "/v1/stats", Duration::from_secs(10), |v| v["backlog"] == 0).await;
    assert_eq!(stats["backlog"], 0, "node-b drains everything, and a dead node's stale backlog is not counted");
    let nodes = stats["nodes"].as_array().unwrap();
    let node = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap_or_else(|| panic!("{id} in {nodes:?}"));
    assert_eq!(node("node-a")["alive"], false, "node-a is silent");
    assert_eq!(node("node-b")["alive"], true, "node-b is alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_cleanly_hands_its_work_over_at_once() {
    // A long lease: only the clean hand-over can explain a fast take-over.
    let Some((mut a, b, sink, _dir)) = two_nodes("5m", 2, &[]).await else { return };

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let senders = flood(&a.base, 6, acked.clone(), stop.clone());
    while acked.lock().unwrap().len() < 400 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    let expected: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(sink.count() < expected.len(), "node-a still holds work when it stops");
    let status = std::process::Command::new("kill").args(["-TERM", &a.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let _ = a.child.wait();

    let stats =
        until(&b.base, "/v1/stats", Duration::from_secs(10), |v| v["nodes"].as_array().is_some_and(|n| n.len() == 1))
            .await;
    assert_eq!(stats["nodes"].as_array().unwrap().len(), 1, "node-a left the nodes list: {stats}");
    let missing = missing_deliveries(&sink, &expected, Duration::from_secs(60)).await;
    assert_eq!(missing, 0, "node-b delivered node-a's backlog long before the 5-minute lease");
}

/// A node that stops heartbeating still holds its deliveries until its lease ends: the survivor
/// counts them in the cluster's backlog (from the database, not the dead node's last report) and
/// says when they will be taken over; then it takes them over and the backlog drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_s_deliveries_stay_in_the_backlog_until_taken_over() {
    // Heartbeats every 1.2 s: node-a is silent after 3.6 s, its lease ends at 6 s.
    let Some((mut a, b, sink, _dir)) = two_nodes("6s", 2, &[]).await else { return };
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let senders = flood(&a.base, 4, acked.clone(), stop.clone());
    while acked.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    a.kill();
    let killed_at = Instant::now();
    let expected: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();

    let silent = |v: &Value| v["nodes"].as_array().is_some_and(|n| n.iter().any(|n| n["alive"] == false));
    let stats = until(&b.base, "/v1/stats", Duration::from_secs(6), silent).await;
    let seen_after = killed_at.elapsed();
    let delivered: HashSet<String> =
        sink.requests().iter().filter_map(|r| r.headers.get("webhook-id")?.to_str().ok().map(str::to_string)).collect();
    let nodes = stats["nodes"].as_array().unwrap();
    let node_a = nodes.iter().find(|n| n["id"] == "node-a").unwrap_or_else(|| panic!("node-a in {stats}"));
    assert_eq!(node_a["alive"], false, "{stats}");
    let held = node_a["backlog"].as_u64().unwrap();
    // Only its last attempts (2 at most in flight) may have reached the sink unrecorded.
    let undelivered = expected.len() - delivered.len();
    assert!((undelivered..=undelivered + 2).contains(&usize::try_from(held).unwrap()), "node-a holds {held}: {stats}");
    assert!(held > 0, "node-a died with work left (else the test proves nothing)");
    let total: u64 = nodes.iter().map(|n| n["backlog"].as_u64().unwrap()).sum();
    assert_eq!(stats["backlog"].as_u64(), Some(total), "the cluster's backlog counts node-a's: {stats}");
    let takeover_in = node_a["takeover_in_ms"].as_u64().unwrap();
    assert!(
        takeover_in > 0 && seen_after + Duration::from_millis(takeover_in) <= Duration::from_millis(6_500),
        "{stats}"
    );
    eprintln!(
        "{:.1} s after the kill: node-a silent, {held} awaiting takeover in {takeover_in} ms",
        seen_after.as_secs_f64()
    );

    let missing = missing_deliveries(&sink, &expected, Duration::from_secs(60)).await;
    assert_eq!(missing, 0, "node-b took over and delivered everything");
    let stats = until(&b.base, "/v1/stats", Duration::from_secs(10), |v| v["backlog"] == 0).await;
    assert_eq!(stats["backlog"], 0, "{stats}");
}

/// What one node does shows on the other: a pause, the events it receives and the attempts it
/// makes arrive in the other node's SSE stream and stats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_shows_the_whole_cluster() {
    let Some((a, b, sink, _dir)) = two_nodes("2s", 4, &[]).await else { return };
    let subs = until(&b.base, "/v1/subscriptions", Duration::from_secs(5), |v| v["data"][0]["id"].is_string()).await;
    let sub_id = subs["data"][0]["id"].as_str().unwrap().to_string();

    // Paused on node-b: node-a holds its deliveries too.
    post(&b.base, &format!("/v1/subscriptions/{sub_id}/pause"), ADMIN, json!({})).await;
    let paused =
        until(&a.base, &format!("/v1/subscriptions/{sub_id}"), Duration::from_secs(5), |v| v["state"] == "paused")
            .await;
    assert_eq!(paused["state"], "paused", "node-a follows a pause made on node-b");

    let stream = reqwest::Client::new().get(format!("{}/v1/stream", b.base)).bearer_auth(ADMIN).send().await.unwrap();
    let (_, sent) = post(&a.base, "/v1/events", INGEST, card_move("P", 2)).await;
    let event_id = sent["id"].as_str().expect("node-a accepted the event").to_string();
    let held = until(&a.base, "/v1/stats", Duration::from_secs(5), |v| v["subscriptions"][0]["backlog"] == 1).await;
    assert_eq!(held["subscriptions"][0]["backlog"], 1, "node-a's paused lane holds the event: {held}");
    assert_eq!(sink.count(), 0, "nothing is delivered while paused");
    post(&b.base, &format!("/v1/subscriptions/{sub_id}/resume"), ADMIN, json!({})).await;

    // Node-b's stream tells of node-a's event and of node-a's attempt.
    let attempt_seen = |t: &str| t.split("event: delivery.attempted").skip(1).any(|part| part.contains(&event_id));
    read_stream_until(stream, Duration::from_secs(10), |text| text.contains(&event_id) && attempt_seen(text)).await;
    assert_eq!(sink.wait_for(1, Duration::from_secs(5)).await, 1);
    let stats =
        until(&b.base, "/v1/stats", Duration::from_secs(5), |v| v["subscriptions"][0]["total_attempts"] == 1).await;
    assert_eq!(stats["subscriptions"][0]["total_attempts"], 1, "node-b's stats count node-a's attempt: {stats}");
    assert!(stats["events_ingested"].as_u64() >= Some(1));
}

/// A retry waiting on node-a is redelivered by an operator on node-b: node-b sends it, and node-a,
/// when its timer fires, sees the delivery is no longer its own and does not send it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivery_on_another_node_is_not_sent_twice() {
    let Some((a, b, sink, _dir)) = two_nodes("30s", 4, &["--retry-schedule", "5s,5s"]).await else { return };
    sink.behaviour.lock().unwrap().script = [500].into();
    until(&b.base, "/v1/subscriptions", Duration::from_secs(5), |v| v["data"][0]["id"].is_string()).await;
    let (_, sent) = post(&a.base, "/v1/events", INGEST, card_move("P", 2)).await;
    let event_id = sent["id"].as_str().expect("node-a accepted the event").to_string();
    let path = format!("/v1/events/{event_id}");
    let retrying = until(&b.base, &path, Duration::from_secs(5), |v| v["deliveries"][0]["status"] == "retrying").await;
    assert_eq!(retrying["deliveries"][0]["status"], "retrying", "node-a's first attempt failed: {retrying}");

    post(&b.base, &format!("/v1/events/{event_id}/redeliver"), ADMIN, json!({})).await;
    let done = until(&b.base, &path, Duration::from_secs(5), |v| v["deliveries"][0]["status"] == "succeeded").await;
    assert_eq!(done["deliveries"][0]["status"], "succeeded", "{done}");
    assert_eq!(sink.count(), 2, "the failed attempt, then node-b's redelivery");
    // Node-a's retry was due 5 s after its attempt: when it fires, node-a finds the delivery is no
    // longer its own and lets it go, and its lane is empty.
    let dropped = until(&a.base, "/v1/stats", Duration::from_secs(10), |v| v["subscriptions"][0]["backlog"] == 0).await;
    assert_eq!(dropped["subscriptions"][0]["backlog"], 0, "node-a let its retry go: {dropped}");
    assert_eq!(sink.count(), 2, "node-a does not send the redelivered event again");
    let after = get(&b.base, &path).await;
    assert_eq!(after["deliveries"][0]["status"], "succeeded");
}

/// Behind a load balancer the next request lands on any node: a subscription change answered by
/// one node holds for every ingest and read that follows on the other, with no wait between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_answered_on_one_node_holds_on_the_other_at_once() {
    let Some(db) = fresh_pg_database().await else { return };
    // A long tick (lease 10 s gives a 2 s tick), so the test cannot pass by the tick catching up.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.toml");
    std::fs::write(&config, "lease = \"10s\"\n").unwrap();
    let config = config.to_string_lossy().into_owned();
    let a = Process::spawn(&db, &["--config", &config, "--node-id", "node-a"]);
    let b = Process::spawn(&db, &["--config", &config, "--node-id", "node-b"]);
    let sink = Sink::start(Behaviour::default()).await;
    let mut expected = HashSet::new();
    for round in 0..5 {
        let body = json!({"name": format!("sink-{round}"), "url": format!("{}?r={round}", sink.url), "actions": ["card.done"]});
        let (status, sub) = post(&a.base, "/v1/subscriptions", ADMIN, body).await;
        assert_eq!(status, 201, "{sub}");
        let id = sub["id"].as_str().unwrap().to_string();
        let listed = get(&b.base, &format!("/v1/subscriptions/{id}")).await;
        assert_eq!(listed["id"], id.as_str(), "node-b lists the new subscription at once: {listed}");
        let (status, event) = post(&b.base, "/v1/events", INGEST, json!({"data": {"action": "card.done"}})).await;
        assert_eq!(status, 202);
        assert_eq!(event["deliveries"], 1, "node-b's next ingest sees the subscription: {event}");
        expected.insert(event["id"].as_str().unwrap().to_string());
        let (status, _) = call(
            &reqwest::Client::new(),
            reqwest::Method::DELETE,
            &format!("{}/v1/subscriptions/{id}", a.base),
            ADMIN,
            None,
        )
        .await;
        assert_eq!(status, 204);
        let (_, event) = post(&b.base, "/v1/events", INGEST, json!({"data": {"action": "card.done"}})).await;
        assert_eq!(event["deliveries"], 0, "node-b's next ingest sees the delete: {event}");
        let listed = get(&b.base, "/v1/subscriptions").await;
        assert_eq!(listed["data"].as_array().unwrap().len(), 0, "{listed}");
    }
    assert_eq!(missing_deliveries(&sink, &expected, Duration::from_secs(10)).await, 0);
}

/// A stream client that was on node-a resumes on node-b (as behind a load balancer): what was
/// ingested on node-a while it was away is replayed from the shared store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumes_on_another_node() {
    let Some(db) = fresh_pg_database().await else { return };
    let a = Process::spawn(&db, &["--node-id", "node-a"]);
    let b = Process::spawn(&db, &["--node-id", "node-b"]);
    let http = reqwest::Client::new();
    let resp = http.get(format!("{}/v1/stream", a.base)).bearer_auth(ADMIN).send().await.unwrap();
    let (_, first) = post(&a.base, "/v1/events", INGEST, json!({"data": {"action": "card.done"}})).await;
    let first = first["id"].as_str().unwrap().to_string();
    let seen = read_stream_until(resp, Duration::from_secs(5), |t| t.contains(&first)).await;
    let resume_at = seen.lines().rev().find_map(|l| l.strip_prefix("id: ")).unwrap().to_string();
    let mut missed = Vec::new();
    for _ in 0..3 {
        let (_, e) = post(&a.base, "/v1/events", INGEST, json!({"data": {"action": "card.done"}})).await;
        missed.push(e["id"].as_str().unwrap().to_string());
    }
    let resp = http
        .get(format!("{}/v1/stream", b.base))
        .bearer_auth(ADMIN)
        .header("last-event-id", &resume_at)
        .send()
        .await
        .unwrap();
    let text = read_stream_until(resp, Duration::from_secs(5), |t| t.contains("event: resumed")).await;
    for id in &missed {
        assert!(text.contains(id.as_str()), "node-b replays {id} ingested on node-a: {text}");
    }
}
