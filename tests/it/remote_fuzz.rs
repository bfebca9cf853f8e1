//! Property test: whatever a remote server sends — odd text in every field (non-ASCII ids, wide
//! and combining characters, controls, bidi marks, 10,000-character strings), extreme numbers,
//! frames split at any byte, garbage frames — the dashboard fed by `attach`'s remote source draws
//! every view at every size without panicking. A fixed set of seeds keeps failures reproducible.

use axum::body::Body;
use bytes::Bytes;
use hookwatch::dashboard::app::{App, Outcome, Popup};
use hookwatch::dashboard::palette::Palette;
use hookwatch::dashboard::popups;
use hookwatch::dashboard::popups::inspector::Inspector;
use hookwatch::dashboard::popups::replay::ReplayDraft;
use hookwatch::dashboard::screenshots::render;
use hookwatch::dashboard::source::{RemoteSource, Source, Update};
use hookwatch::dashboard::theme::Theme;
use hookwatch::domain::model::EventDetail;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// xorshift64*: small, deterministic, good enough to vary inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "evt_",
            "sub_",
            "dlv_",
            "crm",
            "é",
            "漢字テキスト",
            "🚀🔥",
            "e\u{301}",
            "\u{200b}",
            "\u{202e}gnp.exe",
            "\x1b[2J\x1b]0;x\x07",
            "\u{9b}31m",
            "\t",
            "\n",
            "\r",
            "a b c",
            "_",
            "…",
            "\u{fe0f}",
            "\u{10ffff}",
        ];
        let mut out = String::new();
        for _ in 0..self.below(5) {
            out.push_str(PIECES[self.below(PIECES.len())]);
        }
        if self.chance(15) {
            out.push_str(&"Ω".repeat(10_000));
        }
        out
    }
    fn millis(&mut self) -> i64 {
        [0, -1, 1, 1_796_000_000_000, i64::MAX, i64::MIN, self.next().cast_signed() / 1000][self.below(7)]
    }
    fn count(&mut self) -> u64 {
        [0, 1, 7, u32::MAX as u64, u64::MAX / 2][self.below(5)]
    }
    fn rate(&mut self) -> Value {
        [json!(null), json!(0.0), json!(1.0), json!(0.5), json!(-3.0), json!(42.0), json!(1e300)][self.below(7)].clone()
    }
    fn pick(&mut self, items: &[&str]) -> String {
        items[self.below(items.len())].to_string()
    }
}

fn delivery(rng: &mut Rng) -> Value {
    let code = [json!(null), json!(200), json!(599)][rng.below(3)].clone();
    json!({"id": rng.text(), "subscription_id": rng.text(),
        "status": rng.pick(&["pending", "retrying", "succeeded", "dead", "cancelled"]),
        "attempt_count": rng.below(100), "last_status_code": code,
        "last_error": rng.text(), "next_attempt_at": rng.millis()})
}

fn event(rng: &mut Rng) -> Value {
    let deliveries: Vec<Value> = (0..rng.below(6)).map(|_| delivery(rng)).collect();
    json!({"id": rng.text(), "action": rng.text(), "received_at": rng.millis(), "card_id": rng.text(),
        "card_title": rng.text(), "pipe_id": rng.text(), "deliveries": deliveries})
}

fn endpoint(rng: &mut Rng) -> Value {
    let windows = |rng: &mut Rng| json!({"1m": rng.rate(), "5m": rng.rate(), "1h": rng.rate(), "24h": rng.rate()});
    let counts = |rng: &mut Rng| json!({"1m": rng.count(), "5m": rng.count(), "1h": rng.count(), "24h": rng.count()});
    json!({"id": rng.text(), "name": rng.text(), "url": rng.text(), "actions": [rng.text(), rng.text()],
        "state": rng.pick(&["active", "paused", "disabled"]), "success_rate": windows(rng), "attempts": counts(rng),
        "latency_ms": {"p50_ms": rng.count(), "p95_ms": null, "p99_ms": rng.count(), "max_ms": rng.count()},
        "backlog": rng.count(), "in_flight": rng.count(), "breaker": rng.pick(&["closed", "open", "half_open"]),
        "next_probe_at": rng.millis(), "last_error": rng.text(), "last_error_at": rng.millis(),
        "total_attempts": rng.count(), "total_successes": rng.count(),
        "history": (0..rng.below(20)).map(|_| rng.rate()).collect::<Vec<_>>()})
}

fn stats(rng: &mut Rng) -> Value {
    let nodes: Vec<Value> = (0..rng.below(4))
        .map(|_| {
            json!({"id": rng.text(), "address": rng.text(), "started_at": rng.millis(), "heartbeat_at": rng.millis(),
                "heartbeat_age_ms": rng.count(), "alive": rng.chance(2), "in_flight": rng.count(), "backlog": rng.count()})
        })
        .collect();
    json!({"generated_at": rng.millis(), "uptime_s": rng.count(), "ingest_per_second": rng.rate(),
        "events_ingested": rng.count(), "backlog": rng.count(),
        "subscriptions": (0..rng.below(5)).map(|_| endpoint(rng)).collect::<Vec<_>>(), "nodes": nodes})
}

fn headers(rng: &mut Rng) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(rng.text(), json!(rng.text()));
    Value::Object(map)
}

fn subscription(rng: &mut Rng) -> Value {
    json!({"id": rng.text(), "name": rng.text(), "url": rng.text(), "actions": [rng.text()],
        "headers": headers(rng), "filters": {}, "secret": rng.text(),
        "state": rng.pick(&["active", "paused", "disabled"]), "max_in_flight": rng.below(300), "ordered": rng.chance(2),
        "timeout_ms": rng.count(), "created_at": rng.millis(), "updated_at": rng.millis(), "disabled_reason": rng.text()})
}

/// One stream's worth of frames for a case, as the bytes a server would send.
fn frames(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    for _ in 0..12 {
        let (name, data) = match rng.below(8) {
            0 => ("stats", stats(rng)),
            1 => ("event.received", json!({"type": "event_received", "event": event(rng)})),
            2 => (
                "delivery.attempted",
                json!({"type": "delivery_attempted", "event_id": rng.text(),
                "delivery_id": rng.text(), "subscription_id": rng.text(), "attempt": rng.below(9),
                "started_at": rng.millis(), "duration_ms": rng.count(), "status_code": 500, "error_kind": "status",
                "error": rng.text(), "status": rng.pick(&["retrying", "dead", "succeeded"]), "next_attempt_at": rng.millis()}),
            ),
            3 => (
                "subscription.changed",
                json!({"type": "subscription_changed",
                "change": rng.pick(&["created", "updated", "deleted"]), "subscription": subscription(rng)}),
            ),
            4 => (
                "alert",
                json!({"type": "alert", "kind": rng.pick(&["endpoint_failing", "disabled", "breaker_open"]),
                "subscription_id": rng.text(), "subscription_name": rng.text(), "message": rng.text(), "at": rng.millis()}),
            ),
            5 => ("gap", json!({"since": rng.millis(), "reason": rng.text()})),
            6 => ("resumed", json!({"since": rng.millis(), "replayed": rng.count()})),
            _ => ("x-unknown", json!(rng.text())),
        };
        // Multi-line data is legal SSE: break the JSON across `data:` lines now and then.
        let data = data.to_string();
        let data = if rng.chance(4) { data.replace(',', ",\ndata: ") } else { data };
        let newline = if rng.chance(3) { "\r\n" } else { "\n" };
        out += &format!("id: {}{newline}event: {name}{newline}data: {data}{newline}{newline}", rng.millis());
        if rng.chance(6) {
            out += &format!("data: {}\n\n", rng.text()); // garbage: not JSON, no name
        }
    }
    out.into_bytes()
}

/// A stream body as the network delivers it.
type Chunks = Vec<Result<Bytes, std::io::Error>>;

/// Splits `bytes` at random points, through multi-byte characters too.
fn chunks(rng: &mut Rng, bytes: Vec<u8>) -> Chunks {
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let n = (1 + rng.below(2048)).min(rest.len());
        out.push(Ok(Bytes::copy_from_slice(&rest[..n])));
        rest = &rest[n..];
    }
    out
}

fn detail(rng: &mut Rng, id: String) -> EventDetail {
    let mut event = event(rng);
    event["id"] = json!(id);
    event["body"] = json!(format!("{{\"data\":{{\"action\":\"{}\"}}}}", rng.text().escape_default()));
    let deliveries: Vec<Value> = (0..rng.below(4))
        .map(|_| {
            let mut d = delivery(rng);
            d["attempts"] = json!([{"id": 1, "delivery_id": rng.text(), "started_at": rng.millis(), "duration_ms": rng.count(),
                "status_code": 503, "error_kind": "status", "error": rng.text(), "response_body": rng.text(),
                "response_truncated": rng.chance(2), "next_retry_at": rng.millis(), "request_headers": headers(rng)}]);
            d
        })
        .collect();
    event["deliveries"] = json!(deliveries);
    serde_json::from_value(event).expect("a well-formed event detail")
}

/// Running replays and a replay preview, with any numbers and names.
fn replays(rng: &mut Rng) -> (Vec<hookwatch::domain::model::Replay>, hookwatch::domain::model::ReplayPreview) {
    let list = (0..rng.below(4))
        .map(|_| {
            serde_json::from_value(
                json!({"id": rng.text(), "filter": {}, "rate_per_s": rng.below(20_000), "state": "running",
                "total": rng.count(), "done": rng.count(), "failed": rng.count(), "created_at": rng.millis(),
                "updated_at": rng.millis(), "node": rng.text()}),
            )
            .expect("a well-formed replay")
        })
        .collect();
    let targets: Vec<Value> =
        (0..rng.below(12)).map(|_| json!({"id": rng.text(), "name": rng.text(), "deliveries": rng.count()})).collect();
    let preview = serde_json::from_value(
        json!({"total": rng.count(), "events": rng.count(), "rate_per_s": 10, "subscriptions": targets}),
    )
    .expect("a well-formed preview");
    (list, preview)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_remote_data_renders_every_view_at_any_size() {
    let cases: Arc<Mutex<Vec<Chunks>>> = Arc::default();
    let queued = cases.clone();
    let app = axum::Router::new()
        .route(
            "/v1/stream",
            axum::routing::get(move || {
                let next = queued.lock().unwrap().pop().unwrap_or_default();
                async move {
                    axum::response::Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(Body::from_stream(futures::stream::iter(next)))
                        .unwrap()
                }
            }),
        )
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "{}") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let theme = Theme::PLAIN;
    let sizes = [(1, 1), (20, 6), (59, 14), (60, 15), (80, 24), (120, 30), (200, 50)];
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let bytes = frames(&mut rng);
        cases.lock().unwrap().push(chunks(&mut rng, bytes));
        let remote = RemoteSource::new(&base, "token").unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
        remote.watch(tx);
        let mut app = App::new(base.clone());
        let mut updates = 0;
        // Until the stream ends (the source then says it lost the server).
        while let Ok(Some(update)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            let ended = matches!(&update, Update::Connection { connected: false, .. });
            app.now = rng.millis();
            app.apply_update(update);
            updates += 1;
            if ended {
                break;
            }
        }
        assert!(updates > 1, "seed {seed}: the stream was read");
        drop(rx);
        let id = app.stream.events.front().map(|r| r.event.id.to_string()).unwrap_or_else(|| rng.text());
        app.apply_outcome(Outcome::Alerts(Vec::new()));
        let (running, preview) = replays(&mut rng);
        app.apply_outcome(Outcome::Replays(running, rng.millis()));
        for popup in 0..7 {
            app.popups.clear();
            match popup {
                1 => {
                    app.popups.push(Popup::Help(Box::new(popups::help::Help { scroll: rng.below(500), search: None })))
                }
                2 => app.popups.push(Popup::Alerts(popups::alerts::Alerts { scroll: rng.below(500) })),
                3 => app.popups.push(Popup::Nodes(popups::nodes::Nodes { scroll: rng.below(50) })),
                4 => {
                    let mut ins = Inspector::loading(id.as_str().into());
                    ins.load(detail(&mut rng, id.clone()));
                    app.popups.push(Popup::Inspector(Box::new(ins)));
                }
                5 => {
                    let mut draft = ReplayDraft::new(Default::default(), &rng.text());
                    draft.rate = ratatui_textarea::TextArea::new(vec![rng.pick(&["1", "10000", "0", "99999999999"])]);
                    draft.preview = Some(Ok(preview.clone()));
                    app.popups.push(Popup::Replay(Box::new(draft)));
                }
                6 => {
                    let mut palette = Palette::default();
                    palette.set_line(&rng.text());
                    app.palette = Some(palette);
                }
                _ => app.palette = None,
            }
            for (w, h) in sizes {
                app.wide = w >= 120;
                render(&app, w, h, &theme); // must not panic
            }
        }
    }
}
