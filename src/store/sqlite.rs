//! SQLite store: WAL, `synchronous=FULL`, one writer thread that commits jobs in groups so that
//! many concurrent ingests share one fsync (its checkpoints copied beside it, `checkpoint.rs`),
//! and a small pool of reader connections. The payload search index lives in a file beside it
//! (`search.rs`).

use super::checkpoint::Checkpoints;
use super::migrate::{self, Migration};
use super::query::{self, Target};
use super::rows::{
    self, ATTEMPT_COLUMNS, ATTEMPT_NOTICE_COLUMNS, DELIVERY_COLUMNS, EVENT_COLUMNS, EVENT_DETAIL_COLUMNS,
    PENDING_COLUMNS,
};
use super::search::{self, SearchIndex};
use super::*;
use crate::domain::error::Error;
use crate::domain::model::{DeliveryDetail, DeliverySummary};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, mpsc};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Most jobs one commit gathers at once (besides the attempt records waiting for company): bounds
/// the latency a job waits behind others.
const MAX_GROUP: usize = 512;

/// How long an attempt record may wait to share a commit with later ones. Nobody waits on its
/// answer to go on (the lane freed its slot when the endpoint answered). Committed with each small
/// group of ingests, attempt records rewrote the last pages of the deliveries and attempts b-trees
/// at every commit: waiting, the WAL written per live event fell from 2.0 to 1.5 frames
/// (`docs/performance.md`, 2026-12-05).
const ATTEMPTS_WAIT: Duration = Duration::from_millis(10);
/// Waiting attempt records that commit at once, whatever their age.
const ATTEMPTS_BATCH: usize = 256;

/// What a write is answered once the writer thread is gone.
const WRITER_STOPPED: &str = "the database writer has stopped";

/// Schema 1; a fresh database gets it and then every migration after it, like an old one.
const SCHEMA_1: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    idempotency_key TEXT,
    card_id TEXT,
    pipe_id TEXT
);
CREATE INDEX IF NOT EXISTS events_idempotency ON events(idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_received ON events(received_at);
CREATE INDEX IF NOT EXISTS events_action ON events(action, id);
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status_code INTEGER,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX IF NOT EXISTS deliveries_unfinished ON deliveries(status) WHERE status IN ('pending', 'retrying');
CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries(subscription_id, status);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error_kind TEXT,
    error TEXT,
    response_body BLOB NOT NULL,
    response_truncated INTEGER NOT NULL,
    next_retry_at INTEGER,
    request_headers TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts(delivery_id);
CREATE INDEX IF NOT EXISTS attempts_started ON attempts(started_at);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_at ON alerts(at);
"#;

/// Schema 2: a delivery gets its row at its first change (attempt, redelivery, cancel); until then
/// it lives in its event's `fanout` list, pending. An ingest then writes one row in few indexes
/// instead of two rows in nine, which is most of what a group commit costs. `open` marks events
/// that may still have unfinished deliveries (set at ingest and on redelivery, cleared when the
/// last one finishes). Event ids are ULIDs, so retention finds old events by id and
/// `events_received` goes.
const MIGRATE_TO_2: &str = r#"
ALTER TABLE events ADD COLUMN fanout TEXT;
ALTER TABLE events ADD COLUMN open INTEGER NOT NULL DEFAULT 0;
UPDATE events SET open = 1 WHERE id IN (SELECT event_id FROM deliveries WHERE status IN ('pending', 'retrying'));
DROP INDEX IF EXISTS events_received;
CREATE INDEX events_open ON events(id) WHERE open = 1;
CREATE VIEW all_deliveries AS
    SELECT id, event_id, subscription_id, status, attempts, next_attempt_at, last_status_code, last_error, updated_at
    FROM deliveries
    UNION ALL
    SELECT f.value ->> 0, e.id, f.value ->> 1, 'pending', 0, e.received_at, NULL, NULL, e.received_at
    FROM events e, json_each(e.fanout) f
    WHERE e.open = 1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = f.value ->> 0);
"#;

/// Schema 3: `events_open` is keyed by the flag alone, so an entry holds little more than the rowid
/// and a group's inserts mostly land in the index's last page. Keyed by id (30-byte entries), its
/// leaves split and rebalanced at most commits: 2.6 of the ~13 pages a commit wrote to the WAL.
/// At groups of ten, WAL pages per ingested event fall from 1.04 to 0.94.
const MIGRATE_TO_3: &str = r#"
DROP INDEX events_open;
CREATE INDEX events_open ON events(open) WHERE open = 1;
"#;

/// Schema 4: a count of subscription changes, checked by every ingest in its transaction, so an
/// event is never matched against subscriptions older than the last answered change.
const MIGRATE_TO_4: &str = r#"
CREATE TABLE subscription_version (version INTEGER NOT NULL);
INSERT INTO subscription_version VALUES (0);
"#;

/// Schema 5: the audit log, every change with who made it.
const MIGRATE_TO_5: &str = r#"
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
"#;

/// Schema 6: replay jobs, stored so they resume after a restart.
const MIGRATE_TO_6: &str = r#"
CREATE TABLE replays (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
"#;

/// Payload search: a full-text index (FTS5) over every event's body. It is filled off the
/// ingest path, in batches (`index_payloads`), up to `indexed_rowid`: indexing in each ingest's
/// transaction cost 40% of SQLite's ingest rate (measured with `hookwatch bench`, 2026-12-02).
/// A pruned event leaves the index in the delete's own transaction, if it had been indexed.
const MIGRATE_TO_7: &str = r#"
CREATE VIRTUAL TABLE events_fts USING fts5(body, content='events', content_rowid='rowid');
INSERT INTO events_fts(events_fts) VALUES ('rebuild');
CREATE TABLE events_fts_progress (indexed_rowid INTEGER NOT NULL);
INSERT INTO events_fts_progress SELECT coalesce(max(rowid), 0) FROM events;
CREATE TRIGGER events_fts_delete AFTER DELETE ON events
WHEN old.rowid <= (SELECT indexed_rowid FROM events_fts_progress) BEGIN
    INSERT INTO events_fts(events_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
"#;

/// FTS5 merges a level's segments once it holds `automerge` of them, inside whichever batch
/// fills it. At the default of 4 those merges held the writer up to 17–30 ms; at 8, fewer levels
/// are rewritten and they held it up to 12–21 ms, and the p99 at 1,000 events/s fell from
/// 7.0–22.0 ms to 5.5–9.5 ms (five alternated `hookwatch bench` runs each, 2026-12-02).
const MIGRATE_TO_8: &str = "INSERT INTO events_fts(events_fts, rank) VALUES ('automerge', 8);";

/// Schema 9: the search index moves to a file of its own (`search.rs`), which takes every event
/// in again from the first.
const MIGRATE_TO_9: &str = r#"
DROP TRIGGER events_fts_delete;
DROP TABLE events_fts;
DROP TABLE events_fts_progress;
"#;

/// The card's title, as the stream shows it (events from before have none).
const MIGRATE_TO_10: &str = "ALTER TABLE events ADD COLUMN card_title TEXT;";
/// The replay an attempt was made for, so the inspector can say so.
const MIGRATE_TO_11: &str = "ALTER TABLE attempts ADD COLUMN replay_id TEXT;";

/// How SQLite searches payloads: words through the FTS5 index (each as a prefix), fields with
/// `json_extract` (the body is stored as a BLOB, read as the JSON text it is).
const PAYLOAD_SEARCH: query::PayloadSearch = query::PayloadSearch {
    word: |indexed, raw| {
        format!(
            "(e.rowid IN (SELECT rowid FROM search.events_fts WHERE events_fts MATCH {indexed}) OR instr(lower(e.id), lower({raw})) > 0)"
        )
    },
    word_arg: |w| format!("\"{}\"*", w.replace('"', "\"\"")),
    field: |path, value| format!("instr(lower(json_extract(CAST(e.body AS TEXT), {path})), lower({value})) > 0"),
    path_arg: |segments| {
        segments.iter().fold("$".to_string(), |out, s| match s.parse::<u32>() {
            Ok(i) => format!("{out}[{i}]"),
            Err(_) => format!("{out}.\"{s}\""),
        })
    },
};

/// The schema, step by step; `PRAGMA user_version` records the last step applied.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: SCHEMA_1 },
    Migration { version: 2, sql: MIGRATE_TO_2 },
    Migration { version: 3, sql: MIGRATE_TO_3 },
    Migration { version: 4, sql: MIGRATE_TO_4 },
    Migration { version: 5, sql: MIGRATE_TO_5 },
    Migration { version: 6, sql: MIGRATE_TO_6 },
    Migration { version: 7, sql: MIGRATE_TO_7 },
    Migration { version: 8, sql: MIGRATE_TO_8 },
    Migration { version: 9, sql: MIGRATE_TO_9 },
    Migration { version: 10, sql: MIGRATE_TO_10 },
    Migration { version: 11, sql: MIGRATE_TO_11 },
];

/// Keeps an audit entry, in the caller's transaction.
fn insert_audit(conn: &Connection, audit: &AuditEntry) -> Result<()> {
    let body = serde_json::to_string(audit).map_err(|e| Error::Storage(e.to_string()))?;
    conn.prepare_cached("INSERT INTO audit (at, body) VALUES (?1, ?2)")?.execute(params![audit.at, body])?;
    Ok(())
}
const SCHEMA_VERSION: i64 = migrate::latest(MIGRATIONS);

/// Shared SQL (`store::query`, written with `$n`) as SQLite numbers its placeholders (`?n`).
fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

/// Every row `sql` returns for `params`, read by `map`.
fn select<T>(
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

fn subscriptions_version(conn: &Connection) -> Result<i64> {
    Ok(conn.prepare_cached("SELECT version FROM subscription_version")?.query_row([], |r| r.get(0))?)
}

/// A subscription change's last step, in its transaction.
fn bump_subscriptions_version(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("UPDATE subscription_version SET version = version + 1 RETURNING version")?
        .query_row([], |r| r.get(0))?)
}

/// SQL true when the events row `event` (the outer query's name for it) has a pending or retrying
/// delivery. Written out rather than read from `all_deliveries`: SQLite materialises a view for
/// correlated lookups. The fan-out list is read from the outer row itself, not looked up again.
fn has_unfinished(event: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = {event}.id AND d.status IN ('pending', 'retrying'))
          OR ({event}.open = 1 AND EXISTS (SELECT 1 FROM json_each({event}.fanout) f
                     WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = f.value ->> 0))))"
    )
}

/// When a write may commit, relative to the writes sent before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// After every write sent before it: waiting attempt records go first, in its transaction.
    InTurn,
    /// Possibly before waiting attempt records: it only adds rows that no such record touches (an
    /// ingest), so committing it first changes nothing they write.
    Ahead,
    /// May wait up to `ATTEMPTS_WAIT` for a commit it shares with others (an attempt record).
    Batched,
}

/// A unit of work for the writer. It runs inside the group's transaction and answers its caller
/// only once the commit is known: that is what makes a 202 durable.
trait WriteJob: Send {
    /// Runs the work and keeps its outcome; `false` when it failed. May run again after a rollback.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller with the kept outcome, or with the commit's failure.
    fn finish(self: Box<Self>, committed: Result<(), String>);
    fn order(&self) -> Order;
}

/// `work` and what to do with its outcome once the commit is known (`reply`, on the writer thread).
struct TypedJob<T, F, R> {
    work: F,
    order: Order,
    outcome: Option<Result<T>>,
    reply: R,
}

impl<T, F, R> WriteJob for TypedJob<T, F, R>
where
    T: Send + 'static,
    F: Fn(&Connection) -> Result<T> + Send,
    R: FnOnce(Result<T>) + Send,
{
    fn order(&self) -> Order {
        self.order
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let outcome = (self.work)(conn);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let outcome = self.outcome.unwrap_or_else(|| Err(Error::Storage("the write never ran".into())));
        (self.reply)(committed.map_err(Error::Storage).and(outcome));
    }
}

pub struct SqliteStore {
    writer: mpsc::Sender<Box<dyn WriteJob>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    search: SearchIndex,
    path: PathBuf,
}

fn open(path: &Path) -> Result<Connection> {
    let conn =
        Connection::open(path).map_err(|e| Error::Storage(format!("cannot open database {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
    // The query planner's stability guarantee: a statement keeps the plan it was prepared with.
    // Without it, the bundled SQLite (built with STAT4) marks statements whose plan a bound value
    // might change (a partial index, a LIMIT) as expired whenever the statement cache clears their
    // bindings, and parses them again at every use: 13% of the live path's CPU (perf, 2026-12-02).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// The database holds signing secrets and consumers' header tokens: its file is its owner's alone.
/// SQLite gives the `-wal` and `-shm` files the database file's mode, so they follow.
fn keep_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let refused = |e: std::io::Error| Error::Storage(format!("cannot create database {}: {e}", path.display()));
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(refused(e)),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::Storage(format!("cannot make {} private (chmod 600 it): {e}", file.display())))?;
            tracing::info!("made {} readable by its owner only: it holds signing secrets", file.display());
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database. With `max_bytes`, writes beyond that size fail as
    /// "database is full" (and ingest answers 503) instead of filling the disk.
    pub fn open(path: &Path, max_bytes: Option<u64>) -> Result<Self> {
        keep_private(path)?;
        let mut conn = open(path)?;
        if let Some(max) = max_bytes {
            let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (max / page_size.max(1) as u64).max(1);
            conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        }
        let applied: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let steps = migrate::pending(MIGRATIONS, applied, &format!("database {}", path.display()))?;
        if !steps.is_empty() {
            let tx = conn.unchecked_transaction()?;
            for step in steps {
                tx.execute_batch(step.sql)?;
            }
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
            tx.commit()?;
        }
        keep_private(&search::path_of(path))?;
        let search = SearchIndex::open(path, open)?;
        let checkpoints = Checkpoints::start(&mut conn, open(path)?)?;
        let (tx, rx) = mpsc::channel::<Box<dyn WriteJob>>();
        std::thread::Builder::new()
            .name("hookwatch-sqlite-writer".into())
            .spawn(move || run_writer(conn, rx, checkpoints))
            .map_err(|e| Error::Storage(format!("cannot start the database writer: {e}")))?;
        Ok(SqliteStore { writer: tx, readers: Arc::new(Mutex::new(Vec::new())), search, path: path.to_path_buf() })
    }

    /// Runs `work` in turn in the writer's next group and resolves once that group has committed.
    /// `work` may run twice (after a rollback caused by another job), so it only borrows its data.
    async fn write<T: Send + 'static>(&self, work: impl Fn(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        self.write_ordered(Order::InTurn, work).await
    }

    async fn write_ordered<T: Send + 'static>(
        &self,
        order: Order,
        work: impl Fn(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (done, answer) = oneshot::channel();
        self.submit(Box::new(TypedJob { work, order, outcome: None, reply: move |outcome| drop(done.send(outcome)) }));
        answer.await.map_err(|_| Error::Storage(WRITER_STOPPED.into()))?
    }

    /// Hands a job to the writer; one it can no longer take is answered at once.
    fn submit(&self, job: Box<dyn WriteJob>) {
        if let Err(mpsc::SendError(job)) = self.writer.send(job) {
            job.finish(Err(WRITER_STOPPED.into()));
        }
    }

    /// Runs a read on a pooled connection off the async threads (WAL lets reads run beside the writer).
    async fn read<T: Send + 'static>(&self, work: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().map_err(|_| Error::Storage("reader pool poisoned".into()))?.pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let conn = open(&path)?;
                    search::attach(&conn, &path)?;
                    conn
                }
            };
            let result = work(&conn);
            if let Ok(mut pool) = readers.lock() {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| Error::Storage(format!("read task failed: {e}")))?
    }
}

/// Attempt records waiting for a commit to share.
struct Waiting {
    jobs: Vec<Box<dyn WriteJob>>,
    since: Instant,
}

impl Waiting {
    fn due_at(&self) -> Option<Instant> {
        (!self.jobs.is_empty()).then_some(self.since + ATTEMPTS_WAIT)
    }

    fn is_due(&self) -> bool {
        self.jobs.len() >= ATTEMPTS_BATCH || self.due_at().is_some_and(|due| Instant::now() >= due)
    }
}

fn run_writer(conn: Connection, jobs: mpsc::Receiver<Box<dyn WriteJob>>, checkpoints: Checkpoints) {
    let mut waiting = Waiting { jobs: Vec::new(), since: Instant::now() };
    loop {
        let first = match waiting.due_at() {
            None => match jobs.recv() {
                Ok(job) => Some(job),
                Err(_) => return,
            },
            Some(due) => match jobs.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                // Nothing more will come: what waits commits before the writer ends.
                Err(mpsc::RecvTimeoutError::Disconnected) => return commit(&conn, std::mem::take(&mut waiting.jobs)),
            },
        };
        let mut group = Vec::new();
        let mut in_turn = false;
        for job in first.into_iter().chain(std::iter::from_fn(|| jobs.try_recv().ok())) {
            match job.order() {
                Order::Batched => {
                    if waiting.jobs.is_empty() {
                        waiting.since = Instant::now();
                    }
                    waiting.jobs.push(job);
                }
                order => {
                    in_turn |= order == Order::InTurn;
                    group.push(job);
                }
            }
            if group.len() >= MAX_GROUP || waiting.jobs.len() >= ATTEMPTS_BATCH {
                break;
            }
        }
        // Ahead of the group: a write in turn must find every record sent before it.
        if in_turn || waiting.is_due() {
            group.splice(0..0, waiting.jobs.drain(..));
        }
        if !group.is_empty() {
            commit(&conn, group);
            checkpoints.after_commit(&conn);
        }
    }
}

/// The whole group in one transaction. A failing job (rare: a constraint, a full disk) rolls the
/// group back and every job then runs in a transaction of its own, so one bad job never costs the
/// others. Savepoints per job would do the same but copy pages on every write.
fn commit(conn: &Connection, mut group: Vec<Box<dyn WriteJob>>) {
    match transaction(conn, &mut group) {
        Outcome::AllCommitted => group.into_iter().for_each(|job| job.finish(Ok(()))),
        Outcome::Failed(reason) => group.into_iter().for_each(|job| job.finish(Err(reason.clone()))),
        Outcome::SomeJobFailed => {
            for mut job in group {
                let result = match transaction(conn, std::slice::from_mut(&mut job)) {
                    // A job's own failure is its outcome; the caller gets that error.
                    Outcome::AllCommitted | Outcome::SomeJobFailed => Ok(()),
                    Outcome::Failed(reason) => Err(reason),
                };
                job.finish(result);
            }
        }
    }
}

enum Outcome {
    AllCommitted,
    /// At least one job's work failed; nothing was committed.
    SomeJobFailed,
    /// The transaction itself failed (cannot begin or commit): nothing was committed.
    Failed(String),
}

fn transaction(conn: &Connection, jobs: &mut [Box<dyn WriteJob>]) -> Outcome {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let reason = format!("the database cannot start a transaction ({e}); check that the file is writable");
        tracing::error!("{reason}");
        return Outcome::Failed(reason);
    }
    let mut all_ok = true;
    for job in jobs.iter_mut() {
        all_ok &= job.run(conn);
    }
    if !all_ok {
        let _ = conn.execute_batch("ROLLBACK");
        return Outcome::SomeJobFailed;
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => Outcome::AllCommitted,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            let reason =
                format!("the database could not commit ({e}); check free disk space and that the file is writable");
            tracing::error!("{reason}");
            Outcome::Failed(reason)
        }
    }
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

/// A redelivery's target row: (delivery id, event id, subscription id).
fn target(r: &rusqlite::Row<'_>) -> Result<Target> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

/// `query::event_list`'s condition for a pending delivery still held in event `e`'s fan-out list.
fn has_unrowed_pending(subscription: Option<&str>) -> String {
    let for_subscription = subscription.map(|sub| format!(" AND f.value ->> 1 = {sub}")).unwrap_or_default();
    format!(
        "(e.open = 1 AND EXISTS (SELECT 1 FROM json_each(e.fanout) f WHERE
          NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = f.value ->> 0){for_subscription}))"
    )
}

/// An attempt and its delivery's next state, in the writer's transaction.
fn record(conn: &Connection, rec: &AttemptRecord) -> Result<()> {
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
        rec.started_at + rec.duration_ms as i64,
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
        rec.duration_ms as i64,
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

/// Clears `open` once none of the event's deliveries is pending or retrying.
fn close_if_finished(conn: &Connection, event_id: &str) -> Result<()> {
    // Runs for every finished delivery, so its SQL is built once.
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("UPDATE events SET open = 0 WHERE id = ?1 AND open = 1 AND NOT {}", has_unfinished("events"))
    });
    conn.prepare_cached(&SQL)?.execute([event_id])?;
    Ok(())
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ingest(&self, event: NewEvent, idempotency_since: Millis) -> Result<IngestOutcome> {
        self.write_ordered(Order::Ahead, move |conn| {
            if subscriptions_version(conn)? != event.subscriptions_version {
                return Ok(IngestOutcome::StaleSubscriptions);
            }
            if let Some(key) = &event.idempotency_key {
                let seen: Option<(String, String, bool)> = conn
                    .prepare_cached(
                        "SELECT id, action, body = ?3 FROM events
                         WHERE idempotency_key = ?1 AND received_at >= ?2 LIMIT 1",
                    )?
                    .query_row(params![key, idempotency_since, &event.body[..]], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
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
                                     card_title)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
                event.card_title
            ])?;
            Ok(IngestOutcome::Created)
        })
        .await
    }

    async fn record_attempt(&self, rec: AttemptRecord) -> Result<()> {
        self.write_ordered(Order::Batched, move |conn| record(conn, &rec)).await
    }

    fn record_attempt_then(self: Arc<Self>, rec: AttemptRecord, recorded: OnRecorded) {
        let work = move |conn: &Connection| record(conn, &rec);
        self.submit(Box::new(TypedJob { work, order: Order::Batched, outcome: None, reply: recorded }));
    }

    async fn settle(&self) -> Result<()> {
        self.write(|_| Ok(())).await
    }

    async fn save_subscription(&self, sub: &Subscription, audit: &AuditEntry) -> Result<i64> {
        let body = serde_json::to_string(sub).map_err(|e| Error::Storage(e.to_string()))?;
        let id = sub.id.clone();
        let audit = audit.clone();
        self.write(move |conn| {
            insert_audit(conn, &audit)?;
            conn.execute(
                "INSERT INTO subscriptions (id, body) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
                params![id, body],
            )?;
            bump_subscriptions_version(conn)
        })
        .await
    }

    async fn subscriptions_version(&self) -> Result<i64> {
        self.read(subscriptions_version).await
    }

    async fn delete_subscription(&self, id: &str, audit: &AuditEntry) -> Result<i64> {
        let id = id.to_string();
        let audit = audit.clone();
        self.write(move |conn| {
            insert_audit(conn, &audit)?;
            conn.execute("DELETE FROM subscriptions WHERE id = ?1", [&id])?;
            conn.execute(
                "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL
                 WHERE subscription_id = ?1 AND status IN ('pending', 'retrying')",
                [&id],
            )?;
            conn.execute(
                "INSERT INTO deliveries (id, event_id, subscription_id, status, attempts, updated_at)
                 SELECT f.value ->> 0, e.id, ?1, 'cancelled', 0, ?2 FROM events e, json_each(e.fanout) f
                 WHERE e.open = 1 AND f.value ->> 1 = ?1
                   AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = f.value ->> 0)",
                params![id, crate::domain::model::now_ms()],
            )?;
            conn.execute(
                &format!("UPDATE events SET open = 0 WHERE open = 1 AND NOT {}", has_unfinished("events")),
                [],
            )?;
            bump_subscriptions_version(conn)
        })
        .await
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT body FROM subscriptions ORDER BY id")?;
            let bodies = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            bodies
                .iter()
                .map(|b| {
                    serde_json::from_str(b)
                        .map_err(|e| Error::Storage(format!("a stored subscription is unreadable: {e}")))
                })
                .collect()
        })
        .await
    }

    async fn pending_deliveries(&self) -> Result<Vec<PendingDelivery>> {
        self.read(|conn| {
            let sql = format!(
                "SELECT {PENDING_COLUMNS} FROM all_deliveries WHERE status IN ('pending', 'retrying') ORDER BY event_id, id"
            );
            select(conn, &sql, [], |r| rows::pending_delivery(r))
        })
        .await
    }

    async fn event_bodies(&self, event_ids: Vec<String>) -> Result<Vec<(String, Bytes)>> {
        let ids = serde_json::to_string(&event_ids).map_err(|e| Error::Storage(e.to_string()))?;
        self.read(move |conn| {
            let sql = "SELECT id, body FROM events WHERE id IN (SELECT value FROM json_each(?1))";
            select(conn, sql, [ids], |r| Ok((r.get(0)?, Bytes::from(r.get::<_, Vec<u8>>(1)?))))
        })
        .await
    }

    async fn list_events(&self, q: EventQuery) -> Result<Vec<EventSummary>> {
        self.read(move |conn| {
            let list = query::event_list(&q, "deliveries", Some(has_unrowed_pending), &PAYLOAD_SEARCH);
            let mut events =
                select(conn, &numbered(&list.sql), params_from_iter(&list.args), |r| rows::event_summary(r))?;
            for e in &mut events {
                e.deliveries = deliveries_of(conn, &e.id)?;
            }
            Ok(events)
        })
        .await
    }

    async fn activity_since(&self, since: Millis, limit: u32) -> Result<Activity> {
        self.read(move |conn| {
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
        })
        .await
    }

    async fn event_detail(&self, event_id: &str) -> Result<Option<EventDetail>> {
        let id = event_id.to_string();
        self.read(move |conn| {
            let found =
                select(conn, &format!("SELECT {EVENT_DETAIL_COLUMNS} FROM events e WHERE e.id = ?1"), [&id], |r| {
                    rows::event_detail(r)
                })?;
            let row = found.into_iter().next();
            let Some(mut detail) = row else { return Ok(None) };
            for summary in deliveries_of(conn, &id)? {
                let attempts = attempts_of(conn, &summary.id)?;
                detail.deliveries.push(DeliveryDetail { summary, attempts });
            }
            Ok(Some(detail))
        })
        .await
    }

    async fn count_events(&self) -> Result<u64> {
        let count: i64 = self.read(|conn| Ok(conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?)).await?;
        Ok(count as u64)
    }

    async fn requeue_event(
        &self,
        event_id: &str,
        subscription_id: Option<&str>,
        failed_only: bool,
        now: Millis,
        audit: Option<&AuditEntry>,
    ) -> Result<Vec<PendingDelivery>> {
        let event_id = event_id.to_string();
        let sub = subscription_id.map(str::to_string);
        let audit = audit.cloned();
        self.write(move |conn| {
            let exists: bool =
                conn.query_row("SELECT EXISTS(SELECT 1 FROM events WHERE id = ?1)", [&event_id], |r| r.get(0))?;
            if !exists {
                return Err(Error::NotFound(format!("no event {event_id}; list events with GET /v1/events")));
            }
            let found = select(
                conn,
                &numbered(&query::redeliverable("all_deliveries")),
                params![event_id, sub, failed_only],
                target,
            )?;
            let deliveries = query::with_missing_delivery(found, &event_id, sub.as_deref(), failed_only);
            if let Some(audit) = &audit {
                insert_audit(conn, audit)?;
            }
            requeue(conn, deliveries, now)
        })
        .await
    }

    async fn requeue_failed(
        &self,
        subscription_id: &str,
        since: Millis,
        now: Millis,
        audit: &AuditEntry,
    ) -> Result<Vec<PendingDelivery>> {
        let sub = subscription_id.to_string();
        let audit = audit.clone();
        self.write(move |conn| {
            insert_audit(conn, &audit)?;
            let deliveries = select(conn, &numbered(query::RECOVERABLE), params![sub, since], target)?;
            requeue(conn, deliveries, now)
        })
        .await
    }

    async fn index_payloads(&self) -> Result<Option<u64>> {
        self.search.index_batch().await.map(Some)
    }

    async fn prune(&self, before: Millis) -> Result<u64> {
        // Ids are ULIDs, which begin with their time: every event received before `before` sorts
        // below the smallest id of that millisecond.
        let oldest_kept = first_event_id_at(before);
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "DELETE FROM events WHERE id IN (
                    SELECT e.id FROM events e WHERE e.id < ?1 AND e.received_at < ?2 AND NOT {} LIMIT {})
                 RETURNING rowid",
                has_unfinished("e"),
                query::PRUNE_SLICE
            )
        });
        let pruned = query::in_slices(|| {
            let oldest_kept = oldest_kept.clone();
            async move {
                let rowids = self
                    .write(move |conn| {
                        let mut delete = conn.prepare_cached(&SQL)?;
                        let rowids = delete.query_map(params![oldest_kept, before], |r| r.get(0))?;
                        Ok(rowids.collect::<rusqlite::Result<Vec<i64>>>()?)
                    })
                    .await?;
                let pruned = rowids.len() as u64;
                self.search.forget(rowids).await?;
                Ok(pruned)
            }
        })
        .await?;
        let oldest_replay = super::first_replay_id_at(before);
        self.write(move |conn| {
            conn.execute("DELETE FROM alerts WHERE at < ?1", [before])?;
            conn.execute(
                "DELETE FROM replays WHERE id < ?1 AND json_extract(body, '$.state') NOT IN ('running', 'held')",
                [&oldest_replay],
            )?;
            Ok(conn.execute("DELETE FROM audit WHERE at < ?1", [before])?)
        })
        .await?;
        Ok(pruned)
    }

    async fn probe_write(&self) -> Result<()> {
        self.write(|conn| {
            let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
            if pragma("page_count")? >= pragma("max_page_count")? && pragma("freelist_count")? == 0 {
                return Err(Error::Storage("the database is at max_db_bytes: it cannot grow".into()));
            }
            conn.prepare_cached("UPDATE subscription_version SET version = version")?.execute([])?;
            Ok(())
        })
        .await
    }

    async fn save_alert(&self, alert: &Alert) -> Result<()> {
        let body = serde_json::to_string(alert).map_err(|e| Error::Storage(e.to_string()))?;
        let at = alert.at;
        self.write(move |conn| {
            conn.prepare_cached("INSERT INTO alerts (at, body) VALUES (?1, ?2)")?.execute(params![at, body])?;
            Ok(())
        })
        .await
    }

    async fn recent_alerts(&self, limit: u32) -> Result<Vec<Alert>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare("SELECT body FROM alerts ORDER BY id DESC LIMIT ?1")?;
            let bodies = stmt.query_map([limit], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(bodies.iter().rev().filter_map(|b| serde_json::from_str(b).ok()).collect())
        })
        .await
    }

    async fn save_replay(&self, replay: &Replay, audit: Option<&AuditEntry>) -> Result<()> {
        let body = serde_json::to_string(replay).map_err(|e| Error::Storage(e.to_string()))?;
        let id = replay.id.clone();
        let audit = audit.cloned();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO replays (id, body) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            )?
            .execute(params![id, body])?;
            if let Some(audit) = &audit {
                insert_audit(conn, audit)?;
            }
            Ok(())
        })
        .await
    }

    async fn replays(&self) -> Result<Vec<Replay>> {
        self.read(|conn| {
            let bodies = select(conn, "SELECT body FROM replays ORDER BY id DESC", [], |r| Ok(r.get::<_, String>(0)?))?;
            bodies
                .iter()
                .map(|b| {
                    serde_json::from_str(b).map_err(|e| Error::Storage(format!("a stored replay is unreadable: {e}")))
                })
                .collect()
        })
        .await
    }

    async fn save_audit(&self, audit: &AuditEntry) -> Result<()> {
        let audit = audit.clone();
        self.write(move |conn| insert_audit(conn, &audit)).await
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.read(move |conn| {
            let bodies = select(conn, "SELECT body FROM audit ORDER BY id DESC LIMIT ?1", [limit], |r| {
                Ok(r.get::<_, String>(0)?)
            })?;
            Ok(bodies.iter().filter_map(|b| serde_json::from_str(b).ok()).collect())
        })
        .await
    }

    async fn attempt_counts(&self, since: Millis, by_second_from: Millis) -> Result<Vec<AttemptCount>> {
        let sql = numbered(rows::ATTEMPT_COUNTS);
        self.read(move |conn| select(conn, &sql, [since, by_second_from], |r| rows::attempt_count(r))).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::query::StatusFilter;

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
        let detail = store.event_detail("evt_a").await.unwrap().unwrap();
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

    /// The files hold signing secrets: a new database and its WAL files are the owner's alone, and
    /// an old world-readable one is made private when opened.
    #[tokio::test]
    async fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let store = SqliteStore::open(&path, None).unwrap();
        store
            .save_alert(&crate::domain::model::Alert {
                kind: crate::domain::model::AlertKind::Disabled,
                subscription_id: "sub_1".into(),
                subscription_name: "crm".into(),
                message: "a write, so the WAL files exist".into(),
                at: 1,
            })
            .await
            .unwrap();
        for suffix in ["", "-wal", "-shm", "-search", "-search-wal", "-search-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        let (_old_dir, old) = old_database(3, "");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        SqliteStore::open(&old, None).unwrap();
        assert_eq!(mode(&old), 0o600);
    }

    /// An attempt record waits for company in the writer, but a write sent after it (here a
    /// redelivery of the same event) still commits after it: the delivery ends up pending again,
    /// not with the record's status written over the redelivery.
    #[tokio::test]
    async fn a_write_sent_after_a_waiting_attempt_record_commits_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), None).unwrap();
        let event = NewEvent {
            id: "evt_01JD0000000000000000000000".into(),
            action: "card.move".into(),
            received_at: 1_000,
            body: Bytes::from_static(b"{}"),
            idempotency_key: None,
            card_id: None,
            card_title: None,
            pipe_id: None,
            deliveries: vec![("dlv_1".into(), "sub_1".into())],
            subscriptions_version: 0,
        };
        assert_eq!(store.ingest(event.clone(), 0).await.unwrap(), IngestOutcome::Created);
        let record = AttemptRecord {
            delivery_id: "dlv_1".into(),
            event_id: event.id.clone(),
            subscription_id: "sub_1".into(),
            started_at: 2_000,
            duration_ms: 3,
            status_code: Some(200),
            error_kind: None,
            error: None,
            response_body: Vec::new(),
            response_truncated: false,
            request_headers: Default::default(),
            next_retry_at: None,
            new_status: DeliveryStatus::Succeeded,
            attempts_in_series: 1,
            replay_id: None,
        };
        let mut recorded = store.record_attempt(record);
        // Its first poll hands the record to the writer, which holds it for company.
        assert!(futures::poll!(&mut recorded).is_pending());
        let requeued = store.requeue_event(&event.id, None, false, 3_000, None).await.unwrap();
        assert_eq!(requeued.len(), 1);
        recorded.await.unwrap();
        let detail = store.event_detail(&event.id).await.unwrap().unwrap();
        assert_eq!(detail.deliveries[0].summary.status, DeliveryStatus::Pending);
        assert_eq!(detail.deliveries[0].attempts.len(), 1, "the record is kept too");
        assert_eq!(store.pending_deliveries().await.unwrap().len(), 1);
    }

    /// Writes a database, in a temporary directory of its own, as hookwatch's schema `version` left
    /// it, holding `rows`.
    fn old_database(version: usize, rows: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("v{version}.db"));
        let conn = Connection::open(&path).unwrap();
        for step in &MIGRATIONS[..version] {
            conn.execute_batch(step.sql).unwrap();
        }
        conn.execute_batch(&format!("PRAGMA user_version = {version}; {rows}")).unwrap();
        (dir, path)
    }

    /// A cached statement runs as prepared, whatever it is bound to next: the statement that
    /// closes a finished event (run for every finished delivery) is never parsed again.
    #[test]
    fn cached_statements_are_not_prepared_again_for_each_binding() {
        let (_dir, path) = old_database(SCHEMA_VERSION as usize, "");
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

    fn assert_current_schema(path: &Path) {
        let conn = Connection::open(path).unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
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
    }
}
