//! Hostile input and hostile endpoints: every case gets a clear answer, the server stays up and
//! nothing stored is corrupted.

use crate::common::*;
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn still_serving(hw: &Hookwatch) {
    let (status, _, body) = hw.ingest_raw(card_move("P", 2).to_string(), "application/json", INGEST).await;
    assert_eq!(status, 202, "the server still ingests: {body}");
}

#[tokio::test]
async fn pathological_json_is_refused_clearly() {
    let hw = Hookwatch::start().await;
    let deep = format!(r#"{{"data":{{"action":"card.move","x":{}{}}}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (deep.into_bytes(), 400, "too_deep"),
        (b"{\"data\":{\"action\":\"card.move\",\"t\":\"\xff\xfe\"}}".to_vec(), 400, "malformed_json"),
        (br#"{"data":{"action":"card.move"},"data":{"action":"card.done"}}"#.to_vec(), 422, "missing_data"),
        (br#"{"data":{"action":"card.move"}} {"data":{}}"#.to_vec(), 400, "malformed_json"),
        (b"".to_vec(), 400, "malformed_json"),
        (b"\0\0\0".to_vec(), 400, "malformed_json"),
        (br#""just a string""#.to_vec(), 422, "missing_data"),
        (br#"{"data":{"action":"card.move\u0000"}}"#.to_vec(), 422, "nul_character"),
        // A NUL PostgreSQL's jsonb cannot hold would break every later field search there.
        (br#"{"data":{"action":"card.move","card":{"title":"a\u0000b"}}}"#.to_vec(), 422, "nul_character"),
    ];
    for (body, status, code) in cases {
        let (got, _, resp) = hw.ingest_raw(body.clone(), "application/json", INGEST).await;
        assert_eq!(
            (got.as_u16(), resp["error"]["code"].as_str()),
            (status, Some(code)),
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
    }
    assert_eq!(hw.get("/v1/events").await["data"].as_array().unwrap().len(), 0, "nothing was stored");
    // A search term with a control character is a bad request, not a database fault.
    for q in ["%00", "data.card.title:a%00b"] {
        let (status, resp) =
            call(&hw.http, reqwest::Method::GET, &format!("{}/v1/events?q={q}", hw.base), ADMIN, None).await;
        assert_eq!((status.as_u16(), resp["error"]["code"].as_str()), (400, Some("invalid_query")), "q={q}: {resp}");
    }
    still_serving(&hw).await;
}

#[tokio::test]
async fn a_large_string_within_the_limit_is_delivered_byte_for_byte() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    hw.subscribe(&sink.url, &["*"], json!({})).await;
    let body = format!(r#"{{"data":{{"action":"card.move","note":"{}","emoji":"🚀\u202e"}}}}"#, "é".repeat(100_000));
    let (status, _, _) = hw.ingest_raw(body.clone(), "application/json", INGEST).await;
    assert_eq!(status, 202);
    sink.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(&sink.requests()[0].body[..], body.as_bytes());
}

#[tokio::test]
async fn oversized_request_heads_are_refused_and_the_server_lives() {
    let hw = Hookwatch::start().await;
    let resp = hw
        .http
        .post(format!("{}/v1/events", hw.base))
        .bearer_auth(INGEST)
        .header("content-type", "application/json")
        .header("x-padding", "a".repeat(100 * 1024))
        .body(card_move("P", 2).to_string())
        .send()
        .await;
    match resp {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => assert!(e.is_request() || e.is_connect() || e.to_string().contains("closed"), "{e}"),
    }
    still_serving(&hw).await;
}

/// Sends a request head alone and reads what the server answers before any body is sent.
async fn answer_to_head(hw: &Hookwatch, head: &str) -> String {
    let mut conn = tokio::net::TcpStream::connect(hw.server.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(2), conn.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "answered and closed at once, without waiting for the body");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let hw = Hookwatch::start().await;
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000000000000000\r\n\r\n"
    );
    let answer = answer_to_head(&hw, &head).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large") && answer.contains("256 KiB"), "{answer}");
    // An admin route says its own limit.
    let head = format!(
        "POST /v1/subscriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 70000\r\n\r\n"
    );
    let answer = answer_to_head(&hw, &head).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("64 KiB") && !answer.contains("256 KiB"), "{answer}");
    still_serving(&hw).await;
}

#[tokio::test]
async fn silent_and_slow_clients_are_cut_off_without_starving_others() {
    let hw = Hookwatch::start_with(|c| c.header_timeout = Duration::from_millis(800).into()).await;
    let addr = hw.server.addr;
    // Many connections that never send a byte, and one that trickles a request head.
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // Others are served meanwhile.
    let started = Instant::now();
    still_serving(&hw).await;
    assert!(started.elapsed() < Duration::from_secs(2), "a normal request was served promptly");
    // After the header timeout the server closes them: a read waits for it and sees the end (or a reset).
    for conn in silent.iter_mut().take(20).chain(std::iter::once(&mut slow)) {
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(2), conn.read(&mut buf)).await.expect("closed, not hanging");
        // Ok(0) or a 408: closed by the server; Err: reset by the server, closed as well.
        if let Ok(n) = n {
            assert!(
                n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"),
                "{:?}",
                String::from_utf8_lossy(&buf[..n])
            );
        }
    }
    still_serving(&hw).await;
}

/// A raw TCP endpoint that does one thing to every connection.
async fn raw_endpoint(behaviour: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = stream.read(&mut buf).await;
                match behaviour {
                    "huge" => {
                        let body = vec![b'x'; 1024 * 1024];
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                        let _ = stream.write_all(head.as_bytes()).await;
                        let _ = stream.write_all(&body).await;
                    }
                    "silent" => tokio::time::sleep(Duration::from_secs(30)).await,
                    "cut" => {
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial").await;
                    }
                    "redirect" => {
                        let _ = stream.write_all(b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/elsewhere\r\ncontent-length: 0\r\n\r\n").await;
                    }
                    "garbage" => {
                        let _ = stream.write_all(b"\x16\x03\x01 this is not http\r\n\r\n").await;
                    }
                    _ => {}
                }
                let _ = stream.flush().await;
            });
        }
    });
    format!("http://{addr}/hook")
}

/// Subscribes `url` alone (earlier subscriptions are deleted), sends one event, returns its first attempt.
async fn first_attempt(hw: &Hookwatch, url: &str, extra: serde_json::Value) -> serde_json::Value {
    for sub in hw.get("/v1/subscriptions").await["data"].as_array().unwrap() {
        hw.admin(reqwest::Method::DELETE, &format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap()), None).await;
    }
    hw.subscribe(url, &["*"], extra).await;
    let id = hw.send(&card_move("P", 2)).await["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let event = hw.get(&format!("/v1/events/{id}")).await;
        let attempt = event["deliveries"][0]["attempts"][0].clone();
        if !attempt.is_null() || Instant::now() > deadline {
            return attempt;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn hostile_endpoints_are_recorded_with_the_right_error_kind() {
    let hw = Hookwatch::start().await;

    let a = first_attempt(&hw, &raw_endpoint("huge").await, json!({})).await;
    assert_eq!((a["status_code"].as_u64(), a["error_kind"].as_str()), (Some(200), None), "{a}");
    assert_eq!(a["response_body"].as_str().unwrap().len(), 16 * 1024, "kept the first 16 KiB");
    assert_eq!(a["response_truncated"], true);

    let a = first_attempt(&hw, &raw_endpoint("silent").await, json!({"timeout_ms": 300})).await;
    assert_eq!(a["error_kind"], "timeout", "{a}");
    assert!(a["duration_ms"].as_u64().unwrap() < 2000);

    let a = first_attempt(&hw, &raw_endpoint("cut").await, json!({})).await;
    assert_eq!(a["error_kind"], "connect", "{a}");
    assert!(a["error"].as_str().unwrap().contains("HTTP 200 then the body failed"), "{a}");

    let a = first_attempt(&hw, &raw_endpoint("redirect").await, json!({})).await;
    assert_eq!((a["status_code"].as_u64(), a["error_kind"].as_str()), (Some(302), Some("status")), "{a}");
    assert!(a["error"].as_str().unwrap().contains("redirects are not followed"));

    let a = first_attempt(&hw, &raw_endpoint("garbage").await, json!({})).await;
    assert_eq!(a["error_kind"], "connect", "{a}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let a = first_attempt(&hw, &format!("http://{closed}/hook"), json!({})).await;
    assert_eq!(a["error_kind"], "connect", "{a}");

    let a = first_attempt(&hw, "http://no-such-host.invalid/hook", json!({})).await;
    assert_eq!(a["error_kind"], "dns", "{a}");

    let plain = Sink::start(Behaviour::default()).await;
    let a = first_attempt(&hw, &format!("https://127.0.0.1:{}/hook", plain.addr.port()), json!({})).await;
    assert_eq!(a["error_kind"], "tls", "{a}");
    still_serving(&hw).await;
}

#[tokio::test]
async fn a_full_database_answers_503_and_keeps_what_it_had() {
    let hw = Hookwatch::start_with(|c| c.max_db_bytes = Some(1 << 20)).await;
    let probe = |path: &'static str| {
        let url = format!("{}{path}", hw.base);
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(probe("/readyz").await, 200, "ready while the store commits");
    let mut accepted = Vec::new();
    let pad = "x".repeat(50_000);
    let mut refused = None;
    for _ in 0..100 {
        let body = json!({"data": {"action": "card.move", "pad": pad}}).to_string();
        let (status, headers, resp) = hw.ingest_raw(body, "application/json", INGEST).await;
        match status.as_u16() {
            202 => accepted.push(resp["id"].as_str().unwrap().to_string()),
            503 => {
                refused = Some((headers, resp));
                break;
            }
            other => panic!("unexpected {other}: {resp}"),
        }
    }
    let (headers, resp) = refused.expect("the database filled up");
    assert!(headers.contains_key("retry-after"));
    // The client hears that it may retry; the cause (a driver's text, a path) stays in the log.
    assert_eq!(resp["error"]["code"], "unavailable", "{resp}");
    let message = resp["error"]["message"].as_str().unwrap();
    assert!(message.contains("retry in 5 s"), "{message}");
    assert!(!message.contains("full") && !message.contains("max_db_bytes"), "{message}");
    // A load balancer asks /readyz (probed at most once a second): not ready; the process lives.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!((probe("/readyz").await, probe("/healthz").await), (503, 200));
    // Every event acknowledged before is intact.
    for id in &accepted {
        let event = hw.get(&format!("/v1/events/{id}")).await;
        assert_eq!(event["payload"]["data"]["pad"].as_str().map(str::len), Some(50_000));
    }
}

#[tokio::test]
async fn a_flapping_endpoint_gets_everything_in_the_end() {
    let hw = Hookwatch::start_with(|c| c.retry_schedule = ["20ms"; 10].join(",").parse().unwrap()).await;
    let script: std::collections::VecDeque<u16> = (0..60).map(|i| if i % 2 == 0 { 503 } else { 200 }).collect();
    let sink = Sink::start(Behaviour { script, ..Default::default() }).await;
    hw.subscribe(&sink.url, &["*"], json!({"max_in_flight": 4})).await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(hw.send(&card_move("P", 2)).await["id"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let event = hw.settled(id, Duration::from_secs(10)).await;
        assert_eq!(event["deliveries"][0]["status"], "succeeded", "{event}");
    }
}

#[test]
fn secrets_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let consumer_token = "consumer-token-SHOULD-NOT-LEAK";
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hookwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--allow-private", "--retry-schedule", "100ms"])
        .arg("--db")
        .arg(dir.path().join("hw.db"))
        .env("HOOKWATCH_ADMIN_TOKEN", ADMIN)
        .env("HOOKWATCH_INGEST_TOKEN", INGEST)
        .env("RUST_LOG", "trace")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut log = Vec::new();
    let mut buf = [0u8; 4096];
    let base = loop {
        let n = stderr.read(&mut buf).unwrap();
        assert!(n > 0, "hookwatch exited early");
        log.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&log);
        if let Some(rest) = text.split("listening on ").nth(1)
            && let Some(addr) = rest.split_whitespace().next()
        {
            break addr.trim_start_matches("http://").to_string();
        }
    };
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let request = |method: &str, path: &str, token: &str, body: &str| {
        let mut s = TcpStream::connect(&base).unwrap();
        write!(s, "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let sub = json!({"name": "crm", "url": format!("http://{closed}/h"), "actions": ["*"], "secret": secret, "headers": {"Authorization": format!("Bearer {consumer_token}")}});
    assert!(request("POST", "/v1/subscriptions", ADMIN, &sub.to_string()).contains("201"));
    let accepted = request("POST", "/v1/events", INGEST, &card_move("P", 2).to_string());
    assert!(accepted.contains("202"), "{accepted}");
    let event: serde_json::Value = serde_json::from_str(accepted.split("\r\n\r\n").nth(1).unwrap_or("")).unwrap();
    let event_path = format!("/v1/events/{}", event["id"].as_str().unwrap());
    // Both attempts (the first and its one retry) have failed and been recorded: all that this
    // delivery will log has been logged.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !request("GET", &event_path, ADMIN, "").contains(r#""status":"dead""#) {
        assert!(Instant::now() < deadline, "the delivery never gave up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = stderr.read_to_end(&mut log);
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains("could not connect") || text.len() > 200, "the log has content: {text}");
    for needle in [secret, "C2FVsBQIhrscChlQIMV", consumer_token, ADMIN, INGEST] {
        assert!(!text.contains(needle), "{needle} leaked into the log");
    }
}

/// Clients that send an event and reset the connection before the answer: whatever reached the
/// store must still be delivered, without a restart. Drives the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_clients_that_hang_up_are_all_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let sink = Sink::start(Behaviour::default()).await;
    let http = reqwest::Client::new();
    let (status, _) = call(
        &http,
        reqwest::Method::POST,
        &format!("{}/v1/subscriptions", server.base),
        ADMIN,
        Some(json!({"name": "sink", "url": sink.url, "actions": ["card.done"]})),
    )
    .await;
    assert_eq!(status, 201);
    let addr = server.base.trim_start_matches("http://").to_string();
    let body = json!({"data": {"action": "card.done", "card": {"id": 7, "title": "Hang-up"}}}).to_string();
    let request = format!(
        "POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {INGEST}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    // How many requests get far enough to be stored before their reset depends on the machine's
    // speed, so rounds go on until enough have (each round 800 requests).
    let mut stored = std::collections::HashSet::new();
    for round in 0..10u64 {
        hang_up_round(&addr, &request, round).await;
        stored = stored_event_ids(&http, &server.base).await;
        if stored.len() >= 50 {
            break;
        }
    }
    assert!(
        stored.len() >= 50,
        "ten rounds of hang-ups left only {} events stored: the test did not exercise much",
        stored.len()
    );
    let missing = missing_deliveries(&sink, &stored, Duration::from_secs(30)).await;
    assert_eq!(missing, 0, "{missing} of {} stored events were never delivered", stored.len());
}

/// 32 clients each send 25 events and reset every connection (linger 0) after a delay of 0 to
/// 4 ms instead of reading the answer; the delays differ by client, request and round.
async fn hang_up_round(addr: &str, request: &str, round: u64) {
    let clients: Vec<_> = (0..32u64)
        .map(|client| {
            let (addr, request) = (addr.to_string(), request.to_string());
            tokio::spawn(async move {
                for i in 0..25u64 {
                    let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else { continue };
                    let _ = stream.write_all(request.as_bytes()).await;
                    let delay = (client * 131 + i * 997 + round * 389) % 4000;
                    tokio::time::sleep(Duration::from_micros(delay)).await;
                    let _ = stream.set_zero_linger();
                    drop(stream);
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
}

/// Every event the store holds, however its request ended, read page by page.
async fn stored_event_ids(http: &reqwest::Client, base: &str) -> std::collections::HashSet<String> {
    let mut stored = std::collections::HashSet::new();
    let mut iterator = String::new();
    loop {
        let url = format!("{base}/v1/events?limit=500&iterator={iterator}");
        let (status, page) = call(http, reqwest::Method::GET, &url, ADMIN, None).await;
        assert_eq!(status, 200, "{page}");
        stored.extend(page["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()));
        match page["iterator"].as_str() {
            Some(next) if page["done"] == false => iterator = next.to_string(),
            _ => return stored,
        }
    }
}

/// A storage fault while delivering is not the endpoint's: the delivery waits for the store and
/// goes out once it reads again, with no attempt recorded against the endpoint meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_fault_while_delivering_is_not_charged_to_the_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db");
    let server = Process::spawn(&db.to_string_lossy(), &["--retry-schedule", "1s,1s,1s"]);
    let sink = Sink::start(Behaviour { script: [500].into(), ..Default::default() }).await;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let (status, _) = call(
        &http,
        reqwest::Method::POST,
        &url("/v1/subscriptions"),
        ADMIN,
        Some(json!({"name": "sink", "url": sink.url, "actions": ["*"]})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, event) = call(&http, reqwest::Method::POST, &url("/v1/events"), INGEST, Some(card_move("P", 2))).await;
    let id = event["id"].as_str().unwrap().to_string();
    assert_eq!(sink.wait_for(1, Duration::from_secs(5)).await, 1);
    // The retry rereads the body from the store: make that read fail, from outside the process.
    let outside = rusqlite::Connection::open(&db).unwrap();
    outside.busy_timeout(Duration::from_secs(5)).unwrap();
    let (_, retrying) = call(&http, reqwest::Method::GET, &url(&format!("/v1/events/{id}")), ADMIN, None).await;
    let due = retrying["deliveries"][0]["next_attempt_at"].as_str().expect("a retry is scheduled").to_string();
    let due = chrono::DateTime::parse_from_rfc3339(&due).unwrap().timestamp_millis();
    outside.execute_batch("ALTER TABLE events RENAME COLUMN body TO body_away").unwrap();
    // Past the retry's due time: its read of the body has failed.
    tokio::time::sleep(hookwatch::domain::model::span(due + 500 - hookwatch::domain::model::now_ms())).await;
    assert_eq!(sink.count(), 1, "nothing can be sent while the body is unreadable");
    outside.execute_batch("ALTER TABLE events RENAME COLUMN body_away TO body").unwrap();
    assert_eq!(sink.wait_for(2, Duration::from_secs(10)).await, 2, "the delivery goes out once the store reads again");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let detail = loop {
        let (_, detail) = call(&http, reqwest::Method::GET, &url(&format!("/v1/events/{id}")), ADMIN, None).await;
        if detail["deliveries"][0]["status"] == "succeeded" || std::time::Instant::now() > deadline {
            break detail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let delivery = &detail["deliveries"][0];
    assert_eq!(delivery["status"], "succeeded", "{detail}");
    let codes: Vec<_> = delivery["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(codes, [json!(500), json!(200)], "only the endpoint's own answers are attempts: {detail}");
}

/// A webhook URL's path or query is often its credential, and a header can carry one under any
/// name: public `/metrics` shows only scheme, host and port, the viewer token reads them masked
/// everywhere, and only the admin token reads them whole.
#[tokio::test]
async fn secrets_in_urls_and_headers_reach_only_the_admin() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let url = format!("http://{}/services/T0123ABCD/B0456EFGH/abcdSECRET1234?api_key=querySECRET", sink.addr);
    let headers = json!({"X-Auth": "headerSECRET-1", "X-Signature-Key": "headerSECRET-2"});
    let sub = hw.subscribe(&url, &["*"], json!({"name": "slack", "headers": headers})).await;
    let (id, event) = (sub["id"].as_str().unwrap(), hw.send(&card_move("P", 2)).await);
    let event_id = event["id"].as_str().unwrap();
    hw.settled(event_id, Duration::from_secs(5)).await;

    let metrics = reqwest::get(format!("{}/metrics", hw.base)).await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("SECRET") && !metrics.contains("services"), "{metrics}");
    assert!(metrics.contains(&format!(r#"url="http://{}""#, sink.addr)), "{metrics}");
    let paths = ["/v1/subscriptions".to_string(), format!("/v1/subscriptions/{id}"), "/v1/stats".into()];
    for path in paths.iter().chain([&format!("/v1/events/{event_id}")]) {
        let (status, as_viewer) =
            call(&hw.http, reqwest::Method::GET, &format!("{}{path}", hw.base), VIEWER, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(!as_viewer.to_string().contains("SECRET"), "{path} as the viewer: {as_viewer}");
    }
    let (_, as_viewer) =
        call(&hw.http, reqwest::Method::GET, &format!("{}/v1/subscriptions/{id}", hw.base), VIEWER, None).await;
    let masked = format!("http://{}/services/•••/•••/•••?api_key=•••", sink.addr);
    assert_eq!(as_viewer["url"], masked.as_str(), "the host and the path's words stay readable");
    // The stream as the viewer reads it: its stats, and a subscription change made meanwhile.
    let stream = hw.http.get(format!("{}/v1/stream", hw.base)).bearer_auth(VIEWER).send().await.unwrap();
    let path = format!("/v1/subscriptions/{id}");
    let (status, _) = hw.admin(reqwest::Method::PATCH, &path, Some(json!({"name": "slack-2"}))).await;
    assert_eq!(status, 200);
    let seen = read_stream_until(stream, Duration::from_secs(5), |t| {
        t.contains("event: stats") && t.contains("event: subscription.changed")
    })
    .await;
    assert!(seen.contains("slack-2") && !seen.contains("SECRET"), "the stream as the viewer: {seen}");
    let as_admin = hw.get(&format!("/v1/subscriptions/{id}")).await;
    assert_eq!((as_admin["url"].as_str(), &as_admin["headers"]), (Some(url.as_str()), &headers));
    let detail = hw.get(&format!("/v1/events/{event_id}")).await;
    let sent = &detail["deliveries"][0]["attempts"][0]["request_headers"];
    assert_eq!(sent["X-Auth"], "headerSECRET-1", "the admin reads what was sent: {sent}");
}

#[tokio::test]
async fn a_body_slower_than_body_timeout_is_answered_408_and_closed() {
    let hw = Hookwatch::start_with(|c| c.body_timeout = Duration::from_millis(800).into()).await;
    let mut slow = tokio::net::TcpStream::connect(hw.server.addr).await.unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"data\":"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    still_serving(&hw).await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), slow.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was closed, not held");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408") && answer.contains("body_timeout"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2), "cut at the deadline: {:?}", started.elapsed());
}

/// The resident memory of the server's process, in KiB.
fn rss_kib(server: &Process) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().to_string();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
}

/// One byte per TCP segment pinned hyper's 8 KiB read buffer per byte while the body was kept as
/// chunks: 20,000 bytes took the server from 29 to 187 MiB. Copied as it comes, it holds its size.
#[test]
fn a_trickled_body_does_not_inflate_the_servers_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &["--body-timeout", "60s"]);
    let rss_kib = || rss_kib(&server);
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.set_nodelay(true).unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST}\r\n\
         Content-Type: application/json\r\nContent-Length: 250000\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let before = rss_kib();
    for _ in 0..20_000 {
        conn.write_all(b" ").unwrap();
        let pause = Instant::now();
        while pause.elapsed() < Duration::from_micros(100) {}
    }
    std::thread::sleep(Duration::from_millis(300));
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 30 * 1024, "RSS grew by {} MiB for 20,000 bytes", grown / 1024);
}

/// One address cannot take every connection: past `max_connections_per_address` its new ones are
/// closed at accept, and another client's ingests go through meanwhile.
#[tokio::test]
async fn one_address_holding_many_connections_leaves_room_for_others() {
    let hw = Hookwatch::start_with(|c| c.max_connections_per_address = 100).await;
    let mut held = Vec::new();
    for _ in 0..150 {
        held.push(tokio::net::TcpStream::connect(hw.server.addr).await.unwrap());
    }
    // The last 50 were closed at once: a read sees the end.
    let mut closed = 0;
    for conn in held.iter_mut().skip(100) {
        let mut buf = [0u8; 16];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(500), conn.read(&mut buf)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 50, "connections past the address's share are closed at accept");
    let other =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    for _ in 0..50 {
        let resp = other
            .post(format!("{}/v1/events", hw.base))
            .bearer_auth(INGEST)
            .header("content-type", "application/json")
            .body(card_move("P", 2).to_string())
            .send()
            .await
            .expect("another address is served");
        assert_eq!(resp.status(), 202);
    }
    drop(held);
}

/// A full database fails every write, and each failed request logged a line (a full disk: 30,968
/// lines, 5.3 MB in 20 s). Now a place in the code logs a few lines per window and counts the rest.
#[tokio::test]
async fn failing_writes_are_logged_a_few_times_not_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &["--max-db-bytes", "1048576"]);
    let http = reqwest::Client::new();
    let body = json!({"data": {"action": "card.move", "pad": "x".repeat(50_000)}});
    let mut refused = 0;
    for _ in 0..200 {
        let (status, _) =
            call(&http, reqwest::Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(body.clone())).await;
        refused += usize::from(status == 503);
    }
    assert!(refused >= 150, "the database filled up: {refused} refused");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logged = server.log.lock().unwrap().iter().filter(|l| l.contains("failed in the database")).count();
    assert!((1..=10).contains(&logged), "{refused} failed requests logged {logged} lines");
}

/// A connection from `ip` (all of 127.0.0.0/8 is loopback: each address is another client).
async fn connect_from(ip: &str, addr: &str) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{ip}:0").parse().unwrap())?;
    socket.connect(addr.parse().unwrap()).await
}

/// Near `max_connections`, a new connection closes the oldest idle one. Clients on eight
/// addresses, each within its share, keep twice the cap in silent connections, reopening each one
/// closed, and slow bodies hold connections too: another client's ingests all go through, and the
/// slow bodies, mid-request with the ingest token, are never shed. Drives the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_the_cap_idle_connections_are_shed_for_new_ones() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let limits = ["--max-connections", "64", "--max-connections-per-address", "16", "--body-timeout", "30s"];
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &limits);
    let addr = server.base.trim_start_matches("http://").to_string();
    // Each slow body sends its first bytes, then waits.
    let start = "{\"data\":";
    let rest = |pad: usize| format!("{{\"action\":\"card.move\",\"pad\":\"{}\"}}}}", "x".repeat(pad));
    let body = format!("{start}{}", rest(1000 - start.len() - rest(0).len()));
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut slow = Vec::new();
    for _ in 0..8 {
        let mut conn = connect_from("127.0.0.3", &addr).await.unwrap();
        conn.write_all(format!("{head}{start}").as_bytes()).await.unwrap();
        slow.push(conn);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let silent: Vec<_> = (0..128)
        .map(|i| {
            let (addr, stop) = (addr.clone(), stop.clone());
            tokio::spawn(async move {
                let ip = format!("127.0.0.{}", 10 + i % 8);
                while !stop.load(Ordering::Relaxed) {
                    let Ok(Ok(mut conn)) = tokio::time::timeout(Duration::from_secs(1), connect_from(&ip, &addr)).await
                    else {
                        continue;
                    };
                    // Held until the server closes it, then reopened a little later.
                    let mut buf = [0u8; 1];
                    while !stop.load(Ordering::Relaxed)
                        && tokio::time::timeout(Duration::from_millis(100), conn.read(&mut buf)).await.is_err()
                    {
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Another client, a new connection per event.
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut failed = Vec::new();
    for _ in 0..50 {
        let sent = other
            .post(format!("{}/v1/events", server.base))
            .bearer_auth(INGEST)
            .header("content-type", "application/json")
            .body(card_move("P", 2).to_string())
            .send()
            .await;
        match sent {
            Ok(answer) if answer.status() == 202 => {}
            Ok(answer) => failed.push(format!("{}: {}", answer.status(), answer.text().await.unwrap_or_default())),
            Err(e) => failed.push(format!("{e:?}")),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for task in silent {
        task.await.unwrap();
    }
    assert!(failed.is_empty(), "another client's ingests go through while the cap is full: {failed:?}");
    let shed = server.log.lock().unwrap().iter().filter(|l| l.contains("closed the oldest idle connection")).count();
    assert!(shed > 0, "the silent connections filled the cap and were shed");
    // The slow bodies were read all along: finished now, each is an event.
    for (i, conn) in slow.iter_mut().enumerate() {
        let sent = conn.write_all(&body.as_bytes()[start.len()..]).await;
        assert!(sent.is_ok(), "slow body {i} was still open: {sent:?}");
        let mut answer = [0u8; 12];
        let read = tokio::time::timeout(Duration::from_secs(2), conn.read_exact(&mut answer)).await;
        assert!(matches!(read, Ok(Ok(_))), "slow body {i} was answered: {read:?}");
        assert_eq!(&answer, b"HTTP/1.1 202", "{}", String::from_utf8_lossy(&answer));
    }
}

/// With `metrics_token` set, `/metrics` answers only to it or the admin token, and a refusal
/// says what to send; the other public routes stay open.
#[tokio::test]
async fn metrics_token_guards_metrics() {
    const METRICS: &str = "test-metrics-token";
    let hw = Hookwatch::start_with(|c| c.metrics_token = Some(METRICS.into())).await;
    let url = format!("{}/metrics", hw.base);
    let anonymous = reqwest::get(&url).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    let refusal: serde_json::Value = serde_json::from_str(&anonymous.text().await.unwrap()).unwrap();
    assert_eq!(refusal["error"]["code"], "unauthorized", "{refusal}");
    let message = refusal["error"]["message"].as_str().unwrap();
    assert!(message.contains("metrics_token") && message.contains("admin token"), "{message}");
    for (token, status) in [(METRICS, 200), (ADMIN, 200), (INGEST, 401), (VIEWER, 401), ("wrong", 401)] {
        let resp = hw.http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(resp.status(), status, "{token}");
        let text = resp.text().await.unwrap();
        assert_eq!(text.contains("hookwatch_events_ingested_total"), status == 200, "{token}: {text}");
    }
    assert_eq!(reqwest::get(format!("{}/healthz", hw.base)).await.unwrap().status(), 200);
}

/// What a burst of connections took goes back to the system once they close. mimalloc returns
/// freed memory only from a later allocation's slow path, which a server gone quiet never takes:
/// after 4,096 slow bodies closed, RSS stayed at its peak. Drives the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_a_burst_of_slow_bodies_held_goes_back_once_they_close() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &["--body-timeout", "60s"]);
    let addr = server.base.trim_start_matches("http://").to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(&server);
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {INGEST}\r\n\
         Content-Type: application/json\r\nContent-Length: 250000\r\n\r\n{{"
    );
    let mut slow = Vec::new();
    for _ in 0..400 {
        let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
        conn.write_all(head.as_bytes()).await.unwrap();
        slow.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = rss_kib(&server);
    assert!(held > before + 4096, "400 slow bodies held memory: {before} KiB, then {held} KiB");
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = rss_kib(&server);
        if now < before + (held - before) / 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "RSS stayed at {now} KiB after the connections closed ({before} KiB before, {held} KiB while held)"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
