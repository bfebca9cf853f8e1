//! PostgreSQL store, shared by several hookwatch nodes. Each node ingests on its own, committing
//! in groups (`writer/`); a delivery belongs to the node that leased it (`leased_by`) for as long
//! as that node's heartbeat is fresh, and a node whose heartbeat stops has its unfinished
//! deliveries claimed by the others (`leases.rs`); a node follows the others' activity
//! (`activity.rs`) and their subscription changes (`listen.rs`). Here: connecting, and which
//! file's SQL each `Store` method runs (`changes.rs`, `retention.rs`, `reads.rs`).

mod activity;
mod changes;
mod errors;
mod leases;
mod listen;
mod reads;
mod retention;
mod schema;
mod writer;

#[cfg(test)]
pub(super) use schema::MIGRATIONS;

use super::{
    Activity, AttemptCount, AttemptRecord, EventToSend, IngestOutcome, KeyClaim, KeyHolder, NewEvent, PendingDelivery,
    SharedStore, Store, StoredAnswer, query,
};
use crate::domain::error::{Error, Result};
use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{Alert, AuditEntry, EventDetail, EventSummary, Millis, Replay, Subscription};
use crate::domain::page::Window;
use crate::domain::query::EventQuery;
use changes::SUBSCRIPTIONS_CHANNEL;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::time::Duration;
use tokio_postgres::NoTls;
use writer::Writer;

/// Connections per node: the group-commit statements, reads and the cluster loop.
const POOL_SIZE: usize = 24;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The database's clock in milliseconds: liveness is judged on one clock for every node.
const DB_NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

pub struct PostgresStore {
    pool: Pool,
    node_id: String,
    writer: Writer,
    /// Announcements of subscription changes (`SUBSCRIPTIONS_CHANNEL`).
    subscription_changes: tokio::sync::watch::Receiver<u64>,
}

impl PostgresStore {
    /// Connects, applies pending migrations and identifies this node as `node_id`.
    pub async fn connect(url: &str, node_id: String) -> Result<Self> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            Error::Storage(format!(
                "--db {:?} is not a PostgreSQL URL ({e}); write postgres://user@host/db",
                redact(url)
            ))
        })?;
        // An unreachable server must turn into an error a caller sees, never a request that hangs.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let subscription_changes = listen::listen(config.clone(), SUBSCRIPTIONS_CHANNEL);
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(CONNECT_TIMEOUT * 2))
            .build()
            .map_err(|e| Error::Storage(format!("cannot set up the PostgreSQL pool: {e}")))?;
        let writer = Writer::start(pool.clone(), node_id.clone());
        let database = format!("database {}", redact(url));
        let unreachable = |e: Error| {
            Error::Storage(format!(
                "{} ({database}; check that PostgreSQL runs there and that the user and database exist)",
                e.into_reason()
            ))
        };
        drop(pool.get().await.map_err(|e| unreachable(e.into()))?);
        schema::migrate(&pool, &database).await?;
        Ok(PostgresStore { pool, node_id, writer, subscription_changes })
    }
}

/// The URL without its password, for messages and logs.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn ingest(&self, event: NewEvent, idempotency_since: Millis) -> Result<IngestOutcome> {
        self.writer.ingest(event, idempotency_since).await
    }

    async fn record_attempt(&self, rec: AttemptRecord) -> Result<()> {
        self.writer.record(rec).await
    }

    async fn save_subscription(&self, sub: &Subscription, audit: &AuditEntry) -> Result<i64> {
        changes::save_subscription(&self.pool, &self.node_id, sub, audit).await
    }

    async fn delete_subscription(&self, id: &SubscriptionId, audit: &AuditEntry) -> Result<i64> {
        changes::delete_subscription(&self.pool, &self.node_id, id, audit).await
    }

    async fn subscriptions_version(&self) -> Result<i64> {
        reads::subscriptions_version(&self.pool).await
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        reads::subscriptions(&self.pool).await
    }

    async fn pending_deliveries(&self) -> Result<Vec<PendingDelivery>> {
        reads::pending_deliveries(&self.pool).await
    }

    async fn event_bodies(&self, event_ids: Vec<EventId>) -> Result<Vec<EventToSend>> {
        reads::event_bodies(&self.pool, event_ids).await
    }

    async fn list_events(&self, q: EventQuery) -> Result<Vec<EventSummary>> {
        reads::list_events(&self.pool, q).await
    }

    async fn event_detail(&self, event_id: &EventId) -> Result<Option<EventDetail>> {
        reads::event_detail(&self.pool, event_id).await
    }

    async fn count_events(&self) -> Result<u64> {
        reads::count_events(&self.pool).await
    }

    async fn requeue_event(
        &self,
        event_id: &EventId,
        subscription_id: Option<&SubscriptionId>,
        failed_only: bool,
        now: Millis,
        audit: Option<&AuditEntry>,
    ) -> Result<Vec<PendingDelivery>> {
        changes::requeue_event(&self.pool, &self.node_id, event_id, subscription_id, failed_only, now, audit).await
    }

    async fn requeue_failed(
        &self,
        subscription_id: &SubscriptionId,
        since: Millis,
        now: Millis,
        audit: &AuditEntry,
    ) -> Result<Vec<PendingDelivery>> {
        changes::requeue_failed(&self.pool, &self.node_id, subscription_id, since, now, audit).await
    }

    async fn prune(&self, before: Millis) -> Result<u64> {
        retention::prune(&self.pool, before).await
    }

    async fn activity_since(&self, since: Millis, limit: u32) -> Result<Activity> {
        reads::activity_since(&self.pool, since, limit).await
    }

    async fn probe_write(&self) -> Result<()> {
        changes::probe_write(&self.pool, &self.node_id).await
    }

    async fn save_alert(&self, alert: &Alert) -> Result<()> {
        changes::save_alert(&self.pool, &self.node_id, alert).await
    }

    async fn recent_alerts(&self, limit: u32) -> Result<Vec<Alert>> {
        reads::recent_alerts(&self.pool, limit).await
    }

    async fn save_replay(&self, replay: &Replay, audit: Option<&AuditEntry>) -> Result<()> {
        changes::save_replay(&self.pool, &self.node_id, replay, audit).await
    }

    async fn replays(&self) -> Result<Vec<Replay>> {
        reads::replays(&self.pool).await
    }

    async fn replays_window(&self, window: Window<String>) -> Result<Vec<Replay>> {
        reads::replays_window(&self.pool, &window).await
    }

    async fn save_audit(&self, audit: &AuditEntry) -> Result<()> {
        changes::insert_audit(&self.pool.get().await?, &self.node_id, audit).await
    }

    async fn audit_window(&self, window: Window<i64>) -> Result<Vec<(i64, AuditEntry)>> {
        reads::audit_window(&self.pool, &window).await
    }

    async fn claim_key(&self, claim: &KeyClaim) -> Result<KeyHolder> {
        changes::claim_key(&self.pool, claim).await
    }

    async fn keep_answer(&self, scope: &str, key: &str, fingerprint: &str, answer: &StoredAnswer) -> Result<()> {
        changes::keep_answer(&self.pool, scope, key, fingerprint, answer).await
    }

    async fn release_key(&self, scope: &str, key: &str, fingerprint: &str) -> Result<()> {
        self.pool.get().await?.execute(query::RELEASE_KEY, &[&scope, &key, &fingerprint]).await?;
        Ok(())
    }

    async fn prune_keys(&self, before: Millis) -> Result<u64> {
        Ok(self.pool.get().await?.execute(query::PRUNE_KEYS, &[&before]).await?)
    }

    async fn attempt_counts(&self, since: Millis, by_second_from: Millis) -> Result<Vec<AttemptCount>> {
        reads::attempt_counts(&self.pool, since, by_second_from).await
    }

    fn shared(&self) -> Option<&dyn SharedStore> {
        Some(self)
    }
}
