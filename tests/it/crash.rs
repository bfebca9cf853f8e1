//! At-least-once across crashes: the real binary is killed with SIGKILL while events flow,
//! restarted on the same database, and every acknowledged event must still be delivered.

use crate::common::*;
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db").to_string_lossy().into_owned();
    let sink = Sink::start(Behaviour::default()).await;
    let http = reqwest::Client::new();
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();

    for cycle in 0..5 {
        let mut process = Process::spawn(&db, &[]);
        if cycle == 0 {
            let url = format!("{}/v1/subscriptions", process.base);
            let body = json!({"name": "sink", "url": sink.url, "actions": ["*"]});
            let (status, created) = call(&http, reqwest::Method::POST, &url, ADMIN, Some(body)).await;
            assert_eq!(status, 201, "{created}");
        }
        let target = acked.lock().unwrap().len() + 150;
        let senders = flood(&process.base, 8, acked.clone(), Arc::new(AtomicBool::new(false)));
        let deadline = Instant::now() + Duration::from_secs(30);
        while acked.lock().unwrap().len() < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        process.kill();
        for s in senders {
            let _ = s.await;
        }
    }

    // A last start on the same database resumes whatever was unfinished.
    let _process = Process::spawn(&db, &[]);
    let expected: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    assert!(expected.len() >= 750, "the flood was acknowledged ({} events)", expected.len());
    let missing = missing_deliveries(&sink, &expected, Duration::from_secs(60)).await;
    assert_eq!(missing, 0, "{missing} of {} acknowledged events were never delivered", expected.len());
}
