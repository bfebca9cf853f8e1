//! SQLite's schema: the numbered steps in `migrations/`, the version a database is at
//! (`PRAGMA user_version`) and each applied step's checksum (`hookwatch_migrations`), applied and
//! checked when the store opens.

use crate::domain::error::Result;
use crate::store::migrate::{self, Migration};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use std::path::Path;

/// The schema, step by step: `migrate::numbered` gives each its version.
pub(in crate::store) const MIGRATIONS: &[Migration] = &[
    Migration { name: "0001_schema", sql: include_str!("migrations/0001_schema.sql") },
    Migration { name: "0002_fanout_list", sql: include_str!("migrations/0002_fanout_list.sql") },
    Migration { name: "0003_events_open_by_flag", sql: include_str!("migrations/0003_events_open_by_flag.sql") },
    Migration { name: "0004_subscription_version", sql: include_str!("migrations/0004_subscription_version.sql") },
    Migration { name: "0005_audit", sql: include_str!("migrations/0005_audit.sql") },
    Migration { name: "0006_replays", sql: include_str!("migrations/0006_replays.sql") },
    Migration { name: "0007_payload_search", sql: include_str!("migrations/0007_payload_search.sql") },
    Migration { name: "0008_search_automerge", sql: include_str!("migrations/0008_search_automerge.sql") },
    Migration {
        name: "0009_search_index_in_its_own_file",
        sql: include_str!("migrations/0009_search_index_in_its_own_file.sql"),
    },
    Migration { name: "0010_card_title", sql: include_str!("migrations/0010_card_title.sql") },
    Migration { name: "0011_attempt_replay", sql: include_str!("migrations/0011_attempt_replay.sql") },
    Migration { name: "0012_idempotency_keys", sql: include_str!("migrations/0012_idempotency_keys.sql") },
    Migration { name: "0013_event_trace_context", sql: include_str!("migrations/0013_event_trace_context.sql") },
];

/// The record of applied steps. Kept outside the steps themselves: a database migrated before
/// hookwatch recorded checksums gets it at its next start, with its applied steps' checksums.
const RECORD: &str = "CREATE TABLE IF NOT EXISTS hookwatch_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)";

/// Checks the steps the database at `path` applied against this binary's and applies the rest,
/// all in one transaction.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let database = format!("database {}", path.display());
    let tx = conn.transaction()?;
    let applied: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let steps = migrate::pending(MIGRATIONS, applied, &database)?;
    tx.execute_batch(RECORD)?;
    let recorded = {
        let mut stmt = tx.prepare("SELECT version, checksum FROM hookwatch_migrations")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<BTreeMap<i64, String>>>()?
    };
    let unrecorded = migrate::verify(MIGRATIONS, applied, &recorded, &database)?;
    for (version, step) in unrecorded.into_iter().chain(steps.iter().copied()) {
        if version > applied {
            tx.execute_batch(step.sql)?;
        }
        tx.execute(
            "INSERT INTO hookwatch_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            params![version, step.name, step.checksum(), crate::domain::model::now_ms()],
        )?;
    }
    if let Some((version, _)) = steps.last() {
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::{SqliteStore, search};
    use super::*;
    use crate::domain::query::{EventQuery, StatusFilter};
    use crate::store::Store;
    use std::path::PathBuf;

    /// A database written by schema 1 (a delivery row per delivery from the start) opens under
    /// the current schema with its unfinished work intact.
    #[tokio::test]
    async fn a_schema_1_database_migrates() {
        let (_dir, path) = old_database(
            1,
            "INSERT INTO events (id, action, received_at, body) VALUES ('evt_a', 'card.move', 1000, x'7b7d');
             INSERT INTO deliveries (id, event_id, subscription_id, status, attempts, next_attempt_at, updated_at)
             VALUES ('dlv_1', 'evt_a', 'sub_1', 'retrying', 2, 5000, 1000),
                    ('dlv_2', 'evt_a', 'sub_2', 'succeeded', 1, NULL, 1000);",
        );
        let store = SqliteStore::open(&path, None).unwrap();
        let pending = store.pending_deliveries().await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].id.as_str(), pending[0].attempts, pending[0].next_attempt_at), ("dlv_1", 2, 5000));
        let detail = store.event_detail(&"evt_a".into()).await.unwrap().unwrap();
        assert_eq!(detail.deliveries.len(), 2);
        let failed = EventQuery { status: Some(StatusFilter::Failed), limit: 10, ..EventQuery::default() };
        assert_eq!(store.list_events(failed).await.unwrap().len(), 1);
        assert_eq!(store.prune(i64::MAX).await.unwrap(), 0, "an event with a retrying delivery is kept");
        assert_current_schema(&path);
    }

    /// A schema-2 database keeps its never-attempted deliveries (held in the event's fan-out list)
    /// when `events_open` is rebuilt.
    #[tokio::test]
    async fn a_schema_2_database_migrates() {
        let (_dir, path) = old_database(
            2,
            r#"INSERT INTO events (id, action, received_at, body, fanout, open)
               VALUES ('evt_01JB0000000000000000000000', 'card.create', 2000, x'7b7d', '[["dlv_3","sub_1"]]', 1),
                      ('evt_01JC0000000000000000000000', 'card.create', 3000, x'7b7d', NULL, 0);"#,
        );
        let store = SqliteStore::open(&path, None).unwrap();
        let pending = store.pending_deliveries().await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((pending[0].id.as_str(), pending[0].event_id.as_str()), ("dlv_3", "evt_01JB0000000000000000000000"));
        assert_eq!(store.prune(i64::MAX).await.unwrap(), 1, "only the event with nothing left to deliver goes");
        assert_current_schema(&path);
    }

    /// A schema-8 database's events, searched until then through an index in the same file, are
    /// found through the index beside it once it has taken them in.
    #[tokio::test]
    async fn a_schema_8_database_is_searched_through_the_index_beside_it() {
        let (_dir, path) = old_database(
            8,
            r#"INSERT INTO events (id, action, received_at, body)
               VALUES ('evt_01JB0000000000000000000000', 'card.create', 2000, CAST('{"data":{"title":"Acme renewal"}}' AS BLOB));
               INSERT INTO events_fts(rowid, body) SELECT rowid, body FROM events;
               UPDATE events_fts_progress SET indexed_rowid = 1;"#,
        );
        let store = SqliteStore::open(&path, None).unwrap();
        assert_eq!(search::tests::searched(&store, "renewal").await, ["evt_01JB0000000000000000000000"]);
        assert_current_schema(&path);
    }

    /// Writes a database, in a temporary directory of its own, as hookwatch's schema `version` left
    /// it, holding `rows`.
    pub(in crate::store::sqlite) fn old_database(version: usize, rows: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("v{version}.db"));
        let conn = Connection::open(&path).unwrap();
        for step in &MIGRATIONS[..version] {
            conn.execute_batch(step.sql).unwrap();
        }
        conn.execute_batch(&format!("PRAGMA user_version = {version}; {rows}")).unwrap();
        (dir, path)
    }

    fn assert_current_schema(path: &Path) {
        let conn = Connection::open(path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(usize::try_from(version), Ok(MIGRATIONS.len()));
        let open_index: String =
            conn.query_row("SELECT sql FROM sqlite_schema WHERE name = 'events_open'", [], |r| r.get(0)).unwrap();
        assert!(open_index.contains("events(open)"), "{open_index}");
        let in_store: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'events_fts%'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(in_store, 0, "the search index lives in a file of its own");
        let index = Connection::open(search::path_of(path)).unwrap();
        let automerge: i64 =
            index.query_row("SELECT v FROM events_fts_config WHERE k = 'automerge'", [], |r| r.get(0)).unwrap();
        assert_eq!(automerge, 8);
        let recorded: Vec<String> = conn
            .prepare("SELECT checksum FROM hookwatch_migrations ORDER BY version")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(recorded, MIGRATIONS.iter().map(Migration::checksum).collect::<Vec<_>>(), "every step is recorded");
    }
}
