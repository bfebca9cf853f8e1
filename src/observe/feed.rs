//! The live update bus: every change the dashboard or an SSE client should see, in order.

use crate::domain::model::{Alert, AttemptNotice, EventSummary, Millis, Subscription, SubscriptionChange};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::hash::Hasher;
use std::path::Path;
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
    /// How many entries have left the journal's front: an entry's place is this plus its index,
    /// so a place stays the same while the journal moves on.
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            tx: broadcast::channel(8192).0,
            journal: Arc::new(Mutex::new(VecDeque::with_capacity(1024))),
            dropped: Arc::default(),
        }
    }
}

/// A short, fixed-size stand-in for an update's identity (64 bits: two updates of one resume
/// window share one with a chance of about 1 in 10^11). FNV-1a over the identity's bytes, a hash
/// fixed by its definition: a journal kept by one build is read right by the next (std's
/// `DefaultHasher` may change with the toolchain).
fn fingerprint(identity: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(identity.as_bytes());
    hasher.finish()
}

/// What a kept journal starts with: the layout of its entries and of the identities they
/// fingerprint. A change to either takes a new number, and an older journal is then no journal.
fn journal_header() -> Vec<u8> {
    b"hookwatch stream journal 1\n".to_vec()
}

/// The updates this process sent in a window of time, in the order sent, and where among them a
/// resuming client's last one was.
pub struct Sent {
    place: HashMap<u64, u64>,
    last: Option<u64>,
}

impl Sent {
    /// Where `update` was among those sent (`None`: not sent by this process in the window).
    pub fn place(&self, update: &FeedEvent) -> Option<u64> {
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
        // An update sent while nobody watched was sent to no one: nothing to remember.
        let remembered = self.has_listeners().then(|| (fingerprint(&event.identity()), event.time()));
        // Sent under the journal's lock, so the journal's order is the order every watcher sees.
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = remembered {
            if journal.len() == JOURNAL_LEN {
                journal.pop_front();
                self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            journal.push_back(entry);
        }
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(Arc::new(event));
    }

    /// The updates sent at or after `since`, and where the one whose identity is `last` was.
    pub fn sent_since(&self, since: Millis, last: Option<&str>) -> Sent {
        // Copied out under the lock, which every publish takes: the map is built after it.
        let window: Vec<(u64, u64)> = {
            let journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
            let dropped = self.dropped.load(std::sync::atomic::Ordering::Relaxed);
            let entries = journal.iter().zip(dropped..);
            entries.filter(|((_, at), _)| *at >= since).map(|((f, _), place)| (place, *f)).collect()
        };
        let place: HashMap<u64, u64> = window.into_iter().map(|(i, f)| (f, i)).collect();
        let last = last.and_then(|identity| place.get(&fingerprint(identity)).copied());
        Sent { place, last }
    }

    /// Keeps the journal in `path` at a graceful stop, so the next process on the same database
    /// knows what this one sent: a client that resumes there is sent nothing again either.
    pub fn save_journal(&self, path: &Path) -> std::io::Result<()> {
        let entries: Vec<(u64, Millis)> =
            self.journal.lock().unwrap_or_else(PoisonError::into_inner).iter().copied().collect();
        let mut bytes = journal_header();
        for (fingerprint, at) in entries {
            bytes.extend(fingerprint.to_le_bytes());
            bytes.extend(at.to_le_bytes());
        }
        // Written whole or not at all: a torn file would be taken for a shorter history.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, path)
    }

    /// Takes back, before anything is sent, a journal `save_journal` kept in `path`. One of another
    /// layout, or not there, is no journal: the first resumes then repeat what they had.
    pub fn load_journal(&self, path: &Path) -> std::io::Result<usize> {
        let bytes = match std::fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            read => read?,
        };
        let Some(body) = bytes.strip_prefix(journal_header().as_slice()).filter(|b| b.len() % 16 == 0) else {
            return Ok(0);
        };
        let entries = body.chunks_exact(16).map(|entry| {
            let (fingerprint, at) = entry.split_at(8);
            let word = |b: &[u8]| <[u8; 8]>::try_from(b).unwrap_or_default();
            (u64::from_le_bytes(word(fingerprint)), Millis::from_le_bytes(word(at)))
        });
        let mut journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        let earlier: Vec<(u64, Millis)> = entries.collect();
        let skip = earlier.len().saturating_sub(JOURNAL_LEN - journal.len().min(JOURNAL_LEN));
        for (i, entry) in earlier.into_iter().skip(skip).enumerate() {
            journal.insert(i, entry);
        }
        Ok(journal.len())
    }

    /// Whether anyone watches: building an update is skipped when nobody would see it.
    pub fn has_listeners(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FeedEvent>> {
        self.tx.subscribe()
    }

    /// A receiver, and the place the next update sent will have: every update from that place on
    /// reaches the receiver, in the journal's order (both are taken under the lock every send
    /// takes).
    pub fn subscribe_from(&self) -> (broadcast::Receiver<Arc<FeedEvent>>, u64) {
        let journal = self.journal.lock().unwrap_or_else(PoisonError::into_inner);
        let next = self.dropped.load(std::sync::atomic::Ordering::Relaxed) + journal.len() as u64;
        (self.tx.subscribe(), next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::EventSummary;

    fn received(id: &str, at: Millis) -> FeedEvent {
        let event = EventSummary {
            id: id.into(),
            action: "card.move".into(),
            received_at: at,
            card_id: None,
            pipe_id: None,
            card_title: None,
            deliveries: Vec::new(),
        };
        FeedEvent::EventReceived { event }
    }

    #[test]
    fn a_receiver_gets_every_update_from_its_place_on_and_places_outlast_the_journals_front() {
        let feed = Feed::default();
        let (_first, _) = feed.subscribe_from();
        feed.publish(received("evt_before", 100));
        let (mut live, from) = feed.subscribe_from();
        feed.publish(received("evt_after", 200));
        let sent = feed.sent_since(0, None);
        assert!(sent.place(&received("evt_before", 100)).is_some_and(|p| p < from));
        assert_eq!(sent.place(&received("evt_after", 200)), Some(from), "the first the receiver gets");
        assert_eq!(live.try_recv().map(|u| u.identity()).ok().as_deref(), Some("evt_after"));
        for i in 0..JOURNAL_LEN {
            feed.publish(received(&format!("evt_{i}"), 300));
        }
        let last = format!("evt_{}", JOURNAL_LEN - 1);
        let place = feed.sent_since(0, None).place(&received(&last, 300));
        assert_eq!(place, Some(from + JOURNAL_LEN as u64), "a place does not move as the front is dropped");
    }

    /// A client had what was sent up to its last update, in the order sent (not by time); what
    /// was sent while nobody watched, or by another process, it is not taken to have.
    #[test]
    fn what_a_client_had_is_what_was_sent_up_to_its_last() {
        let feed = Feed::default();
        feed.publish(received("evt_unwatched", 100));
        let _watcher = feed.subscribe();
        let [a, late, b] = [received("evt_a", 200), received("evt_late", 150), received("evt_b", 300)];
        for update in [&a, &late, &b] {
            feed.publish(update.clone());
        }
        let sent = feed.sent_since(0, Some("evt_late"));
        assert!(sent.had(&a) && sent.had(&late) && !sent.had(&b));
        assert!(!sent.had(&received("evt_unwatched", 100)));
        assert!(sent.place(&a) < sent.place(&late), "in the order sent");
        let elsewhere = feed.sent_since(0, Some("evt_from_another_node"));
        assert!(!elsewhere.had(&a), "nothing is taken as had when the last update was not sent here");
        assert_eq!(a.stream_id(), "200-evt_a");

        // Kept at a stop and taken back by the next process, before what it sends.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hw.db-stream");
        feed.save_journal(&path).unwrap();
        let next = Feed::default();
        let _watcher = next.subscribe();
        next.publish(received("evt_c", 400));
        assert_eq!(next.load_journal(&path).unwrap(), 4);
        let sent = next.sent_since(0, Some("evt_a"));
        assert!(sent.had(&a) && !sent.had(&late) && !sent.had(&received("evt_c", 400)));
        std::fs::write(&path, b"hookwatch stream journal 0\n").unwrap();
        assert_eq!(Feed::default().load_journal(&path).unwrap(), 0, "another layout's is no journal");
    }

    #[test]
    fn a_fingerprint_is_fixed_by_its_definition_not_the_toolchain() {
        // FNV-1a 64's published values: a journal written by any build reads the same.
        assert_eq!(super::fingerprint(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fingerprint("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
