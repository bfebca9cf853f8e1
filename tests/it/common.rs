//! Shared test fixtures: a real hookwatch on loopback and real sink endpoints that record what
//! they receive. Nothing is mocked; everything speaks HTTP over 127.0.0.1.

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use hookwatch::api::server::Server;
use hookwatch::config::Config;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ADMIN: &str = "test-admin-token";
pub const INGEST: &str = "test-ingest-token";
pub const VIEWER: &str = "test-viewer-token";

/// A fast config for tests: loopback allowed, retries in milliseconds, tokens fixed.
pub fn test_config(dir: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        db: dir.join("hookwatch.db").to_string_lossy().into_owned(),
        allow_private: true,
        retry_schedule: "100ms,200ms,300ms".parse().unwrap(),
        admin_token: Some(ADMIN.into()),
        ingest_token: Some(INGEST.into()),
        viewer_token: Some(VIEWER.into()),
        ..Config::default()
    }
}

pub struct Hookwatch {
    pub server: Server,
    pub base: String,
    pub http: reqwest::Client,
    _dir: Option<tempfile::TempDir>,
}

impl Hookwatch {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let server = Server::start(config).await.expect("hookwatch starts");
        Hookwatch { _dir: Some(dir), ..Self::of(server) }
    }

    /// The helpers over a server the test started itself (on a database it keeps, to restart on).
    pub fn of(server: Server) -> Self {
        let base = format!("http://{}", server.addr);
        // A pooled connection is reused only well within the shortest header timeout a test sets
        // (the server closes an idle one then, and a request sent on it as it closes is lost).
        let http = reqwest::Client::builder().pool_idle_timeout(Duration::from_millis(400)).build().unwrap();
        Hookwatch { server, base, http, _dir: None }
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        call(&self.http, method, &format!("{}{path}", self.base), ADMIN, body).await
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.admin(reqwest::Method::GET, path, None).await;
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    pub async fn subscribe(&self, url: &str, actions: &[&str], extra: Value) -> Value {
        let mut body = json!({"name": format!("sink {url}"), "url": url, "actions": actions});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, sub) = self.admin(reqwest::Method::POST, "/v1/subscriptions", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{sub}");
        sub
    }

    /// A subscription's signing secret, as its admin reads it (`secret_of`).
    pub async fn secret(&self, sub: &Value) -> String {
        secret_of(&self.http, &self.base, sub).await
    }

    /// Posts a raw body to the ingest endpoint.
    pub async fn ingest_raw(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
        token: &str,
    ) -> (StatusCode, HeaderMap, Value) {
        let resp = self
            .http
            .post(format!("{}/v1/events", self.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn send(&self, payload: &Value) -> Value {
        let (status, _, body) = self.ingest_raw(payload.to_string(), "application/json", INGEST).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body
    }

    /// Polls `path` until `check` holds (or `within` passes) and returns its last answer.
    pub async fn until(&self, path: &str, within: Duration, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let value = self.get(path).await;
            if check(&value) || Instant::now() > deadline {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until no delivery is queued or in flight here: whatever was sent has been sent,
    /// and nothing more will be unless something new arrives. Returns the stats then.
    pub async fn idle(&self, within: Duration) -> Value {
        let stats = self
            .until("/v1/stats", within, |s| {
                s["backlog"] == 0
                    && s["subscriptions"].as_array().is_some_and(|subs| subs.iter().all(|s| s["in_flight"] == 0))
            })
            .await;
        assert_eq!(stats["backlog"], 0, "still busy after {within:?}: {stats}");
        stats
    }

    /// Waits until the event's deliveries all reach a final state, and returns the event.
    pub async fn settled(&self, event_id: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let event = self.get(&format!("/v1/events/{event_id}")).await;
            let done = event["deliveries"].as_array().is_some_and(|ds| {
                ds.iter().all(|d| matches!(d["status"].as_str(), Some("succeeded" | "dead" | "cancelled")))
            });
            if done || Instant::now() > deadline {
                return event;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Polls `GET path` on the server at `base` (admin token) until `check` holds or `within`
/// passes, and returns its last answer.
pub async fn until(base: &str, path: &str, within: Duration, check: impl Fn(&Value) -> bool) -> Value {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        let (_, value) = call(&http, reqwest::Method::GET, &format!("{base}{path}"), ADMIN, None).await;
        if check(&value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One API request with a bearer token and an optional JSON body; the answer's status and JSON
/// (`Null` when the body is not JSON).
/// A subscription's signing secret, read as its admin reads it (`GET /v1/subscriptions/{id}/secret`,
/// audited): every other answer shows it masked.
pub async fn secret_of(http: &reqwest::Client, base: &str, sub: &Value) -> String {
    let url = format!("{base}/v1/subscriptions/{}/secret", sub["id"].as_str().unwrap());
    let (status, keys) = call(http, reqwest::Method::GET, &url, ADMIN, None).await;
    assert_eq!(status, 200, "{keys}");
    keys["key"].as_str().unwrap().to_string()
}

pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    let resp = req.send().await.unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Reads an SSE response until `done` holds for everything read so far; panics with what was read
/// when the stream ends or `within` passes first.
pub async fn read_stream_until(resp: reqwest::Response, within: Duration, done: impl Fn(&str) -> bool) -> String {
    use futures::StreamExt;
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + within;
    while !done(&text) {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => panic!("stream ended or timed out; got:\n{text}"),
        }
    }
    text
}

pub fn card_move(pipe: &str, to_phase: u64) -> Value {
    json!({"data": {"action": "card.move", "from": {"id": 1, "name": "Inbox"}, "to": {"id": to_phase, "name": "Doing"},
        "moved_by": {"id": 7, "name": "Ana", "username": "ana", "email": "ana@example.com", "avatar_url": "https://example.com/a.png"},
        "card": {"id": 42, "title": "Prospect", "pipe_id": pipe}}})
}

/// A request as the sink saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

/// How the sink answers: a scripted list of statuses first, then `default_status`, after `delay`.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub script: VecDeque<u16>,
    pub default_status: u16,
    pub delay: Duration,
    pub extra_headers: Vec<(String, String)>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour { script: VecDeque::new(), default_status: 200, delay: Duration::ZERO, extra_headers: Vec::new() }
    }
}

#[derive(Clone)]
pub struct Sink {
    pub url: String,
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
}

impl Sink {
    pub async fn start(behaviour: Behaviour) -> Sink {
        Self::start_on("127.0.0.1:0".parse().unwrap(), behaviour).await
    }

    pub async fn start_on(addr: SocketAddr, behaviour: Behaviour) -> Sink {
        let received = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let (rec, beh) = (received.clone(), behaviour.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (rec, beh) = (rec.clone(), beh.clone());
            async move {
                rec.lock().unwrap().push(Received { headers, body, at: Instant::now() });
                let (status, delay, extra) = {
                    let mut b = beh.lock().unwrap();
                    let status = b.script.pop_front().unwrap_or(b.default_status);
                    (status, b.delay, b.extra_headers.clone())
                };
                tokio::time::sleep(delay).await;
                let mut resp =
                    (StatusCode::from_u16(status).unwrap(), format!("sink answered {status}")).into_response();
                for (k, v) in extra {
                    resp.headers_mut()
                        .insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
                }
                resp
            }
        });
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Sink { url: format!("http://{addr}/hook"), addr, received, behaviour }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived (or the time is up) and returns the count.
    pub async fn wait_for(&self, n: usize, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        while self.count() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.count()
    }
}

/// A new, empty PostgreSQL database when `HOOKWATCH_TEST_PG` names a server to create it on
/// (`.ci/run` starts one). Without one the PostgreSQL test is skipped, saying so on the terminal
/// (past the test harness's capture); under `CI` it fails instead: there they are required.
pub async fn fresh_pg_database() -> Option<String> {
    let Some(base) = std::env::var("HOOKWATCH_TEST_PG").ok().filter(|u| !u.is_empty()) else {
        skipped("HOOKWATCH_TEST_PG is not set: no PostgreSQL to test on (`source .ci/postgres.sh` starts one)");
        return None;
    };
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("HOOKWATCH_TEST_PG={base} is set but unreachable: {e}"));
    tokio::spawn(conn);
    let name = format!("hw_{}", hookwatch::domain::model::new_id("t").to_lowercase());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create a test database");
    let mut url = url::Url::parse(&base).expect("HOOKWATCH_TEST_PG is a URL");
    url.set_path(&name);
    Some(url.to_string())
}

/// The real binary running `serve` on loopback, killed when dropped.
pub struct Process {
    pub child: std::process::Child,
    pub base: String,
    /// What it logged since it printed its address.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Process {
    /// Starts `hookwatch serve` on `db` with the test tokens and, unless `extra_args` sets one, a
    /// fast retry schedule.
    pub fn spawn(db: &str, extra_args: &[&str]) -> Process {
        Self::spawn_at("127.0.0.1:0", db, extra_args)
    }

    /// The same, listening on `listen` (a fixed port lets a restarted server be found again).
    pub fn spawn_at(listen: &str, db: &str, extra_args: &[&str]) -> Process {
        use std::io::{BufRead, BufReader};
        let schedule: &[&str] = if extra_args.contains(&"--retry-schedule") {
            &[]
        } else {
            &["--retry-schedule", "100ms,200ms,500ms,1s,1s,1s"]
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hookwatch"))
            .args(["serve", "--listen", listen, "--allow-private"])
            .args(schedule)
            .args(["--db", db])
            .args(extra_args)
            .env("HOOKWATCH_ADMIN_TOKEN", ADMIN)
            .env("HOOKWATCH_INGEST_TOKEN", INGEST)
            .env("HOOKWATCH_VIEWER_TOKEN", VIEWER)
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped())
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
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| kept.lock().unwrap().push(l)));
        Process { child, base, log }
    }

    /// Sends `signal` (`STOP`, `CONT`) to the process, as `kill -STOP` from a shell would.
    pub fn signal(&self, signal: &str) {
        let sent =
            std::process::Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -{signal} {} failed", self.child.id());
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends `card.move` events to `base` from `senders` connections until `stop` is set, pushing the
/// id of every acknowledged (202) event to `acked`. Ends quietly when the server goes away.
pub fn flood(
    base: &str,
    senders: usize,
    acked: Arc<Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let http = reqwest::Client::new();
    (0..senders)
        .map(|_| {
            let (http, base, acked, stop) = (http.clone(), base.to_string(), acked.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let sent = http
                        .post(format!("{base}/v1/events"))
                        .bearer_auth(INGEST)
                        .header("content-type", "application/json")
                        .body(card_move("P", 2).to_string())
                        .send()
                        .await;
                    let Ok(resp) = sent else { return };
                    if resp.status() == 202 {
                        let body: Value =
                            serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or_default();
                        if let Some(id) = body["id"].as_str() {
                            acked.lock().unwrap().push(id.to_string());
                        }
                    }
                }
            })
        })
        .collect()
}

/// Waits until the sink has received every one of `expected` (by webhook-id) or `within` passes;
/// returns how many are still missing.
pub async fn missing_deliveries(sink: &Sink, expected: &std::collections::HashSet<String>, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let delivered: std::collections::HashSet<String> = sink
            .requests()
            .iter()
            .filter_map(|r| r.headers.get("webhook-id")?.to_str().ok().map(str::to_string))
            .collect();
        let missing = expected.difference(&delivered).count();
        if missing == 0 || Instant::now() > deadline {
            return missing;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Python that can import `modules`: `HOOKWATCH_TEST_PYTHON` (`.ci/run` makes a virtualenv
/// with the third-party clients the tests use), else `python3`. Without one the test is skipped,
/// saying so; under `CI` it fails instead.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let python = std::env::var("HOOKWATCH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let imports = format!("import {}", modules.join(", "));
    let found = std::process::Command::new(&python)
        .args(["-c", &imports])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(python);
    }
    skipped(&format!("{python} cannot {imports} (source .ci/python.sh makes a virtualenv with them)"));
    None
}

/// Whether `program` runs here (asked with `probe`, e.g. `-V`). Without it the test that needs it
/// is skipped, saying so; under `CI` it fails instead.
pub fn can_run(program: &str, probe: &[&str], install: &str) -> bool {
    let ran = std::process::Command::new(program)
        .args(probe)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    if !ran {
        skipped(&format!("{program} is not installed ({install}; .ci/run installs it)"));
    }
    ran
}

/// A test that cannot run here for want of `missing` says so on the terminal (past the test
/// harness's capture) and ends; under `CI`, where `.ci/run` installed everything, it fails: there
/// every test is required. The run's last lines count what was skipped and why.
pub fn skipped(missing: &str) {
    assert!(std::env::var_os("CI").is_none(), "{missing}: required under CI");
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "skipped a test: {missing}");
    static SUMMARY_AT_EXIT: std::sync::Once = std::sync::Once::new();
    // SAFETY: `atexit` only records a function to call; `summarize_skipped` is safe to run then.
    SUMMARY_AT_EXIT.call_once(|| unsafe {
        atexit(summarize_skipped);
    });
    *SKIPPED.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(missing.to_string()).or_default() += 1;
}

static SKIPPED: std::sync::Mutex<std::collections::BTreeMap<String, usize>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

/// After the harness's own result line: how many tests were skipped, why, and how to run them all.
extern "C" fn summarize_skipped() {
    use std::io::Write;
    let skipped = SKIPPED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let total: usize = skipped.values().sum();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\n{total} tests skipped (counted as passed above) for want of what they need:");
    for (missing, count) in skipped.iter() {
        let _ = writeln!(err, "  {count} × {missing}");
    }
    let _ = writeln!(err, "`.ci/run` installs all of it and runs every test (as CI does, with CI=1).");
}
