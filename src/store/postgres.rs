//! PostgreSQL store, shared by several hookwatch nodes. Each node ingests on its own; a delivery
//! belongs to the node that leased it (`leased_by`) for as long as that node's heartbeat is fresh,
//! and a node whose heartbeat stops has its unfinished deliveries claimed by the others
//! (`FOR UPDATE SKIP LOCKED`, so two nodes never claim the same row).

use super::batch::Batcher;
use super::migrate::{self, Migration};
use super::query::{self, Target};
use super::rows::{
    self, ATTEMPT_COLUMNS, ATTEMPT_NOTICE_COLUMNS, DELIVERY_COLUMNS, EVENT_COLUMNS, EVENT_DETAIL_COLUMNS,
    PENDING_COLUMNS,
};
use super::*;
use crate::domain::error::Error;
use crate::domain::model::{DeliveryDetail, DeliverySummary};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

/// Connections per node: the group-commit statements, reads and the cluster loop.
const POOL_SIZE: usize = 24;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most rows of each kind one activity read returns (the caller reads again when `more`).
const ACTIVITY_EVENTS: usize = 5000;
const ACTIVITY_ATTEMPTS: usize = 20_000;
const ACTIVITY_ALERTS: usize = 1000;

/// The database's clock in milliseconds: liveness is judged on one clock for every node.
const DB_NOW: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// The schema, step by step; `hookwatch_migrations` records the steps applied.
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: r#"
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    seq BIGSERIAL UNIQUE,
    action TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body BYTEA NOT NULL,
    idempotency_key TEXT,
    card_id TEXT,
    pipe_id TEXT,
    node_id TEXT NOT NULL,
    recorded_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);
CREATE INDEX events_idempotency ON events(idempotency_key, received_at) WHERE idempotency_key IS NOT NULL;
CREATE INDEX events_received ON events(received_at);
CREATE INDEX events_action ON events(action, id);
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_status_code INTEGER,
    last_error TEXT,
    updated_at BIGINT NOT NULL,
    leased_by TEXT,
    UNIQUE (event_id, subscription_id)
);
CREATE INDEX deliveries_unfinished ON deliveries(next_attempt_at) WHERE status IN ('pending', 'retrying');
CREATE INDEX deliveries_subscription ON deliveries(subscription_id, status);
CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    node_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status_code INTEGER,
    error_kind TEXT,
    error TEXT,
    response_body BYTEA NOT NULL,
    response_truncated BOOLEAN NOT NULL,
    next_retry_at BIGINT,
    request_headers TEXT NOT NULL,
    recorded_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);
CREATE INDEX attempts_delivery ON attempts(delivery_id);
CREATE INDEX attempts_started ON attempts(started_at);
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    in_flight BIGINT NOT NULL DEFAULT 0,
    backlog BIGINT NOT NULL DEFAULT 0
);
"#,
    },
    Migration {
        version: 2,
        sql: r#"
CREATE TABLE alerts (
    id BIGSERIAL PRIMARY KEY,
    node_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL,
    recorded_at BIGINT NOT NULL DEFAULT (extract(epoch from clock_timestamp()) * 1000)::bigint
);
CREATE INDEX alerts_at ON alerts(at);
"#,
    },
    Migration {
        version: 3,
        sql: r#"
CREATE TABLE subscription_version (version BIGINT NOT NULL);
INSERT INTO subscription_version VALUES (0);
"#,
    },
    Migration {
        version: 4,
        sql: r#"
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    node_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
"#,
    },
    Migration {
        version: 5,
        sql: r#"
CREATE TABLE replays (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
"#,
    },
    Migration {
        version: 6,
        // Keyed by lease holder: a claim seeks the unleased rows and those of silent nodes,
        // instead of walking every unfinished delivery the live nodes hold.
        sql: r#"
DROP INDEX deliveries_unfinished;
CREATE INDEX deliveries_unfinished ON deliveries(leased_by, next_attempt_at) WHERE status IN ('pending', 'retrying');
"#,
    },
    Migration {
        version: 7,
        // The card's title, as the stream shows it (events from before have none).
        sql: "ALTER TABLE events ADD COLUMN card_title TEXT;",
    },
    Migration {
        version: 8,
        // The replay an attempt was made for, so the inspector can say so.
        sql: "ALTER TABLE attempts ADD COLUMN replay_id TEXT;",
    },
];

/// How PostgreSQL searches payloads: a scan of the bodies (narrowed by the query's other
/// conditions), words as substrings and fields through `jsonb`, case-insensitively. A body with a
/// `\u0000` escape (stored before ingest refused them) cannot become `jsonb`: it is left out of
/// field matches rather than failing the whole search (CASE keeps the cast from running on it).
const PAYLOAD_SEARCH: query::PayloadSearch = query::PayloadSearch {
    word: |indexed, raw| {
        format!(
            "(strpos(lower(convert_from(e.body, 'UTF8')), lower({indexed})) > 0 OR strpos(lower(e.id), lower({raw})) > 0)"
        )
    },
    word_arg: |w| w.to_string(),
    field: |path, value| {
        format!(
            "CASE WHEN strpos(convert_from(e.body, 'UTF8'), '\\u0000') > 0 THEN false \
             ELSE strpos(lower(convert_from(e.body, 'UTF8')::jsonb #>> CAST(CAST({path} AS TEXT) AS TEXT[])), lower({value})) > 0 END"
        )
    },
    path_arg: |segments| format!("{{{}}}", segments.join(",")),
};

/// Keeps an audit entry, in the caller's transaction (or alone).
async fn insert_audit(client: &impl GenericClient, node_id: &str, audit: &AuditEntry) -> Result<()> {
    let body = serde_json::to_string(audit).map_err(|e| Error::Storage(e.to_string()))?;
    client.execute("INSERT INTO audit (node_id, at, body) VALUES ($1, $2, $3)", &[&node_id, &audit.at, &body]).await?;
    Ok(())
}

/// The channel a subscription change notifies, so the other nodes follow it at once.
pub const SUBSCRIPTIONS_CHANNEL: &str = "hookwatch_subscriptions";

/// A subscription change's last step: a new version, announced to the other nodes at commit.
async fn bump_subscriptions_version(tx: &deadpool_postgres::Transaction<'_>) -> Result<i64> {
    let version: i64 =
        tx.query_one("UPDATE subscription_version SET version = version + 1 RETURNING version", &[]).await?.get(0);
    tx.execute("SELECT pg_notify($1, $2)", &[&SUBSCRIPTIONS_CHANNEL, &version.to_string()]).await?;
    Ok(version)
}

/// Serialises migrations between nodes starting at once (any constant shared by all nodes).
const MIGRATION_LOCK: i64 = 0x686f_6f6b_7761_7463;

pub struct PostgresStore {
    pool: Pool,
    node_id: String,
    /// Ingests without an idempotency key, committed in groups.
    events: Batcher<NewEvent, IngestOutcome>,
    /// Attempt records, committed in groups.
    attempts: Batcher<AttemptRecord>,
    /// Announcements of subscription changes (`SUBSCRIPTIONS_CHANNEL`).
    subscription_changes: tokio::sync::watch::Receiver<u64>,
}

/// Most items one group-commit statement carries.
const BATCH: usize = 256;
/// Group-commit statements in flight at once, per kind.
const PARALLEL_BATCHES: usize = 4;

/// The error with its root cause: the server's own message, or e.g. "Connection refused".
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Storage(format!("PostgreSQL: {}", describe(&e)))
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        let cause = match &e {
            deadpool_postgres::PoolError::Backend(e) => describe(e),
            other => other.to_string(),
        };
        Error::Storage(format!("cannot reach PostgreSQL: {cause}"))
    }
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
        let subscription_changes = super::listen::listen(config.clone(), SUBSCRIPTIONS_CHANNEL);
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(CONNECT_TIMEOUT))
            .wait_timeout(Some(CONNECT_TIMEOUT * 2))
            .build()
            .map_err(|e| Error::Storage(format!("cannot set up the PostgreSQL pool: {e}")))?;
        let (events_pool, events_node) = (pool.clone(), node_id.clone());
        let events = Batcher::start(BATCH, PARALLEL_BATCHES, move |batch| {
            insert_events(events_pool.clone(), events_node.clone(), batch)
        });
        let (attempts_pool, attempts_node) = (pool.clone(), node_id.clone());
        let attempts = Batcher::start(BATCH, PARALLEL_BATCHES, move |batch| {
            insert_attempts(attempts_pool.clone(), attempts_node.clone(), batch)
        });
        let store = PostgresStore { pool, node_id, events, attempts, subscription_changes };
        store.migrate().await.map_err(|e| {
            Error::Storage(format!(
                "{} (database {}; check that PostgreSQL runs there and that the user and database exist)",
                e.into_reason(),
                redact(url)
            ))
        })?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute(
            "SET LOCAL client_min_messages = warning;
             CREATE TABLE IF NOT EXISTS hookwatch_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let applied: i32 =
            tx.query_one("SELECT COALESCE(MAX(version), 0) FROM hookwatch_migrations", &[]).await?.get(0);
        for step in migrate::pending(MIGRATIONS, applied.into(), "the database")? {
            tx.batch_execute(step.sql).await?;
            let version = step.version as i32;
            tx.execute(
                "INSERT INTO hookwatch_migrations VALUES ($1, $2)",
                &[&version, &crate::domain::model::now_ms()],
            )
            .await?;
            tracing::info!("PostgreSQL schema migrated to version {version}");
        }
        tx.commit().await?;
        Ok(())
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

/// Every row's mapping by `map`.
fn mapped<T>(rows: &[tokio_postgres::Row], map: fn(&tokio_postgres::Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(map).collect()
}

/// A redelivery's target row: (delivery id, event id, subscription id).
fn target(r: &tokio_postgres::Row) -> Result<Target> {
    Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
}

async fn deliveries_of(
    client: &deadpool_postgres::Client,
    event_ids: &[String],
) -> Result<Vec<(String, DeliverySummary)>> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS}, event_id FROM deliveries WHERE event_id = ANY($1) ORDER BY subscription_id"
        ))
        .await?;
    let found = client.query(&stmt, &[&event_ids]).await?;
    found.iter().map(|r| Ok((r.try_get(7)?, rows::delivery_summary(r)?))).collect()
}

/// Attaches each event's deliveries (one query for the whole page).
async fn with_deliveries(
    client: &deadpool_postgres::Client,
    mut events: Vec<EventSummary>,
) -> Result<Vec<EventSummary>> {
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    let mut by_event: std::collections::HashMap<String, Vec<DeliverySummary>> = Default::default();
    for (event_id, d) in deliveries_of(client, &ids).await? {
        by_event.entry(event_id).or_default().push(d);
    }
    for e in &mut events {
        e.deliveries = by_event.remove(&e.id).unwrap_or_default();
    }
    Ok(events)
}

/// Puts the given deliveries back to `pending` at `now`, leased by this node, with a fresh series
/// (giving a delivery its row if it had none).
async fn requeue(
    tx: &deadpool_postgres::Transaction<'_>,
    targets: Vec<Target>,
    now: Millis,
    node_id: &str,
) -> Result<Vec<PendingDelivery>> {
    let (mut ids, mut events, mut subs) = (Vec::new(), Vec::new(), Vec::new());
    for (id, event, sub) in targets {
        ids.push(id);
        events.push(event);
        subs.push(sub);
    }
    let found = tx
        .query(
            &format!(
                "INSERT INTO deliveries (id, event_id, subscription_id, status, attempts, next_attempt_at, updated_at,
                                         leased_by)
                 SELECT i, e, s, 'pending', 0, $4, $4, $5 FROM unnest($1::text[], $2::text[], $3::text[]) AS u(i, e, s)
                 ON CONFLICT (id) DO UPDATE SET status = 'pending', attempts = 0, next_attempt_at = $4,
                        updated_at = $4, leased_by = $5
                 RETURNING {PENDING_COLUMNS}"
            ),
            &[&ids, &events, &subs, &now, &node_id],
        )
        .await?;
    let mut out = mapped(&found, rows::pending_delivery)?;
    out.sort_by(|a, b| (&a.event_id, &a.id).cmp(&(&b.event_id, &b.id)));
    Ok(out)
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

/// Writes the events matched against the current subscriptions; the others are answered stale.
async fn insert_events(pool: Pool, node_id: String, events: Vec<NewEvent>) -> Result<Vec<IngestOutcome>> {
    let client = pool.get().await?;
    let batch: Vec<&NewEvent> = events.iter().collect();
    let written = write_events(&client, &node_id, &batch).await?;
    if written.len() < events.len() {
        tracing::debug!("{} events matched against an old subscriptions version", events.len() - written.len());
    }
    Ok(events
        .iter()
        .map(|e| if written.contains(&e.id) { IngestOutcome::Created } else { IngestOutcome::StaleSubscriptions })
        .collect())
}

/// Events and their deliveries in one statement (one round trip and one commit for the lot),
/// fenced by the subscriptions version: only events matched against the current version are
/// written, and their ids come back. The version row is read `FOR SHARE`, so a subscription change
/// waits for this statement's commit, and a change committed while the statement waited is the
/// version it compares with (READ COMMITTED returns the newest row a locking read waited for).
async fn write_events(
    client: &impl GenericClient,
    node_id: &str,
    events: &[&NewEvent],
) -> Result<std::collections::HashSet<String>> {
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    let received: Vec<i64> = events.iter().map(|e| e.received_at).collect();
    let bodies: Vec<&[u8]> = events.iter().map(|e| &e.body[..]).collect();
    let keys: Vec<Option<&str>> = events.iter().map(|e| e.idempotency_key.as_deref()).collect();
    let cards: Vec<Option<&str>> = events.iter().map(|e| e.card_id.as_deref()).collect();
    let pipes: Vec<Option<&str>> = events.iter().map(|e| e.pipe_id.as_deref()).collect();
    let titles: Vec<Option<&str>> = events.iter().map(|e| e.card_title.as_deref()).collect();
    let versions: Vec<i64> = events.iter().map(|e| e.subscriptions_version).collect();
    let (mut d_ids, mut d_events, mut d_subs, mut d_at) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for e in events {
        for (delivery, sub) in &e.deliveries {
            d_ids.push(delivery.as_str());
            d_events.push(e.id.as_str());
            d_subs.push(sub.as_str());
            d_at.push(e.received_at);
        }
    }
    let stmt = client
        .prepare_cached(
            "WITH v AS (SELECT version FROM subscription_version FOR SHARE),
             e AS (
                INSERT INTO events (id, action, received_at, body, idempotency_key, card_id, pipe_id, node_id,
                                    card_title)
                SELECT i, a, r, b, k, c, p, $8, ti
                FROM unnest($1::text[], $2::text[], $3::int8[], $4::bytea[], $5::text[], $6::text[], $7::text[],
                            $13::int8[], $14::text[]) AS u(i, a, r, b, k, c, p, ver, ti)
                WHERE u.ver = (SELECT version FROM v)
                RETURNING id),
             d AS (
                INSERT INTO deliveries (id, event_id, subscription_id, status, attempts, next_attempt_at,
                                        updated_at, leased_by)
                SELECT d, ev, s, 'pending', 0, t, t, $8
                FROM unnest($9::text[], $10::text[], $11::text[], $12::int8[]) AS u(d, ev, s, t)
                WHERE u.ev IN (SELECT id FROM e))
             SELECT id FROM e",
        )
        .await?;
    let params: [&(dyn ToSql + Sync); 14] = [
        &ids, &actions, &received, &bodies, &keys, &cards, &pipes, &node_id, &d_ids, &d_events, &d_subs, &d_at,
        &versions, &titles,
    ];
    let found = client.query(&stmt, &params).await?;
    found.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// Attempts and the states they lead to, in one statement. A delivery attempted twice within one
/// batch takes the state of its later attempt.
async fn insert_attempts(pool: Pool, node_id: String, records: Vec<AttemptRecord>) -> Result<Vec<()>> {
    let client = pool.get().await?;
    let headers: Vec<String> =
        records.iter().map(|r| serde_json::to_string(&r.request_headers).unwrap_or_else(|_| "{}".into())).collect();
    let delivery: Vec<&str> = records.iter().map(|r| r.delivery_id.as_str()).collect();
    let subscription: Vec<&str> = records.iter().map(|r| r.subscription_id.as_str()).collect();
    let started: Vec<i64> = records.iter().map(|r| r.started_at).collect();
    let duration: Vec<i64> = records.iter().map(|r| r.duration_ms as i64).collect();
    let code: Vec<Option<i32>> = records.iter().map(|r| r.status_code.map(i32::from)).collect();
    let kind: Vec<Option<&str>> = records.iter().map(|r| r.error_kind.map(ErrorKind::as_str)).collect();
    let error: Vec<Option<&str>> = records.iter().map(|r| r.error.as_deref()).collect();
    let body: Vec<&[u8]> = records.iter().map(|r| r.response_body.as_slice()).collect();
    let truncated: Vec<bool> = records.iter().map(|r| r.response_truncated).collect();
    let next: Vec<Option<i64>> = records.iter().map(|r| r.next_retry_at).collect();
    let replay: Vec<Option<&str>> = records.iter().map(|r| r.replay_id.as_deref()).collect();
    let mut latest: std::collections::HashMap<&str, usize> = Default::default();
    for (i, r) in records.iter().enumerate() {
        latest.insert(r.delivery_id.as_str(), i);
    }
    let last: Vec<&AttemptRecord> = latest.values().map(|&i| &records[i]).collect();
    let u_id: Vec<&str> = last.iter().map(|r| r.delivery_id.as_str()).collect();
    let u_status: Vec<&str> = last.iter().map(|r| r.new_status.as_str()).collect();
    let u_attempts: Vec<i32> = last.iter().map(|r| r.attempts_in_series as i32).collect();
    let u_next: Vec<Option<i64>> = last.iter().map(|r| r.next_retry_at).collect();
    let u_code: Vec<Option<i32>> = last.iter().map(|r| r.status_code.map(i32::from)).collect();
    let u_error: Vec<Option<&str>> = last.iter().map(|r| r.error.as_deref()).collect();
    let u_at: Vec<i64> = last.iter().map(|r| r.started_at + r.duration_ms as i64).collect();
    let stmt = client
        .prepare_cached(
            "WITH a AS (
                INSERT INTO attempts (delivery_id, subscription_id, node_id, started_at, duration_ms, status_code,
                                      error_kind, error, response_body, response_truncated, next_retry_at,
                                      request_headers, replay_id)
                SELECT d, s, $1, st, du, c, k, er, b, tr, nx, h, rp
                FROM unnest($2::text[], $3::text[], $4::int8[], $5::int8[], $6::int4[], $7::text[], $8::text[],
                            $9::bytea[], $10::bool[], $11::int8[], $12::text[], $20::text[])
                     AS u(d, s, st, du, c, k, er, b, tr, nx, h, rp)
                -- A delivery pruned meanwhile must not fail the whole batch.
                WHERE EXISTS (SELECT 1 FROM deliveries WHERE id = u.d))
             UPDATE deliveries SET status = u.status, attempts = u.attempts, next_attempt_at = u.next,
                    last_status_code = u.code, last_error = u.error, updated_at = u.at
             FROM unnest($13::text[], $14::text[], $15::int4[], $16::int8[], $17::int4[], $18::text[], $19::int8[])
                  AS u(id, status, attempts, next, code, error, at)
             -- A delivery another node has taken over keeps the state that node gives it.
             WHERE deliveries.id = u.id AND deliveries.status != 'cancelled' AND deliveries.leased_by = $1",
        )
        .await?;
    let params: [&(dyn ToSql + Sync); 20] = [
        &node_id,
        &delivery,
        &subscription,
        &started,
        &duration,
        &code,
        &kind,
        &error,
        &body,
        &truncated,
        &next,
        &headers,
        &u_id,
        &u_status,
        &u_attempts,
        &u_next,
        &u_code,
        &u_error,
        &u_at,
        &replay,
    ];
    client.execute(&stmt, &params).await?;
    Ok(vec![(); records.len()])
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn ingest(&self, event: NewEvent, idempotency_since: Millis) -> Result<IngestOutcome> {
        let Some(key) = event.idempotency_key.clone() else {
            return self.events.submit(event).await;
        };
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Two nodes may receive the same key at once: the lock makes the check and insert atomic.
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key]).await?;
        let seen = tx
            .query_opt(
                "SELECT e.id, e.action, (SELECT COUNT(*) FROM deliveries d WHERE d.event_id = e.id), e.body = $3
                 FROM events e WHERE e.idempotency_key = $1 AND e.received_at >= $2 LIMIT 1",
                &[&key, &idempotency_since, &&event.body[..]],
            )
            .await?;
        if let Some(row) = seen {
            return Ok(IngestOutcome::Duplicate {
                id: row.try_get(0)?,
                action: row.try_get(1)?,
                deliveries: row.try_get::<_, i64>(2)? as u32,
                same_body: row.try_get(3)?,
            });
        }
        if write_events(&tx, &self.node_id, &[&event]).await?.is_empty() {
            return Ok(IngestOutcome::StaleSubscriptions);
        }
        tx.commit().await?;
        Ok(IngestOutcome::Created)
    }

    async fn record_attempt(&self, rec: AttemptRecord) -> Result<()> {
        self.attempts.submit(rec).await
    }

    async fn save_subscription(&self, sub: &Subscription, audit: &AuditEntry) -> Result<i64> {
        let body = serde_json::to_string(sub).map_err(|e| Error::Storage(e.to_string()))?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        insert_audit(&tx, &self.node_id, audit).await?;
        tx.execute(
            "INSERT INTO subscriptions (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            &[&sub.id, &body],
        )
        .await?;
        let version = bump_subscriptions_version(&tx).await?;
        tx.commit().await?;
        Ok(version)
    }

    async fn delete_subscription(&self, id: &str, audit: &AuditEntry) -> Result<i64> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        insert_audit(&tx, &self.node_id, audit).await?;
        tx.execute("DELETE FROM subscriptions WHERE id = $1", &[&id]).await?;
        tx.execute(
            "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL
             WHERE subscription_id = $1 AND status IN ('pending', 'retrying')",
            &[&id],
        )
        .await?;
        let version = bump_subscriptions_version(&tx).await?;
        tx.commit().await?;
        Ok(version)
    }

    async fn subscriptions_version(&self) -> Result<i64> {
        let client = self.pool.get().await?;
        Ok(client.query_one("SELECT version FROM subscription_version", &[]).await?.get(0))
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let client = self.pool.get().await?;
        let found = client.query("SELECT body FROM subscriptions ORDER BY id", &[]).await?;
        found
            .iter()
            .map(|r| {
                serde_json::from_str(r.try_get(0)?)
                    .map_err(|e| Error::Storage(format!("a stored subscription is unreadable: {e}")))
            })
            .collect()
    }

    async fn pending_deliveries(&self) -> Result<Vec<PendingDelivery>> {
        let client = self.pool.get().await?;
        let found = client
            .query(
                &format!(
                    "SELECT {PENDING_COLUMNS} FROM deliveries WHERE status IN ('pending', 'retrying')
                     ORDER BY event_id, id"
                ),
                &[],
            )
            .await?;
        mapped(&found, rows::pending_delivery)
    }

    async fn event_bodies(&self, event_ids: Vec<String>) -> Result<Vec<(String, Bytes)>> {
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached("SELECT id, body FROM events WHERE id = ANY($1)").await?;
        let rows = client.query(&stmt, &[&event_ids]).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, Bytes::from(r.try_get::<_, Vec<u8>>(1)?)))).collect()
    }

    async fn list_events(&self, q: EventQuery) -> Result<Vec<EventSummary>> {
        let list = query::event_list(&q, "deliveries", None, &PAYLOAD_SEARCH);
        let client = self.pool.get().await?;
        let stmt = client.prepare_cached(&list.sql).await?;
        let params: Vec<&(dyn ToSql + Sync)> = list.args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        let events = mapped(&client.query(&stmt, &params).await?, rows::event_summary)?;
        with_deliveries(&client, events).await
    }

    async fn event_detail(&self, event_id: &str) -> Result<Option<EventDetail>> {
        let client = self.pool.get().await?;
        let Some(row) = client
            .query_opt(&format!("SELECT {EVENT_DETAIL_COLUMNS} FROM events e WHERE e.id = $1"), &[&event_id])
            .await?
        else {
            return Ok(None);
        };
        let mut detail = rows::event_detail(&row)?;
        let attempts = client
            .query(
                &format!(
                    "SELECT {ATTEMPT_COLUMNS} FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                     WHERE d.event_id = $1 ORDER BY a.id"
                ),
                &[&event_id],
            )
            .await?;
        let mut attempts = mapped(&attempts, rows::attempt)?;
        for (_, summary) in deliveries_of(&client, &[event_id.to_string()]).await? {
            let (mine, rest): (Vec<Attempt>, Vec<Attempt>) =
                attempts.into_iter().partition(|a| a.delivery_id == summary.id);
            attempts = rest;
            detail.deliveries.push(DeliveryDetail { summary, attempts: mine });
        }
        Ok(Some(detail))
    }

    async fn count_events(&self) -> Result<u64> {
        let client = self.pool.get().await?;
        Ok(client.query_one("SELECT COUNT(*) FROM events", &[]).await?.try_get::<_, i64>(0)? as u64)
    }

    async fn requeue_event(
        &self,
        event_id: &str,
        subscription_id: Option<&str>,
        failed_only: bool,
        now: Millis,
        audit: Option<&AuditEntry>,
    ) -> Result<Vec<PendingDelivery>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if tx.query_opt("SELECT 1 FROM events WHERE id = $1", &[&event_id]).await?.is_none() {
            return Err(Error::NotFound(format!("no event {event_id}; list events with GET /v1/events")));
        }
        let found = tx.query(&query::redeliverable("deliveries"), &[&event_id, &subscription_id, &failed_only]).await?;
        let found = mapped(&found, target)?;
        let targets = query::with_missing_delivery(found, event_id, subscription_id, failed_only);
        if let Some(audit) = audit {
            insert_audit(&tx, &self.node_id, audit).await?;
        }
        let out = requeue(&tx, targets, now, &self.node_id).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn requeue_failed(
        &self,
        subscription_id: &str,
        since: Millis,
        now: Millis,
        audit: &AuditEntry,
    ) -> Result<Vec<PendingDelivery>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        insert_audit(&tx, &self.node_id, audit).await?;
        let found = tx.query(query::RECOVERABLE, &[&subscription_id, &since]).await?;
        let out = requeue(&tx, mapped(&found, target)?, now, &self.node_id).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn prune(&self, before: Millis) -> Result<u64> {
        let client = self.pool.get().await?;
        let sql = format!(
            "DELETE FROM events WHERE id IN (
                SELECT e.id FROM events e WHERE e.received_at < $1 AND NOT EXISTS (
                    SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'retrying'))
                LIMIT {})",
            query::PRUNE_SLICE
        );
        let pruned = query::in_slices(|| async { Ok(client.execute(&sql, &[&before]).await?) }).await?;
        client.execute("DELETE FROM alerts WHERE at < $1", &[&before]).await?;
        client.execute("DELETE FROM audit WHERE at < $1", &[&before]).await?;
        client
            .execute(
                "DELETE FROM replays WHERE id < $1 AND (body::json ->> 'state') NOT IN ('running', 'held')",
                &[&super::first_replay_id_at(before)],
            )
            .await?;
        Ok(pruned)
    }

    async fn activity_since(&self, since: Millis, limit: u32) -> Result<Activity> {
        let client = self.pool.get().await?;
        let fetch = limit as i64 + 1;
        let events = client
            .query(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM events e WHERE e.id >= $1 AND e.received_at > $2
                     ORDER BY e.id LIMIT $3"
                ),
                &[&first_event_id_at(since - 1), &since, &fetch],
            )
            .await?;
        let mut more = events.len() as i64 == fetch;
        let events = events.iter().take(limit as usize).map(rows::event_summary).collect::<Result<Vec<_>>>()?;
        let events = with_deliveries(&client, events).await?;
        let attempts = client
            .query(
                &format!(
                    "SELECT {ATTEMPT_NOTICE_COLUMNS} FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                     WHERE a.started_at > $1 AND a.started_at + a.duration_ms > $2
                     ORDER BY a.started_at + a.duration_ms, a.id LIMIT $3"
                ),
                &[&(since - LONGEST_ATTEMPT_MS), &since, &fetch],
            )
            .await?;
        more |= attempts.len() as i64 == fetch;
        let attempts = attempts.iter().take(limit as usize).map(rows::attempt_notice).collect::<Result<_>>()?;
        let alerts =
            client.query("SELECT body FROM alerts WHERE at > $1 ORDER BY at, id LIMIT $2", &[&since, &fetch]).await?;
        more |= alerts.len() as i64 == fetch;
        let alerts =
            alerts.iter().take(limit as usize).filter_map(|r| serde_json::from_str(r.try_get(0).ok()?).ok()).collect();
        Ok(Activity { events, attempts, alerts, cursor: ActivityCursor::default(), more })
    }

    async fn probe_write(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("UPDATE nodes SET heartbeat_at = heartbeat_at WHERE id = $1", &[&self.node_id]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn save_alert(&self, alert: &Alert) -> Result<()> {
        let body = serde_json::to_string(alert).map_err(|e| Error::Storage(e.to_string()))?;
        let client = self.pool.get().await?;
        client
            .execute("INSERT INTO alerts (node_id, at, body) VALUES ($1, $2, $3)", &[&self.node_id, &alert.at, &body])
            .await?;
        Ok(())
    }

    async fn recent_alerts(&self, limit: u32) -> Result<Vec<Alert>> {
        let client = self.pool.get().await?;
        let found = client.query("SELECT body FROM alerts ORDER BY id DESC LIMIT $1", &[&(limit as i64)]).await?;
        Ok(found.iter().rev().filter_map(|r| serde_json::from_str(r.try_get(0).ok()?).ok()).collect())
    }

    async fn save_replay(&self, replay: &Replay, audit: Option<&AuditEntry>) -> Result<()> {
        let body = serde_json::to_string(replay).map_err(|e| Error::Storage(e.to_string()))?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO replays (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            &[&replay.id, &body],
        )
        .await?;
        if let Some(audit) = audit {
            insert_audit(&tx, &self.node_id, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn replays(&self) -> Result<Vec<Replay>> {
        let client = self.pool.get().await?;
        let found = client.query("SELECT body FROM replays ORDER BY id DESC", &[]).await?;
        found
            .iter()
            .map(|r| {
                serde_json::from_str(r.try_get(0)?)
                    .map_err(|e| Error::Storage(format!("a stored replay is unreadable: {e}")))
            })
            .collect()
    }

    async fn save_audit(&self, audit: &AuditEntry) -> Result<()> {
        insert_audit(&self.pool.get().await?, &self.node_id, audit).await
    }

    async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        let client = self.pool.get().await?;
        let found = client.query("SELECT body FROM audit ORDER BY id DESC LIMIT $1", &[&i64::from(limit)]).await?;
        Ok(found.iter().filter_map(|r| serde_json::from_str(r.try_get(0).ok()?).ok()).collect())
    }

    async fn attempt_counts(&self, since: Millis, by_second_from: Millis) -> Result<Vec<AttemptCount>> {
        let client = self.pool.get().await?;
        mapped(&client.query(rows::ATTEMPT_COUNTS, &[&since, &by_second_from]).await?, rows::attempt_count)
    }

    fn shared(&self) -> Option<&dyn SharedStore> {
        Some(self)
    }
}

#[async_trait::async_trait]
impl SharedStore for PostgresStore {
    async fn heartbeat(&self, node: &NodeStatus) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                &format!(
                    "INSERT INTO nodes (id, address, started_at, heartbeat_at, in_flight, backlog)
                     VALUES ($1, $2, $3, {DB_NOW}, $4, $5)
                     ON CONFLICT (id) DO UPDATE SET address = $2, heartbeat_at = {DB_NOW}, in_flight = $4, backlog = $5"
                ),
                &[&self.node_id, &node.address, &node.started_at, &(node.in_flight as i64), &(node.backlog as i64)],
            )
            .await?;
        Ok(())
    }

    async fn claim(
        &self,
        limit: u32,
        due_by: Millis,
        lease: Duration,
        include_own: bool,
    ) -> Result<Vec<PendingDelivery>> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(&format!(
                // Two seeks by `deliveries_unfinished` (lease holder, due time): the unleased rows,
                // and, node by node, those of the nodes whose leases ended (or this node's own, with
                // `$4`). A lease whose node row is gone is released by `forget_nodes`. Each CTE runs
                // once: an `IN (subquery)` may be rescanned and lock more than `LIMIT`.
                "WITH ended AS (
                    SELECT n.id FROM nodes n
                    WHERE (n.id = $1 AND $4) OR (n.id <> $1 AND n.heartbeat_at < {DB_NOW} - $3)),
                 unleased AS MATERIALIZED (
                    SELECT d.id, d.next_attempt_at FROM deliveries d
                    WHERE d.leased_by IS NULL AND d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $2
                    -- By the index's own order: under `IS NULL` the planner does not see that
                    -- `next_attempt_at` alone is sorted, and sorted every unleased row first.
                    ORDER BY d.leased_by, d.next_attempt_at LIMIT $5
                    FOR UPDATE SKIP LOCKED),
                 taken_over AS MATERIALIZED (
                    SELECT t.id, t.next_attempt_at FROM ended e CROSS JOIN LATERAL (
                        SELECT d.id, d.next_attempt_at FROM deliveries d
                        WHERE d.leased_by = e.id AND d.status IN ('pending', 'retrying') AND d.next_attempt_at <= $2
                        ORDER BY d.next_attempt_at LIMIT $5
                        FOR UPDATE SKIP LOCKED) t),
                 picked AS (
                    SELECT id, next_attempt_at FROM unleased UNION ALL SELECT id, next_attempt_at FROM taken_over
                    ORDER BY next_attempt_at LIMIT $5)
                 UPDATE deliveries SET leased_by = $1 FROM picked WHERE deliveries.id = picked.id
                 RETURNING deliveries.id, deliveries.event_id, deliveries.subscription_id, deliveries.attempts,
                           deliveries.next_attempt_at"
            ))
            .await?;
        let lease_ms = lease.as_millis() as i64;
        let found = client.query(&stmt, &[&self.node_id, &due_by, &lease_ms, &include_own, &(limit as i64)]).await?;
        let mut out = found.iter().map(rows::pending_delivery).collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.event_id.cmp(&b.event_id));
        Ok(out)
    }

    async fn nodes(&self, silent_after: Duration, lease: Duration) -> Result<Vec<NodeInfo>> {
        let client = self.pool.get().await?;
        // A silent node's last report is stale: what it still holds is read, by the index keyed on
        // the lease holder, for the silent nodes only (the lateral read is skipped for the others).
        let found = client
            .query(
                &format!(
                    "SELECT n.id, n.address, n.started_at, n.heartbeat_at, n.in_flight, n.age,
                            CASE WHEN n.age > $1 THEN held.count ELSE n.backlog END,
                            CASE WHEN n.age > $1 THEN
                                GREATEST(n.heartbeat_at + $2, held.last_due, {DB_NOW}) - {DB_NOW} END
                     FROM (SELECT *, {DB_NOW} - heartbeat_at AS age FROM nodes) n
                     LEFT JOIN LATERAL (
                        SELECT COUNT(*) AS count, MAX(d.next_attempt_at) AS last_due FROM deliveries d
                        WHERE n.age > $1 AND d.leased_by = n.id AND d.status IN ('pending', 'retrying')) held ON true
                     ORDER BY n.started_at, n.id"
                ),
                &[&(silent_after.as_millis() as i64), &(lease.as_millis() as i64)],
            )
            .await?;
        found
            .iter()
            .map(|r| {
                let age = r.try_get::<_, i64>(5)?.max(0) as u64;
                Ok(NodeInfo {
                    id: r.try_get(0)?,
                    address: r.try_get(1)?,
                    started_at: r.try_get(2)?,
                    heartbeat_at: r.try_get(3)?,
                    in_flight: r.try_get::<_, i64>(4)? as u64,
                    heartbeat_age_ms: age,
                    alive: age <= silent_after.as_millis() as u64,
                    backlog: r.try_get::<_, i64>(6)? as u64,
                    takeover_in_ms: r.try_get::<_, Option<i64>>(7)?.map(|ms| ms.max(0) as u64),
                })
            })
            .collect()
    }

    async fn holds(&self, delivery_id: &str) -> Result<bool> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT 1 FROM deliveries WHERE id = $1 AND leased_by = $2 AND status IN ('pending', 'retrying')",
            )
            .await?;
        Ok(client.query_opt(&stmt, &[&delivery_id, &self.node_id]).await?.is_some())
    }

    async fn leave(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE deliveries SET leased_by = NULL WHERE leased_by = $1 AND status IN ('pending', 'retrying')",
            &[&self.node_id],
        )
        .await?;
        tx.execute("DELETE FROM nodes WHERE id = $1", &[&self.node_id]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn forget_nodes(&self, silent_for: Duration) -> Result<u64> {
        let client = self.pool.get().await?;
        let silent_ms = silent_for.as_millis() as i64;
        let forgotten = client
            .execute(
                &format!(
                    "DELETE FROM nodes n WHERE n.heartbeat_at < {DB_NOW} - $1 AND NOT EXISTS (
                        SELECT 1 FROM deliveries d WHERE d.leased_by = n.id AND d.status IN ('pending', 'retrying'))"
                ),
                &[&silent_ms],
            )
            .await?;
        // A forgotten node that was still ingesting (its heartbeats failing, its writes not) leased
        // rows to a node no longer listed, which `claim` never looks for: they become unleased.
        client
            .execute(
                "UPDATE deliveries d SET leased_by = NULL
                 WHERE d.leased_by IS NOT NULL AND d.status IN ('pending', 'retrying')
                   AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = d.leased_by)",
                &[],
            )
            .await?;
        Ok(forgotten)
    }

    async fn activity(&self, cursor: ActivityCursor, settled_for: Duration) -> Result<Activity> {
        let client = self.pool.get().await?;
        let settled_ms = settled_for.as_millis() as i64;
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
                &[&cursor.event_seq, &settled, &self.node_id],
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
                &[&cursor.attempt_id, &settled, &self.node_id],
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
                &[&cursor.alert_id, &settled, &self.node_id],
            )
            .await?;
        more |= alerts.len() == ACTIVITY_ALERTS;
        let alert_id = next_position(&alerts, 0, ACTIVITY_ALERTS, settled)?;
        let alerts = alerts.iter().filter_map(|r| serde_json::from_str(r.try_get(1).ok()?).ok()).collect();
        Ok(Activity { events, attempts, alerts, cursor: ActivityCursor { event_seq, attempt_id, alert_id }, more })
    }

    fn subscription_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.subscription_changes.clone()
    }

    async fn activity_start(&self) -> Result<ActivityCursor> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), (SELECT COALESCE(MAX(id), 0) FROM attempts),
                        (SELECT COALESCE(MAX(id), 0) FROM alerts)",
                &[],
            )
            .await?;
        Ok(ActivityCursor { event_seq: row.try_get(0)?, attempt_id: row.try_get(1)?, alert_id: row.try_get(2)? })
    }
}
