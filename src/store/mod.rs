//! The storage interface. Everything durable goes through `Store`: SQLite is the embedded
//! implementation, PostgreSQL the one several nodes share (with `SharedStore` for leases).

mod migrate;
mod postgres;
mod query;
mod rows;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::domain::error::Result;
use crate::domain::ids::{DeliveryId, EventId, ReplayId, SubscriptionId};
use crate::domain::model::{Alert, AuditEntry, Replay};
use crate::domain::model::{DeliveryStatus, ErrorKind, EventDetail, EventSummary, Millis, Subscription};
use crate::domain::page::Window;
use crate::domain::query::EventQuery;
use crate::domain::trace::TraceContext;
use crate::wire::NodeInfo;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Where the data lives, as `--db` names it: the one place the backend is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An embedded SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL server that several nodes may share (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Database {
    pub fn parse(db: &str) -> Database {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            Database::Postgres(db.to_string())
        } else {
            Database::Sqlite(db.into())
        }
    }

    /// The SQLite file, if that is the backend.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Database::Sqlite(path) => Some(path),
            Database::Postgres(_) => None,
        }
    }
}

/// Opens the store `db` names: SQLite (with `max_bytes` as its size limit) or PostgreSQL, where
/// this node is `node_id`.
pub async fn open(db: &Database, node_id: &str, max_bytes: Option<u64>) -> Result<std::sync::Arc<dyn Store>> {
    Ok(match db {
        Database::Sqlite(path) => std::sync::Arc::new(SqliteStore::open(path, max_bytes)?),
        Database::Postgres(url) => std::sync::Arc::new(PostgresStore::connect(url, node_id.to_string()).await?),
    })
}

/// An event with its deliveries, written in one transaction.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// `evt_` and a ULID made at `received_at`: ids sort by time, which retention relies on.
    pub id: EventId,
    pub action: String,
    pub received_at: Millis,
    pub body: Bytes,
    pub idempotency_key: Option<String>,
    pub card_id: Option<String>,
    pub card_title: Option<String>,
    pub pipe_id: Option<String>,
    /// A new delivery for every matching subscription.
    pub deliveries: Vec<(DeliveryId, SubscriptionId)>,
    /// The subscriptions version `deliveries` were matched against: the store refuses the event
    /// (`StaleSubscriptions`) if a change has committed since, so no answered change is missed.
    pub subscriptions_version: i64,
    /// The trace context its deliveries continue (the ingest's span, or the `traceparent` it came
    /// with), kept so that an attempt after a restart still joins the trace.
    pub trace: Option<TraceContext>,
}

/// What a lane needs of a stored event to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventToSend {
    pub id: EventId,
    pub body: Bytes,
    pub action: String,
    pub trace: Option<TraceContext>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    Created,
    /// The idempotency key was seen within its window: nothing was created. `same_body`: the
    /// earlier event's body is this one's, byte for byte (else the key is being reused).
    Duplicate {
        id: EventId,
        action: String,
        deliveries: u32,
        same_body: bool,
    },
    /// The subscriptions changed since `NewEvent::subscriptions_version`: nothing was written;
    /// match the event again against the current subscriptions.
    StaleSubscriptions,
}

/// A delivery that still has to be attempted, as the dispatcher schedules it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub subscription_id: SubscriptionId,
    /// Attempts made in the current series (a redelivery starts a new series).
    pub attempts: u32,
    pub next_attempt_at: Millis,
}

/// The outcome of one attempt and the delivery state it leads to.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub delivery_id: DeliveryId,
    pub event_id: EventId,
    pub subscription_id: SubscriptionId,
    pub started_at: Millis,
    pub duration_ms: u64,
    pub status_code: Option<u16>,
    pub error_kind: Option<ErrorKind>,
    pub error: Option<String>,
    pub response_body: Vec<u8>,
    pub response_truncated: bool,
    pub request_headers: BTreeMap<String, String>,
    pub next_retry_at: Option<Millis>,
    pub new_status: DeliveryStatus,
    pub attempts_in_series: u32,
    /// The replay this attempt was made for, if a replay sent it.
    pub replay_id: Option<ReplayId>,
}

impl AttemptRecord {
    /// How long the attempt took, as stored: bounded by its timeout, so it always fits.
    pub fn duration(&self) -> Millis {
        Millis::try_from(self.duration_ms).unwrap_or(Millis::MAX)
    }

    /// The attempt as watchers see it.
    pub fn notice(&self) -> crate::domain::model::AttemptNotice {
        crate::domain::model::AttemptNotice {
            event_id: self.event_id.clone(),
            delivery_id: self.delivery_id.clone(),
            subscription_id: self.subscription_id.clone(),
            attempt: self.attempts_in_series,
            started_at: self.started_at,
            duration_ms: self.duration_ms,
            status_code: self.status_code,
            error_kind: self.error_kind,
            error: self.error.clone(),
            status: self.new_status,
            next_attempt_at: self.next_retry_at,
        }
    }
}

/// Attempts per subscription, time slot and response, to rebuild the success-rate windows and the
/// endpoint's history after a restart: the slot is a second from `attempt_counts`'s
/// `by_second_from`, a minute before it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptCount {
    pub subscription_id: SubscriptionId,
    /// When the slot starts.
    pub at: Millis,
    pub status_code: Option<u16>,
    pub error_kind: Option<crate::domain::model::ErrorKind>,
    pub attempts: u64,
    pub successes: u64,
}

/// A request sent with an `Idempotency-Key`, claiming the key before it runs.
#[derive(Debug, Clone)]
pub struct KeyClaim {
    /// Who sent it and to which route: a key names a request of one caller on one route.
    pub scope: String,
    pub key: String,
    /// What the request was (method, path, body), hashed: a repeat must be the same request.
    pub fingerprint: String,
    pub now: Millis,
    /// A key claimed before this is forgotten: claimed anew as if it were new.
    pub remembered_since: Millis,
    /// How long this claim holds while its request runs: a node that died running it does not
    /// hold the key longer.
    pub claimed_until: Millis,
}

/// An answer kept for a key, as a repeat of its request is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    /// The headers a client reads of it (content type, `ETag`, `Location`), lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Who holds a key after a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHolder {
    /// The claiming request: it runs now, then keeps its answer or lets the key go.
    Claimed,
    /// An earlier request: its fingerprint, and its answer once it has one (`None` while it runs).
    Held { fingerprint: String, answer: Option<StoredAnswer> },
}

/// What runs once an attempt record has committed, or failed to.
pub type OnRecorded = Box<dyn FnOnce(Result<()>) + Send>;

#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores an event and its deliveries durably; returns only after the commit reached disk.
    /// An idempotency key seen since `idempotency_since` yields `Duplicate` and writes nothing.
    async fn ingest(&self, event: NewEvent, idempotency_since: Millis) -> Result<IngestOutcome>;
    /// Records an attempt and moves its delivery to the next state.
    async fn record_attempt(&self, record: AttemptRecord) -> Result<()>;
    /// Records an attempt with nobody waiting on it: `recorded` gets the outcome once it is known.
    /// A store may call it on its own writer thread, so it must be quick and never block.
    fn record_attempt_then(self: Arc<Self>, record: AttemptRecord, recorded: OnRecorded) {
        tokio::spawn(async move { recorded(self.record_attempt(record).await) });
    }

    /// Saves a subscription, and `audit` in the same transaction; returns the subscriptions
    /// version the change created.
    async fn save_subscription(&self, sub: &Subscription, audit: &AuditEntry) -> Result<i64>;
    /// Deletes a subscription (and keeps `audit`, in the same transaction); its unfinished
    /// deliveries become `cancelled`. Returns the subscriptions version the change created.
    async fn delete_subscription(&self, id: &SubscriptionId, audit: &AuditEntry) -> Result<i64>;
    async fn subscriptions(&self) -> Result<Vec<Subscription>>;
    /// Counts subscription changes: every save and delete adds one, in the same transaction.
    async fn subscriptions_version(&self) -> Result<i64>;

    /// Every delivery not yet finished (pending or retrying, whichever node holds it), oldest event
    /// first: what a single node resumes after a restart (a node of a cluster claims its share instead).
    async fn pending_deliveries(&self) -> Result<Vec<PendingDelivery>>;
    /// Those of `event_ids` still stored, in any order, as a lane sends them: it reads what it is
    /// about to send in one query rather than one per attempt.
    async fn event_bodies(&self, event_ids: Vec<EventId>) -> Result<Vec<EventToSend>>;
    async fn list_events(&self, query: EventQuery) -> Result<Vec<EventSummary>>;
    async fn event_detail(&self, event_id: &EventId) -> Result<Option<EventDetail>>;
    async fn count_events(&self) -> Result<u64>;

    /// Starts a new attempt series now for the event's deliveries (or only the subscription's,
    /// creating that delivery if the event never had one); with `failed_only`, only for those
    /// that failed (retrying or dead). `audit` is kept in the same transaction (a replay audits
    /// itself once, not each event it redelivers).
    async fn requeue_event(
        &self,
        event_id: &EventId,
        subscription_id: Option<&SubscriptionId>,
        failed_only: bool,
        now: Millis,
        audit: Option<&AuditEntry>,
    ) -> Result<Vec<PendingDelivery>>;
    /// Starts a new attempt series now for the subscription's failed deliveries of events since
    /// `since`; `audit` is kept in the same transaction.
    async fn requeue_failed(
        &self,
        subscription_id: &SubscriptionId,
        since: Millis,
        now: Millis,
        audit: &AuditEntry,
    ) -> Result<Vec<PendingDelivery>>;

    /// Deletes finished events received before `before` with their deliveries and attempts, and
    /// the alerts and audit entries from before it.
    async fn prune(&self, before: Millis) -> Result<u64>;
    /// Brings the payload search index up to date with a batch of the newest events; how many it
    /// indexed (0: up to date), or `None` for a store that keeps no index (it searches otherwise).
    async fn index_payloads(&self) -> Result<Option<u64>> {
        Ok(None)
    }
    /// The attempts started from `since`, counted per minute and, from `by_second_from` (a minute's
    /// start), per second; oldest slot first. Read by the `started_at` index.
    async fn attempt_counts(&self, since: Millis, by_second_from: Millis) -> Result<Vec<AttemptCount>>;

    /// Events received, attempts finished and alerts raised after `since` by any node, each kind
    /// oldest first and at most `limit` of it (`more` says a limit cut it short): what a resuming
    /// stream client missed. Attempts carry their delivery's current state.
    async fn activity_since(&self, since: Millis, limit: u32) -> Result<Activity>;

    /// Keeps an alert, so the alert log survives restarts (and, shared, is the whole cluster's).
    async fn save_alert(&self, alert: &Alert) -> Result<()>;

    /// Commits a write that changes nothing, through the same path as every other write: whether
    /// this store can take new work now (`/readyz`). Fails too when the database is at its size
    /// limit, which a write that changes nothing would not find.
    async fn probe_write(&self) -> Result<()>;
    /// The newest `limit` alerts, oldest first.
    async fn recent_alerts(&self, limit: u32) -> Result<Vec<Alert>>;
    /// Saves a replay job (created, or its progress), with `audit` in the same transaction if given.
    async fn save_replay(&self, replay: &Replay, audit: Option<&AuditEntry>) -> Result<()>;
    /// Every replay job, newest first.
    async fn replays(&self) -> Result<Vec<Replay>>;
    /// A window of the replay jobs, a list newest first (by id, which begins with its time).
    async fn replays_window(&self, window: Window<String>) -> Result<Vec<Replay>>;
    /// Keeps an audit entry for what has no stored state of its own (a probe, a read of a secret).
    async fn save_audit(&self, audit: &AuditEntry) -> Result<()>;
    /// A window of the audit log (changes made by operators and by hookwatch), a list newest
    /// first: each entry with its position (its row's number, in the order entries were kept).
    async fn audit_window(&self, window: Window<i64>) -> Result<Vec<(i64, AuditEntry)>>;

    /// Claims a request's `Idempotency-Key` (atomically: of two claims at once, on any node, one
    /// wins), unless a request still holds it: one answered since `remembered_since`, or one
    /// whose claim has not lapsed.
    async fn claim_key(&self, claim: &KeyClaim) -> Result<KeyHolder>;
    /// Keeps the answer of the request that claimed the key (`fingerprint` its request's).
    async fn keep_answer(&self, scope: &str, key: &str, fingerprint: &str, answer: &StoredAnswer) -> Result<()>;
    /// Lets a claimed key go without an answer: a repeat of its request runs again.
    async fn release_key(&self, scope: &str, key: &str, fingerprint: &str) -> Result<()>;
    /// Forgets the keys claimed before `before`; how many.
    async fn prune_keys(&self, before: Millis) -> Result<u64>;

    /// Returns once every write sent before it has committed (SQLite's writer lets attempt records
    /// wait a few milliseconds to share a commit): what a node leaving calls last.
    async fn settle(&self) -> Result<()> {
        Ok(())
    }

    /// The cluster side of a store several nodes share; `None` for a store of one node.
    fn shared(&self) -> Option<&dyn SharedStore> {
        None
    }
}

/// What a node reports about itself with each heartbeat.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    pub address: String,
    pub started_at: Millis,
    pub in_flight: u64,
    pub backlog: u64,
}

/// How far a node has read the other nodes' activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivityCursor {
    pub event_seq: i64,
    pub attempt_id: i64,
    pub alert_id: i64,
}

/// The longest an attempt can take (the largest subscription timeout, plus its connect timeout):
/// an attempt that finished after a time started no earlier than this before it.
pub const LONGEST_ATTEMPT_MS: Millis = 130_000;

/// The smallest event id of a millisecond: ids are `evt_` and a ULID, which begins with its time.
pub fn first_event_id_at(at: Millis) -> String {
    first_id_at("evt", at)
}

/// The smallest id with `prefix` made at `at`: ids are ULIDs, which begin with their time.
fn first_id_at(prefix: &str, at: Millis) -> String {
    format!("{prefix}_{}", ulid::Ulid::from_parts(u64::try_from(at).unwrap_or(0), 0))
}

/// Below this id, a replay was created before `at` (retention prunes the finished ones).
fn first_replay_id_at(at: Millis) -> String {
    first_id_at("rpl", at)
}

/// Events received and attempts made by the other nodes since a cursor.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub events: Vec<EventSummary>,
    pub attempts: Vec<crate::domain::model::AttemptNotice>,
    pub alerts: Vec<Alert>,
    pub cursor: ActivityCursor,
    /// A limit was reached: more is waiting after `cursor`.
    pub more: bool,
}

/// Leases and liveness for several nodes on one database. A delivery belongs to the node that
/// leased it while that node's heartbeat is fresh; after that any node may claim it.
#[async_trait::async_trait]
pub trait SharedStore: Send + Sync {
    /// Records that this node is alive (renewing every lease it holds) and what it is doing.
    async fn heartbeat(&self, node: &NodeStatus) -> Result<()>;
    /// Leases up to `limit` unfinished deliveries due by `due_by` that no live node holds (with
    /// `include_own`, also those this node's id already holds: a restart under the same id).
    async fn claim(
        &self,
        limit: u32,
        due_by: Millis,
        lease: Duration,
        include_own: bool,
    ) -> Result<Vec<PendingDelivery>>;
    /// Every node listed. One not heard from for `silent_after` is not alive: its backlog is what
    /// is still leased to it, and its `takeover_in_ms` how long until the last of that may be
    /// claimed (when its `lease` ends, or a retry when it is due).
    async fn nodes(&self, silent_after: Duration, lease: Duration) -> Result<Vec<NodeInfo>>;
    /// Whether this node still holds the unfinished delivery: another node may have taken it over
    /// (an operator's redelivery there, or this node's lease ran out).
    async fn holds(&self, delivery_id: &DeliveryId) -> Result<bool>;
    /// A clean exit: releases this node's leases so the others take its work at once.
    async fn leave(&self) -> Result<()>;
    /// Removes nodes silent for `silent_for` that hold no unfinished delivery, and releases the
    /// leases of nodes no longer listed.
    async fn forget_nodes(&self, silent_for: Duration) -> Result<u64>;
    /// The other nodes' events, attempts and alerts after `cursor`, recorded at least `settled_for` ago.
    async fn activity(&self, cursor: ActivityCursor, settled_for: Duration) -> Result<Activity>;
    /// A cursor at the current end of the activity: a starting node does not replay history.
    async fn activity_start(&self) -> Result<ActivityCursor>;
    /// Changes whenever another node may have changed the subscriptions.
    fn subscription_changes(&self) -> tokio::sync::watch::Receiver<u64>;
}
