//! The alert log: what the lanes raised (an endpoint failing, a breaker opening, a subscription
//! disabled), kept in the store so it outlives restarts and, shared, is the whole cluster's.

use super::Engine;
use crate::domain::catalog;
use crate::domain::model::Alert;
use crate::domain::page::Window;
use crate::validate::payload::{Audience, PayloadFacts};
use crate::wire::FeedEvent;
use std::collections::VecDeque;
use std::sync::Mutex;

/// How many alerts the alert log keeps.
pub(super) const ALERT_LOG: usize = 500;

/// The newest `ALERT_LOG` alerts, oldest first, each at its position: how many alerts this node
/// logged before it (what a page of `GET /v1/alerts` continues from, while this node runs).
#[derive(Default)]
pub(super) struct AlertLog(Mutex<Logged>);

#[derive(Default)]
struct Logged {
    alerts: VecDeque<Alert>,
    /// The position of the first of `alerts`: how many were dropped from the front.
    dropped: i64,
}

impl AlertLog {
    pub(super) fn new(stored: Vec<Alert>) -> AlertLog {
        AlertLog(Mutex::new(Logged { alerts: stored.into(), dropped: 0 }))
    }

    pub(super) fn all(&self) -> Vec<Alert> {
        self.0.lock().map(|log| log.alerts.iter().cloned().collect()).unwrap_or_default()
    }

    /// A window of the log as a list newest first, each alert with its position.
    fn window(&self, window: &Window<i64>) -> Vec<(i64, Alert)> {
        let Ok(log) = self.0.lock() else { return Vec::new() };
        // The log holds at most ALERT_LOG alerts: an index always fits.
        let positioned =
            log.alerts.iter().enumerate().map(|(i, a)| (log.dropped + i64::try_from(i).unwrap_or(i64::MAX), a));
        window.read(positioned, |(at, _)| *at, true).into_iter().map(|(at, a)| (at, a.clone())).collect()
    }

    fn push(&self, alert: Alert) {
        if let Ok(mut log) = self.0.lock() {
            if log.alerts.len() >= ALERT_LOG {
                log.alerts.pop_front();
                log.dropped += 1;
            }
            log.alerts.push_back(alert);
        }
    }
}

impl Engine {
    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts.all()
    }

    /// A window of this node's alert log, newest first, each alert with its position.
    pub fn alerts_window(&self, window: &Window<i64>) -> Vec<(i64, Alert)> {
        self.alerts.window(window)
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
