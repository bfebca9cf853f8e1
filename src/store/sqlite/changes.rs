//! SQLite's other writes, run in the writer's transactions: subscription changes (each counted in
//! the subscriptions version), redeliveries, replays, alerts and the audit entries that go with
//! operators' changes.

use super::fanout::has_unfinished;
use super::reads::{run, select, select_one};
use crate::domain::error::{Error, Result};
use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{AuditEntry, Millis};
use crate::store::query::{self, Target};
use crate::store::{KeyClaim, KeyHolder, PendingDelivery, StoredAnswer, rows};
use rusqlite::{Connection, params};

/// Keeps an audit entry, in the caller's transaction.
pub(super) fn insert_audit(conn: &Connection, audit: &AuditEntry) -> Result<()> {
    let body = serde_json::to_string(audit).map_err(|e| Error::Storage(e.to_string()))?;
    conn.prepare_cached("INSERT INTO audit (at, body) VALUES (?1, ?2)")?.execute(params![audit.at, body])?;
    Ok(())
}

/// A subscription change's last step, in its transaction.
fn bump_subscriptions_version(conn: &Connection) -> Result<i64> {
    select_one(conn, query::BUMP_SUBSCRIPTIONS_VERSION, params![], |r| Ok(r.get(0)?))
}

/// `body`: the subscription as JSON.
pub(super) fn save_subscription(conn: &Connection, id: &str, body: &str, audit: &AuditEntry) -> Result<i64> {
    insert_audit(conn, audit)?;
    run(conn, query::SAVE_SUBSCRIPTION, params![id, body])?;
    bump_subscriptions_version(conn)
}

/// Its unfinished deliveries, rowed or still in a fan-out list, become `cancelled`.
pub(super) fn delete_subscription(conn: &Connection, id: &str, audit: &AuditEntry) -> Result<i64> {
    insert_audit(conn, audit)?;
    run(conn, query::DELETE_SUBSCRIPTION, params![id])?;
    run(conn, query::CANCEL_DELIVERIES, params![id])?;
    conn.execute(
        "INSERT INTO deliveries (id, event_id, subscription_id, status, attempts, updated_at)
         SELECT f.value ->> 0, e.id, ?1, 'cancelled', 0, ?2 FROM events e, json_each(e.fanout) f
         WHERE e.open = 1 AND f.value ->> 1 = ?1
           AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = f.value ->> 0)",
        params![id, crate::domain::model::now_ms()],
    )?;
    conn.execute(&format!("UPDATE events SET open = 0 WHERE open = 1 AND NOT {}", has_unfinished("events")), [])?;
    bump_subscriptions_version(conn)
}

/// A redelivery's target row: (delivery id, event id, subscription id).
fn target(r: &rusqlite::Row<'_>) -> Result<Target> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

pub(super) fn requeue_event(
    conn: &Connection,
    event_id: &EventId,
    sub: Option<&SubscriptionId>,
    failed_only: bool,
    now: Millis,
    audit: Option<&AuditEntry>,
) -> Result<Vec<PendingDelivery>> {
    let exists: bool = select_one(conn, query::EVENT_EXISTS, params![event_id], |r| Ok(r.get(0)?))?;
    if !exists {
        return Err(Error::NotFound(format!("no event {event_id}; list events with GET /v1/events")));
    }
    let found = select(conn, &query::redeliverable("all_deliveries"), params![event_id, sub, failed_only], target)?;
    let deliveries = query::with_missing_delivery(found, event_id, sub, failed_only);
    if let Some(audit) = audit {
        insert_audit(conn, audit)?;
    }
    requeue(conn, deliveries, now)
}

pub(super) fn requeue_failed(
    conn: &Connection,
    sub: &SubscriptionId,
    since: Millis,
    now: Millis,
    audit: &AuditEntry,
) -> Result<Vec<PendingDelivery>> {
    insert_audit(conn, audit)?;
    let deliveries = select(conn, query::RECOVERABLE, params![sub, since], target)?;
    requeue(conn, deliveries, now)
}

/// Puts the selected deliveries, each `(id, event_id, subscription_id)`, back to `pending` at
/// `now` with a fresh attempt series (giving them their row if they had none), and reopens
/// their events.
fn requeue(conn: &Connection, deliveries: Vec<Target>, now: Millis) -> Result<Vec<PendingDelivery>> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO deliveries (id, event_id, subscription_id, status, attempts, next_attempt_at, updated_at)
         VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4)
         ON CONFLICT (id) DO UPDATE SET status = 'pending', attempts = 0, next_attempt_at = ?4, updated_at = ?4",
    )?;
    let mut reopen = conn.prepare_cached("UPDATE events SET open = 1 WHERE id = ?1 AND open = 0")?;
    let mut out = Vec::with_capacity(deliveries.len());
    for (id, event_id, subscription_id) in deliveries {
        upsert.execute(params![id, event_id, subscription_id, now])?;
        reopen.execute([&event_id])?;
        out.push(PendingDelivery { id, event_id, subscription_id, attempts: 0, next_attempt_at: now });
    }
    Ok(out)
}

/// Room under `max_db_bytes` below which the store is not ready: a larger event would not fit.
/// Page counts alone cannot say "full": an ingest refused for lack of room is rolled back, leaving
/// the database as many pages short of its limit as that event needed.
const READY_ROOM_BYTES: i64 = 64 * 1024;

/// Commits nothing new, through the writer like every write; fails when the database has less
/// room left than `READY_ROOM_BYTES`, which a write that changes nothing would not find.
pub(super) fn probe_write(conn: &Connection) -> Result<()> {
    let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
    let free_pages = pragma("max_page_count")? - pragma("page_count")? + pragma("freelist_count")?;
    if free_pages.saturating_mul(pragma("page_size")?) < READY_ROOM_BYTES {
        return Err(Error::Storage("the database is at max_db_bytes: it cannot grow".into()));
    }
    conn.prepare_cached("UPDATE subscription_version SET version = version")?.execute([])?;
    Ok(())
}

/// `body`: the alert as JSON.
pub(super) fn save_alert(conn: &Connection, at: Millis, body: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO alerts (at, body) VALUES (?1, ?2)")?.execute(params![at, body])?;
    Ok(())
}

/// `body`: the replay as JSON.
pub(super) fn save_replay(conn: &Connection, id: &str, body: &str, audit: Option<&AuditEntry>) -> Result<()> {
    run(conn, query::SAVE_REPLAY, params![id, body])?;
    if let Some(audit) = audit {
        insert_audit(conn, audit)?;
    }
    Ok(())
}

/// Claims an idempotency key, or says who holds it: in one write, so no other claim comes between.
pub(super) fn claim_key(conn: &Connection, c: &KeyClaim) -> Result<KeyHolder> {
    let values = params![c.scope, c.key, c.fingerprint, c.now, c.claimed_until, c.remembered_since];
    if !select(conn, query::CLAIM_KEY, values, |_| Ok(()))?.is_empty() {
        return Ok(KeyHolder::Claimed);
    }
    select_one(conn, query::KEY_HOLDER, params![c.scope, c.key], |r| rows::key_holder(r))
}

pub(super) fn keep_answer(
    conn: &Connection,
    scope: &str,
    key: &str,
    fingerprint: &str,
    answer: &StoredAnswer,
) -> Result<()> {
    let headers = serde_json::to_string(&answer.headers).map_err(|e| Error::Storage(e.to_string()))?;
    run(conn, query::KEEP_ANSWER, params![scope, key, fingerprint, answer.status, headers, answer.body])?;
    Ok(())
}
