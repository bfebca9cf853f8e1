//! The alert log: what the lanes raised (an endpoint failing, a breaker opening, a subscription
//! disabled), kept in the store so it outlives restarts and, shared, is the whole cluster's.

use super::Engine;
use crate::feed::FeedEvent;
use crate::model::Alert;
use std::collections::VecDeque;
use std::sync::Mutex;

/// How many alerts the alert log keeps.
pub(super) const ALERT_LOG: usize = 500;

/// The newest `ALERT_LOG` alerts, oldest first.
#[derive(Default)]
pub(super) struct AlertLog(Mutex<VecDeque<Alert>>);

impl AlertLog {
    pub(super) fn new(stored: Vec<Alert>) -> AlertLog {
        AlertLog(Mutex::new(stored.into()))
    }

    pub(super) fn all(&self) -> Vec<Alert> {
        self.0.lock().map(|a| a.iter().cloned().collect()).unwrap_or_default()
    }

    fn push(&self, alert: Alert) {
        if let Ok(mut log) = self.0.lock() {
            if log.len() >= ALERT_LOG {
                log.pop_front();
            }
            log.push_back(alert);
        }
    }
}

impl Engine {
    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts.all()
    }

    /// A lane's alert: stored, logged and told to the watchers.
    pub(super) async fn record_alert(&self, alert: Alert) {
        if let Err(e) = self.store.save_alert(&alert).await {
            tracing::warn!("could not store an alert (it stays in this node's log): {e}");
        }
        self.remember_alert(alert);
    }

    /// An alert another node stored, or this node's own: logged and told to the watchers.
    pub(super) fn remember_alert(&self, alert: Alert) {
        self.alerts.push(alert.clone());
        self.feed.publish(FeedEvent::Alert(alert));
    }
}
