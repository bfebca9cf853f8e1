//! The alert log: what the lanes raised (an endpoint failing, a breaker opening, a subscription
//! disabled), kept in the store so it outlives restarts and, shared, is the whole cluster's.

use super::Engine;
use crate::domain::catalog;
use crate::domain::model::Alert;
use crate::validate::payload::{Audience, PayloadFacts};
use crate::wire::FeedEvent;
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

    /// An alert this node raised: stored, logged, told to the watchers, and sent as an event to
    /// the subscriptions that ask for hookwatch's own actions (never to the one it is about).
    pub(super) async fn record_alert(&self, alert: Alert) {
        if let Err(e) = self.store.save_alert(&alert).await {
            tracing::warn!("could not store an alert (it stays in this node's log): {e}");
        }
        self.remember_alert(alert.clone());
        let url = self.subscription(&alert.subscription_id).map(|s| s.url.clone()).unwrap_or_default();
        let body = catalog::alert_payload(&alert, &url, &self.membership.node_id).to_string();
        let facts = PayloadFacts {
            action: catalog::alert_action(alert.kind).to_string(),
            audience: Audience::MatchingExcept(alert.subscription_id.clone()),
            ..PayloadFacts::default()
        };
        match self.ingest_own(body.into(), facts).await {
            Ok(Some(sent)) => {
                tracing::info!("alert sent as {} ({}) to {} subscriptions", sent.id, sent.action, sent.deliveries)
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("could not send the alert as an event (it is in the alert log): {e}"),
        }
    }

    /// An alert another node stored, or this node's own: logged and told to the watchers.
    pub(super) fn remember_alert(&self, alert: Alert) {
        self.alerts.push(alert.clone());
        self.feed.publish(FeedEvent::Alert(alert));
    }
}
