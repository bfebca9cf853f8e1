//! Fixed synthetic data and off-screen rendering: the source of the insta snapshots and of the
//! SVG screenshots in `screenshots/`, so both come from the real render code and never leak data.

use super::app::{App, EventRow, Pane, Popup};
use super::popups::inspector::{Inspector, Section};
use super::popups::replay::{ReplayDraft, replay_filter};
use super::popups::{alerts::Alerts, audit::Audit, copy_menu::CopyMenu, nodes::Nodes};
use super::popups::{send_form::SendForm, subscription_form::SubscriptionForm};
use super::theme::Theme;
use super::view;
use crate::domain::model::*;
use crate::domain::model::{Alert, AlertKind};
use crate::wire::BreakerState;
use crate::wire::NodeInfo;
use crate::wire::{EndpointHistory, HistoryPoint, Latency, RecentFailure, ResponseCount, Span};
use crate::wire::{EndpointReport, StatsReport};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use std::collections::BTreeMap;
use std::fmt::Write;

/// 2026-11-25 14:05:00 UTC: the fixture's "now".
pub const NOW: Millis = 1_795_615_500_000;

fn sub(id: &str, name: &str, url: &str, actions: &[&str], state: SubscriptionState) -> Subscription {
    Subscription {
        id: id.into(),
        name: name.into(),
        url: url.into(),
        actions: actions.iter().map(|a| a.to_string()).collect(),
        headers: BTreeMap::new(),
        filters: Filters::default(),
        secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into(),
        previous_secret: None,
        previous_secret_expires_at: None,
        older_secrets: Vec::new(),
        public_key: None,
        state,
        max_in_flight: 16,
        // One endpoint paced, as an operator does for a fragile consumer.
        rate_limit_per_s: (name == "billing").then_some(20),
        ordered: false,
        timeout_ms: 15_000,
        created_at: NOW - 86_400_000,
        updated_at: NOW - 3_600_000,
        disabled_reason: None,
        owner: None,
        email: None,
    }
}

fn endpoint(
    s: &Subscription,
    rate: f64,
    p99: u64,
    backlog: u64,
    breaker: BreakerState,
    history: &[f64],
) -> EndpointReport {
    let attempts = 300u64;
    EndpointReport {
        id: s.id.clone(),
        name: s.name.clone(),
        url: s.url.clone(),
        actions: s.actions.clone(),
        state: s.state,
        success_rate: ["1m", "5m", "1h", "24h"].iter().map(|w| (w.to_string(), Some(rate))).collect(),
        attempts: ["1m", "5m", "1h", "24h"].iter().map(|w| (w.to_string(), attempts)).collect(),
        latency_ms: Latency { p50_ms: Some(p99 / 4), p95_ms: Some(p99 / 2), p99_ms: Some(p99), max_ms: Some(p99 * 2) },
        backlog,
        in_flight: backlog.min(16),
        rate_limit_per_s: s.rate_limit_per_s,
        breaker,
        next_probe_at: (breaker == BreakerState::Open).then_some(NOW + 24_000),
        breaker_since: (breaker == BreakerState::Open).then_some(NOW - 96_000),
        last_error: (rate < 1.0).then(|| "HTTP 503 Service Unavailable".into()),
        last_error_at: (rate < 1.0).then_some(NOW - 4000),
        last_success_at: (rate > 0.0).then_some(NOW - 1000),
        total_attempts: attempts,
        total_successes: crate::dashboard::layout::share(rate, 300) as u64,
        history: history.iter().map(|r| Some(*r)).collect(),
    }
}

fn delivery(n: usize, sub: &str, status: DeliveryStatus) -> DeliverySummary {
    DeliverySummary {
        id: format!("dlv_01KQ0000000000000000{n:06}").into(),
        subscription_id: sub.into(),
        status,
        attempt_count: 1,
        last_status_code: None,
        last_error: None,
        next_attempt_at: None,
    }
}

/// The dashboard as an operator would see it mid-incident: one healthy, one flaky, one down endpoint.
pub fn demo_app() -> App {
    let subs = vec![
        sub(
            "sub_01KQCRM0000000000000000001",
            "crm-sync",
            "http://127.0.0.1:9101/hooks",
            &["card.*"],
            SubscriptionState::Active,
        ),
        sub(
            "sub_01KQANA0000000000000000002",
            "analytics",
            "http://127.0.0.1:9102/ingest",
            &["*"],
            SubscriptionState::Active,
        ),
        sub(
            "sub_01KQBIL0000000000000000003",
            "billing",
            "http://127.0.0.1:9103/webhooks",
            &["user.*", "card.done"],
            SubscriptionState::Active,
        ),
    ];
    let stats = StatsReport {
        generated_at: NOW,
        uptime_s: 754,
        ingest_per_second: 11.4,
        events_ingested: 8_412,
        backlog: 212,
        held_body_bytes: 180_224,
        subscriptions: vec![
            endpoint(&subs[0], 1.0, 24, 0, BreakerState::Closed, &[1.0; 12]),
            endpoint(
                &subs[1],
                0.912,
                710,
                3,
                BreakerState::Closed,
                &[0.95, 0.9, 0.85, 0.92, 0.88, 1.0, 0.9, 0.93, 0.87, 0.91, 0.95, 0.9],
            ),
            endpoint(
                &subs[2],
                0.0,
                5002,
                209,
                BreakerState::Open,
                &[1.0, 1.0, 0.6, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            ),
        ],
        nodes: vec![
            node("node-a", "10.0.4.11:8430", 754_000, 400, 7, 80),
            node("node-b", "10.0.4.12:8430", 612_000, 1_300, 5, 40),
            node("node-c", "10.0.4.13:8430", 3_600_000, 9_000, 0, 92),
        ],
    };
    let actions = [
        "card.move",
        "card.field_update",
        "card.create",
        "user.role_set",
        "card.done",
        "card.move",
        "card.late",
        "user.invitation_sent",
    ];
    let events = (0..60)
        .map(|i| {
            let action = actions[i % actions.len()];
            let mut deliveries = Vec::new();
            if action.starts_with("card.") {
                deliveries.push(delivery(i * 3, &subs[0].id, DeliveryStatus::Succeeded));
            }
            deliveries.push(delivery(
                i * 3 + 1,
                &subs[1].id,
                if i % 7 == 3 { DeliveryStatus::Retrying } else { DeliveryStatus::Succeeded },
            ));
            if action.starts_with("user.") || action == "card.done" {
                deliveries.push(delivery(
                    i * 3 + 2,
                    &subs[2].id,
                    if i < 10 { DeliveryStatus::Retrying } else { DeliveryStatus::Dead },
                ));
            }
            if i == 0 {
                deliveries.iter_mut().for_each(|d| d.status = DeliveryStatus::Pending);
            }
            EventRow {
                event: EventSummary {
                    id: format!("evt_01KQ{:022}", 900_000 - i).into(),
                    action: action.into(),
                    received_at: NOW - i64::try_from(i).unwrap_or(0) * 850,
                    card_id: action.starts_with("card.").then(|| format!("{}", 4_837_291 + i * 17)),
                    card_title: action.starts_with("card.").then(|| {
                        ["Prospect: Acme Corp renewal", "Onboarding: Globex", "Invoice #4471 overdue"][i % 3]
                            .to_string()
                    }),
                    pipe_id: action.starts_with("card.").then(|| ["CxeXHeOR", "Pq81LmZa"][i % 2].to_string()),
                    deliveries,
                },
                changed_at: NOW - 10_000,
            }
        })
        .collect();
    let alerts = vec![
        Alert {
            kind: AlertKind::EndpointFailing,
            subscription_id: subs[2].id.clone(),
            subscription_name: "billing".into(),
            message: "3 failures in a row, last: could not connect: Connection refused".into(),
            at: NOW - 95_000,
        },
        Alert {
            kind: AlertKind::BreakerOpen,
            subscription_id: subs[2].id.clone(),
            subscription_name: "billing".into(),
            message: "10 consecutive failures; pausing deliveries for a cooldown".into(),
            at: NOW - 80_000,
        },
        Alert {
            kind: AlertKind::EndpointFailing,
            subscription_id: subs[1].id.clone(),
            subscription_name: "analytics".into(),
            message: "3 failures in a row, last: HTTP 503 Service Unavailable".into(),
            at: NOW - 41_000,
        },
        Alert {
            kind: AlertKind::EndpointRecovered,
            subscription_id: subs[1].id.clone(),
            subscription_name: "analytics".into(),
            message: "deliveries succeed again".into(),
            at: NOW - 30_000,
        },
    ];
    let mut app = App::new("127.0.0.1:8430".into());
    app.now = NOW;
    app.set_stats(stats);
    app.subscriptions = subs;
    app.stream.events = events;
    app.alerts = alerts.into();
    app.unseen_alerts = 1;
    app
}

/// An inspected event with a failed then successful attempt.
pub fn demo_inspector() -> Inspector {
    let body = crate::domain::catalog::card_move().to_string();
    let headers: BTreeMap<String, String> = [
        ("content-type", "application/json"),
        ("user-agent", "hookwatch/0.1.0"),
        ("webhook-id", "evt_01KQ0000000000000000900000"),
        ("webhook-timestamp", "1795615499"),
        ("webhook-signature", "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let attempt = |id: i64, at: Millis, code: u16, error: Option<&str>, body: &str, next: Option<Millis>| Attempt {
        id,
        delivery_id: "dlv_01KQ0000000000000000000001".into(),
        started_at: at,
        duration_ms: if error.is_some() { 812 } else { 41 },
        status_code: Some(code),
        error_kind: error.map(|_| ErrorKind::Status),
        error: error.map(str::to_string),
        response_body: body.into(),
        response_truncated: false,
        next_retry_at: next,
        request_headers: headers.clone(),
        replay_id: None,
    };
    let detail = EventDetail {
        id: "evt_01KQ0000000000000000900000".into(),
        action: "card.move".into(),
        received_at: NOW - 6000,
        card_id: Some("4837291".into()),
        card_title: Some("Prospect: Acme Corp renewal".into()),
        pipe_id: Some("CxeXHeOR".into()),
        body,
        deliveries: vec![
            DeliveryDetail {
                summary: DeliverySummary {
                    attempt_count: 1,
                    status: DeliveryStatus::Succeeded,
                    ..delivery(0, "sub_01KQCRM0000000000000000001", DeliveryStatus::Succeeded)
                },
                attempts: vec![attempt(1, NOW - 5990, 200, None, "{\"ok\":true}", None)],
            },
            DeliveryDetail {
                summary: DeliverySummary {
                    attempt_count: 2,
                    status: DeliveryStatus::Retrying,
                    next_attempt_at: Some(NOW + 4000),
                    ..delivery(1, "sub_01KQANA0000000000000000002", DeliveryStatus::Retrying)
                },
                attempts: vec![
                    attempt(
                        2,
                        NOW - 5990,
                        503,
                        Some("HTTP 503 Service Unavailable"),
                        "upstream overloaded, try again",
                        Some(NOW - 1000),
                    ),
                    // Sent again by a replay.
                    Attempt {
                        replay_id: Some("rpl_01KQRPL0000000000000000001".into()),
                        ..attempt(
                            3,
                            NOW - 1000,
                            500,
                            Some("HTTP 500 Internal Server Error"),
                            "{\"error\":\"database is locked\"}",
                            Some(NOW + 4000),
                        )
                    },
                ],
            },
        ],
    };
    let mut ins = Inspector::loading(detail.id.clone());
    ins.load(detail);
    ins
}

/// Billing's last hour: healthy, then failing for its last 20 minutes until its breaker opened.
pub fn demo_history() -> EndpointHistory {
    let points = (0..60i64)
        .map(|i| {
            let at = (NOW / 60_000 - 59 + i) * 60_000;
            let failing = i >= 40;
            let attempts = if i >= 55 { 6 } else { 120 };
            let successes = if failing {
                attempts * (59 - u32::try_from(i).unwrap_or(0)) / 40
            } else {
                attempts - u32::from(i % 7 == 0)
            };
            let (p50, p95, p99) = if failing {
                (910, 4_800, 5_000)
            } else {
                (42 + i.unsigned_abs() % 5, 120, 190 + i.unsigned_abs() % 9 * 10)
            };
            HistoryPoint { at, attempts, successes, p50_ms: Some(p50), p95_ms: Some(p95), p99_ms: Some(p99) }
        })
        .collect();
    let response =
        |status_code, error_kind, count, ago| ResponseCount { status_code, error_kind, count, last_seen_at: NOW - ago };
    let failure = |ago: Millis, event: &str, attempt, status_code, error: &str| RecentFailure {
        at: NOW - ago,
        event_id: event.into(),
        attempt,
        status_code,
        error: error.into(),
    };
    let alert = |kind, ago: Millis, message: &str| Alert {
        kind,
        subscription_id: "sub_01KQBIL0000000000000000003".into(),
        subscription_name: "billing".into(),
        message: message.into(),
        at: NOW - ago,
    };
    let change = |ago: Millis, from, to, next_probe_at| crate::domain::model::BreakerChange {
        at: NOW - ago,
        from,
        to,
        next_probe_at,
    };
    EndpointHistory {
        span: Span::Hour,
        slot_s: 60,
        points,
        responses: vec![
            response(Some(200), None, 5_112, 61_000),
            response(Some(503), None, 1_204, 3_000),
            response(None, Some(ErrorKind::Timeout), 388, 9_000),
            response(Some(500), None, 41, 1_140_000),
        ],
        failures: vec![
            failure(3_000, "evt_01KQ0000000000000000900000", 4, Some(503), "HTTP 503 Service Unavailable"),
            failure(9_000, "evt_01KQ0000000000000000900001", 2, None, "timed out after 5s"),
            failure(14_000, "evt_01KQ0000000000000000900002", 3, Some(503), "HTTP 503 Service Unavailable"),
            failure(61_000, "evt_01KQ0000000000000000900003", 1, Some(503), "HTTP 503 Service Unavailable"),
        ],
        breaker: vec![
            alert(AlertKind::BreakerOpen, 60_000, "5 consecutive failures; pausing deliveries for a cooldown"),
            alert(AlertKind::EndpointFailing, 1_150_000, "3 failures in a row, last: HTTP 500 Internal Server Error"),
        ],
        breaker_changes: vec![
            change(29_000, BreakerState::HalfOpen, BreakerState::Open, Some(NOW + 31_000)),
            change(30_000, BreakerState::Open, BreakerState::HalfOpen, None),
            change(60_000, BreakerState::Closed, BreakerState::Open, Some(NOW - 30_000)),
        ],
    }
}

/// The demo event with a card title of 10,000 characters, wrapped (the inspector's default).
pub fn long_title_inspector() -> Inspector {
    let mut detail = demo_inspector().detail.expect("the demo inspector is loaded");
    let mut payload: serde_json::Value = serde_json::from_str(&detail.body).unwrap_or_default();
    let title = format!("Renewal: {}end of title", "Acme Corporation, ".repeat(554));
    payload["data"]["card"]["title"] = serde_json::Value::String(title);
    detail.body = payload.to_string();
    let mut ins = Inspector::loading(detail.id.clone());
    ins.load(detail);
    // Scrolled to the title, two lines above it showing.
    let title = ins.payload.iter().position(|l| l.iter().any(|(_, s)| s.contains("\"title\"")));
    ins.payload_scroll = title.unwrap_or(0).saturating_sub(2);
    ins
}

/// The named views the snapshots and screenshots cover.
pub fn views() -> Vec<(&'static str, App)> {
    let main = demo_app();
    let mut inspector = demo_app();
    inspector.popups.push(Popup::Inspector(Box::new(demo_inspector())));
    let mut deliveries = demo_app();
    let mut ins = demo_inspector();
    ins.section = Section::Deliveries;
    deliveries.popups.push(Popup::Inspector(Box::new(ins)));
    let mut help = demo_app();
    help.popups.push(Popup::Help(Box::default()));
    let mut alerts = demo_app();
    alerts.unseen_alerts = 0;
    alerts.popups.push(Popup::Alerts(Alerts::default()));
    let mut nodes = demo_app();
    nodes.popups.push(Popup::Nodes(Nodes::default()));
    let mut form = demo_app();
    let mut sub_form = SubscriptionForm::new(None);
    sub_form.validate(&crate::domain::catalog::Catalog::default());
    form.popups.push(Popup::Subscription(Box::new(sub_form)));
    let mut send = demo_app();
    send.popups.push(Popup::Send(Box::new(SendForm::new(4))));
    let mut filtered = filtered_app();
    filtered.stream.follow = false;
    filtered.focus = Pane::Subscriptions;
    filtered.table.cursor = 2;
    let mut audit = demo_app();
    let entry = |ago: Millis, actor, action: &str, target: &str, summary: &str| crate::domain::model::AuditEntry {
        at: NOW - ago,
        actor,
        name: (actor == crate::domain::model::Actor::Admin).then(|| "alice".into()),
        action: action.into(),
        target: target.into(),
        summary: summary.into(),
        request_id: None,
    };
    use crate::domain::model::Actor;
    audit.audit = Some((
        vec![
            entry(
                20_000,
                Actor::Admin,
                "replay.start",
                "rpl_01KQBIL0000000000000000001",
                "billing (sub_01KQBIL0000000000000000003), status failed: 212 deliveries at 20/s",
            ),
            entry(
                95_000,
                Actor::Admin,
                "subscription.probe",
                "sub_01KQBIL0000000000000000003",
                "billing: 209 deliveries held",
            ),
            entry(
                400_000,
                Actor::Hookwatch,
                "subscription.disable",
                "sub_01KQBIL0000000000000000004",
                "legacy: the endpoint answered 410 Gone",
            ),
            entry(3_600_000, Actor::Local, "subscription.pause", "sub_01KQBIL0000000000000000002", "analytics"),
            entry(
                86_000_000,
                Actor::Config,
                "subscription.create",
                "sub_01KQBIL0000000000000000001",
                "crm-sync → http://127.0.0.1:9101/hooks",
            ),
        ],
        NOW,
    ));
    audit.popups.push(Popup::Audit(Audit::default()));
    let mut palette = demo_app();
    let mut line = super::palette::Palette::default();
    line.set_line("p");
    palette.palette = Some(line);
    palette.replays = vec![demo_replay()];
    palette.replays_read = Some((NOW, None));
    let mut replay = filtered_app();
    let mut draft =
        ReplayDraft::new(replay_filter(&replay.filter, &replay.subscriptions).unwrap_or_default(), &replay.filter_text);
    draft.rate = ratatui_textarea::TextArea::new(vec!["20".into()]);
    draft.preview = Some(Ok(crate::domain::model::ReplayPreview {
        total: 212,
        events: 212,
        rate_per_s: 10,
        subscriptions: vec![crate::domain::model::PreviewTarget {
            id: "sub_01KQBIL0000000000000000003".into(),
            name: "billing".into(),
            deliveries: 212,
        }],
    }));
    replay.popups.push(Popup::Replay(Box::new(draft)));
    let mut zoomed = demo_app();
    zoomed.focus = Pane::Subscriptions;
    zoomed.set_sort(super::columns::Column::Backlog, true);
    zoomed.zoomed = true;
    let mut copy_menu = demo_app();
    copy_menu.popups.push(Popup::Inspector(Box::new(demo_inspector())));
    copy_menu.popups.push(Popup::CopyMenu(CopyMenu { cursor: 1 }));
    let mut delete = demo_app();
    delete.focus = Pane::Subscriptions;
    delete.table.cursor = 1;
    delete.on_key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('D')));
    let mut long_title = demo_app();
    long_title.popups.push(Popup::Inspector(Box::new(long_title_inspector())));
    let mut endpoint = demo_app();
    let mut page = super::popups::endpoint::EndpointPage::new("sub_01KQBIL0000000000000000003".into(), NOW);
    page.history = Some((demo_history(), NOW));
    endpoint.popups.push(Popup::Endpoint(Box::new(page)));
    let mut read_only = demo_app();
    read_only.read_only = true;
    read_only.focus = Pane::Subscriptions;
    vec![
        ("main", main),
        ("read_only", read_only),
        ("inspector", inspector),
        ("inspector_deliveries", deliveries),
        ("help", help),
        ("alerts", alerts),
        ("audit", audit),
        ("nodes", nodes),
        ("subscription_form", form),
        ("send_event", send),
        ("filtered_frozen", filtered),
        ("palette", palette),
        ("replay_preview", replay),
        ("confirm_delete", delete),
        ("copy_menu", copy_menu),
        ("zoomed_sorted", zoomed),
        ("endpoint", endpoint),
        ("inspector_long_title", long_title),
    ]
}

/// The demo with the stream filtered to billing's failures.
fn filtered_app() -> App {
    let mut app = demo_app();
    app.filter_text = "status:failed sub:billing".into();
    app.filter = super::filter::Filter::parse(&app.filter_text).unwrap_or_default();
    app
}

/// A replay a third of the way through.
fn demo_replay() -> crate::domain::model::Replay {
    crate::domain::model::Replay {
        id: "rpl_01KQRPL0000000000000000001".into(),
        filter: crate::domain::model::ReplayFilter {
            subscription: Some("sub_01KQBIL0000000000000000003".into()),
            status: Some("failed".into()),
            ..Default::default()
        },
        rate_per_s: 20,
        state: crate::domain::model::ReplayState::Running,
        total: 212,
        sent: 71,
        delivered: 71,
        failed: 0,
        skipped: 0,
        held: None,
        created_at: NOW - 4_000,
        updated_at: NOW,
        cursor: None,
        node: "node-1".into(),
    }
}

pub fn render(app: &App, width: u16, height: u16, theme: &Theme) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test backend always opens");
    let _ = terminal.draw(|f| view::draw(f, app, theme));
    terminal.backend().buffer().clone()
}

/// The buffer as plain text, one line per row (what insta snapshots).
pub fn to_text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn hex(c: Color, default: &str) -> String {
    match c {
        Color::Reset => default.into(),
        Color::Black => "#1d1f21".into(),
        Color::Red => "#e05561".into(),
        Color::Green => "#8cc265".into(),
        Color::Yellow => "#d18f52".into(),
        Color::Blue => "#4aa5f0".into(),
        Color::Magenta => "#c162de".into(),
        Color::Cyan => "#42b3c2".into(),
        Color::Gray => "#c5c8c6".into(),
        Color::DarkGray => "#6b7280".into(),
        Color::White => "#ffffff".into(),
        Color::LightRed => "#ff7b86".into(),
        Color::LightGreen => "#a8e08a".into(),
        Color::LightYellow => "#ffd580".into(),
        Color::LightCyan => "#7fe3f0".into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => hex(xterm(i), default),
        _ => default.into(),
    }
}

/// What xterm's 256-colour index `i` stands for: the 16 named colours, the colour cube from 16,
/// the greys from 232.
fn xterm(i: u8) -> Color {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    match i {
        16..=231 => {
            let n = i - 16;
            Color::Rgb(LEVELS[usize::from(n / 36)], LEVELS[usize::from(n / 6 % 6)], LEVELS[usize::from(n % 6)])
        }
        232..=255 => {
            let v = 8 + 10 * (i - 232);
            Color::Rgb(v, v, v)
        }
        _ => {
            use Color::*;
            let basic = [Black, Red, Green, Yellow, Blue, Magenta, Cyan, Gray];
            let bright = [DarkGray, LightRed, LightGreen, LightYellow, LightBlue, LightMagenta, LightCyan, White];
            basic.into_iter().chain(bright).nth(usize::from(i)).unwrap_or(Reset)
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Writes the buffer as an SVG image: a dark terminal, one text run per cell style.
pub fn to_svg(buf: &Buffer) -> String {
    const CW: f32 = 8.4;
    const CH: f32 = 17.0;
    let (w, h) = (buf.area.width, buf.area.height);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14"><rect width="100%" height="100%" fill="#1d1f21"/>"##,
        w as f32 * CW + 16.0,
        h as f32 * CH + 16.0,
        w as f32 * CW + 16.0,
        h as f32 * CH + 16.0
    );
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let cell = &buf[(x, y)];
            let style = (cell.fg, cell.bg, cell.modifier);
            let start = x;
            let mut text = String::new();
            while x < w && (buf[(x, y)].fg, buf[(x, y)].bg, buf[(x, y)].modifier) == style {
                text.push_str(buf[(x, y)].symbol());
                x += 1;
            }
            let reversed = style.2.contains(Modifier::REVERSED);
            let (mut fg, mut bg) = (hex(style.0, "#c5c8c6"), hex(style.1, "none"));
            if reversed {
                (fg, bg) = (if bg == "none" { "#1d1f21".into() } else { bg }, fg);
            }
            let px = 8.0 + start as f32 * CW;
            let py = 8.0 + y as f32 * CH;
            if bg != "none" {
                let _ = write!(
                    svg,
                    r#"<rect x="{px:.1}" y="{py:.1}" width="{:.1}" height="{CH}" fill="{bg}"/>"#,
                    (x - start) as f32 * CW
                );
            }
            if text.trim().is_empty() {
                continue;
            }
            let weight = if style.2.contains(Modifier::BOLD) { r#" font-weight="bold""# } else { "" };
            let opacity = if style.2.contains(Modifier::DIM) { r#" opacity="0.6""# } else { "" };
            let _ = write!(
                svg,
                r#"<text x="{px:.1}" y="{:.1}" fill="{fg}"{weight}{opacity} xml:space="preserve" textLength="{:.1}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
                py + CH * 0.78,
                (x - start) as f32 * CW,
                escape(&text)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Writes every view at 80x24 and 200x50 into `dir`; returns the files written.
pub fn write_all(dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let theme = Theme::named(crate::config::ThemeName::Default);
    let mut written = Vec::new();
    for (name, app) in views() {
        for (w, h) in [(80, 24), (200, 50)] {
            let path = dir.join(format!("{name}-{w}x{h}.svg"));
            std::fs::write(&path, to_svg(&render(&app, w, h, &theme)))?;
            written.push(path);
        }
    }
    Ok(written)
}

fn node(id: &str, address: &str, up_ms: i64, heartbeat_age_ms: u64, in_flight: u64, backlog: u64) -> NodeInfo {
    NodeInfo {
        id: id.into(),
        address: address.into(),
        started_at: NOW - up_ms,
        heartbeat_at: NOW - i64::try_from(heartbeat_age_ms).unwrap_or(0),
        heartbeat_age_ms,
        // As a node on a 30 s lease sees them: silent after 6 s, taken over at 30 s.
        alive: heartbeat_age_ms <= 6_000,
        in_flight,
        backlog,
        takeover_in_ms: (heartbeat_age_ms > 6_000).then(|| 30_000u64.saturating_sub(heartbeat_age_ms)),
    }
}
