//! SQLite's reads, each run on a reader connection (`connection::Readers`): deliveries are read
//! through the `all_deliveries` view, which holds those still in their event's fan-out list too.

use super::search::SqliteEvents;
use crate::domain::error::{Error, Result};
use crate::domain::ids::EventId;
use crate::domain::model::{
    Alert, Attempt, AuditEntry, DeliveryDetail, DeliverySummary, EventDetail, EventSummary, Millis, Replay,
    Subscription,
};
use crate::domain::page::Window;
use crate::domain::query::EventQuery;
use crate::store::query;
use crate::store::rows::{self, ATTEMPT_COLUMNS, DELIVERY_COLUMNS, EVENT_TO_SEND_COLUMNS};
use crate::store::{
    Activity, ActivityCursor, AttemptCount, EventToSend, LONGEST_ATTEMPT_MS, PendingDelivery, first_event_id_at,
};
use rusqlite::{Connection, ToSql, params};

/// Binds `values` to a statement by the number each placeholder names: `?2` and shared SQL's
/// `$2` (`store::query`) both take `values[1]`. SQLite reads `$2` as a parameter's name and numbers
/// names in the order they first appear, so binding by position would go wrong wherever a higher
/// number comes first.
fn bind(stmt: &mut rusqlite::Statement<'_>, values: &[&dyn ToSql]) -> Result<()> {
    for index in 1..=stmt.parameter_count() {
        let number = stmt.parameter_name(index).and_then(|name| name[1..].parse::<usize>().ok()).unwrap_or(index);
        let value = values
            .get(number.wrapping_sub(1))
            .ok_or_else(|| Error::Storage(format!("no value for parameter {number} of a statement")))?;
        stmt.raw_bind_parameter(index, value)?;
    }
    Ok(())
}

/// Every row `sql` returns for `values`, read by `map`.
pub(super) fn select<T>(
    conn: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    map: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, values)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// The one row `sql` returns for `values`, read by `map`.
pub(super) fn select_one<T>(
    conn: &Connection,
    sql: &str,
    values: &[&dyn ToSql],
    map: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<T> {
    select(conn, sql, values, map)?.pop().ok_or_else(|| Error::Storage("a statement returned no row".into()))
}

/// Runs `sql` for `values`; how many rows it changed.
pub(super) fn run(conn: &Connection, sql: &str, values: &[&dyn ToSql]) -> Result<usize> {
    let mut stmt = conn.prepare_cached(sql)?;
    bind(&mut stmt, values)?;
    Ok(stmt.raw_execute()?)
}

/// A JSON body column, read as text.
fn body(r: &rusqlite::Row<'_>) -> Result<String> {
    Ok(r.get(0)?)
}

pub(super) fn subscriptions_version(conn: &Connection) -> Result<i64> {
    select_one(conn, query::SUBSCRIPTIONS_VERSION, params![], |r| Ok(r.get(0)?))
}

pub(super) fn subscriptions(conn: &Connection) -> Result<Vec<Subscription>> {
    let bodies = select(conn, query::SUBSCRIPTIONS, params![], body)?;
    bodies.iter().map(|b| rows::stored(b, "subscription")).collect()
}

pub(super) fn pending_deliveries(conn: &Connection) -> Result<Vec<PendingDelivery>> {
    select(conn, &query::pending("all_deliveries"), params![], |r| rows::pending_delivery(r))
}

/// `ids`: the event ids as a JSON array.
pub(super) fn event_bodies(conn: &Connection, ids: &str) -> Result<Vec<EventToSend>> {
    let sql = format!("SELECT {EVENT_TO_SEND_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?1))");
    select(conn, &sql, params![ids], |r| rows::event_to_send(r))
}

pub(super) fn list_events(conn: &Connection, q: &EventQuery) -> Result<Vec<EventSummary>> {
    let list = query::event_list(q, &SqliteEvents);
    let args: Vec<&dyn ToSql> = list.args.iter().map(|a| a as &dyn ToSql).collect();
    let mut events = select(conn, &list.sql, &args, |r| rows::event_summary(r))?;
    for e in &mut events {
        e.deliveries = deliveries_of(conn, &e.id)?;
    }
    Ok(events)
}

pub(super) fn activity_since(conn: &Connection, since: Millis, limit: u32) -> Result<Activity> {
    let fetch = i64::from(limit) + 1;
    let mut events = select(conn, &query::events_since(), params![first_event_id_at(since - 1), since, fetch], |r| {
        rows::event_summary(r)
    })?;
    for e in &mut events {
        e.deliveries = deliveries_of(conn, &e.id)?;
    }
    let mut attempts =
        select(conn, &query::attempts_since(), params![since - LONGEST_ATTEMPT_MS, since, fetch], |r| {
            rows::attempt_notice(r)
        })?;
    let mut alerts: Vec<Alert> = select(conn, query::ALERTS_SINCE, params![since, fetch], body)?
        .iter()
        .filter_map(|b| serde_json::from_str(b).ok())
        .collect();
    let more = [events.len(), attempts.len(), alerts.len()].into_iter().any(|n| n > limit as usize);
    events.truncate(limit as usize);
    attempts.truncate(limit as usize);
    alerts.truncate(limit as usize);
    Ok(Activity { events, attempts, alerts, cursor: ActivityCursor::default(), more })
}

pub(super) fn event_detail(conn: &Connection, id: &EventId) -> Result<Option<EventDetail>> {
    let found = select(conn, &query::event_detail(), params![id], |r| rows::event_detail(r))?;
    let Some(mut detail) = found.into_iter().next() else { return Ok(None) };
    for summary in deliveries_of(conn, id)? {
        let attempts = attempts_of(conn, &summary.id)?;
        detail.deliveries.push(DeliveryDetail { summary, attempts });
    }
    Ok(Some(detail))
}

pub(super) fn count_events(conn: &Connection) -> Result<u64> {
    let count: i64 = select_one(conn, query::COUNT_EVENTS, params![], |r| Ok(r.get(0)?))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

fn deliveries_of(conn: &Connection, event_id: &str) -> Result<Vec<DeliverySummary>> {
    select(
        conn,
        &format!("SELECT {DELIVERY_COLUMNS} FROM all_deliveries WHERE event_id = ?1 ORDER BY subscription_id"),
        params![event_id],
        |r| rows::delivery_summary(r),
    )
}

fn attempts_of(conn: &Connection, delivery_id: &str) -> Result<Vec<Attempt>> {
    select(
        conn,
        &format!("SELECT {ATTEMPT_COLUMNS} FROM attempts a WHERE a.delivery_id = ?1 ORDER BY a.id"),
        params![delivery_id],
        |r| rows::attempt(r),
    )
}

pub(super) fn recent_alerts(conn: &Connection, limit: u32) -> Result<Vec<Alert>> {
    let bodies = select(conn, query::RECENT_ALERTS, params![limit], body)?;
    Ok(bodies.iter().rev().filter_map(|b| serde_json::from_str(b).ok()).collect())
}

pub(super) fn replays(conn: &Connection) -> Result<Vec<Replay>> {
    select(conn, query::REPLAYS, params![], body)?.iter().map(|b| rows::stored(b, "replay")).collect()
}

pub(super) fn replays_window(conn: &Connection, window: &Window<String>) -> Result<Vec<Replay>> {
    let sql = query::newest_first_window("body", "replays", "TEXT", window.backward);
    select(conn, &sql, params![window.from, window.take], body)?.iter().map(|b| rows::stored(b, "replay")).collect()
}

pub(super) fn audit_window(conn: &Connection, window: &Window<i64>) -> Result<Vec<(i64, AuditEntry)>> {
    let sql = query::newest_first_window("id, body", "audit", "BIGINT", window.backward);
    let found =
        select(conn, &sql, params![window.from, window.take], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    Ok(found.into_iter().filter_map(|(id, b)| Some((id, serde_json::from_str(&b).ok()?))).collect())
}

pub(super) fn attempt_counts(conn: &Connection, since: Millis, by_second_from: Millis) -> Result<Vec<AttemptCount>> {
    select(conn, rows::ATTEMPT_COUNTS, params![since, by_second_from], |r| rows::attempt_count(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A placeholder is bound to the value of its number, in shared SQL (`$n`) as in SQLite's own
    /// (`?n`), whatever order the numbers first appear in.
    #[test]
    fn placeholders_are_bound_by_their_number() {
        let conn = Connection::open_in_memory().unwrap();
        for sql in ["SELECT $2 - $1, $1", "SELECT ?2 - ?1, ?1"] {
            let row = select_one(&conn, sql, params![1, 10], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)));
            assert_eq!(row.unwrap(), (9, 1), "{sql}");
        }
        let Err(e) = select(&conn, "SELECT $3", params![1], |r| Ok(r.get::<_, i64>(0)?)) else {
            panic!("a placeholder without a value must fail")
        };
        assert!(e.to_string().contains("no value for parameter 3"), "{e}");
    }
}
