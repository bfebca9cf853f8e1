//! An example of every body the API takes or answers, by schema name, put on each request and
//! response that carries that schema. The tests validate every one against its schema and every
//! real answer of a scripted session against the document, so neither can drift from the code.

use serde_json::{Value, json};

const SUB: &str = "sub_01M8TQ4KCC1K1X2Z3HAVDK5Q43";
const EVT: &str = "evt_01M8TQ4KT8MYNWP4CXCXDK780E";
const DLV: &str = "dlv_01M8TQ4KT8MYNWP4CXCXDK780F";
const RPL: &str = "rpl_01M8TQ4NCEZRMSR3B8T1GQFYVT";

fn subscription() -> Value {
    json!({"id": SUB, "name": "crm", "url": "https://crm.example.com/hooks", "actions": ["card.move", "card.create"],
        "headers": {"Authorization": "Bearer consumer-token"}, "filters": {"pipe_id": ["301234"]},
        "secret": "whse…(masked)", "state": "active", "max_in_flight": 16,
        "ordered": false, "timeout_ms": 15000, "created_at": "2026-12-02T06:30:13.132Z",
        "updated_at": "2026-12-02T06:30:13.132Z"})
}

fn subscription_input() -> Value {
    json!({"name": "crm", "url": "https://crm.example.com/hooks", "actions": ["card.move", "card.create"],
        "headers": {"Authorization": "Bearer consumer-token"},
        "filters": {"pipe_id": [301234], "to_phase_id": [311214434]}, "max_in_flight": 16, "timeout_ms": 15000})
}

fn delivery() -> Value {
    json!({"id": DLV, "subscription_id": SUB, "status": "retrying", "attempt_count": 1, "last_status_code": 503,
        "last_error": "HTTP 503 Service Unavailable", "next_attempt_at": "2026-12-02T06:30:17.971Z"})
}

fn event_summary() -> Value {
    json!({"id": EVT, "action": "card.move", "received_at": "2026-12-02T06:30:13.576Z", "card_id": "4837291",
        "card_title": "Prospect: Acme Corp renewal", "pipe_id": "301234", "deliveries": [delivery()]})
}

fn replay() -> Value {
    json!({"id": RPL, "filter": {"subscription": SUB, "status": "failed", "since": "2026-12-02T06:00:00.000Z"},
        "rate_per_s": 50, "state": "held", "total": 120, "sent": 41, "delivered": 40, "failed": 1, "skipped": 0,
        "held": {"reason": "breaker open", "subscription_id": SUB, "subscription_name": "crm",
            "next_probe_at": "2026-12-02T06:31:16.002Z"},
        "created_at": "2026-12-02T06:30:15.182Z", "updated_at": "2026-12-02T06:30:16.002Z", "node": "vm-4c46f3"})
}

fn payload() -> Value {
    json!({"data": {"action": "card.move", "from": {"id": 311214433, "name": "Inbox"},
        "to": {"id": 311214434, "name": "Qualification"}, "card": {"id": 4837291,
        "title": "Prospect: Acme Corp renewal", "pipe_id": 301234}}})
}

/// A page of a list: `data`, the cursors both ways, and whether more lies onwards.
fn page(data: Value) -> Value {
    json!({"data": [data], "iterator": "c3Vic2NyaXB0aW9uczpuZXh0OnN1Yl8wMU04VFE0S0NDMUsxWDJaM0hBVkRLNVE0Mw",
        "prev_iterator": "c3Vic2NyaXB0aW9uczpwcmV2OnN1Yl8wMU04VFE0S0NDMUsxWDJaM0hBVkRLNVE0Mw", "done": true})
}

/// (schema name, example).
pub fn all() -> Vec<(&'static str, Value)> {
    let mut created = subscription();
    created["replaced"] = json!(["sub_01M8TPZ0RV3N2K7Q4W9X5Y6Z1A"]);
    let mut event = event_summary();
    event["body"] = json!(payload().to_string());
    event["payload"] = payload();
    let mut delivery_detail = delivery();
    delivery_detail["attempts"] = json!([{"id": 1, "delivery_id": DLV, "started_at": "2026-12-02T06:30:13.578Z",
        "duration_ms": 4, "status_code": 503, "error_kind": "status", "error": "HTTP 503 Service Unavailable",
        "response_body": "upstream busy", "response_truncated": false, "next_retry_at": "2026-12-02T06:30:17.971Z",
        "request_headers": {"Authorization": "Bear…(masked)", "content-type": "application/json",
            "webhook-id": EVT, "webhook-timestamp": "1796193013",
            "webhook-signature": "v1,GanHdkg5LLBnIcA5QuUbHVEJoYa3uFpxul3bv+tkqQU="}}]);
    event["deliveries"] = json!([delivery_detail]);
    vec![
        (
            "ErrorBody",
            json!({"error": {"code": "invalid_url", "message": "\"url\" \"ftp://x\" must use http or https"}}),
        ),
        ("NewSubscription", subscription_input()),
        ("SubscriptionChanges", json!({"timeout_ms": 5000, "state": "paused"})),
        ("Subscription", subscription()),
        ("Created", created),
        ("ListResponse_Subscription", page(subscription())),
        (
            "SigningKeys",
            json!({"key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "previous": [{"secret": "whsec_t5mBUsGMbqNbNLbdnxeT9AfEBh9kJo4+DdRZBiCK6Vw=", "until": "2026-12-03T06:30:13.132Z"}]}),
        ),
        ("RotateBody", json!({"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})),
        ("RecoverBody", json!({"since": "2026-01-31T00:00:00Z"})),
        ("Redelivering", json!({"redelivering": 2})),
        ("RedeliverBody", json!({"subscription": SUB, "failed_only": true})),
        ("Probing", json!({"probing": true, "held": 41})),
        ("Ingested", json!({"id": EVT, "action": "card.move", "deliveries": 1})),
        ("ListResponse_EventSummary", page(event_summary())),
        ("EventWithPayload", event),
        (
            "ReplayBody",
            json!({"filter": {"subscription": SUB, "status": "failed", "since": "2026-12-02T06:00:00Z"},
            "rate_per_s": 50}),
        ),
        ("Replay", replay()),
        ("ListResponse_Replay", page(replay())),
        (
            "ReplayPreview",
            json!({"total": 120, "events": 120, "rate_per_s": 50,
            "subscriptions": [{"id": SUB, "name": "crm", "deliveries": 120}]}),
        ),
        (
            "StatsReport",
            json!({"generated_at": "2026-12-02T06:30:15.116Z", "uptime_s": 3600, "ingest_per_second": 41.5,
            "events_ingested": 149_400, "backlog": 3, "subscriptions": [{"id": SUB, "name": "crm",
                "url": "https://crm.example.com/hooks", "actions": ["card.move"], "state": "active",
                "success_rate": {"1m": 0.98, "5m": 0.99, "1h": 0.995, "24h": null},
                "attempts": {"1m": 2490, "5m": 12400, "1h": 149_000, "24h": 149_000},
                "latency_ms": {"p50_ms": 12, "p95_ms": 48, "p99_ms": 95, "max_ms": 410}, "backlog": 3, "in_flight": 2,
                "breaker": "closed", "last_error": "HTTP 503 Service Unavailable",
                "last_error_at": "2026-12-02T06:29:58.000Z", "last_success_at": "2026-12-02T06:30:15.001Z",
                "total_attempts": 149_000, "total_successes": 148_255, "history": [null, 1.0, 0.98]}],
            "nodes": [{"id": "vm-4c46f3", "address": "127.0.0.1:8430", "started_at": "2026-12-02T05:30:10.076Z",
                "heartbeat_at": "2026-12-02T06:30:15.116Z", "heartbeat_age_ms": 0, "alive": true, "in_flight": 2,
                "backlog": 3}]}),
        ),
        (
            "EndpointHistory",
            json!({"span": "1h", "slot_s": 60, "points": [
                {"at": "2026-12-02T06:29:00.000Z", "attempts": 2490, "successes": 2440, "p50_ms": 12, "p95_ms": 48, "p99_ms": 95},
                {"at": "2026-12-02T06:30:00.000Z", "attempts": 12, "successes": 12}],
            "responses": [{"status_code": 200, "count": 2452, "last_seen_at": "2026-12-02T06:30:15.001Z"},
                {"status_code": 503, "error_kind": "status", "count": 50, "last_seen_at": "2026-12-02T06:29:58.000Z"}],
            "failures": [{"at": "2026-12-02T06:29:58.000Z", "event_id": EVT, "attempt": 1, "status_code": 503,
                "error": "HTTP 503 Service Unavailable"}],
            "breaker": []}),
        ),
        (
            "ListResponse_Alert",
            page(json!({"kind": "breaker_open", "subscription_id": SUB, "subscription_name": "crm",
            "message": "crm: 5 failures in a row; deliveries wait 30s", "at": "2026-12-02T06:29:58.000Z"})),
        ),
        (
            "ListResponse_AuditEntry",
            page(json!({"at": "2026-12-02T06:30:13.133Z", "actor": "admin",
            "action": "subscription.create", "target": SUB, "summary": "crm → https://crm.example.com/hooks"})),
        ),
        ("Access", json!({"actor": "viewer", "can_change": false})),
        ("Health", json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"), "uptime_s": 3600})),
        (
            "Catalog",
            json!({"data": [{"action": "card.move", "description": "a card moved between phases",
            "sample": payload(), "operational": false, "aliases": []}], "builtin": 1}),
        ),
    ]
}
