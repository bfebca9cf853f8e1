//! Subscription changes: each made under the change lock, saved in the store (which bumps the
//! subscriptions version) and then made live in the registry, the lanes and the feed. Changes
//! other nodes made are followed the same way.

use super::Engine;

use crate::domain::error::{Error, Result};
use crate::domain::ids::SubscriptionId;
use crate::domain::model::{
    Actor, AuditEntry, Caller, SigningKeys, Subscription, SubscriptionChange, SubscriptionState, now_ms,
};
use crate::domain::page::Window;
use crate::wire::FeedEvent;
use crate::wire::SubscriptionInput;
use std::sync::Arc;

impl Engine {
    /// The live subscriptions as this node knows them (see `current_subscriptions` for a read
    /// that must include every change answered anywhere).
    pub fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.registry.all()
    }

    pub fn subscription(&self, id: &SubscriptionId) -> Result<Arc<Subscription>> {
        self.registry
            .get(id)
            .ok_or_else(|| Error::NotFound(format!("no subscription {id}; list them with GET /v1/subscriptions")))
    }

    /// The subscriptions including every change answered by any node (on a shared store, this
    /// node first catches up with the store if its version moved).
    pub async fn current_subscriptions(&self) -> Result<Vec<Arc<Subscription>>> {
        self.catch_up_if_shared().await?;
        Ok(self.subscriptions())
    }

    /// A window of the subscriptions as `current_subscriptions` reads them, a list in id order.
    pub async fn subscriptions_window(&self, window: &Window<String>) -> Result<Vec<Arc<Subscription>>> {
        self.catch_up_if_shared().await?;
        Ok(self.registry.window(window))
    }

    /// Subscription `id`'s signing secrets in full; the read is kept in the audit log first (a
    /// read that cannot be audited is refused).
    pub async fn signing_keys(&self, id: &SubscriptionId, actor: impl Into<Caller>) -> Result<SigningKeys> {
        let sub = self.current_subscription(id).await?;
        let entry =
            audit(actor, "subscription.read_secret", id, format!("{}: its signing secrets were read", sub.name));
        self.store.save_audit(&entry).await?;
        Ok(sub.signing_keys(now_ms()))
    }

    pub async fn current_subscription(&self, id: &SubscriptionId) -> Result<Arc<Subscription>> {
        self.catch_up_if_shared().await?;
        self.subscription(id)
    }

    /// Alone on its store this node makes every change itself; sharing it, others may have.
    async fn catch_up_if_shared(&self) -> Result<()> {
        if self.store.shared().is_some() { self.catch_up_subscriptions().await } else { Ok(()) }
    }

    /// Catches up with subscription changes other nodes made (or this node made while an ingest
    /// was matching).
    pub(crate) async fn catch_up_subscriptions(&self) -> Result<()> {
        self.begin_change().await.map(drop)
    }

    /// Takes the subscription-change lock with the registry caught up with the store, so a change
    /// starts from every change answered before it, on any node.
    async fn begin_change(&self) -> Result<tokio::sync::MutexGuard<'_, ()>> {
        let guard = self.registry.changes.lock().await;
        self.sync_subscriptions().await?;
        Ok(guard)
    }

    /// Brings the registry to the store's subscriptions version; the caller holds `changes`.
    async fn sync_subscriptions(&self) -> Result<()> {
        // The version first: subscriptions read after it are at least that new, so a registry
        // labelled with it is never newer than its label says.
        let version = self.store.subscriptions_version().await?;
        if version == self.registry.version() {
            return Ok(());
        }
        let stored = self.store.subscriptions().await?;
        self.follow_subscriptions(version, stored);
        Ok(())
    }

    /// Makes the stored subscriptions (at `version`) the live ones: changes another node made
    /// (created, updated, paused, deleted). The caller holds `changes`.
    fn follow_subscriptions(&self, version: i64, stored: Vec<Subscription>) {
        let mut gone: std::collections::BTreeSet<SubscriptionId> =
            self.subscriptions().iter().map(|s| s.id.clone()).collect();
        for sub in stored {
            gone.remove(&sub.id);
            let change = match self.registry.get(&sub.id) {
                Some(known) if *known == sub => continue,
                Some(_) => SubscriptionChange::Updated,
                None => SubscriptionChange::Created,
            };
            self.install(Arc::new(sub), change);
        }
        for id in gone {
            self.forget_subscription(&id);
        }
        self.registry.set_version(version);
    }

    /// Creates a subscription; with `override_previous` the duplicates it would have conflicted with
    /// are deleted and their ids returned.
    pub async fn create_subscription(
        &self,
        input: &SubscriptionInput,
        actor: impl Into<Caller>,
    ) -> Result<(Arc<Subscription>, Vec<SubscriptionId>)> {
        let actor = actor.into();
        let _guard = self.begin_change().await?;
        let sub = input.create(&self.catalog, now_ms())?;
        self.reachable(&sub.url)?;
        let replaced = self.registry.conflicts_with(&sub, input.override_previous)?;
        for id in &replaced {
            self.remove_subscription(
                id,
                audit(actor.clone(), "subscription.delete", id, format!("replaced by {}", sub.name)),
            )
            .await?;
        }
        // The audit log is read by the viewer token too: the URL's credentials stay out of it.
        let target = crate::domain::model::masked_url(&sub.url);
        let entry = audit(actor, "subscription.create", &sub.id, format!("{} → {target}", sub.name));
        let sub = self.save(sub, SubscriptionChange::Created, entry).await?;
        Ok((sub, replaced))
    }

    pub async fn update_subscription(
        &self,
        id: &SubscriptionId,
        input: &SubscriptionInput,
        actor: impl Into<Caller>,
    ) -> Result<Arc<Subscription>> {
        self.update_subscription_matching(id, None, input, actor).await
    }

    /// Changes the subscription if it is still as `expected` (its `etag`, or `*`) says: two
    /// operators acting on one endpoint in an incident do not undo each other's change unseen.
    pub async fn update_subscription_matching(
        &self,
        id: &SubscriptionId,
        expected: Option<&str>,
        input: &SubscriptionInput,
        actor: impl Into<Caller>,
    ) -> Result<Arc<Subscription>> {
        let actor = actor.into();
        let _guard = self.begin_change().await?;
        let current = self.subscription(id)?;
        still_as(&current, expected)?;
        let mut sub = (*current).clone();
        input.apply(&mut sub, &self.catalog, now_ms())?;
        if input.url.is_some() {
            self.reachable(&sub.url)?;
        }
        for replaced in self.registry.conflicts_with(&sub, input.override_previous)? {
            let entry = audit(actor.clone(), "subscription.delete", &replaced, format!("replaced by {}", sub.name));
            self.remove_subscription(&replaced, entry).await?;
        }
        let entry = audit(actor, "subscription.update", id, sub.name.clone());
        self.save(sub, SubscriptionChange::Updated, entry).await
    }

    /// Refuses a target the SSRF guard would refuse at every attempt: an address literal that is
    /// not public (unless allowed by `allow_private` or `allow_networks`).
    fn reachable(&self, url: &str) -> Result<()> {
        self.dispatcher.guard().check_literal(url).map_err(|blocked| {
            Error::invalid("blocked_target", format!("\"url\" {url:?} cannot be delivered to: {blocked}"))
        })
    }

    pub async fn delete_subscription(&self, id: &SubscriptionId, actor: impl Into<Caller>) -> Result<()> {
        self.delete_subscription_matching(id, None, actor).await
    }

    /// Deletes the subscription if it is still as `expected` (its `etag`, or `*`) says.
    pub async fn delete_subscription_matching(
        &self,
        id: &SubscriptionId,
        expected: Option<&str>,
        actor: impl Into<Caller>,
    ) -> Result<()> {
        let _guard = self.begin_change().await?;
        let sub = self.subscription(id)?;
        still_as(&sub, expected)?;
        self.remove_subscription(id, audit(actor, "subscription.delete", id, sub.name.clone())).await
    }

    async fn remove_subscription(&self, id: &SubscriptionId, entry: AuditEntry) -> Result<()> {
        let version = self.store.delete_subscription(id, &entry).await?;
        self.forget_subscription(id);
        self.advance_to(version).await
    }

    /// After this node's own change created `version`: the registry is at it, unless another
    /// node's change came in between, and then it catches up with the store. The caller holds
    /// `changes`.
    async fn advance_to(&self, version: i64) -> Result<()> {
        if self.registry.advance_to(version) { Ok(()) } else { self.sync_subscriptions().await }
    }

    /// Drops a deleted subscription's lane and stats and tells the watchers.
    fn forget_subscription(&self, id: &SubscriptionId) {
        let removed = self.registry.remove(id);
        self.dispatcher.remove(id);
        self.stats.forget(id);
        if let Some(sub) = removed {
            self.feed.publish(FeedEvent::SubscriptionChanged {
                change: SubscriptionChange::Deleted,
                subscription: Box::new((*sub).clone()),
            });
        }
    }

    /// Pause (deliveries queue) or resume (also re-enables a disabled subscription).
    pub async fn set_state(
        &self,
        id: &SubscriptionId,
        state: SubscriptionState,
        actor: impl Into<Caller>,
    ) -> Result<Arc<Subscription>> {
        self.set_state_matching(id, None, state, actor).await
    }

    /// Pauses or resumes the subscription if it is still as `expected` (its `etag`, or `*`) says.
    pub async fn set_state_matching(
        &self,
        id: &SubscriptionId,
        expected: Option<&str>,
        state: SubscriptionState,
        actor: impl Into<Caller>,
    ) -> Result<Arc<Subscription>> {
        let _guard = self.begin_change().await?;
        let current = self.subscription(id)?;
        still_as(&current, expected)?;
        let mut sub = (*current).clone();
        sub.state = state;
        sub.disabled_reason = None;
        sub.updated_at = now_ms();
        let action = if state == SubscriptionState::Paused { "subscription.pause" } else { "subscription.resume" };
        let entry = audit(actor, action, id, sub.name.clone());
        self.save(sub, SubscriptionChange::Updated, entry).await
    }

    /// A lane gave up on an endpoint: its subscription is disabled with the reason.
    pub(super) async fn disable(&self, id: &SubscriptionId, reason: String) {
        let _guard = self.registry.changes.lock().await;
        if let Err(e) = self.sync_subscriptions().await {
            tracing::warn!("disabling {id} with subscriptions not caught up: {e}");
        }
        let Some(sub) = self.registry.get(id) else { return };
        let mut sub = (*sub).clone();
        sub.state = SubscriptionState::Disabled;
        let entry = audit(Actor::Hookwatch, "subscription.disable", id, format!("{}: {reason}", sub.name));
        sub.disabled_reason = Some(reason);
        sub.updated_at = now_ms();
        if let Err(e) = self.save(sub, SubscriptionChange::Updated, entry).await {
            tracing::error!("could not disable {id}: {e}");
        }
    }

    /// A new secret signs from now on; the old one keeps signing beside it for 24 hours.
    pub async fn rotate_secret(
        &self,
        id: &SubscriptionId,
        secret: Option<String>,
        actor: impl Into<Caller>,
    ) -> Result<Arc<Subscription>> {
        let _guard = self.begin_change().await?;
        let mut sub = (*self.subscription(id)?).clone();
        let new_secret = match secret {
            Some(s) => {
                crate::domain::secret::check(&s).map_err(|e| Error::invalid("invalid_secret", e))?;
                s
            }
            // A new key of the kind the subscription signs with.
            None => crate::domain::secret::generate(crate::domain::secret::Scheme::of(&sub.secret)),
        };
        let now = now_ms();
        sub.rotate(new_secret, now).map_err(Error::Conflict)?;
        sub.public_key = crate::domain::secret::public_key(&sub.secret);
        sub.updated_at = now;
        let entry = audit(
            actor,
            "subscription.rotate_secret",
            id,
            format!("{}: a new secret signs, the replaced ones for 24 h each", sub.name),
        );
        self.save(sub, SubscriptionChange::Updated, entry).await
    }

    async fn save(
        &self,
        sub: Subscription,
        change: SubscriptionChange,
        entry: AuditEntry,
    ) -> Result<Arc<Subscription>> {
        let version = self.store.save_subscription(&sub, &entry).await?;
        let sub = Arc::new(sub);
        self.install(sub.clone(), change);
        self.advance_to(version).await?;
        Ok(sub)
    }

    /// Makes a saved subscription the live one: registry, lane, watchers.
    fn install(&self, sub: Arc<Subscription>, change: SubscriptionChange) {
        self.registry.insert(sub.clone());
        self.dispatcher.upsert(sub.clone());
        self.feed.publish(FeedEvent::SubscriptionChanged { change, subscription: Box::new((*sub).clone()) });
    }

    /// Creates or updates the subscriptions declared in the config file, matched by name.
    pub(super) async fn apply_declared_subscriptions(&self) -> anyhow::Result<()> {
        for (n, table) in self.config.subscriptions.iter().enumerate() {
            // The file's tables are what the API's body is, and read as it is.
            let input: SubscriptionInput = serde_json::from_value(table.clone())
                .map_err(|e| anyhow::anyhow!("subscription {} in the config file: {e}", n + 1))?;
            let name = input.name.clone().ok_or_else(|| {
                anyhow::anyhow!(
                    "a subscription in the config file has no \"name\"; names identify them across restarts"
                )
            })?;
            let existing = self.subscriptions().into_iter().find(|s| s.name == name);
            let outcome = match existing {
                Some(sub) => self.update_subscription(&sub.id, &input, Actor::Config).await.map(|_| ()),
                None => self.create_subscription(&input, Actor::Config).await.map(|_| ()),
            };
            outcome.map_err(|e| anyhow::anyhow!("config subscription {name:?}: {e}"))?;
        }
        Ok(())
    }
}

/// An audit entry for a change made now.
pub(super) fn audit(by: impl Into<Caller>, action: &str, target: &str, summary: String) -> AuditEntry {
    let Caller { actor, name, request_id } = by.into();
    AuditEntry {
        at: now_ms(),
        actor,
        name,
        action: action.to_string(),
        target: target.to_string(),
        summary,
        request_id,
    }
}

/// Whether `sub` is still the version an `If-Match` names: one of its comma-separated tags, or `*`.
fn still_as(sub: &Subscription, expected: Option<&str>) -> Result<()> {
    let Some(expected) = expected else { return Ok(()) };
    let etag = sub.etag();
    if expected.split(',').map(str::trim).any(|tag| tag == "*" || tag == etag) {
        return Ok(());
    }
    Err(Error::PreconditionFailed(format!(
        "subscription {} changed since the version given in If-Match ({expected}); it is now {etag}: read it again, \
         then send the change with that ETag",
        sub.id
    )))
}
