//! What the other nodes of a cluster did, read by position (events by `seq`, attempts and alerts
//! by id) up to rows settled a while ago, so that a row still committing is never passed over.

use super::DB_NOW;
use super::reads::with_deliveries;
use crate::domain::error::Result;
use crate::store::rows::{self, ATTEMPT_NOTICE_COLUMNS, EVENT_COLUMNS};
use crate::store::{Activity, ActivityCursor};
use deadpool_postgres::{GenericClient, Pool};
use std::time::Duration;

/// Most rows of each kind one activity read returns (the caller reads again when `more`).
const ACTIVITY_EVENTS: usize = 5000;
const ACTIVITY_ATTEMPTS: usize = 20_000;
const ACTIVITY_ALERTS: usize = 1000;

/// The other nodes' events, attempts and alerts after `cursor`, recorded at least `settled_for` ago.
pub(super) async fn read(
    pool: &Pool,
    node_id: &str,
    cursor: ActivityCursor,
    settled_for: Duration,
) -> Result<Activity> {
    let client = pool.get().await?;
    let settled_ms = crate::domain::model::millis(settled_for);
    // Only rows settled a while ago: a row with a lower position may still be committing, and
    // a cursor that passed it would never see it.
    let settled = settled_position(&client, "events", "seq", cursor.event_seq, settled_ms).await?;
    let events = client
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS}, e.seq FROM events e
                 WHERE e.seq > $1 AND e.seq <= $2 AND e.node_id <> $3
                 ORDER BY e.seq LIMIT {ACTIVITY_EVENTS}"
            ),
            &[&cursor.event_seq, &settled, &node_id],
        )
        .await?;
    let mut more = events.len() == ACTIVITY_EVENTS;
    let event_seq = next_position(&events, rows::EVENT_COLUMNS_LEN, ACTIVITY_EVENTS, settled)?;
    let events = events.iter().map(rows::event_summary).collect::<Result<Vec<_>>>()?;
    let events = with_deliveries(&client, events).await?;
    let settled = settled_position(&client, "attempts", "id", cursor.attempt_id, settled_ms).await?;
    let attempts = client
        .query(
            &format!(
                "SELECT {ATTEMPT_NOTICE_COLUMNS}, a.id
                 FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                 WHERE a.id > $1 AND a.id <= $2 AND a.node_id <> $3
                 ORDER BY a.id LIMIT {ACTIVITY_ATTEMPTS}"
            ),
            &[&cursor.attempt_id, &settled, &node_id],
        )
        .await?;
    more |= attempts.len() == ACTIVITY_ATTEMPTS;
    let attempt_id = next_position(&attempts, 11, ACTIVITY_ATTEMPTS, settled)?;
    let attempts = attempts.iter().map(rows::attempt_notice).collect::<Result<_>>()?;
    let settled = settled_position(&client, "alerts", "id", cursor.alert_id, settled_ms).await?;
    let alerts = client
        .query(
            &format!(
                "SELECT id, body FROM alerts WHERE id > $1 AND id <= $2 AND node_id <> $3
                 ORDER BY id LIMIT {ACTIVITY_ALERTS}"
            ),
            &[&cursor.alert_id, &settled, &node_id],
        )
        .await?;
    more |= alerts.len() == ACTIVITY_ALERTS;
    let alert_id = next_position(&alerts, 0, ACTIVITY_ALERTS, settled)?;
    let alerts = alerts.iter().filter_map(|r| serde_json::from_str(r.try_get(1).ok()?).ok()).collect();
    Ok(Activity { events, attempts, alerts, cursor: ActivityCursor { event_seq, attempt_id, alert_id }, more })
}

/// A cursor at the current end of the activity.
pub(super) async fn start(pool: &Pool) -> Result<ActivityCursor> {
    let client = pool.get().await?;
    let row = client
        .query_one(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), (SELECT COALESCE(MAX(id), 0) FROM attempts),
                    (SELECT COALESCE(MAX(id), 0) FROM alerts)",
            &[],
        )
        .await?;
    Ok(ActivityCursor { event_seq: row.try_get(0)?, attempt_id: row.try_get(1)?, alert_id: row.try_get(2)? })
}

/// Where an activity stream's cursor goes after a read of at most `limit` rows up to `settled`:
/// the last row read when the read was full (the rest comes next time), else `settled`, so rows
/// this node wrote itself are passed over once, never scanned again at every tick.
fn next_position(rows: &[tokio_postgres::Row], column: usize, limit: usize, settled: i64) -> Result<i64> {
    match rows.last() {
        Some(last) if rows.len() == limit => Ok(last.try_get(column)?),
        _ => Ok(settled),
    }
}

/// The highest position (`column` of `table`) among rows of every node recorded more than
/// `settled_ms` ago and after `after`: an activity read reaches that far and no further. A row with
/// a lower position may still be committing until then.
async fn settled_position(
    client: &impl GenericClient,
    table: &str,
    column: &str,
    after: i64,
    settled_ms: i64,
) -> Result<i64> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT COALESCE(MAX({column}), $1) FROM {table} WHERE {column} > $1 AND recorded_at < {DB_NOW} - $2"
        ))
        .await?;
    Ok(client.query_one(&stmt, &[&after, &settled_ms]).await?.try_get(0)?)
}
