//! Replays through the real binary: a preview that creates nothing, a paced replay that finishes,
//! a cancel that stops one (its figures the same everywhere), a replay that survives a SIGKILL and
//! finishes after the restart, and replays through an open breaker: the first delivery probes, and
//! a failed probe holds the replay until the next.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long a replay test waits for the server to reach a state.
const WAIT: Duration = Duration::from_secs(15);

/// The breaker settings of the tests that keep it out of the way.
const NO_BREAKER: &[&str] = &["--breaker-threshold", "1000"];

/// A server (started with `breaker` settings) whose one subscription has `n` dead deliveries
/// (its endpoint failed twice on each), and the endpoint answering 200 again.
async fn with_dead_deliveries(db: &str, n: usize, breaker: &[&str]) -> (Process, Sink, String) {
    let server = Process::spawn(db, &[&["--retry-schedule", "10ms"], breaker].concat());
    let sink = Sink::start(Behaviour { default_status: 500, ..Default::default() }).await;
    let http = reqwest::Client::new();
    let body = json!({"name": "crm", "url": sink.url, "actions": ["*"], "max_in_flight": 64});
    let (_, sub) = call(&http, Method::POST, &format!("{}/v1/subscriptions", server.base), ADMIN, Some(body)).await;
    for _ in 0..n {
        call(&http, Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(card_move("P", 2))).await;
    }
    assert_eq!(sink.wait_for(2 * n, Duration::from_secs(10)).await, 2 * n, "each event failed twice");
    let dead = until(&server.base, "/v1/events?status=dead&limit=500", WAIT, |v| {
        v["data"].as_array().map(Vec::len) == Some(n)
    })
    .await;
    assert_eq!(dead["data"].as_array().map(Vec::len), Some(n), "{dead}");
    sink.behaviour.lock().unwrap().default_status = 200;
    (server, sink, sub["id"].as_str().unwrap().to_string())
}

async fn post(base: &str, path: &str, body: Value) -> (u16, Value) {
    let (status, value) =
        call(&reqwest::Client::new(), Method::POST, &format!("{base}{path}"), ADMIN, Some(body)).await;
    (status.as_u16(), value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_previewed_paced_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (server, sink, sub_id) =
        with_dead_deliveries(&dir.path().join("hw.db").to_string_lossy(), 24, NO_BREAKER).await;
    let filter = json!({"filter": {"status": "failed", "subscription": sub_id}, "rate_per_s": 20});

    let (status, preview) = post(&server.base, "/v1/replays?dry_run=true", filter.clone()).await;
    assert_eq!((status, preview["total"].as_u64()), (200, Some(24)), "{preview}");
    assert_eq!(preview["subscriptions"][0]["name"], "crm");
    let (_, listed) =
        call(&reqwest::Client::new(), Method::GET, &format!("{}/v1/replays", server.base), ADMIN, None).await;
    assert_eq!(listed["data"], json!([]), "a dry run creates nothing");

    let before = sink.count();
    let (status, replay) = post(&server.base, "/v1/replays", filter).await;
    assert_eq!(
        (status, replay["state"].as_str(), replay["total"].as_u64()),
        (202, Some("running"), Some(24)),
        "{replay}"
    );
    let id = replay["id"].as_str().unwrap();
    assert!(id.starts_with("rpl_"));
    let done = until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| r["state"] == "done").await;
    let counts = |r: &Value| ["sent", "delivered", "failed", "skipped"].map(|k| r[k].as_u64());
    assert_eq!(counts(&done), [Some(24), Some(24), Some(0), Some(0)], "{done}");
    assert_eq!(sink.wait_for(before + 24, Duration::from_secs(5)).await, before + 24);
    let times: Vec<Instant> = sink.requests()[before..].iter().map(|r| r.at).collect();
    assert!(*times.last().unwrap() - times[0] >= Duration::from_millis(23 * 50 - 100), "paced at 20/s");
    for (i, start) in times.iter().enumerate() {
        let within = times[i..].iter().take_while(|t| **t - *start < Duration::from_secs(1)).count();
        assert!(within <= 21, "{within} deliveries within a second of delivery {i}");
    }
    let failed = until(&server.base, "/v1/events?status=failed", WAIT, |v| v["data"] == json!([])).await;
    assert_eq!(failed["data"], json!([]), "every replayed delivery went through");
    let (_, log) = call(&reqwest::Client::new(), Method::GET, &format!("{}/v1/audit", server.base), ADMIN, None).await;
    assert_eq!(
        (log["data"][0]["action"].as_str(), log["data"][0]["target"].as_str()),
        (Some("replay.start"), Some(id))
    );
    assert_eq!(
        log["data"][0]["summary"],
        format!("crm ({sub_id}), status failed: 24 deliveries at 20/s"),
        "the audit says what the replay covered"
    );
    let (status, refused) = post(&server.base, "/v1/replays", json!({"rate_per_s": 0})).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid_rate")), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_replay_stops_and_a_killed_one_finishes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    let (server, sink, _) = with_dead_deliveries(&db, 20, NO_BREAKER).await;

    // Cancel: at 4/s, stopped after about a second. The answer, the stored replay, the audit and
    // the endpoint all give the same figure.
    let before = sink.count();
    let (_, slow) = post(&server.base, "/v1/replays", json!({"filter": {"status": "dead"}, "rate_per_s": 4})).await;
    let id = slow["id"].as_str().unwrap().to_string();
    until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| r["sent"].as_u64() >= Some(3)).await;
    let (status, cancelled) = post(&server.base, &format!("/v1/replays/{id}/cancel"), json!({})).await;
    assert_eq!((status, cancelled["state"].as_str()), (200, Some("cancelled")), "{cancelled}");
    let sent = cancelled["sent"].as_u64().unwrap();
    assert!((3..20).contains(&sent), "{cancelled}");
    let stopped = until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| {
        r["delivered"].as_u64().zip(r["failed"].as_u64()).is_some_and(|(d, f)| d + f == sent)
    })
    .await;
    assert_eq!((stopped["state"].as_str(), stopped["sent"].as_u64()), (Some("cancelled"), Some(sent)), "{stopped}");
    assert_eq!(stopped["delivered"].as_u64(), Some(sent), "each one sent was attempted and went through: {stopped}");
    let (_, log) = call(&reqwest::Client::new(), Method::GET, &format!("{}/v1/audit", server.base), ADMIN, None).await;
    assert_eq!(log["data"][0]["action"], "replay.cancel", "{log}");
    assert_eq!(log["data"][0]["summary"], format!("after {sent} of 20 deliveries sent"), "{log}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count() - before, usize::try_from(sent).unwrap(), "the endpoint got what the replay says it sent");
    let (status, again) = post(&server.base, &format!("/v1/replays/{id}/cancel"), json!({})).await;
    assert_eq!(status, 409, "{again}");
    drop(server);

    // Kill: a replay of everything at 5/s, SIGKILLed mid-way, resumes when the server restarts.
    let mut server = Process::spawn(&db, &["--retry-schedule", "10ms", "--breaker-threshold", "1000"]);
    let (_, job) = post(&server.base, "/v1/replays", json!({"rate_per_s": 5})).await;
    assert_eq!(job["total"], 20, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| r["sent"].as_u64() >= Some(4)).await;
    server.kill();
    let before_restart = sink.count();
    let server = Process::spawn(&db, &["--retry-schedule", "10ms", "--breaker-threshold", "1000"]);
    let finished = until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| r["state"] == "done").await;
    assert_eq!((finished["state"].as_str(), finished["sent"].as_u64()), (Some("done"), Some(20)), "{finished}");
    assert!(sink.count() > before_restart, "the restarted server went on sending");
}

/// The breaker of the one subscription, as `/v1/stats` gives it.
async fn breaker(base: &str) -> Value {
    let (_, stats) = call(&reqwest::Client::new(), Method::GET, &format!("{base}/v1/stats"), ADMIN, None).await;
    stats["subscriptions"][0]["breaker"].clone()
}

/// The endpoint failed until its breaker opened for a minute, then came back: a replay's first
/// delivery goes at once as the probe, closes the breaker, and the rest follow at the replay's
/// rate. `done` comes once every delivery was attempted, with how each went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_probes_an_open_breaker_and_goes_on_once_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    // Six events failing twice each: the twelfth failure opens the breaker, nothing is left held.
    let breaker_args = ["--breaker-threshold", "12", "--breaker-cooldown", "60s"];
    let (server, sink, _) = with_dead_deliveries(&db, 6, &breaker_args).await;
    assert_eq!(breaker(&server.base).await, "open");

    let (status, replay) =
        post(&server.base, "/v1/replays", json!({"filter": {"status": "dead"}, "rate_per_s": 20})).await;
    assert_eq!(status, 202, "{replay}");
    let id = replay["id"].as_str().unwrap();
    let done = until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| r["state"] == "done").await;
    let counts = |r: &Value| ["sent", "delivered", "failed", "skipped"].map(|k| r[k].as_u64());
    assert_eq!(counts(&done), [Some(6), Some(6), Some(0), Some(0)], "{done}");
    assert_eq!(sink.count(), 12 + 6, "the endpoint received every replayed delivery, long before the cooldown's end");
    assert_eq!(breaker(&server.base).await, "closed", "the probe's success closed the breaker");
    let dead = until(&server.base, "/v1/events?status=dead", WAIT, |v| v["data"] == json!([])).await;
    assert_eq!(dead["data"], json!([]), "every replayed delivery went through");

    // Each replayed attempt is marked with the replay that sent it; the earlier ones are not.
    let (_, events) =
        call(&reqwest::Client::new(), Method::GET, &format!("{}/v1/events", server.base), ADMIN, None).await;
    for event in events["data"].as_array().unwrap() {
        let path = format!("{}/v1/events/{}", server.base, event["id"].as_str().unwrap());
        let (_, detail) = call(&reqwest::Client::new(), Method::GET, &path, ADMIN, None).await;
        let marks: Vec<Option<&str>> =
            detail["deliveries"][0]["attempts"].as_array().unwrap().iter().map(|a| a["replay_id"].as_str()).collect();
        assert_eq!(marks, [None, None, Some(id)], "{detail}");
    }
}

/// A replay to an endpoint still failing: its probe fails, and the replay is held, saying until
/// when; nothing more is sent before that. Once the endpoint is back, the next probe closes the
/// breaker and the replay finishes, counting the failed probe as failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_whose_probe_fails_is_held_until_the_next_probe() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    let breaker_args = ["--breaker-threshold", "8", "--breaker-cooldown", "1s"];
    let (server, sink, sub_id) = with_dead_deliveries(&db, 4, &breaker_args).await;
    sink.behaviour.lock().unwrap().default_status = 500;
    assert_eq!(breaker(&server.base).await, "open");

    let (_, replay) = post(&server.base, "/v1/replays", json!({"filter": {"status": "dead"}, "rate_per_s": 20})).await;
    let id = replay["id"].as_str().unwrap();
    let held = until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| r["state"] == "held").await;
    let sent_then = sink.count();
    assert_eq!(sent_then, 8 + 1, "one probe went, at once (the cooldown was not over): {held}");
    let counts = |r: &Value| ["sent", "delivered", "failed"].map(|k| r[k].as_u64());
    assert_eq!(counts(&held), [Some(1), Some(0), Some(1)], "{held}");
    assert_eq!(
        (held["held"]["reason"].as_str(), held["held"]["subscription_id"].as_str()),
        (Some("breaker open"), Some(sub_id.as_str())),
        "{held}"
    );
    let next_probe = held["held"]["next_probe_at"].as_str().expect("a held replay says when it probes next");
    let next_probe = chrono::DateTime::parse_from_rfc3339(next_probe).unwrap().timestamp_millis();
    let wait = next_probe - chrono::Utc::now().timestamp_millis();
    assert!(wait > 500, "the failed probe doubled the cooldown to 2s: next probe in {wait} ms");
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap() - 300)).await;
    assert_eq!(sink.count(), sent_then, "nothing is sent while the replay is held");

    sink.behaviour.lock().unwrap().default_status = 200;
    let done = until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| r["state"] == "done").await;
    assert_eq!(counts(&done), [Some(4), Some(3), Some(1)], "{done}");
    assert_eq!(done.get("held"), None, "{done}");
    assert_eq!(breaker(&server.base).await, "closed");
}

/// While a replay waits on its probe, it waits on the other deliveries it handed on too: when one
/// of those endpoints is paused meanwhile, the replay is held and says so, instead of showing
/// `running` while nothing can move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_waiting_on_a_paused_endpoint_is_held_while_its_probe_settles() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    let server =
        Process::spawn(&db, &["--retry-schedule", "10ms", "--breaker-threshold", "6", "--breaker-cooldown", "60s"]);
    let crm = Sink::start(Behaviour { default_status: 500, ..Default::default() }).await;
    // The archive fails only the first event's two attempts: one dead delivery, its breaker closed.
    let archive = Sink::start(Behaviour { script: [500, 500].into(), ..Default::default() }).await;
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (name, sink) in [("crm", &crm), ("archive", &archive)] {
        let body = json!({"name": name, "url": sink.url, "actions": ["*"]});
        let (_, sub) = call(&http, Method::POST, &format!("{}/v1/subscriptions", server.base), ADMIN, Some(body)).await;
        ids.push(sub["id"].as_str().unwrap().to_string());
    }
    // Apart enough that the first event's two attempts at the archive are the two that fail.
    for _ in 0..3 {
        call(&http, Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(card_move("P", 2))).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(crm.wait_for(6, WAIT).await, 6, "each event failed twice at the crm");
    let dead =
        until(&server.base, "/v1/events?status=dead", WAIT, |v| v["data"].as_array().map(Vec::len) == Some(3)).await;
    assert_eq!(dead["data"].as_array().map(Vec::len), Some(3), "{dead}");
    let (_, stats) = call(&http, Method::GET, &format!("{}/v1/stats", server.base), ADMIN, None).await;
    let breakers: Vec<(&str, &str)> = stats["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["breaker"].as_str().unwrap()))
        .collect();
    assert!(breakers.contains(&("crm", "open")) && breakers.contains(&("archive", "closed")), "{breakers:?}");
    crm.behaviour.lock().unwrap().default_status = 200;
    // The archive's replayed delivery will hang while the crm's probe settles.
    archive.behaviour.lock().unwrap().delay = Duration::from_secs(60);

    let (status, replay) =
        post(&server.base, "/v1/replays", json!({"filter": {"status": "dead"}, "rate_per_s": 20})).await;
    assert_eq!(status, 202, "{replay}");
    let id = replay["id"].as_str().unwrap();
    // Two failures and two successes before, then the replayed one, left hanging.
    assert_eq!(archive.wait_for(5, WAIT).await, 5, "the archive's replayed delivery is in flight");
    let (status, _) = post(&server.base, &format!("/v1/subscriptions/{}/pause", ids[1]), json!({})).await;
    assert_eq!(status, 200);
    let held = until(&server.base, &format!("/v1/replays/{id}"), WAIT, |r| r["state"] == "held").await;
    assert_eq!(
        (held["held"]["reason"].as_str(), held["held"]["subscription_id"].as_str()),
        (Some("subscription paused"), Some(ids[1].as_str())),
        "{held}"
    );
}
