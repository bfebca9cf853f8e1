//! SQLite's reads, each run on a reader connection (`connection::Readers`): deliveries are read
//! through the `all_deliveries` view, which holds those still in their event's fan-out list too.

use super::fanout::has_unrowed_pending;
use super::search::PAYLOAD_SEARCH;
use crate::domain::error::{Error, Result};
use crate::domain::model::{
    Alert, Attempt, AuditEntry, DeliveryDetail, DeliverySummary, EventDetail, EventSummary, Millis, Replay,
    Subscription,
};
use crate::domain::query::EventQuery;
use crate::store::query;
use crate::store::rows::{
    self, ATTEMPT_COLUMNS, ATTEMPT_NOTICE_COLUMNS, DELIVERY_COLUMNS, EVENT_COLUMNS, EVENT_DETAIL_COLUMNS,
    PENDING_COLUMNS,
};
use crate::store::{Activity, ActivityCursor, AttemptCount, LONGEST_ATTEMPT_MS, PendingDelivery, first_event_id_at};
use bytes::Bytes;
use rusqlite::{Connection, params, params_from_iter};

/// Shared SQL (`store::query`, written with `$n`) as SQLite numbers its placeholders (`?n`).
pub(super) fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Every row `sql` returns for `params`, read by `map`.
pub(super) fn select<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

pub(super) fn subscriptions_version(conn: &Connection) -> Result<i64> {
    Ok(conn.prepare_cached("SELECT version FROM subscription_version")?.query_row([], |r| r.get(0))?)
}

pub(super) fn subscriptions(conn: &Connection) -> Result<Vec<Subscription>> {
    let mut stmt = conn.prepare("SELECT body FROM subscriptions ORDER BY id")?;
    let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    bodies
        .iter()
        .map(|b| {
            serde_json::from_str(b).map_err(|e| Error::Storage(format!("a stored subscription is unreadable: {e}")))
        })
        .collect()
}

pub(super) fn pending_deliveries(conn: &Connection) -> Result<Vec<PendingDelivery>> {
    let sql = format!(
        "SELECT {PENDING_COLUMNS} FROM all_deliveries WHERE status IN ('pending', 'retrying') ORDER BY event_id, id"
    );
    select(conn, &sql, [], |r| rows::pending_delivery(r))
}

/// `ids`: the event ids as a JSON array.
pub(super) fn event_bodies(conn: &Connection, ids: &str) -> Result<Vec<(String, Bytes)>> {
    let sql = "SELECT id, body FROM events WHERE id IN (SELECT value FROM json_each(?1))";
    select(conn, sql, [ids], |r| Ok((r.get(0)?, Bytes::from(r.get::<_, Vec<u8>>(1)?))))
}

pub(super) fn list_events(conn: &Connection, q: &EventQuery) -> Result<Vec<EventSummary>> {
    let list = query::event_list(q, "deliveries", Some(has_unrowed_pending), &PAYLOAD_SEARCH);
    let mut events = select(conn, &numbered(&list.sql), params_from_iter(&list.args), |r| rows::event_summary(r))?;
    for e in &mut events {
        e.deliveries = deliveries_of(conn, &e.id)?;
    }
    Ok(events)
}

pub(super) fn activity_since(conn: &Connection, since: Millis, limit: u32) -> Result<Activity> {
    let fetch = i64::from(limit) + 1;
    // The id index finds them (ids begin with their time; received_at may trail by a ms).
    let mut events = select(
        conn,
        &format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id >= ?1 AND e.received_at > ?2 ORDER BY e.id LIMIT ?3"),
        params![first_event_id_at(since - 1), since, fetch],
        |r| rows::event_summary(r),
    )?;
    for e in &mut events {
        e.deliveries = deliveries_of(conn, &e.id)?;
    }
    let mut attempts = select(
        conn,
        &format!(
            "SELECT {ATTEMPT_NOTICE_COLUMNS} FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
             WHERE a.started_at > ?1 AND a.started_at + a.duration_ms > ?2
             ORDER BY a.started_at + a.duration_ms, a.id LIMIT ?3"
        ),
        params![since - LONGEST_ATTEMPT_MS, since, fetch],
        |r| rows::attempt_notice(r),
    )?;
    let mut alerts = conn
        .prepare_cached("SELECT body FROM alerts WHERE at > ?1 ORDER BY at, id LIMIT ?2")?
        .query_map(params![since, fetch], |r| r.get::<_, String>(0))?
        .filter_map(|body| serde_json::from_str(&body.ok()?).ok())
        .collect::<Vec<Alert>>();
    let fetched = fetch as usize;
    let more = events.len() == fetched || attempts.len() == fetched || alerts.len() == fetched;
    events.truncate(limit as usize);
    attempts.truncate(limit as usize);
    alerts.truncate(limit as usize);
    Ok(Activity { events, attempts, alerts, cursor: ActivityCursor::default(), more })
}

pub(super) fn event_detail(conn: &Connection, id: &str) -> Result<Option<EventDetail>> {
    let found = select(conn, &format!("SELECT {EVENT_DETAIL_COLUMNS} FROM events e WHERE e.id = ?1"), [id], |r| {
        rows::event_detail(r)
    })?;
    let Some(mut detail) = found.into_iter().next() else { return Ok(None) };
    for summary in deliveries_of(conn, id)? {
        let attempts = attempts_of(conn, &summary.id)?;
        detail.deliveries.push(DeliveryDetail { summary, attempts });
    }
    Ok(Some(detail))
}

pub(super) fn count_events(conn: &Connection) -> Result<u64> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    Ok(count as u64)
}

fn deliveries_of(conn: &Connection, event_id: &str) -> Result<Vec<DeliverySummary>> {
    select(
        conn,
        &format!("SELECT {DELIVERY_COLUMNS} FROM all_deliveries WHERE event_id = ?1 ORDER BY subscription_id"),
        [event_id],
        |r| rows::delivery_summary(r),
    )
}

fn attempts_of(conn: &Connection, delivery_id: &str) -> Result<Vec<Attempt>> {
    select(
        conn,
        &format!("SELECT {ATTEMPT_COLUMNS} FROM attempts a WHERE a.delivery_id = ?1 ORDER BY a.id"),
        [delivery_id],
        |r| rows::attempt(r),
    )
}

pub(super) fn recent_alerts(conn: &Connection, limit: u32) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare("SELECT body FROM alerts ORDER BY id DESC LIMIT ?1")?;
    let bodies = stmt.query_map([limit], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(bodies.iter().rev().filter_map(|b| serde_json::from_str(b).ok()).collect())
}

pub(super) fn replays(conn: &Connection) -> Result<Vec<Replay>> {
    let bodies = select(conn, "SELECT body FROM replays ORDER BY id DESC", [], |r| Ok(r.get::<_, String>(0)?))?;
    bodies
        .iter()
        .map(|b| serde_json::from_str(b).map_err(|e| Error::Storage(format!("a stored replay is unreadable: {e}"))))
        .collect()
}

pub(super) fn audit_log(conn: &Connection, limit: u32) -> Result<Vec<AuditEntry>> {
    let bodies =
        select(conn, "SELECT body FROM audit ORDER BY id DESC LIMIT ?1", [limit], |r| Ok(r.get::<_, String>(0)?))?;
    Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
}

pub(super) fn attempt_counts(conn: &Connection, since: Millis, by_second_from: Millis) -> Result<Vec<AttemptCount>> {
    select(conn, &numbered(rows::ATTEMPT_COUNTS), [since, by_second_from], |r| rows::attempt_count(r))
}
