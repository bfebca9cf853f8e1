//! The live subscriptions: what every ingest is matched against. In memory, versioned by the
//! store's subscriptions version; the engine keeps it in step with the store.

use crate::domain::error::{Error, Result};
use crate::domain::ids::{DeliveryId, SubscriptionId};
use crate::domain::model::{Subscription, SubscriptionState};
use crate::domain::page::Window;
use crate::validate::payload::{Audience, PayloadFacts};
use crate::validate::subscriptions::conflicts;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

#[derive(Default)]
struct Versioned {
    version: i64,
    by_id: BTreeMap<SubscriptionId, Arc<Subscription>>,
}

/// The subscriptions and the store's subscriptions version they reflect.
/// Whether a subscription's actions, filters and owner take the event.
fn wants(sub: &Subscription, facts: &PayloadFacts) -> bool {
    sub.actions.iter().any(|p| crate::domain::catalog::pattern_matches(p, &facts.action))
        && sub.filters.matches(facts)
        && crate::validate::payload::owner_takes(sub.owner.as_ref(), facts)
}

pub(super) struct Registry {
    live: RwLock<Versioned>,
    /// Serialises subscription changes so the duplicate check and the save see the same world.
    pub(super) changes: tokio::sync::Mutex<()>,
}

impl Registry {
    pub(super) fn new(version: i64, stored: Vec<Subscription>) -> Registry {
        let by_id = stored.into_iter().map(|s| (s.id.clone(), Arc::new(s))).collect();
        Registry { live: RwLock::new(Versioned { version, by_id }), changes: Default::default() }
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Versioned>> {
        self.live.read().map_err(|_| Error::Storage("subscription registry poisoned".into()))
    }

    pub(super) fn all(&self) -> Vec<Arc<Subscription>> {
        self.read().map(|r| r.by_id.values().cloned().collect()).unwrap_or_default()
    }

    /// A window of the subscriptions in id order, read from the map by range.
    pub(super) fn window(&self, window: &Window<String>) -> Vec<Arc<Subscription>> {
        use std::ops::Bound::{self, Excluded, Unbounded};
        let Ok(live) = self.read() else { return Vec::new() };
        let bounds: (Bound<&str>, Bound<&str>) = match (window.from.as_deref(), window.backward) {
            (None, _) => (Unbounded, Unbounded),
            (Some(from), false) => (Excluded(from), Unbounded),
            (Some(from), true) => (Unbounded, Excluded(from)),
        };
        let range = live.by_id.range::<str, _>(bounds).map(|(_, sub)| sub.clone());
        window.read(range, |sub| sub.id.to_string(), false)
    }

    pub(super) fn get(&self, id: &SubscriptionId) -> Option<Arc<Subscription>> {
        self.read().ok().and_then(|r| r.by_id.get(id).cloned())
    }

    /// The store version this registry reflects (-1 when unreadable: it then never matches).
    pub(super) fn version(&self) -> i64 {
        self.read().map(|r| r.version).unwrap_or(-1)
    }

    pub(super) fn set_version(&self, version: i64) {
        if let Ok(mut live) = self.live.write() {
            live.version = version;
        }
    }

    /// Moves to `version` if it is the very next one (this node's own change); false when another
    /// change came in between and the registry must be read again.
    pub(super) fn advance_to(&self, version: i64) -> bool {
        self.live.write().is_ok_and(|mut live| {
            let next = live.version + 1 == version;
            if next {
                live.version = version;
            }
            next
        })
    }

    pub(super) fn insert(&self, sub: Arc<Subscription>) {
        if let Ok(mut live) = self.live.write() {
            live.by_id.insert(sub.id.clone(), sub);
        }
    }

    pub(super) fn remove(&self, id: &SubscriptionId) -> Option<Arc<Subscription>> {
        self.live.write().ok().and_then(|mut live| live.by_id.remove(id))
    }

    /// The deliveries an event gets, each a new delivery's id and its subscription's, and the
    /// version they were matched at.
    pub(super) fn route(&self, facts: &PayloadFacts) -> Result<(i64, Vec<(DeliveryId, SubscriptionId)>)> {
        let live = self.read()?;
        let deliveries = live
            .by_id
            .values()
            .filter(|s| s.state != SubscriptionState::Disabled)
            .filter(|s| match &facts.audience {
                Audience::Matching => wants(s, facts),
                Audience::MatchingExcept(id) => s.id != *id && wants(s, facts),
                Audience::Only(id) => s.id == *id,
            })
            .map(|s| (DeliveryId::generate(), s.id.clone()))
            .collect();
        Ok((live.version, deliveries))
    }

    /// The subscriptions `sub` would duplicate (same URL, overlapping actions); an error naming
    /// them unless `override_previous` says to replace them.
    pub(super) fn conflicts_with(&self, sub: &Subscription, override_previous: bool) -> Result<Vec<SubscriptionId>> {
        let live = self.read()?;
        let found: Vec<SubscriptionId> =
            conflicts(sub, live.by_id.values().map(|s| s.as_ref())).iter().map(|s| s.id.clone()).collect();
        if !found.is_empty() && !override_previous {
            return Err(Error::Conflict(format!(
                "subscription {} already sends an overlapping action to this URL; send \"override_previous\": true \
                 (in GraphQL: overridePreviousWithSameUrl: true) to replace it",
                found.iter().map(SubscriptionId::as_str).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(found)
    }
}
