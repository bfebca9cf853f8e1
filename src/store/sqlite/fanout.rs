//! SQLite keeps a never-attempted delivery in its event's fan-out list (`events.fanout`, pending)
//! until its first change gives it a row, and marks an event `open` while it may still have an
//! unfinished delivery (schema 2, `migrations/0002_fanout_list.sql`). Here: the SQL that reads a
//! delivery in either place, and the write that closes a finished event.

use crate::domain::error::Result;
use rusqlite::Connection;
use std::sync::LazyLock;

/// SQL true when the events row `event` (the outer query's name for it) has a pending or retrying
/// delivery. Written out rather than read from `all_deliveries`: SQLite materialises a view for
/// correlated lookups. The fan-out list is read from the outer row itself, not looked up again.
pub(super) fn has_unfinished(event: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = {event}.id AND d.status IN ('pending', 'retrying'))
          OR ({event}.open = 1 AND EXISTS (SELECT 1 FROM json_each({event}.fanout) f
                     WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = f.value ->> 0))))"
    )
}

/// `query::event_list`'s condition for a pending delivery still held in event `e`'s fan-out list.
pub(super) fn has_unrowed_pending(subscription: Option<&str>) -> String {
    let for_subscription = subscription.map(|sub| format!(" AND f.value ->> 1 = {sub}")).unwrap_or_default();
    format!(
        "(e.open = 1 AND EXISTS (SELECT 1 FROM json_each(e.fanout) f WHERE
          NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = f.value ->> 0){for_subscription}))"
    )
}

/// Clears `open` once none of the event's deliveries is pending or retrying.
pub(super) fn close_if_finished(conn: &Connection, event_id: &str) -> Result<()> {
    // Runs for every finished delivery, so its SQL is built once.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("UPDATE events SET open = 0 WHERE id = ?1 AND open = 1 AND NOT {}", has_unfinished("events"))
    });
    conn.prepare_cached(&SQL)?.execute([event_id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::connection::open;
    use super::super::schema::{MIGRATIONS, tests::old_database};
    use super::*;
    use rusqlite::params;

    /// A cached statement runs as prepared, whatever it is bound to next: the statement that
    /// closes a finished event (run for every finished delivery) is never parsed again.
    #[test]
    fn cached_statements_are_not_prepared_again_for_each_binding() {
        let (_dir, path) = old_database(MIGRATIONS.len(), "");
        let conn = open(&path).unwrap();
        for n in 0..5 {
            conn.execute(
                "INSERT INTO events (id, action, received_at, body, fanout, open) VALUES (?1, 'card.move', 1, '{}', ?2, 1)",
                params![format!("evt_{n}"), format!("[[\"dlv_{n}\",\"sub_a\"]]")],
            )
            .unwrap();
            close_if_finished(&conn, &format!("evt_{n}")).unwrap();
        }
        let sql = format!("UPDATE events SET open = 0 WHERE id = ?1 AND open = 1 AND NOT {}", has_unfinished("events"));
        let stmt = conn.prepare_cached(&sql).unwrap();
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::Run), 5);
        assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}
