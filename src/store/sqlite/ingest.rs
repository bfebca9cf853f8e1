//! SQLite's live path, run in the writer's transactions: an ingested event (its deliveries in its
//! fan-out list, fenced by the subscriptions version and the idempotency window) and an attempt
//! with the state it moves its delivery to.

use super::fanout::close_if_finished;
use super::reads::subscriptions_version;
use crate::domain::error::{Error, Result};
use crate::domain::ids::EventId;
use crate::domain::model::{ErrorKind, Millis};
use crate::store::{AttemptRecord, IngestOutcome, NewEvent};
use rusqlite::{Connection, OptionalExtension, params};

pub(super) fn ingest(conn: &Connection, event: &NewEvent, idempotency_since: Millis) -> Result<IngestOutcome> {
    if subscriptions_version(conn)? != event.subscriptions_version {
        return Ok(IngestOutcome::StaleSubscriptions);
    }
    if let Some(key) = &event.idempotency_key {
        let seen: Option<(EventId, String, bool)> = conn
            .prepare_cached(
                "SELECT id, action, body = ?3 FROM events
                 WHERE idempotency_key = ?1 AND received_at >= ?2 LIMIT 1",
            )?
            .query_row(params![key, idempotency_since, &event.body[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((id, action, same_body)) = seen {
            // A separate query: the view is only narrowed to one event by a bound value.
            let deliveries = conn
                .prepare_cached("SELECT COUNT(*) FROM all_deliveries WHERE event_id = ?1")?
                .query_row([&id], |r| r.get(0))?;
            return Ok(IngestOutcome::Duplicate { id, action, deliveries, same_body });
        }
    }
    let fanout = (!event.deliveries.is_empty())
        .then(|| serde_json::to_string(&event.deliveries))
        .transpose()
        .map_err(|e| Error::Storage(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO events (id, action, received_at, body, idempotency_key, card_id, pipe_id, fanout, open,
                             card_title, traceparent, tracestate)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        event.id,
        event.action,
        event.received_at,
        &event.body[..],
        event.idempotency_key,
        event.card_id,
        event.pipe_id,
        fanout,
        fanout.is_some(),
        event.card_title,
        event.trace.as_ref().map(|t| t.parent.to_string()),
        event.trace.as_ref().and_then(|t| t.state.as_deref())
    ])?;
    Ok(IngestOutcome::Created)
}

/// An attempt and its delivery's next state, in the writer's transaction.
pub(super) fn record(conn: &Connection, rec: &AttemptRecord) -> Result<()> {
    let headers = serde_json::to_string(&rec.request_headers).unwrap_or_else(|_| "{}".into());
    // The first change of a delivery gives it its row; a cancelled one stays cancelled.
    conn.prepare_cached(
        "INSERT INTO deliveries (id, event_id, subscription_id, status, attempts, next_attempt_at,
                                 last_status_code, last_error, updated_at)
         VALUES (?1, ?8, ?9, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET status = ?2, attempts = ?3, next_attempt_at = ?4,
                last_status_code = ?5, last_error = ?6, updated_at = ?7
         WHERE status != 'cancelled'",
    )?
    .execute(params![
        rec.delivery_id,
        rec.new_status.as_str(),
        rec.attempts_in_series,
        rec.next_retry_at,
        rec.status_code,
        rec.error,
        rec.started_at + rec.duration(),
        rec.event_id,
        rec.subscription_id
    ])?;
    conn.prepare_cached(
        "INSERT INTO attempts (delivery_id, subscription_id, started_at, duration_ms, status_code, error_kind,
                               error, response_body, response_truncated, next_retry_at, request_headers, replay_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        rec.delivery_id,
        rec.subscription_id,
        rec.started_at,
        rec.duration(),
        rec.status_code,
        rec.error_kind.map(ErrorKind::as_str),
        rec.error,
        rec.response_body,
        rec.response_truncated,
        rec.next_retry_at,
        headers,
        rec.replay_id
    ])?;
    if rec.new_status.is_final() {
        close_if_finished(conn, &rec.event_id)?;
    }
    Ok(())
}
