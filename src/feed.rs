//! The live update bus: every change the dashboard or an SSE client should see, in order.

use crate::model::{Alert, AttemptNotice, EventSummary, Millis, Subscription, SubscriptionChange};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedEvent {
    EventReceived { event: EventSummary },
    DeliveryAttempted(AttemptNotice),
    SubscriptionChanged { change: SubscriptionChange, subscription: Box<Subscription> },
    Alert(Alert),
}

impl FeedEvent {
    /// The SSE event name of this update.
    pub fn name(&self) -> &'static str {
        match self {
            FeedEvent::EventReceived { .. } => "event.received",
            FeedEvent::DeliveryAttempted(_) => "delivery.attempted",
            FeedEvent::SubscriptionChanged { .. } => "subscription.changed",
            FeedEvent::Alert(_) => "alert",
        }
    }

    /// When the update happened, as the store keeps it: what a stream id (a resume point) counts.
    pub fn time(&self) -> Millis {
        match self {
            FeedEvent::EventReceived { event } => event.received_at,
            FeedEvent::DeliveryAttempted(n) => n.started_at + n.duration_ms as Millis,
            FeedEvent::SubscriptionChanged { subscription, .. } => subscription.updated_at,
            FeedEvent::Alert(alert) => alert.at,
        }
    }

    /// What tells this update apart from every other, so one sent twice (live and replayed from
    /// the store) is sent once. Subscription changes are never replayed.
    pub fn identity(&self) -> Option<String> {
        match self {
            FeedEvent::EventReceived { event } => Some(event.id.clone()),
            FeedEvent::DeliveryAttempted(n) => Some(format!("{}@{}", n.delivery_id, n.started_at)),
            FeedEvent::SubscriptionChanged { .. } => None,
            FeedEvent::Alert(a) => Some(format!("{}@{}:{:?}", a.subscription_id, a.at, a.kind)),
        }
    }

    /// The update as it leaves the process: a stream client never receives signing secrets or
    /// consumers' credentials (it can read them with GET /v1/subscriptions/{id}).
    pub fn for_watchers(&self) -> std::borrow::Cow<'_, FeedEvent> {
        match self {
            FeedEvent::SubscriptionChanged { change, subscription } => {
                std::borrow::Cow::Owned(FeedEvent::SubscriptionChanged {
                    change: *change,
                    subscription: Box::new(subscription.masked()),
                })
            }
            other => std::borrow::Cow::Borrowed(other),
        }
    }
}

/// Broadcasts updates; a receiver that falls behind is told how many it missed.
#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<Arc<FeedEvent>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed { tx: broadcast::channel(8192).0 }
    }
}

impl Feed {
    pub fn publish(&self, event: FeedEvent) {
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(Arc::new(event));
    }

    /// Whether anyone watches: building an update is skipped when nobody would see it.
    pub fn has_listeners(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FeedEvent>> {
        self.tx.subscribe()
    }
}
