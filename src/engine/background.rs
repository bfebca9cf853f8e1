//! The engine's own tasks: acting on what the lanes ask for, and retention. Each holds only a weak
//! handle, so dropping the engine ends them.

use super::Engine;
use crate::dispatch::Control;
use crate::domain::ids::SubscriptionId;
use crate::domain::model::{Alert, AlertKind, now_ms};
use std::collections::HashSet;
use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// Acts on what the lanes ask for: alerts to keep, subscriptions to disable.
pub(super) async fn handle_control(engine: Weak<Engine>, mut rx: mpsc::UnboundedReceiver<Control>) {
    while let Some(msg) = rx.recv().await {
        let Some(engine) = engine.upgrade() else { return };
        match msg {
            Control::Alert(alert) => engine.record_alert(alert).await,
            Control::Disable { subscription_id, reason } => engine.disable(&subscription_id, reason).await,
        }
    }
}

/// Retention: prunes finished events older than the configured age, and idempotency keys older
/// than their window, hourly.
pub(super) async fn prune_periodically(engine: Weak<Engine>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let Some(engine) = engine.upgrade() else { return };
        let before = now_ms() - crate::domain::model::millis(*engine.config.retention);
        match engine.store.prune(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("retention: pruned {n} events"),
            Err(e) => tracing::error!("retention: pruning failed: {e}"),
        }
        // Keys are forgotten after their window whether pruned or not: this only frees the room.
        let forgotten = now_ms().saturating_sub(crate::domain::model::millis(*engine.config.idempotency_window));
        if let Err(e) = engine.store.prune_keys(forgotten).await {
            tracing::error!("retention: pruning idempotency keys failed: {e}");
        }
    }
}

/// How often the payload search index is brought up to date when it was: often, so a new event is
/// found within a fraction of a second of its arrival.
const INDEX_EVERY: Duration = Duration::from_millis(100);

/// Keeps the payload search index up to date, off the ingest path: a batch at a time, at once
/// again while there is more. Ends at once for a store that keeps no index.
pub(super) async fn index_payloads(engine: Weak<Engine>) {
    loop {
        let Some(engine) = engine.upgrade() else { return };
        let indexed = match engine.store.index_payloads().await {
            Ok(Some(n)) => n,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("search index: {e}; trying again");
                0
            }
        };
        drop(engine);
        if indexed == 0 {
            tokio::time::sleep(INDEX_EVERY).await;
        }
    }
}

/// Raises `backlog_high` when an endpoint's queue on this node reaches `backlog_alert`, comparing
/// them every `backlog_check`.
pub(super) async fn watch_backlogs(engine: Weak<Engine>) {
    let mut high = HashSet::new();
    let Some(every) = engine.upgrade().map(|e| *e.config.backlog_check) else { return };
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Some(engine) = engine.upgrade() else { return };
        let threshold = engine.config.backlog_alert;
        if threshold == 0 {
            return;
        }
        let queues: Vec<(SubscriptionId, usize)> = engine
            .subscriptions()
            .iter()
            .map(|s| (s.id.clone(), engine.dispatcher.gauges(&s.id).map_or(0, |g| g.backlog.load(Ordering::Relaxed))))
            .collect();
        for (id, backlog) in crossed(&mut high, &queues, threshold) {
            let Ok(sub) = engine.subscription(&id) else { continue };
            let message = format!("{backlog} deliveries are waiting (backlog_alert is {threshold})");
            tracing::warn!(subscription = %sub.name, "{message}");
            let alert = Alert {
                kind: AlertKind::BacklogHigh,
                subscription_id: id,
                subscription_name: sub.name.clone(),
                message,
                at: now_ms(),
            };
            engine.record_alert(alert).await;
        }
    }
}

/// The queues that reached `threshold` since they were last under half of it; `high` remembers
/// which are over, so a queue hovering at the line alerts once, not on every check.
fn crossed(
    high: &mut HashSet<SubscriptionId>,
    queues: &[(SubscriptionId, usize)],
    threshold: usize,
) -> Vec<(SubscriptionId, usize)> {
    high.retain(|id| queues.iter().any(|(q, n)| q == id && *n >= threshold / 2));
    queues.iter().filter(|(id, n)| *n >= threshold && high.insert(id.clone())).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_alerts_once_until_it_has_drained_to_half() {
        let mut high = HashSet::new();
        let q = |n: usize| vec![(SubscriptionId::from("sub_a"), n)];
        assert!(crossed(&mut high, &q(999), 1000).is_empty());
        assert_eq!(crossed(&mut high, &q(1000), 1000), q(1000));
        assert!(crossed(&mut high, &q(1500), 1000).is_empty(), "still over: said once");
        assert!(crossed(&mut high, &q(600), 1000).is_empty());
        assert!(crossed(&mut high, &q(1001), 1000).is_empty(), "never fell under half");
        assert!(crossed(&mut high, &q(499), 1000).is_empty());
        assert_eq!(crossed(&mut high, &q(1200), 1000), q(1200), "drained, then over again");
        assert!(crossed(&mut high, &[], 1000).is_empty());
        assert!(high.is_empty(), "a deleted subscription is forgotten");
    }
}
