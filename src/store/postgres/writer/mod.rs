//! PostgreSQL's live path: ingests without an idempotency key and attempt records are gathered
//! into group-commit statements (`batch.rs`), several in flight at once; an ingest with a key is a
//! transaction of its own, which locks the key so two nodes never both take it.

mod batch;

use crate::domain::error::Result;
use crate::domain::ids::EventId;
use crate::domain::model::{ErrorKind, Millis};
use crate::store::{AttemptRecord, IngestOutcome, NewEvent};
use batch::Batcher;
use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::types::ToSql;

/// Most items one group-commit statement carries.
const BATCH: usize = 256;
/// Group-commit statements in flight at once, per kind.
const PARALLEL_BATCHES: usize = 4;

/// The group-commit statements of one node.
pub(super) struct Writer {
    pool: Pool,
    node_id: String,
    /// Ingests without an idempotency key, committed in groups.
    events: Batcher<NewEvent, IngestOutcome>,
    /// Attempt records, committed in groups.
    attempts: Batcher<AttemptRecord>,
}

impl Writer {
    pub(super) fn start(pool: Pool, node_id: String) -> Self {
        let (events_pool, events_node) = (pool.clone(), node_id.clone());
        let events = Batcher::start(BATCH, PARALLEL_BATCHES, move |batch| {
            insert_events(events_pool.clone(), events_node.clone(), batch)
        });
        let (attempts_pool, attempts_node) = (pool.clone(), node_id.clone());
        let attempts = Batcher::start(BATCH, PARALLEL_BATCHES, move |batch| {
            insert_attempts(attempts_pool.clone(), attempts_node.clone(), batch)
        });
        Writer { pool, node_id, events, attempts }
    }

    pub(super) async fn ingest(&self, event: NewEvent, idempotency_since: Millis) -> Result<IngestOutcome> {
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
                deliveries: u32::try_from(row.try_get::<_, i64>(2)?).unwrap_or(u32::MAX),
                same_body: row.try_get(3)?,
            });
        }
        if write_events(&tx, &self.node_id, &[&event]).await?.is_empty() {
            return Ok(IngestOutcome::StaleSubscriptions);
        }
        tx.commit().await?;
        Ok(IngestOutcome::Created)
    }

    pub(super) async fn record(&self, rec: AttemptRecord) -> Result<()> {
        self.attempts.submit(rec).await
    }
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
) -> Result<std::collections::HashSet<EventId>> {
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    let received: Vec<i64> = events.iter().map(|e| e.received_at).collect();
    let bodies: Vec<&[u8]> = events.iter().map(|e| &e.body[..]).collect();
    let keys: Vec<Option<&str>> = events.iter().map(|e| e.idempotency_key.as_deref()).collect();
    let cards: Vec<Option<&str>> = events.iter().map(|e| e.card_id.as_deref()).collect();
    let pipes: Vec<Option<&str>> = events.iter().map(|e| e.pipe_id.as_deref()).collect();
    let titles: Vec<Option<&str>> = events.iter().map(|e| e.card_title.as_deref()).collect();
    let traceparents: Vec<Option<String>> =
        events.iter().map(|e| e.trace.as_ref().map(|t| t.parent.to_string())).collect();
    let tracestates: Vec<Option<&str>> =
        events.iter().map(|e| e.trace.as_ref().and_then(|t| t.state.as_deref())).collect();
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
                                    card_title, traceparent, tracestate)
                SELECT i, a, r, b, k, c, p, $8, ti, tp, ts
                FROM unnest($1::text[], $2::text[], $3::int8[], $4::bytea[], $5::text[], $6::text[], $7::text[],
                            $13::int8[], $14::text[], $15::text[], $16::text[]) AS u(i, a, r, b, k, c, p, ver, ti, tp, ts)
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
    let params: [&(dyn ToSql + Sync); 16] = [
        &ids,
        &actions,
        &received,
        &bodies,
        &keys,
        &cards,
        &pipes,
        &node_id,
        &d_ids,
        &d_events,
        &d_subs,
        &d_at,
        &versions,
        &titles,
        &traceparents,
        &tracestates,
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
    let duration: Vec<i64> = records.iter().map(AttemptRecord::duration).collect();
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
    let u_attempts: Vec<i32> = last.iter().map(|r| i32::try_from(r.attempts_in_series).unwrap_or(i32::MAX)).collect();
    let u_next: Vec<Option<i64>> = last.iter().map(|r| r.next_retry_at).collect();
    let u_code: Vec<Option<i32>> = last.iter().map(|r| r.status_code.map(i32::from)).collect();
    let u_error: Vec<Option<&str>> = last.iter().map(|r| r.error.as_deref()).collect();
    let u_at: Vec<i64> = last.iter().map(|r| r.started_at + r.duration()).collect();
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
