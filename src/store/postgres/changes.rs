//! PostgreSQL's other writes, each a transaction of its own: subscription changes (counted in the
//! subscriptions version and announced to the other nodes), redeliveries (leased to this node),
//! replays, alerts and the audit entries that go with operators' changes.

use super::reads::mapped;
use crate::domain::error::{Error, Result};
use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{Alert, AuditEntry, Millis, Replay, Subscription};
use crate::store::query::{self, Target};
use crate::store::rows::{self, PENDING_COLUMNS};
use crate::store::{KeyClaim, KeyHolder, PendingDelivery, StoredAnswer};
use deadpool_postgres::{GenericClient, Pool, Transaction};

/// Keeps an audit entry, in the caller's transaction (or alone).
pub(super) async fn insert_audit(client: &impl GenericClient, node_id: &str, audit: &AuditEntry) -> Result<()> {
    let body = serde_json::to_string(audit).map_err(|e| Error::Storage(e.to_string()))?;
    client.execute("INSERT INTO audit (node_id, at, body) VALUES ($1, $2, $3)", &[&node_id, &audit.at, &body]).await?;
    Ok(())
}

/// The channel a subscription change notifies, so the other nodes follow it at once.
pub(super) const SUBSCRIPTIONS_CHANNEL: &str = "hookwatch_subscriptions";

/// A subscription change's last step: a new version, announced to the other nodes at commit.
async fn bump_subscriptions_version(tx: &Transaction<'_>) -> Result<i64> {
    let version: i64 = tx.query_one(query::BUMP_SUBSCRIPTIONS_VERSION, &[]).await?.try_get(0)?;
    tx.execute("SELECT pg_notify($1, $2)", &[&SUBSCRIPTIONS_CHANNEL, &version.to_string()]).await?;
    Ok(version)
}

/// A redelivery's target row: (delivery id, event id, subscription id).
fn target(r: &tokio_postgres::Row) -> Result<Target> {
    Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
}

pub(super) async fn save_subscription(
    pool: &Pool,
    node_id: &str,
    sub: &Subscription,
    audit: &AuditEntry,
) -> Result<i64> {
    let body = serde_json::to_string(sub).map_err(|e| Error::Storage(e.to_string()))?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    insert_audit(&tx, node_id, audit).await?;
    tx.execute(query::SAVE_SUBSCRIPTION, &[&sub.id, &body]).await?;
    let version = bump_subscriptions_version(&tx).await?;
    tx.commit().await?;
    Ok(version)
}

/// Its unfinished deliveries become `cancelled`.
pub(super) async fn delete_subscription(pool: &Pool, node_id: &str, id: &str, audit: &AuditEntry) -> Result<i64> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    insert_audit(&tx, node_id, audit).await?;
    tx.execute(query::DELETE_SUBSCRIPTION, &[&id]).await?;
    tx.execute(query::CANCEL_DELIVERIES, &[&id]).await?;
    let version = bump_subscriptions_version(&tx).await?;
    tx.commit().await?;
    Ok(version)
}

pub(super) async fn requeue_event(
    pool: &Pool,
    node_id: &str,
    event_id: &EventId,
    subscription_id: Option<&SubscriptionId>,
    failed_only: bool,
    now: Millis,
    audit: Option<&AuditEntry>,
) -> Result<Vec<PendingDelivery>> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if !tx.query_one(query::EVENT_EXISTS, &[&event_id]).await?.try_get::<_, bool>(0)? {
        return Err(Error::NotFound(format!("no event {event_id}; list events with GET /v1/events")));
    }
    let found = tx.query(&query::redeliverable("deliveries"), &[&event_id, &subscription_id, &failed_only]).await?;
    let found = mapped(&found, target)?;
    let targets = query::with_missing_delivery(found, event_id, subscription_id, failed_only);
    if let Some(audit) = audit {
        insert_audit(&tx, node_id, audit).await?;
    }
    let out = requeue(&tx, targets, now, node_id).await?;
    tx.commit().await?;
    Ok(out)
}

pub(super) async fn requeue_failed(
    pool: &Pool,
    node_id: &str,
    subscription_id: &SubscriptionId,
    since: Millis,
    now: Millis,
    audit: &AuditEntry,
) -> Result<Vec<PendingDelivery>> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    insert_audit(&tx, node_id, audit).await?;
    let found = tx.query(query::RECOVERABLE, &[&subscription_id, &since]).await?;
    let out = requeue(&tx, mapped(&found, target)?, now, node_id).await?;
    tx.commit().await?;
    Ok(out)
}

/// Puts the given deliveries back to `pending` at `now`, leased by this node, with a fresh series
/// (giving a delivery its row if it had none).
async fn requeue(
    tx: &Transaction<'_>,
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

/// Commits a write that changes nothing, as every write commits.
pub(super) async fn probe_write(pool: &Pool, node_id: &str) -> Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("UPDATE nodes SET heartbeat_at = heartbeat_at WHERE id = $1", &[&node_id]).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn save_alert(pool: &Pool, node_id: &str, alert: &Alert) -> Result<()> {
    let body = serde_json::to_string(alert).map_err(|e| Error::Storage(e.to_string()))?;
    let client = pool.get().await?;
    client.execute("INSERT INTO alerts (node_id, at, body) VALUES ($1, $2, $3)", &[&node_id, &alert.at, &body]).await?;
    Ok(())
}

pub(super) async fn save_replay(pool: &Pool, node_id: &str, replay: &Replay, audit: Option<&AuditEntry>) -> Result<()> {
    let body = serde_json::to_string(replay).map_err(|e| Error::Storage(e.to_string()))?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(query::SAVE_REPLAY, &[&replay.id, &body]).await?;
    if let Some(audit) = audit {
        insert_audit(&tx, node_id, audit).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Claims an idempotency key, or says who holds it, in one transaction: of two nodes claiming it
/// at once, the second waits for the first's commit and then finds it held.
pub(super) async fn claim_key(pool: &Pool, c: &KeyClaim) -> Result<KeyHolder> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let values: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
        [&c.scope, &c.key, &c.fingerprint, &c.now, &c.claimed_until, &c.remembered_since];
    let holder = if tx.query(query::CLAIM_KEY, &values).await?.is_empty() {
        rows::key_holder(&tx.query_one(query::KEY_HOLDER, &[&c.scope, &c.key]).await?)?
    } else {
        KeyHolder::Claimed
    };
    tx.commit().await?;
    Ok(holder)
}

pub(super) async fn keep_answer(
    pool: &Pool,
    scope: &str,
    key: &str,
    fingerprint: &str,
    answer: &StoredAnswer,
) -> Result<()> {
    let headers = serde_json::to_string(&answer.headers).map_err(|e| Error::Storage(e.to_string()))?;
    let status = i32::from(answer.status);
    let client = pool.get().await?;
    client.execute(query::KEEP_ANSWER, &[&scope, &key, &fingerprint, &status, &headers, &answer.body]).await?;
    Ok(())
}
