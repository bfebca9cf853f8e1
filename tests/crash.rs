//! At-least-once across crashes: the real binary is killed with SIGKILL while events flow,
//! restarted on the same database, and every acknowledged event must still be delivered.

mod common;

use common::*;
use serde_json::json;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Process {
    child: Child,
    base: String,
}

fn start_binary(db: &std::path::Path) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--allow-private", "--retry-schedule", "100ms,200ms,500ms,1s,1s,1s"])
        .arg("--db")
        .arg(db)
        .env("HOOKWATCH_ADMIN_TOKEN", ADMIN)
        .env("HOOKWATCH_INGEST_TOKEN", INGEST)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hookwatch binary starts");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines.next().expect("hookwatch printed its address").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Process { child, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let sink = Sink::start(Behaviour::default()).await;
    let http = reqwest::Client::new();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();

    for cycle in 0..5 {
        let mut process = start_binary(&db);
        if cycle == 0 {
            let resp = http
                .post(format!("{}/v1/subscriptions", process.base))
                .bearer_auth(ADMIN)
                .header("content-type", "application/json")
                .body(json!({"name": "sink", "url": sink.url, "actions": ["*"]}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
        }
        let target = acked.lock().unwrap().len() + 150;
        let senders: Vec<_> = (0..8)
            .map(|_| {
                let (http, base, acked) = (http.clone(), process.base.clone(), acked.clone());
                tokio::spawn(async move {
                    loop {
                        let sent = http
                            .post(format!("{base}/v1/events"))
                            .bearer_auth(INGEST)
                            .header("content-type", "application/json")
                            .body(card_move("P", 2).to_string())
                            .send()
                            .await;
                        let Ok(resp) = sent else { return }; // the server is gone
                        if resp.status() == 202 {
                            let body: serde_json::Value =
                                serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or_default();
                            if let Some(id) = body["id"].as_str() {
                                acked.lock().unwrap().push(id.to_string());
                            }
                        }
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while acked.lock().unwrap().len() < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        process.child.kill().unwrap(); // SIGKILL: no shutdown code runs
        process.child.wait().unwrap();
        for s in senders {
            let _ = s.await;
        }
    }

    // A last start on the same database resumes whatever was unfinished.
    let mut process = start_binary(&db);
    let expected: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(expected.len() >= 750, "the flood was acknowledged ({} events)", expected.len());
    let deadline = Instant::now() + Duration::from_secs(60);
    let missing = loop {
        let delivered: HashSet<String> = sink
            .requests()
            .iter()
            .filter_map(|r| r.headers.get("webhook-id")?.to_str().ok().map(str::to_string))
            .collect();
        let missing: Vec<&String> = expected.difference(&delivered).collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing.len();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    process.child.kill().unwrap();
    let _ = process.child.wait();
    assert_eq!(missing, 0, "{missing} of {} acknowledged events were never delivered", expected.len());
}
