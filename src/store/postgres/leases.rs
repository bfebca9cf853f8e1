//! Leases and liveness for the nodes sharing the database: each node heartbeats, a delivery
//! belongs to the node that leased it while that node's heartbeat is fresh, and a silent node's
//! unfinished deliveries are claimed by the others (`FOR UPDATE SKIP LOCKED`, so two nodes never
//! claim the same row). Reading the other nodes' activity is `activity.rs`.

use super::{DB_NOW, PostgresStore, activity};
use crate::domain::error::Result;
use crate::domain::ids::DeliveryId;
use crate::domain::model::{Millis, millis, millis_u64};
use crate::store::rows;
use crate::store::{Activity, ActivityCursor, NodeStatus, PendingDelivery, SharedStore};
use crate::wire::NodeInfo;
use std::time::Duration;

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
                &[&self.node_id, &node.address, &node.started_at, &stored(node.in_flight), &stored(node.backlog)],
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
        let lease_ms = millis(lease);
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
                &[&millis(silent_after), &millis(lease)],
            )
            .await?;
        found
            .iter()
            .map(|r| {
                let age = read_count(r.try_get(5)?);
                Ok(NodeInfo {
                    id: r.try_get(0)?,
                    address: r.try_get(1)?,
                    started_at: r.try_get(2)?,
                    heartbeat_at: r.try_get(3)?,
                    in_flight: read_count(r.try_get(4)?),
                    heartbeat_age_ms: age,
                    alive: age <= millis_u64(silent_after),
                    backlog: read_count(r.try_get(6)?),
                    takeover_in_ms: r.try_get::<_, Option<i64>>(7)?.map(read_count),
                })
            })
            .collect()
    }

    async fn holds(&self, delivery_id: &DeliveryId) -> Result<bool> {
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
        let silent_ms = millis(silent_for);
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
        activity::read(&self.pool, &self.node_id, cursor, settled_for).await
    }

    async fn activity_start(&self) -> Result<ActivityCursor> {
        activity::start(&self.pool).await
    }

    fn subscription_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.subscription_changes.clone()
    }
}

/// A node's figure as its BIGINT column keeps it: in flight and backlog are bounded by
/// `max_backlog`, far below `i64::MAX`.
fn stored(figure: u64) -> i64 {
    i64::try_from(figure).unwrap_or(i64::MAX)
}

/// A count or age read back (never negative but for clocks that disagree: then none).
fn read_count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
