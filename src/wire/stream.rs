//! The live updates `GET /v1/stream` sends (`FeedEvent`, one per `event:` frame) and the
//! stream's own frames, as the server writes them and `attach` reads them.

use crate::domain::model::{Alert, AttemptNotice, EventSummary, Millis, Subscription, SubscriptionChange};
use serde::{Deserialize, Serialize};

/// One change the dashboard or an SSE client should see.
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
            FeedEvent::DeliveryAttempted(n) => n.started_at + Millis::try_from(n.duration_ms).unwrap_or(Millis::MAX),
            FeedEvent::SubscriptionChanged { subscription, .. } => subscription.updated_at,
            FeedEvent::Alert(alert) => alert.at,
        }
    }

    /// What tells this update apart from every other, wherever it comes from (live, replayed
    /// from the store, sent by another node), so one that comes twice is known as the same.
    pub fn identity(&self) -> String {
        match self {
            FeedEvent::EventReceived { event } => event.id.to_string(),
            FeedEvent::DeliveryAttempted(n) => format!("{}@{}", n.delivery_id, n.started_at),
            FeedEvent::SubscriptionChanged { change, subscription } => {
                format!("{}@{}:{change:?}", subscription.id, subscription.updated_at)
            }
            FeedEvent::Alert(a) => format!("{}@{}:{:?}", a.subscription_id, a.at, a.kind),
        }
    }

    /// The update's stream id (`id:`): when it happened, then what it is. Unique to the update and
    /// the same from every node, so a client drops one it already has by its id; it is also where
    /// a reconnecting client resumes (`Last-Event-ID`).
    pub fn stream_id(&self) -> String {
        format!("{}-{}", self.time(), self.identity())
    }

    /// The update as it leaves the process: a stream client never receives signing secrets or
    /// consumers' credentials (an admin reads those with GET /v1/subscriptions/{id}, the secrets
    /// with GET /v1/subscriptions/{id}/secret).
    pub fn for_watchers(&self) -> std::borrow::Cow<'_, FeedEvent> {
        self.with_subscription(Subscription::masked)
    }

    /// The update as the viewer token may read it: a subscription change with its URL's secrets
    /// and every header value masked as well.
    pub fn for_viewers(&self) -> std::borrow::Cow<'_, FeedEvent> {
        self.with_subscription(Subscription::for_viewer)
    }

    /// The update with a subscription change's subscription as `shown` gives it.
    fn with_subscription(&self, shown: fn(&Subscription) -> Subscription) -> std::borrow::Cow<'_, FeedEvent> {
        match self {
            FeedEvent::SubscriptionChanged { change, subscription } => {
                std::borrow::Cow::Owned(FeedEvent::SubscriptionChanged {
                    change: *change,
                    subscription: Box::new(shown(subscription)),
                })
            }
            other => std::borrow::Cow::Borrowed(other),
        }
    }
}

/// A `gap` frame: updates since `since` (ms) that a resume could not replay, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamGap {
    pub since: Millis,
    pub reason: String,
}

/// The `resumed` frame that ends a resume's replay: how many updates were sent again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamResumed {
    pub since: Millis,
    pub replayed: usize,
}

/// A `heartbeat` frame: the server's clock when it was sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub at: Millis,
}
