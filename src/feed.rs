//! The live update bus: every change the dashboard or an SSE client should see, in order.

use crate::model::{Alert, AttemptNotice, EventSummary, Millis, Subscription, SubscriptionChange};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
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

    /// What tells this update apart from every other, wherever it comes from (live, replayed
    /// from the store, sent by another node), so one that comes twice is known as the same.
    pub fn identity(&self) -> String {
        match self {
            FeedEvent::EventReceived { event } => event.id.clone(),
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

/// How many of the latest updates sent to watchers the feed remembers, in the order it sent them
/// (16 bytes each): enough for the ten seconds a resume looks back at several thousand updates a
/// second.
const JOURNAL_LEN: usize = 65_536;

/// Broadcasts updates; a receiver that falls behind is told how many it missed.
#[derive(Clone)]
pub struct Feed {
    tx: broadcast::Sender<Arc<FeedEvent>>,
    /// Each update sent while someone watched (its identity's fingerprint and its time), oldest
    /// first: what a client that reconnects to this process had already been sent.
    journal: Arc<Mutex<VecDeque<(u64, Millis)>>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed { tx: broadcast::channel(8192).0, journal: Arc::new(Mutex::new(VecDeque::with_capacity(1024))) }
    }
}

/// A short, fixed-size stand-in for an update's identity (64 bits: two updates of one resume
/// window share one with a chance of about 1 in 10^11).
fn fingerprint(identity: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    identity.hash(&mut hasher);
    hasher.finish()
}

/// The updates this process sent in a window of time, in the order sent, and where among them a
/// resuming client's last one was.
pub struct Sent {
    place: HashMap<u64, usize>,
    last: Option<usize>,
}

impl Sent {
    /// Where `update` was among those sent (`None`: not sent by this process in the window).
    pub fn place(&self, update: &FeedEvent) -> Option<usize> {
        self.place.get(&fingerprint(&update.identity())).copied()
    }

    /// Whether the client already has `update`: it was sent no later than the client's last one.
    /// A client whose last update this process did not send is taken to have none of them.
    pub fn had(&self, update: &FeedEvent) -> bool {
        self.last.zip(self.place(update)).is_some_and(|(last, place)| place <= last)
    }
}

impl Feed {
    pub fn publish(&self, event: FeedEvent) {
        // Sent under the journal's lock, so the journal's order is the order every watcher sees.
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        // An update sent while nobody watched was sent to no one: nothing to remember.
        if self.has_listeners() {
            if journal.len() == JOURNAL_LEN {
                journal.pop_front();
            }
            journal.push_back((fingerprint(&event.identity()), event.time()));
        }
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(Arc::new(event));
    }

    /// The updates sent at or after `since`, and where the one whose identity is `last` was.
    pub fn sent_since(&self, since: Millis, last: Option<&str>) -> Sent {
        let journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        let place: HashMap<u64, usize> =
            journal.iter().enumerate().filter(|(_, (_, at))| *at >= since).map(|(i, (f, _))| (*f, i)).collect();
        let last = last.and_then(|identity| place.get(&fingerprint(identity)).copied());
        Sent { place, last }
    }

    /// Whether anyone watches: building an update is skipped when nobody would see it.
    pub fn has_listeners(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FeedEvent>> {
        self.tx.subscribe()
    }
}
