//! SQLite store: WAL, `synchronous=FULL`, one writer thread that commits jobs in groups so that
//! many concurrent ingests share one fsync (`writer.rs`; its checkpoints copied beside it,
//! `checkpoint.rs`), and a small pool of reader connections (`connection.rs`). A never-attempted
//! delivery lives in its event's fan-out list until its first change (`fanout.rs`). The payload
//! search index lives in a file beside it (`search.rs`). Here: opening the store, and which path
//! (a read, or a write in which order) each `Store` method takes to the SQL of `ingest.rs`,
//! `changes.rs`, `retention.rs` and `reads.rs`.

mod changes;
mod checkpoint;
mod connection;
mod fanout;
mod ingest;
mod reads;
mod retention;
mod schema;
mod search;
mod writer;

#[cfg(test)]
pub(super) use schema::MIGRATIONS;

use super::{
    Activity, AttemptCount, AttemptRecord, EventToSend, IngestOutcome, KeyClaim, KeyHolder, NewEvent, OnRecorded,
    PendingDelivery, Store, StoredAnswer, first_event_id_at, query,
};
use crate::domain::error::{Error, Result};
use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{Alert, AuditEntry, EventDetail, EventSummary, Millis, Replay, Subscription};
use crate::domain::page::Window;
use crate::domain::query::EventQuery;
use checkpoint::Checkpoints;
use connection::Readers;
use rusqlite::Connection;
use search::SearchIndex;
use std::path::Path;
use std::sync::Arc;
use writer::{Order, Writer};

pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
    search: SearchIndex,
}

impl SqliteStore {
    /// Opens (or creates) the database. With `max_bytes`, writes beyond that size fail as
    /// "database is full" (and ingest answers 503) instead of filling the disk.
    pub fn open(path: &Path, max_bytes: Option<u64>) -> Result<Self> {
        connection::keep_private(path)?;
        let mut conn = connection::open(path)?;
        if let Some(max) = max_bytes {
            let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
            let pages = (max / u64::try_from(page_size).unwrap_or(1).max(1)).max(1);
            conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        }
        schema::migrate(&mut conn, path)?;
        connection::keep_private(&search::path_of(path))?;
        let search = SearchIndex::open(path, connection::open)?;
        let checkpoints = Checkpoints::start(&mut conn, connection::open(path)?)?;
        let writer = Writer::start(conn, checkpoints)?;
        Ok(SqliteStore { writer, readers: Readers::new(path), search })
    }

    /// A write in turn: it commits after every write sent before it.
    async fn write<T: Send + 'static>(&self, work: impl Fn(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        self.writer.write(Order::InTurn, work).await
    }

    async fn read<T: Send + 'static>(&self, work: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        self.readers.read(work).await
    }
}

/// A value as the JSON text a row keeps it in.
fn json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Storage(e.to_string()))
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn ingest(&self, event: NewEvent, idempotency_since: Millis) -> Result<IngestOutcome> {
        self.writer.write(Order::Ahead, move |conn| ingest::ingest(conn, &event, idempotency_since)).await
    }

    async fn record_attempt(&self, rec: AttemptRecord) -> Result<()> {
        self.writer.write(Order::Batched, move |conn| ingest::record(conn, &rec)).await
    }

    fn record_attempt_then(self: Arc<Self>, rec: AttemptRecord, recorded: OnRecorded) {
        self.writer.then(Order::Batched, move |conn| ingest::record(conn, &rec), recorded);
    }

    async fn settle(&self) -> Result<()> {
        self.write(|_| Ok(())).await
    }

    async fn save_subscription(&self, sub: &Subscription, audit: &AuditEntry) -> Result<i64> {
        let (id, body, audit) = (sub.id.clone(), json(sub)?, audit.clone());
        self.write(move |conn| changes::save_subscription(conn, &id, &body, &audit)).await
    }

    async fn subscriptions_version(&self) -> Result<i64> {
        self.read(reads::subscriptions_version).await
    }

    async fn delete_subscription(&self, id: &SubscriptionId, audit: &AuditEntry) -> Result<i64> {
        let (id, audit) = (id.clone(), audit.clone());
        self.write(move |conn| changes::delete_subscription(conn, &id, &audit)).await
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        self.read(reads::subscriptions).await
    }

    async fn pending_deliveries(&self) -> Result<Vec<PendingDelivery>> {
        self.read(reads::pending_deliveries).await
    }

    async fn event_bodies(&self, event_ids: Vec<EventId>) -> Result<Vec<EventToSend>> {
        let ids = json(&event_ids)?;
        self.read(move |conn| reads::event_bodies(conn, &ids)).await
    }

    async fn list_events(&self, q: EventQuery) -> Result<Vec<EventSummary>> {
        self.read(move |conn| reads::list_events(conn, &q)).await
    }

    async fn activity_since(&self, since: Millis, limit: u32) -> Result<Activity> {
        self.read(move |conn| reads::activity_since(conn, since, limit)).await
    }

    async fn event_detail(&self, event_id: &EventId) -> Result<Option<EventDetail>> {
        let id = event_id.clone();
        self.read(move |conn| reads::event_detail(conn, &id)).await
    }

    async fn count_events(&self) -> Result<u64> {
        self.read(reads::count_events).await
    }

    async fn requeue_event(
        &self,
        event_id: &EventId,
        subscription_id: Option<&SubscriptionId>,
        failed_only: bool,
        now: Millis,
        audit: Option<&AuditEntry>,
    ) -> Result<Vec<PendingDelivery>> {
        let (event_id, sub, audit) = (event_id.clone(), subscription_id.cloned(), audit.cloned());
        self.write(move |conn| changes::requeue_event(conn, &event_id, sub.as_ref(), failed_only, now, audit.as_ref()))
            .await
    }

    async fn requeue_failed(
        &self,
        subscription_id: &SubscriptionId,
        since: Millis,
        now: Millis,
        audit: &AuditEntry,
    ) -> Result<Vec<PendingDelivery>> {
        let (sub, audit) = (subscription_id.clone(), audit.clone());
        self.write(move |conn| changes::requeue_failed(conn, &sub, since, now, &audit)).await
    }

    async fn index_payloads(&self) -> Result<Option<u64>> {
        self.search.index_batch().await.map(Some)
    }

    async fn prune(&self, before: Millis) -> Result<u64> {
        // Ids are ULIDs, which begin with their time: every event received before `before` sorts
        // below the smallest id of that millisecond.
        let oldest_kept = first_event_id_at(before);
        let pruned = query::in_slices(|| {
            let oldest_kept = oldest_kept.clone();
            async move {
                let rowids = self.write(move |conn| retention::prune_slice(conn, &oldest_kept, before)).await?;
                let pruned = rowids.len() as u64;
                self.search.forget(rowids).await?;
                Ok(pruned)
            }
        })
        .await?;
        let oldest_replay = super::first_replay_id_at(before);
        self.write(move |conn| retention::prune_logs(conn, before, &oldest_replay)).await?;
        Ok(pruned)
    }

    async fn probe_write(&self) -> Result<()> {
        self.write(changes::probe_write).await
    }

    async fn save_alert(&self, alert: &Alert) -> Result<()> {
        let (at, body) = (alert.at, json(alert)?);
        self.write(move |conn| changes::save_alert(conn, at, &body)).await
    }

    async fn recent_alerts(&self, limit: u32) -> Result<Vec<Alert>> {
        self.read(move |conn| reads::recent_alerts(conn, limit)).await
    }

    async fn save_replay(&self, replay: &Replay, audit: Option<&AuditEntry>) -> Result<()> {
        let (id, body, audit) = (replay.id.clone(), json(replay)?, audit.cloned());
        self.write(move |conn| changes::save_replay(conn, &id, &body, audit.as_ref())).await
    }

    async fn replays(&self) -> Result<Vec<Replay>> {
        self.read(reads::replays).await
    }

    async fn replays_window(&self, window: Window<String>) -> Result<Vec<Replay>> {
        self.read(move |conn| reads::replays_window(conn, &window)).await
    }

    async fn save_audit(&self, audit: &AuditEntry) -> Result<()> {
        let audit = audit.clone();
        self.write(move |conn| changes::insert_audit(conn, &audit)).await
    }

    async fn audit_window(&self, window: Window<i64>) -> Result<Vec<(i64, AuditEntry)>> {
        self.read(move |conn| reads::audit_window(conn, &window)).await
    }

    async fn claim_key(&self, claim: &KeyClaim) -> Result<KeyHolder> {
        let claim = claim.clone();
        self.write(move |conn| changes::claim_key(conn, &claim)).await
    }

    async fn keep_answer(&self, scope: &str, key: &str, fingerprint: &str, answer: &StoredAnswer) -> Result<()> {
        let (scope, key, fingerprint, answer) =
            (scope.to_string(), key.to_string(), fingerprint.to_string(), answer.clone());
        self.write(move |conn| changes::keep_answer(conn, &scope, &key, &fingerprint, &answer)).await
    }

    async fn release_key(&self, scope: &str, key: &str, fingerprint: &str) -> Result<()> {
        let (scope, key, fingerprint) = (scope.to_string(), key.to_string(), fingerprint.to_string());
        self.write(move |conn| {
            reads::run(conn, query::RELEASE_KEY, rusqlite::params![scope, key, fingerprint]).map(drop)
        })
        .await
    }

    async fn prune_keys(&self, before: Millis) -> Result<u64> {
        self.write(move |conn| reads::run(conn, query::PRUNE_KEYS, rusqlite::params![before]).map(|n| n as u64)).await
    }

    async fn attempt_counts(&self, since: Millis, by_second_from: Millis) -> Result<Vec<AttemptCount>> {
        self.read(move |conn| reads::attempt_counts(conn, since, by_second_from)).await
    }
}
