//! SQLite's retention: finished events received before a time go in bounded slices (the payload
//! index forgets them after each, by the rowids a slice returns), then the old alerts, audit
//! entries and finished replays.

use super::fanout::has_unfinished;
use super::reads::run;
use crate::domain::error::Result;
use crate::domain::model::Millis;
use crate::store::query;
use rusqlite::{Connection, params};
use std::sync::LazyLock;

/// Deletes up to `query::PRUNE_SLICE` finished events with an id below `oldest_kept` received
/// before `before`; their rowids.
pub(super) fn prune_slice(conn: &Connection, oldest_kept: &str, before: Millis) -> Result<Vec<i64>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "DELETE FROM events WHERE id IN (
                SELECT e.id FROM events e WHERE e.id < ?1 AND e.received_at < ?2 AND NOT {} LIMIT {})
             RETURNING rowid",
            has_unfinished("e"),
            query::PRUNE_SLICE
        )
    });
    let mut delete = conn.prepare_cached(&SQL)?;
    let rowids = delete.query_map(params![oldest_kept, before], |r| r.get(0))?;
    Ok(rowids.collect::<rusqlite::Result<Vec<i64>>>()?)
}

/// Alerts and audit entries from before `before`, and finished replays below `oldest_replay`.
pub(super) fn prune_logs(conn: &Connection, before: Millis, oldest_replay: &str) -> Result<()> {
    run(conn, query::PRUNE_ALERTS, params![before])?;
    conn.execute(
        "DELETE FROM replays WHERE id < ?1 AND json_extract(body, '$.state') NOT IN ('running', 'held')",
        [oldest_replay],
    )?;
    run(conn, query::PRUNE_AUDIT, params![before])?;
    Ok(())
}
