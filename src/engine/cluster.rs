//! Several nodes on one shared store. Each node, on every tick: reports its heartbeat (which
//! keeps its leases), claims the due deliveries no live node holds (a dead node's work), follows
//! subscription changes made on other nodes, and folds the other nodes' events, attempts and
//! alerts into its stats, alert log and live feed so that every node shows the whole cluster.

use crate::engine::{Engine, heartbeat_interval, silent_after};
use crate::store::ActivityCursor;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Most deliveries one claim takes: a node catches up on a dead node's backlog in batches.
const CLAIM_BATCH: u32 = 1000;
/// How long another node's rows must have been recorded before they are read: a row with a
/// lower sequence number may still be committing, and the cursor must not skip it.
const SETTLE: Duration = Duration::from_millis(1500);
/// Activity reads per tick at most; each returns up to a few thousand rows.
const CATCH_UP_READS: usize = 10;
/// Nodes silent this long and holding nothing are removed from the nodes list.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// On a shared store: announces this node (before it serves, so no other node takes what it is
/// about to lease) and starts the cluster loops. Nothing to do for a store of one node.
pub async fn join(engine: &Arc<Engine>) -> crate::domain::error::Result<()> {
    let Some(shared) = engine.shared_store() else { return Ok(()) };
    shared.heartbeat(&engine.node_status()).await?;
    tokio::spawn(run(Arc::downgrade(engine), *engine.config().lease));
    tokio::spawn(follow_subscription_changes(Arc::downgrade(engine), shared.subscription_changes()));
    Ok(())
}

/// Applies other nodes' subscription changes as soon as they are announced, until the engine is
/// dropped. The tick below catches up too, should an announcement be lost.
async fn follow_subscription_changes(engine: Weak<Engine>, mut changes: tokio::sync::watch::Receiver<u64>) {
    while changes.changed().await.is_ok() {
        let Some(engine) = engine.upgrade() else { return };
        if let Err(e) = engine.catch_up_subscriptions().await {
            tracing::warn!("cannot read subscriptions after a change was announced: {e}");
        }
    }
}

/// Runs until the engine is dropped.
async fn run(engine: Weak<Engine>, lease: Duration) {
    let mut tick = tokio::time::interval(heartbeat_interval(lease));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cursor: Option<ActivityCursor> = None;
    let mut first_claim = true;
    let mut last_forget = Instant::now();
    loop {
        tick.tick().await;
        let Some(engine) = engine.upgrade() else { return };
        let Some(shared) = engine.shared_store().filter(|_| !engine.has_left()) else { return };
        if let Err(e) = shared.heartbeat(&engine.node_status()).await {
            tracing::warn!("cluster heartbeat failed (this node's leases expire if it keeps failing): {e}");
            continue;
        }
        if let Err(e) = engine.catch_up_subscriptions().await {
            tracing::warn!("cannot read subscriptions: {e}");
        }
        // Leave room in the queues for this node's own ingest: claim only below half the limit.
        if engine.backlog() < engine.config().max_backlog / 2 {
            match shared.claim(CLAIM_BATCH, crate::domain::model::now_ms(), lease, first_claim).await {
                Ok(claimed) => {
                    first_claim = false;
                    if !claimed.is_empty() {
                        tracing::info!("claimed {} deliveries no live node holds", claimed.len());
                        engine.resume(claimed);
                    }
                }
                Err(e) => tracing::warn!("claiming deliveries failed: {e}"),
            }
        }
        // After the claim: what it took counts in this node's backlog, no longer in the silent one's.
        match shared.nodes(silent_after(lease), lease).await {
            Ok(nodes) => engine.set_nodes(nodes),
            Err(e) => tracing::warn!("cannot read the nodes list: {e}"),
        }
        if cursor.is_none() {
            match shared.activity_start().await {
                Ok(c) => cursor = Some(c),
                Err(e) => tracing::warn!("cannot read the cluster's activity: {e}"),
            }
        }
        // Read until caught up (a few reads at most), so a busy cluster never leaves this node behind.
        for _ in 0..CATCH_UP_READS {
            let Some(from) = cursor else { break };
            match shared.activity(from, SETTLE).await {
                Ok(activity) => {
                    cursor = Some(activity.cursor);
                    let more = activity.more;
                    engine.absorb(activity);
                    if !more {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("cannot read the cluster's activity: {e}");
                    break;
                }
            }
        }
        if last_forget.elapsed() > Duration::from_secs(60) {
            last_forget = Instant::now();
            if let Err(e) = shared.forget_nodes(FORGET_AFTER).await {
                tracing::warn!("cannot prune the nodes list: {e}");
            }
        }
    }
}
