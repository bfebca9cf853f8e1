//! SQLite's payload search index: FTS5 in a database file of its own beside the store's
//! (`<db>-search`), filled in batches by its own connection from the events the writer committed,
//! and how a query searches through it.
//!
//! In the store's own file, each batch (and FTS5's merges inside it) was a transaction of the
//! writer's, and every ingest waited behind it. Here a batch reads the events through the store's
//! file, attached, and writes only its own, beside the writer. The index holds nothing the events
//! do not, so it commits without an fsync (`synchronous=NORMAL`, which in WAL mode may lose the
//! last batches on a power cut but never corrupts): those events are indexed again. Deleting the
//! file rebuilds the index.

use super::fanout::has_unrowed_pending;
use crate::domain::error::{Error, Result};
use crate::store::query;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Events indexed per batch: one transaction of this file each.
const INDEX_BATCH: u32 = 1000;

const SCHEMA: &str = r#"
CREATE VIRTUAL TABLE events_fts USING fts5(body, content='', contentless_delete=1);
CREATE TABLE progress (indexed_rowid INTEGER NOT NULL);
INSERT INTO progress VALUES (0);
INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 8);
"#;

/// SQLite's parts of an events query: words through the FTS5 index (each as a prefix), fields
/// with `json_extract` (the body is stored as a BLOB, read as the JSON text it is), and the
/// pending deliveries still in their event's fan-out list.
pub(super) struct SqliteEvents;

impl query::EventListSql for SqliteEvents {
    fn unrowed_pending(&self, sub: Option<&str>) -> Option<String> {
        Some(has_unrowed_pending(sub))
    }

    fn word(&self, indexed: &str, raw: &str) -> String {
        format!(
            "(e.rowid IN (SELECT rowid FROM search.events_fts WHERE events_fts MATCH {indexed}) OR instr(lower(e.id), lower({raw})) > 0)"
        )
    }

    fn word_arg(&self, word: &str) -> String {
        format!("\"{}\"*", word.replace('"', "\"\""))
    }

    fn field(&self, path: &str, value: &str) -> String {
        format!("instr(lower(json_extract(CAST(e.body AS TEXT), {path})), lower({value})) > 0")
    }

    fn path_arg(&self, segments: &[String]) -> String {
        segments.iter().fold("$".to_string(), |out, s| match s.parse::<u32>() {
            Ok(i) => format!("{out}[{i}]"),
            Err(_) => format!("{out}.\"{s}\""),
        })
    }
}

/// The index's file for the store at `db`.
pub(super) fn path_of(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-search", db.display()))
}

/// Lets a reader connection of the store at `db` search through `search.events_fts`.
pub(super) fn attach(conn: &Connection, db: &Path) -> Result<()> {
    let path = path_of(db);
    conn.execute("ATTACH DATABASE ?1 AS search", [path.to_string_lossy()])
        .map_err(|e| Error::Storage(format!("cannot open the search index {}: {e}", path.display())))?;
    Ok(())
}

/// The index's own connection; batches and removals take turns on it.
pub(super) struct SearchIndex {
    conn: Arc<Mutex<Connection>>,
}

impl SearchIndex {
    /// Opens (or creates) the index beside the store at `db`, with `open` as the store opens its
    /// own connections, and attaches the store as `store`.
    pub(super) fn open(db: &Path, open: impl Fn(&Path) -> Result<Connection>) -> Result<Self> {
        let conn = open(&path_of(db))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
        let exists: Option<String> =
            conn.query_row("SELECT name FROM sqlite_schema WHERE name = 'progress'", [], |r| r.get(0)).optional()?;
        if exists.is_none() {
            conn.execute_batch(&format!("BEGIN; {SCHEMA} COMMIT;"))?;
        }
        conn.execute("ATTACH DATABASE ?1 AS store", [db.to_string_lossy()])?;
        Ok(SearchIndex { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Indexes the next batch of committed events; how many it took in (0: up to date).
    pub(super) async fn index_batch(&self) -> Result<u64> {
        self.run(|conn| {
            let tx = conn.unchecked_transaction()?;
            let mut from: i64 = tx.query_row("SELECT indexed_rowid FROM progress", [], |r| r.get(0))?;
            // Rowids below the newest event's are only given out again once the events above them
            // are gone (pruned): the index starts over, or it would never take the new ones in.
            let newest: i64 = tx.query_row("SELECT coalesce(max(rowid), 0) FROM store.events", [], |r| r.get(0))?;
            if newest < from {
                tx.execute("INSERT INTO events_fts(events_fts) VALUES ('delete-all')", [])?;
                from = 0;
            }
            let to: Option<i64> = tx.query_row(
                "SELECT max(rowid) FROM (SELECT rowid FROM store.events WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
                params![from, INDEX_BATCH],
                |r| r.get(0),
            )?;
            let indexed = match to {
                Some(to) => tx.execute(
                    "INSERT INTO events_fts(rowid, body) SELECT rowid, body FROM store.events WHERE rowid > ?1 AND rowid <= ?2",
                    params![from, to],
                )?,
                None => 0,
            };
            tx.execute("UPDATE progress SET indexed_rowid = ?1", [to.unwrap_or(from)])?;
            tx.commit()?;
            Ok(indexed as u64)
        })
        .await
    }

    /// Drops deleted events (by rowid) from the index. Runs after their delete has committed, so a
    /// batch that read them before it has already written them and they go now.
    pub(super) async fn forget(&self, rowids: Vec<i64>) -> Result<()> {
        if rowids.is_empty() {
            return Ok(());
        }
        self.run(move |conn| {
            let tx = conn.unchecked_transaction()?;
            let indexed: i64 = tx.query_row("SELECT indexed_rowid FROM progress", [], |r| r.get(0))?;
            let mut delete = tx.prepare_cached("DELETE FROM events_fts WHERE rowid = ?1")?;
            for rowid in rowids.iter().filter(|r| **r <= indexed) {
                delete.execute([rowid])?;
            }
            drop(delete);
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().map_err(|_| Error::Storage("the search index's connection is poisoned".into()))?;
            work(&conn)
        })
        .await
        .map_err(|e| Error::Storage(format!("the search index's task failed: {e}")))?
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::SqliteStore;
    use crate::domain::query::EventQuery;
    use crate::store::{NewEvent, Store};
    use bytes::Bytes;

    fn titled(id: &str, title: &str, at: crate::domain::model::Millis) -> NewEvent {
        NewEvent {
            id: id.into(),
            action: "card.create".into(),
            received_at: at,
            body: Bytes::from(format!(r#"{{"data":{{"action":"card.create","card":{{"title":"{title}"}}}}}}"#)),
            idempotency_key: None,
            card_id: None,
            card_title: None,
            pipe_id: None,
            deliveries: Vec::new(),
            subscriptions_version: 0,
            trace: None,
        }
    }

    /// Indexes everything committed, then lists the events whose payload holds `word`.
    pub(in crate::store) async fn searched(store: &SqliteStore, word: &str) -> Vec<String> {
        while store.index_payloads().await.unwrap().is_some_and(|n| n > 0) {}
        let q = EventQuery { words: vec![word.into()], limit: 10, ..EventQuery::default() };
        store.list_events(q).await.unwrap().into_iter().map(|e| e.id.into()).collect()
    }

    /// Once every event is pruned, SQLite gives their rowids out again: the index starts over
    /// instead of passing the new events by.
    #[tokio::test]
    async fn events_stored_after_everything_was_pruned_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db"), None).unwrap();
        for (id, title) in
            [("evt_01JB0000000000000000000001", "Acme renewal"), ("evt_01JB0000000000000000000002", "Acme")]
        {
            store.ingest(titled(id, title, 1000), 0).await.unwrap();
        }
        assert_eq!(searched(&store, "acme").await.len(), 2);
        assert_eq!(store.prune(i64::MAX).await.unwrap(), 2);
        let now = crate::domain::model::now_ms();
        store.ingest(titled("evt_01JC0000000000000000000001", "Globex", now), 0).await.unwrap();
        assert_eq!(searched(&store, "globex").await, ["evt_01JC0000000000000000000001"]);
        assert!(searched(&store, "acme").await.is_empty());
    }

    /// The index holds nothing the events do not: without its file, it is built again.
    #[tokio::test]
    async fn a_lost_index_is_built_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path, None).unwrap();
        store.ingest(titled("evt_01JB0000000000000000000001", "Initech", 1000), 0).await.unwrap();
        assert_eq!(searched(&store, "initech").await.len(), 1);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", super::path_of(&path).display()));
        }
        let store = SqliteStore::open(&path, None).unwrap();
        assert_eq!(searched(&store, "initech").await, ["evt_01JB0000000000000000000001"]);
    }
}
