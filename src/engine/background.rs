//! The engine's own tasks: acting on what the lanes ask for, and retention. Each holds only a weak
//! handle, so dropping the engine ends them.

use super::Engine;
use crate::dispatch::Control;
use crate::model::now_ms;
use std::sync::Weak;
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

/// Retention: prunes finished events older than the configured age, hourly.
pub(super) async fn prune_periodically(engine: Weak<Engine>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let Some(engine) = engine.upgrade() else { return };
        let before = now_ms() - engine.config.retention.as_millis() as i64;
        match engine.store.prune(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("retention: pruned {n} events"),
            Err(e) => tracing::error!("retention: pruning failed: {e}"),
        }
    }
}
