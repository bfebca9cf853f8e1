//! Observing: SSE stream, stats, metrics, catalog, health.

use crate::common::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn the_stream_carries_events_attempts_and_stats() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    hw.subscribe(&sink.url, &["*"], json!({})).await;
    let resp = hw.http.get(format!("{}/v1/stream", hw.base)).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let sent = hw.send(&card_move("P", 2)).await;
    let text = read_stream_until(resp, Duration::from_secs(5), |text| {
        text.contains("event: event.received")
            && text.contains("event: delivery.attempted")
            && text.contains("event: stats")
    })
    .await;
    assert!(text.contains(sent["id"].as_str().unwrap()));
    let frames = sse_frames(&text);
    let periodic = ["stats", "hello", "heartbeat"];
    let updates: Vec<&Frame> = frames.iter().filter(|f| !periodic.contains(&f.event.as_str())).collect();
    let ids: std::collections::HashSet<&str> = updates.iter().filter_map(|f| f.id.as_deref()).collect();
    assert_eq!(ids.len(), updates.len(), "every update has an id of its own: {text}");
    let not_updates = frames.iter().filter(|f| f.event == "stats" || f.event == "heartbeat");
    assert!(not_updates.clone().all(|f| f.id.is_none()), "stats and heartbeats are not updates: {text}");
    // Each data line is JSON.
    for line in text.lines().filter_map(|l| l.strip_prefix("data: ")).filter(|l| l.starts_with('{')) {
        serde_json::from_str::<serde_json::Value>(line).expect("data lines are JSON");
    }
}

/// With nothing happening the stream still proves the server alive: a named `heartbeat` event
/// with the server's time, as a raw SSE client reads it; without an id, so it never moves the
/// client's resume point.
#[tokio::test]
async fn an_idle_stream_carries_a_heartbeat() {
    let hw = Hookwatch::start().await;
    let resp = hw.http.get(format!("{}/v1/stream", hw.base)).bearer_auth(ADMIN).send().await.unwrap();
    let text =
        read_stream_until(resp, Duration::from_secs(6), |text| text.matches("event: heartbeat\n").count() >= 2).await;
    let beats: Vec<i64> = text
        .split("\n\n")
        .filter(|frame| frame.lines().any(|l| l == "event: heartbeat"))
        .map(|frame| {
            assert!(!frame.lines().any(|l| l.starts_with("id:")), "a heartbeat is not an update: {frame}");
            let data = frame.lines().find_map(|l| l.strip_prefix("data: ")).expect("a heartbeat has data");
            serde_json::from_str::<serde_json::Value>(data).unwrap()["at"].as_i64().expect("the server's time")
        })
        .collect();
    assert!(beats.len() >= 2 && beats[1] > beats[0], "{text}");
}

#[tokio::test]
async fn stats_report_rates_latency_and_backlog() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour { script: [500].into(), ..Default::default() }).await;
    hw.subscribe(&sink.url, &["*"], json!({})).await;
    for _ in 0..3 {
        hw.send(&card_move("P", 2)).await;
    }
    sink.wait_for(4, Duration::from_secs(5)).await;
    let stats = hw.until("/v1/stats", Duration::from_secs(5), |s| s["subscriptions"][0]["attempts"]["1m"] == 4).await;
    let s = &stats["subscriptions"][0];
    assert_eq!(s["attempts"]["1m"], 4, "{stats}");
    assert_eq!(s["success_rate"]["5m"], 0.75);
    for w in ["1m", "5m", "1h", "24h"] {
        assert!(s["success_rate"][w].is_number(), "{w}");
    }
    assert!(s["latency_ms"]["p99_ms"].is_number());
    assert_eq!(s["breaker"], "closed");
    assert_eq!(s["last_error"], "HTTP 500 Internal Server Error");
    assert_eq!(stats["events_ingested"], 3);
}

#[tokio::test]
async fn metrics_health_and_catalog_are_public_and_well_formed() {
    let hw = Hookwatch::start().await;
    hw.subscribe("https://x.example.com/h", &["*"], json!({"name": "we \"quote\""})).await;
    let sink = Sink::start(Behaviour { script: [503].into(), ..Default::default() }).await;
    let sub = hw.subscribe(&sink.url, &["card.move"], json!({"name": "sink"})).await;
    let sent = hw.send(&card_move("P", 2)).await;
    hw.settled(sent["id"].as_str().unwrap(), Duration::from_secs(5)).await;
    let scrape = reqwest::get(format!("{}/metrics", hw.base)).await.unwrap();
    let content_type = scrape.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8", "labels are UTF-8 and say so");
    let text = scrape.text().await.unwrap();
    let mut families = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            families += 1;
            assert!([" gauge", " counter", " histogram"].iter().any(|t| rest.ends_with(t)), "{line}");
        } else if !line.starts_with('#') {
            let value = line.rsplit(' ').next().unwrap();
            value.parse::<f64>().unwrap_or_else(|_| panic!("sample value in {line:?}"));
        }
    }
    assert!(families >= 12, "{text}");
    assert!(text.contains(r#"name="we \"quote\"""#), "label values are escaped");
    let id = sub["id"].as_str().unwrap();
    // A real histogram (aggregatable across endpoints and nodes), and counters by outcome.
    for sample in [
        format!(r#"hookwatch_delivery_latency_seconds_bucket{{subscription="{id}",le="+Inf"}} 2"#),
        format!(r#"hookwatch_delivery_latency_seconds_count{{subscription="{id}"}} 2"#),
        format!(r#"hookwatch_responses_total{{class="5xx",subscription="{id}"}} 1"#),
        format!(r#"hookwatch_responses_total{{class="2xx",subscription="{id}"}} 1"#),
        "hookwatch_events_ingested_total 1".to_string(),
        "hookwatch_own_events_total 0".to_string(),
    ] {
        assert!(text.contains(&sample), "{sample} in\n{text}");
    }
    promtool_accepts(&text);

    let health: serde_json::Value = reqwest::get(format!("{}/healthz", hw.base)).await.unwrap().json_body().await;
    assert_eq!(health["status"], "ok");
    let catalog: serde_json::Value = reqwest::get(format!("{}/v1/catalog", hw.base)).await.unwrap().json_body().await;
    let actions = catalog["data"].as_array().unwrap();
    assert_eq!(actions.len(), 25, "Pipefy's 19 and hookwatch's own 6");
    assert!(actions.iter().all(|a| a["sample"]["data"]["action"] == a["action"]));
    let accepted = actions.iter().find(|a| a["action"] == "user.invitation_acceptance").unwrap();
    assert_eq!(accepted["aliases"], serde_json::json!(["user.invitation_accepted"]));
    let own: Vec<&str> =
        actions.iter().filter(|a| a["operational"] == true).filter_map(|a| a["action"].as_str()).collect();
    assert_eq!(own.len(), 6, "{own:?}");
    assert!(own.iter().all(|a| a.starts_with("hookwatch.")), "{own:?}");
}

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let hw = Hookwatch::start().await;
    for path in ["/v1/subscriptions", "/v1/events", "/v1/stats", "/v1/stream"] {
        let resp = hw.http.get(format!("{}{path}", hw.base)).bearer_auth(INGEST).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path}");
    }
    let resp = hw.http.get(format!("{}/v1/nope", hw.base)).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

/// A token in the URL lands in proxy logs: only the stream (for EventSource) takes one there.
#[tokio::test]
async fn a_query_token_opens_the_stream_only() {
    let hw = Hookwatch::start().await;
    for path in ["/v1/subscriptions", "/v1/events", "/v1/stats"] {
        let resp = hw.http.get(format!("{}{path}?access_token={ADMIN}", hw.base)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path}");
    }
    let resp = hw.http.get(format!("{}/v1/stream?access_token={ADMIN}", hw.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// Stream clients see subscription changes with secrets and credential headers masked.
#[tokio::test]
async fn subscription_changes_on_the_stream_carry_no_secrets() {
    let hw = Hookwatch::start().await;
    let resp = hw.http.get(format!("{}/v1/stream", hw.base)).bearer_auth(ADMIN).send().await.unwrap();
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let sub = hw
        .subscribe(
            "https://x.example.com/h",
            &["*"],
            json!({"secret": secret, "headers": {"Authorization": "Bearer consumer-credential", "X-Team": "crm"}}),
        )
        .await;
    assert_eq!(hw.secret(&sub).await, secret, "its admin reads the secret on request");
    let text = read_stream_until(resp, Duration::from_secs(5), |t| t.contains("event: subscription.changed")).await;
    let line = text.lines().find(|l| l.contains("\"change\"")).unwrap().strip_prefix("data: ").unwrap();
    let change: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(change["subscription"]["secret"], "whse…(masked)", "{change}");
    assert_eq!(change["subscription"]["headers"]["Authorization"], "Bear…(masked)");
    assert_eq!(change["subscription"]["headers"]["X-Team"], "crm");
    assert!(!text.contains("C2FVsBQIhrscChlQIMV") && !text.contains("consumer-credential"), "{text}");
}

/// One whole SSE frame as read.
#[derive(Debug, Clone)]
struct Frame {
    id: Option<String>,
    event: String,
    data: String,
}

/// The whole frames of `text` (a frame still being read at its end is left out).
fn sse_frames(text: &str) -> Vec<Frame> {
    let whole = &text[..text.rfind("\n\n").map_or(0, |end| end + 2)];
    whole
        .split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let field = |name: &str| f.lines().find_map(|l| l.strip_prefix(name)).map(str::to_string);
            Frame {
                id: field("id: "),
                event: field("event: ").unwrap_or_default(),
                data: field("data: ").unwrap_or_default(),
            }
        })
        .collect()
}

/// The `id:` of the last whole frame that has one: what a client resumes from.
fn last_id(text: &str) -> String {
    sse_frames(text).into_iter().rev().find_map(|f| f.id).expect("frames carry ids")
}

/// The event ids of the `event.received` frames.
fn received(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f.event == "event.received")
        .map(|f| {
            serde_json::from_str::<serde_json::Value>(&f.data).unwrap()["event"]["id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// A client that drops its stream mid-flow and reconnects to the same server with
/// `Last-Event-ID` gets every update it missed and none it had: 110 events (and their attempts)
/// at 100/s, the stream left after 30 of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_on_the_same_server_repeats_nothing_and_misses_nothing() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    hw.subscribe(&sink.url, &["*"], json!({})).await;
    let connect = |last: Option<String>| {
        let request = hw.http.get(format!("{}/v1/stream", hw.base)).bearer_auth(ADMIN);
        let request = match last {
            Some(id) => request.header("last-event-id", id),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    let first = connect(None).await;
    let (base, http) = (hw.base.clone(), hw.http.clone());
    let sender = tokio::spawn(async move {
        let mut sent = Vec::new();
        for i in 0..110 {
            let url = format!("{base}/v1/events");
            let (_, event) = call(&http, reqwest::Method::POST, &url, INGEST, Some(card_move("P", i))).await;
            sent.push(event["id"].as_str().unwrap().to_string());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sent
    });
    let text = read_stream_until(first, Duration::from_secs(10), |t| received(&sse_frames(t)).len() >= 30).await;
    let mut frames = sse_frames(&text);
    tokio::time::sleep(Duration::from_millis(200)).await; // away while events go on
    let resumed = connect(Some(last_id(&text))).await;
    let sent = sender.await.unwrap();
    hw.idle(Duration::from_secs(10)).await;
    let done = |t: &str| {
        let got = received(&sse_frames(t));
        t.contains("event: resumed") && sent.iter().all(|id| got.contains(id) || received(&frames).contains(id))
    };
    let text = read_stream_until(resumed, Duration::from_secs(10), done).await;
    let again = sse_frames(&text);
    let replayed = again.iter().take_while(|f| f.event != "resumed").filter(|f| f.id.is_some()).count();
    frames.extend(again);
    let mut ids = std::collections::HashMap::new();
    for id in frames.iter().filter_map(|f| f.id.as_deref()) {
        *ids.entry(id).or_insert(0) += 1;
    }
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{} updates came twice: {twice:?}", twice.len());
    let got = received(&frames);
    assert_eq!(got.len(), sent.len(), "each event once");
    assert!(sent.iter().all(|id| got.contains(id)));
    assert!(replayed > 0, "the resume replayed what was missed");
}

/// A client that reconnects with `Last-Event-ID` gets what it missed from the store, across a
/// restart of the server, and then the live updates; `?since=` does the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_stream_replays_what_it_missed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    let sink = Sink::start(Behaviour::default()).await;
    let http = reqwest::Client::new();
    let mut server = Process::spawn(&db, &[]);
    let post = |base: String, path: &'static str, token: &'static str, body: serde_json::Value| {
        let http = http.clone();
        async move { call(&http, reqwest::Method::POST, &format!("{base}{path}"), token, Some(body)).await.1 }
    };
    post(server.base.clone(), "/v1/subscriptions", ADMIN, json!({"name": "s", "url": sink.url, "actions": ["*"]}))
        .await;
    let resp = http.get(format!("{}/v1/stream", server.base)).bearer_auth(ADMIN).send().await.unwrap();
    let first = post(server.base.clone(), "/v1/events", INGEST, card_move("P", 2)).await;
    let first_id = first["id"].as_str().unwrap().to_string();
    let seen = read_stream_until(resp, Duration::from_secs(5), |t| {
        t.contains(&first_id) && t.contains("event: delivery.attempted")
    })
    .await;
    let resume_at = last_id(&seen);

    // Away: the server restarts and three events arrive.
    server.kill();
    server = Process::spawn(&db, &[]);
    let mut missed = Vec::new();
    for _ in 0..3 {
        missed.push(
            post(server.base.clone(), "/v1/events", INGEST, card_move("P", 3)).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let resp = http
        .get(format!("{}/v1/stream", server.base))
        .bearer_auth(ADMIN)
        .header("last-event-id", &resume_at)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = read_stream_until(resp, Duration::from_secs(5), |t| t.contains("event: resumed")).await;
    let before_resumed = text.split("event: resumed").next().unwrap();
    for id in &missed {
        assert!(before_resumed.contains(&format!("\"id\":\"{id}\"")), "{id} is replayed: {text}");
    }
    assert!(!text.contains("event: gap"), "{text}");
    // The killed process kept nothing: the first event and its attempt come again, each as the same
    // update, with the id it had.
    for name in ["event.received", "delivery.attempted"] {
        let first_frame = |frames: Vec<Frame>| {
            frames.into_iter().find(|f| f.event == name && f.data.contains(&first_id)).map(|f| f.id)
        };
        let again = first_frame(sse_frames(&text)).expect("the 10 s before the resume point are replayed");
        assert_eq!(again, first_frame(sse_frames(&seen)).unwrap(), "a repeated {name} carries its id");
    }

    // The query form, for clients that cannot set headers; then live updates follow the replay.
    let resp =
        http.get(format!("{}/v1/stream?since={resume_at}", server.base)).bearer_auth(ADMIN).send().await.unwrap();
    let live =
        post(server.base.clone(), "/v1/events", INGEST, card_move("P", 4)).await["id"].as_str().unwrap().to_string();
    let text =
        read_stream_until(resp, Duration::from_secs(5), |t| t.contains("event: resumed") && t.contains(&live)).await;
    assert_eq!(text.matches(&format!("\"id\":\"{live}\"")).count(), 1, "sent once, replayed or live: {text}");
}

/// After a graceful restart (SIGTERM) on the same database, a resuming client is sent nothing it
/// had: the stopping server kept what it sent beside the database, and the next one reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_after_a_graceful_restart_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    let sink = Sink::start(Behaviour::default()).await;
    let http = reqwest::Client::new();
    let mut server = Process::spawn(&db, &[]);
    let post = |base: &str, body: serde_json::Value| {
        let (http, url) = (http.clone(), format!("{base}/v1/events"));
        async move {
            call(&http, reqwest::Method::POST, &url, INGEST, Some(body)).await.1["id"].as_str().unwrap().to_string()
        }
    };
    let url = format!("{}/v1/subscriptions", server.base);
    call(&http, reqwest::Method::POST, &url, ADMIN, Some(json!({"name": "s", "url": sink.url, "actions": ["*"]})))
        .await;
    let resp = http.get(format!("{}/v1/stream", server.base)).bearer_auth(ADMIN).send().await.unwrap();
    let mut before = Vec::new();
    for i in 0..20 {
        before.push(post(&server.base, card_move("P", i)).await);
    }
    let text = read_stream_until(resp, Duration::from_secs(10), |t| {
        let frames = sse_frames(t);
        received(&frames).len() == 20 && frames.iter().filter(|f| f.event == "delivery.attempted").count() == 20
    })
    .await;
    let had = sse_frames(&text);

    let stopped = std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status();
    assert!(stopped.unwrap().success());
    assert!(server.child.wait().unwrap().success(), "a graceful stop");
    server = Process::spawn(&db, &[]);
    let mut after = Vec::new();
    for i in 0..5 {
        after.push(post(&server.base, card_move("P", 30 + i)).await);
    }
    let resp = http
        .get(format!("{}/v1/stream", server.base))
        .bearer_auth(ADMIN)
        .header("last-event-id", last_id(&text))
        .send()
        .await
        .unwrap();
    let text = read_stream_until(resp, Duration::from_secs(10), |t| {
        let got = received(&sse_frames(t));
        t.contains("event: resumed") && after.iter().all(|id| got.contains(id))
    })
    .await;
    let again: Vec<Frame> = sse_frames(&text)
        .into_iter()
        .filter(|f| f.id.as_ref().is_some_and(|id| had.iter().any(|h| h.id.as_ref() == Some(id))))
        .collect();
    assert!(again.is_empty(), "{} updates came again after the restart: {again:?}", again.len());
    assert_eq!(received(&sse_frames(&text)), after, "what was missed, once");
}

/// A resume point older than retention may have lost updates: the stream says so.
#[tokio::test]
async fn resuming_from_before_retention_reports_a_gap() {
    let hw = Hookwatch::start().await;
    let resp = hw.http.get(format!("{}/v1/stream?since=1000", hw.base)).bearer_auth(ADMIN).send().await.unwrap();
    let text = read_stream_until(resp, Duration::from_secs(5), |t| t.contains("event: resumed")).await;
    assert!(text.contains("event: gap") && text.contains("pruned"), "{text}");
    let resp = hw.http.get(format!("{}/v1/stream?since=yesterday", hw.base)).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(resp.status(), 400);
}

/// `promtool check metrics` (Prometheus's own linter) finds nothing to say. Required under CI,
/// which installs it; skipped with a word on the terminal elsewhere.
fn promtool_accepts(text: &str) {
    use std::io::Write;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return skipped(&format!("promtool check metrics: {e} (apt-get install prometheus)")),
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics:\n{said}");
}

trait JsonBody {
    async fn json_body(self) -> serde_json::Value;
}

impl JsonBody for reqwest::Response {
    async fn json_body(self) -> serde_json::Value {
        serde_json::from_str(&self.text().await.unwrap()).unwrap()
    }
}

/// `GET /v1/subscriptions/{id}/history`: attempts per slot, responses by status with when each
/// was last seen, and the failed attempts with their events; after a restart the counts and
/// responses come back from the stored attempts.
#[tokio::test]
async fn an_endpoints_history_counts_its_responses_and_failures_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let sink = Sink::start(Behaviour { script: [503, 500].into(), ..Default::default() }).await;
    let server = hookwatch::api::server::Server::start(config.clone()).await.unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let (_, sub) = call(
        &http,
        reqwest::Method::POST,
        &format!("{base}/v1/subscriptions"),
        ADMIN,
        Some(json!({
            "name": "history", "url": sink.url, "actions": ["*"]
        })),
    )
    .await;
    let id = sub["id"].as_str().unwrap().to_string();
    let mut sent = Vec::new();
    for _ in 0..3 {
        let (_, event) =
            call(&http, reqwest::Method::POST, &format!("{base}/v1/events"), INGEST, Some(card_move("P", 2))).await;
        sent.push(event["id"].as_str().unwrap().to_string());
    }
    // Two failures, then their retries and the third event succeed: five attempts.
    let path = format!("/v1/subscriptions/{id}/history?span=2m");
    let attempts = |h: &serde_json::Value| {
        h["points"].as_array().map_or(0, |p| p.iter().map(|p| p["attempts"].as_u64().unwrap_or(0)).sum())
    };
    let history = until(&base, &path, Duration::from_secs(10), |h| attempts(h) == 5).await;
    assert_eq!(attempts(&history), 5, "{history}");
    assert_eq!((history["span"].as_str(), history["points"].as_array().map(Vec::len)), (Some("2m"), Some(120)));
    let counts: Vec<(u64, u64)> = history["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status_code"].as_u64().unwrap(), r["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts[0], (200, 3), "{history}");
    assert!(counts.contains(&(503, 1)) && counts.contains(&(500, 1)), "{history}");
    let failures = history["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{history}");
    for f in failures {
        assert!(sent.iter().any(|s| f["event_id"] == s.as_str()), "{f}");
        assert_eq!(f["attempt"], 1);
        assert!(f["error"].as_str().unwrap().starts_with("HTTP 50"), "{f}");
    }
    let timed = history["points"].as_array().unwrap().iter().filter(|p| p["p99_ms"].is_number()).count();
    assert!(timed >= 1, "latencies per slot: {history}");

    let bad =
        call(&http, reqwest::Method::GET, &format!("{base}/v1/subscriptions/{id}/history?span=7d"), ADMIN, None).await;
    assert_eq!((bad.0.as_u16(), bad.1["error"]["code"].as_str()), (400, Some("invalid_span")));
    assert!(bad.1["error"]["message"].as_str().unwrap().contains("2m, 1h, 24h"), "{}", bad.1);
    let unknown =
        call(&http, reqwest::Method::GET, &format!("{base}/v1/subscriptions/sub_nope/history"), ADMIN, None).await;
    assert_eq!(unknown.0.as_u16(), 404);
    server.shutdown().await.unwrap();

    let server = hookwatch::api::server::Server::start(config).await.unwrap();
    let base = format!("http://{}", server.addr);
    let (_, history) =
        call(&http, reqwest::Method::GET, &format!("{base}/v1/subscriptions/{id}/history?span=1h"), ADMIN, None).await;
    assert_eq!(attempts(&history), 5, "counted again from the stored attempts: {history}");
    let seen: u64 = history["responses"].as_array().unwrap().iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(seen, 5, "{history}");
    server.shutdown().await.unwrap();
}

/// Attempts every 7.3 s over the last 26 h (every fifth one failed), and at each window's far edge
/// a cluster 2 min wide: failures inside the window, successes just outside, so a window that
/// starts at the wrong time (a minute's start, say) shows it. `(started_at, succeeded)`.
fn attempt_pattern(now: i64) -> Vec<(i64, bool)> {
    let steady = (1..12_800).map(|i| (now - i * 7_300, i % 5 != 0));
    let edges = [60_000, 300_000, 3_600_000, 86_400_000]
        .into_iter()
        .flat_map(|span| (-45..=45).map(move |j| (now - span + j * 1_333, j < 0)));
    steady.chain(edges).collect()
}

/// After a restart every window of `/v1/stats` covers exactly its span again, rebuilt from the
/// stored attempts: the current second and the ones before it, 60, 300 or 3,600 in all; the 24 h
/// window to the second too but for its oldest minute, counted only when wholly inside.
#[tokio::test]
async fn after_a_restart_each_rate_window_counts_exactly_the_stored_attempts_of_its_span() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let sink = Sink::start(Behaviour::default()).await;
    let server = hookwatch::api::server::Server::start(config.clone()).await.unwrap();
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    let body = json!({"name": "windows", "url": sink.url, "actions": ["*"]});
    let (_, sub) = call(&http, reqwest::Method::POST, &format!("{base}/v1/subscriptions"), ADMIN, Some(body)).await;
    let id = sub["id"].as_str().unwrap().to_string();
    call(&http, reqwest::Method::POST, &format!("{base}/v1/events"), INGEST, Some(card_move("P", 2))).await;
    until(&base, "/v1/stats", Duration::from_secs(5), |s| s["subscriptions"][0]["total_attempts"] == 1).await;
    server.shutdown().await.unwrap();

    // The history the restarted server finds: written beside the one real attempt, copying it.
    let mut db = rusqlite::Connection::open(&config.db).unwrap();
    let tx = db.transaction().unwrap();
    for (at, ok) in attempt_pattern(hookwatch::domain::model::now_ms()) {
        let (code, kind, error) = if ok { (200, None, None) } else { (500, Some("status"), Some("HTTP 500")) };
        tx.execute(
            "INSERT INTO attempts (delivery_id, subscription_id, started_at, duration_ms, status_code, error_kind,
                                   error, response_body, response_truncated, request_headers)
             SELECT delivery_id, subscription_id, ?1, 5, ?2, ?3, ?4, response_body, response_truncated, request_headers
             FROM attempts WHERE id = (SELECT MIN(id) FROM attempts)",
            rusqlite::params![at, code, kind, error],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    let stored: Vec<(i64, bool)> = db
        .prepare("SELECT started_at, error_kind IS NULL FROM attempts")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(db);

    let server = hookwatch::api::server::Server::start(config).await.unwrap();
    let base = format!("http://{}", server.addr);
    let (_, stats) = call(&http, reqwest::Method::GET, &format!("{base}/v1/stats"), ADMIN, None).await;
    let now = chrono::DateTime::parse_from_rfc3339(stats["generated_at"].as_str().unwrap()).unwrap().timestamp_millis();
    let second = now.div_euclid(1000) * 1000;
    let oldest_whole_minute = (second - 86_399_000 + 59_999).div_euclid(60_000) * 60_000;
    let report = stats["subscriptions"].as_array().unwrap().iter().find(|s| s["id"] == id.as_str()).unwrap();
    let mut rows = Vec::new();
    let mut exact = true;
    for (window, from) in
        [("1m", second - 59_000), ("5m", second - 299_000), ("1h", second - 3_599_000), ("24h", oldest_whole_minute)]
    {
        let inside: Vec<bool> = stored.iter().filter(|(at, _)| (from..=now).contains(at)).map(|(_, ok)| *ok).collect();
        let rate = (!inside.is_empty()).then(|| inside.iter().filter(|ok| **ok).count() as f64 / inside.len() as f64);
        let truth = (inside.len() as u64, rate);
        let shown = (report["attempts"][window].as_u64().unwrap(), report["success_rate"][window].as_f64());
        exact &= shown == truth;
        let rate = |r: Option<f64>| r.map_or("none".to_string(), |r| format!("{r:.3}"));
        rows.push(format!(
            "{window}: {} of {} attempts, stored {} of {}",
            rate(shown.1),
            shown.0,
            rate(truth.1),
            truth.0
        ));
    }
    eprintln!("right after the restart\n{}", rows.join("\n"));
    assert!(exact, "each window as stored: {rows:#?}");
    server.shutdown().await.unwrap();
}
