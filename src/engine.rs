//! The engine: the one library API behind the HTTP server and the dashboard.
//! Flow: ingest → validate → store (durable) → dispatcher → attempts → stats → feed.

use crate::catalog::Catalog;
use crate::config::Config;
use crate::dispatch::{self, Context, Control, Dispatcher, Job, SsrfGuard};
use crate::error::{Error, Result};
use crate::feed::{Feed, FeedEvent};
use crate::model::{Alert, SubscriptionChange};
use crate::model::{
    DeliveryStatus, DeliverySummary, EventDetail, EventSummary, Millis, Subscription, SubscriptionState, new_id, now_ms,
};
use crate::payload;
use crate::report::{EndpointReport, StatsReport};
use crate::store::{
    Activity, EventQuery, IngestOutcome, NewEvent, NodeInfo, NodeStatus, PendingDelivery, SharedStore, Store,
};
use crate::subscriptions::{SubscriptionInput, conflicts};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How many alerts the alert log keeps.
const ALERT_LOG: usize = 500;

/// What an accepted ingest returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ingested {
    pub id: String,
    pub action: String,
    pub deliveries: u32,
    /// True when the idempotency key matched an earlier event and nothing was created.
    #[serde(skip)]
    pub replayed: bool,
}

/// The live subscriptions and the store's subscriptions version they reflect.
#[derive(Default)]
struct Registry {
    version: i64,
    by_id: BTreeMap<String, Arc<Subscription>>,
}

/// How often an ingest matches again after the subscriptions changed under it, before it gives up.
const MATCH_ATTEMPTS: usize = 8;

pub struct Engine {
    config: Config,
    catalog: Catalog,
    store: Arc<dyn Store>,
    subscriptions: RwLock<Registry>,
    /// Serialises subscription changes so the duplicate check and the save see the same world.
    changes: tokio::sync::Mutex<()>,
    dispatcher: Dispatcher,
    stats: Arc<crate::stats::Stats>,
    feed: Feed,
    alerts: Mutex<VecDeque<Alert>>,
    started: Instant,
    started_at: Millis,
    node_id: String,
    /// The cluster's nodes as the shared store last reported them (empty for a single node).
    nodes: RwLock<Vec<NodeInfo>>,
    /// Set on a clean exit from a cluster: the cluster loop stops claiming and heartbeating.
    left: std::sync::atomic::AtomicBool,
}

impl Engine {
    /// Opens the store, resumes every unfinished delivery and starts the lanes.
    pub async fn start(config: Config) -> anyhow::Result<Arc<Engine>> {
        let node_id = config.node_id.clone().unwrap_or_else(default_node_id);
        let store = crate::store::open(&config.database(), &node_id, config.max_db_bytes).await?;
        let guard =
            Arc::new(SsrfGuard { allow_private: config.allow_private, allowlist: config.allow_networks.clone() });
        let stats = Arc::new(crate::stats::Stats::default());
        let feed = Feed::default();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let dispatcher = Dispatcher::new(Context {
            store: store.clone(),
            client: dispatch::client::build_client(&guard)?,
            guard,
            schedule: config.retry_schedule.clone(),
            breaker: config.breaker.clone(),
            disable_after: config.disable_after,
            stats: stats.clone(),
            feed: feed.clone(),
            control: control_tx,
            total_backlog: Default::default(),
            body_bytes: Default::default(),
            unrecorded: Arc::new(tokio::sync::Semaphore::new(dispatch::MAX_UNRECORDED)),
        });
        let version = store.subscriptions_version().await?;
        let stored = store.subscriptions().await?;
        let alerts = store.recent_alerts(ALERT_LOG as u32).await?;
        let engine = Arc::new(Engine {
            catalog: Catalog::new(&config.extra_actions),
            config,
            store,
            subscriptions: RwLock::new(Registry {
                version,
                by_id: stored.into_iter().map(|s| (s.id.clone(), Arc::new(s))).collect(),
            }),
            changes: tokio::sync::Mutex::new(()),
            dispatcher,
            stats,
            feed,
            alerts: Mutex::new(alerts.into()),
            started: Instant::now(),
            started_at: now_ms(),
            node_id,
            nodes: RwLock::new(Vec::new()),
            left: Default::default(),
        });
        engine.apply_declared_subscriptions().await?;
        for sub in engine.subscriptions() {
            engine.dispatcher.upsert(sub);
        }
        // A single node resumes all unfinished work; a node of a cluster claims its share instead.
        if engine.store.shared().is_none() {
            let pending = engine.store.pending_deliveries().await?;
            if !pending.is_empty() {
                tracing::info!("resuming {} unfinished deliveries", pending.len());
            }
            engine.resume(pending);
        }
        let since = now_ms() - 86_400_000;
        for c in engine.store.attempt_counts_since(since).await? {
            engine.stats.seed(&c.subscription_id, c.minute, c.attempts, c.successes);
        }
        tokio::spawn(handle_control(Arc::downgrade(&engine), control_rx));
        tokio::spawn(prune_periodically(Arc::downgrade(&engine)));
        Ok(engine)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    pub(crate) fn shared_store(&self) -> Option<&dyn SharedStore> {
        self.store.shared()
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Validates and durably stores an event, then hands its deliveries to the dispatcher.
    pub async fn ingest(self: &Arc<Self>, body: Bytes, idempotency_key: Option<String>) -> Result<Ingested> {
        let backlog = self.dispatcher.total_backlog();
        if backlog >= self.config.max_backlog {
            return Err(Error::Unavailable {
                message: format!("{backlog} deliveries are waiting (limit {}); retry later", self.config.max_backlog),
                retry_after: Duration::from_secs(5),
            });
        }
        let facts = payload::inspect(&body, &self.catalog)?;
        if let Some(key) = &idempotency_key
            && (key.is_empty() || key.len() > 255 || key.chars().any(char::is_control))
        {
            return Err(Error::bad_input(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 printable characters",
            ));
        }
        let now = now_ms();
        let event = NewEvent {
            id: new_id("evt"),
            action: facts.action.clone(),
            received_at: now,
            body,
            idempotency_key,
            card_id: facts.card_id.clone(),
            pipe_id: facts.pipe_id.clone(),
            deliveries: Vec::new(),
            subscriptions_version: 0,
        };
        let window = self.config.idempotency_window.as_millis() as i64;
        // The store call and the hand-off to the lanes run in their own task: the caller (an HTTP
        // request whose client may hang up) can drop this future, but an event that reaches the
        // store must still reach its lanes.
        let engine = self.clone();
        tokio::spawn(async move { engine.commit_and_dispatch(event, facts, now - window).await })
            .await
            .map_err(|e| Error::Storage(format!("the ingest task ended early: {e}")))?
    }

    /// The deliveries an event gets from the live subscriptions, and the version they are at.
    fn route(&self, facts: &payload::PayloadFacts) -> Result<(i64, Vec<(String, String)>)> {
        let registry =
            self.subscriptions.read().map_err(|_| Error::Storage("subscription registry poisoned".into()))?;
        let deliveries = registry
            .by_id
            .values()
            .filter(|s| s.state != SubscriptionState::Disabled)
            .filter(|s| s.actions.iter().any(|p| crate::catalog::pattern_matches(p, &facts.action)))
            .filter(|s| s.filters.matches(facts))
            .map(|s| (new_id("dlv"), s.id.clone()))
            .collect();
        Ok((registry.version, deliveries))
    }

    /// Stores an accepted event and queues its deliveries; runs detached from the ingest's caller.
    /// The store refuses an event matched against subscriptions older than its own: then this
    /// node catches up with the stored subscriptions and matches again.
    async fn commit_and_dispatch(
        &self,
        mut event: NewEvent,
        facts: payload::PayloadFacts,
        idempotency_since: Millis,
    ) -> Result<Ingested> {
        for _ in 0..MATCH_ATTEMPTS {
            (event.subscriptions_version, event.deliveries) = self.route(&facts)?;
            match self.store.ingest(event.clone(), idempotency_since).await? {
                IngestOutcome::StaleSubscriptions => self.catch_up_subscriptions().await?,
                IngestOutcome::Duplicate { id, action, deliveries } => {
                    return Ok(Ingested { id, action, deliveries, replayed: true });
                }
                IngestOutcome::Created => return Ok(self.dispatch_new(event, facts)),
            }
        }
        Err(Error::Unavailable {
            message: "subscriptions are changing faster than events can be matched against them; retry".into(),
            retry_after: Duration::from_secs(1),
        })
    }

    /// Hands a stored event's deliveries to their lanes and tells the watchers.
    fn dispatch_new(&self, event: NewEvent, facts: payload::PayloadFacts) -> Ingested {
        let NewEvent { id: event_id, received_at: now, body, deliveries, .. } = event;
        self.stats.record_ingest(now);
        // A body from the HTTP layer can be a slice of a much larger read buffer; a queued
        // job keeps an exact copy so it pins only its own bytes.
        let held = (!deliveries.is_empty()).then(|| Bytes::copy_from_slice(&body));
        for (delivery_id, sub_id) in &deliveries {
            let job = Job {
                delivery_id: delivery_id.clone(),
                event_id: event_id.clone(),
                attempts: 0,
                due: now,
                body: held.as_ref().and_then(|b| self.dispatcher.hold_body(b)),
            };
            self.dispatcher.enqueue(sub_id, job);
        }
        if self.feed.has_listeners() {
            let summaries = deliveries
                .iter()
                .map(|(delivery_id, sub_id)| DeliverySummary {
                    id: delivery_id.clone(),
                    subscription_id: sub_id.clone(),
                    status: DeliveryStatus::Pending,
                    attempt_count: 0,
                    last_status_code: None,
                    last_error: None,
                    next_attempt_at: Some(now),
                })
                .collect();
            self.feed.publish(FeedEvent::EventReceived {
                event: EventSummary {
                    id: event_id.clone(),
                    action: facts.action.clone(),
                    received_at: now,
                    card_id: facts.card_id,
                    pipe_id: facts.pipe_id,
                    deliveries: summaries,
                },
            });
        }
        Ingested { id: event_id, action: facts.action, deliveries: deliveries.len() as u32, replayed: false }
    }

    /// Hands unfinished deliveries (resumed at start, claimed, or requeued) to their lanes.
    pub(crate) fn resume(&self, pending: Vec<PendingDelivery>) -> usize {
        let n = pending.len();
        for p in pending {
            let sub = p.subscription_id.clone();
            self.dispatcher.enqueue(&sub, Job::from_pending(p));
        }
        n
    }

    // ----- subscriptions -----

    /// The live subscriptions as this node knows them (see `current_subscriptions` for a read
    /// that must include every change answered anywhere).
    pub fn subscriptions(&self) -> Vec<Arc<Subscription>> {
        self.subscriptions.read().map(|r| r.by_id.values().cloned().collect()).unwrap_or_default()
    }

    pub fn subscription(&self, id: &str) -> Result<Arc<Subscription>> {
        self.subscriptions
            .read()
            .ok()
            .and_then(|r| r.by_id.get(id).cloned())
            .ok_or_else(|| Error::NotFound(format!("no subscription {id}; list them with GET /v1/subscriptions")))
    }

    /// The subscriptions including every change answered by any node (on a shared store, this
    /// node first catches up with the store if its version moved).
    pub async fn current_subscriptions(&self) -> Result<Vec<Arc<Subscription>>> {
        self.catch_up_if_shared().await?;
        Ok(self.subscriptions())
    }

    pub async fn current_subscription(&self, id: &str) -> Result<Arc<Subscription>> {
        self.catch_up_if_shared().await?;
        self.subscription(id)
    }

    /// Alone on its store this node makes every change itself; sharing it, others may have.
    async fn catch_up_if_shared(&self) -> Result<()> {
        if self.store.shared().is_some() { self.catch_up_subscriptions().await } else { Ok(()) }
    }

    fn registry_version(&self) -> i64 {
        self.subscriptions.read().map(|r| r.version).unwrap_or(-1)
    }

    /// Catches up with subscription changes other nodes made (or this node made while an ingest
    /// was matching).
    pub(crate) async fn catch_up_subscriptions(&self) -> Result<()> {
        self.begin_change().await.map(drop)
    }

    /// Takes the subscription-change lock with the registry caught up with the store, so a change
    /// starts from every change answered before it, on any node.
    async fn begin_change(&self) -> Result<tokio::sync::MutexGuard<'_, ()>> {
        let guard = self.changes.lock().await;
        self.sync_subscriptions().await?;
        Ok(guard)
    }

    /// Brings the registry to the store's subscriptions version; the caller holds `changes`.
    async fn sync_subscriptions(&self) -> Result<()> {
        // The version first: subscriptions read after it are at least that new, so a registry
        // labelled with it is never newer than its label says.
        let version = self.store.subscriptions_version().await?;
        if version == self.registry_version() {
            return Ok(());
        }
        let stored = self.store.subscriptions().await?;
        self.follow_subscriptions(version, stored);
        Ok(())
    }

    /// Creates a subscription; with `override_previous` the duplicates it would have conflicted with
    /// are deleted and their ids returned.
    pub async fn create_subscription(&self, input: &SubscriptionInput) -> Result<(Arc<Subscription>, Vec<String>)> {
        let _guard = self.begin_change().await?;
        let sub = input.create(&self.catalog, now_ms())?;
        let replaced = self.check_conflicts(&sub, input.override_previous)?;
        for id in &replaced {
            self.remove_subscription(id).await?;
        }
        let sub = self.save(sub, SubscriptionChange::Created).await?;
        Ok((sub, replaced))
    }

    pub async fn update_subscription(&self, id: &str, input: &SubscriptionInput) -> Result<Arc<Subscription>> {
        let _guard = self.begin_change().await?;
        let mut sub = (*self.subscription(id)?).clone();
        input.apply(&mut sub, &self.catalog, now_ms())?;
        for replaced in self.check_conflicts(&sub, input.override_previous)? {
            self.remove_subscription(&replaced).await?;
        }
        self.save(sub, SubscriptionChange::Updated).await
    }

    fn check_conflicts(&self, sub: &Subscription, override_previous: bool) -> Result<Vec<String>> {
        let registry =
            self.subscriptions.read().map_err(|_| Error::Storage("subscription registry poisoned".into()))?;
        let found: Vec<String> =
            conflicts(sub, registry.by_id.values().map(|s| s.as_ref())).iter().map(|s| s.id.clone()).collect();
        if !found.is_empty() && !override_previous {
            return Err(Error::Conflict(format!(
                "subscription {} already sends an overlapping action to this URL; send \"override_previous\": true to replace it",
                found.join(", ")
            )));
        }
        Ok(found)
    }

    pub async fn delete_subscription(&self, id: &str) -> Result<()> {
        let _guard = self.begin_change().await?;
        self.subscription(id)?;
        self.remove_subscription(id).await
    }

    async fn remove_subscription(&self, id: &str) -> Result<()> {
        let version = self.store.delete_subscription(id).await?;
        self.forget_subscription(id);
        self.advance_to(version).await
    }

    /// After this node's own change created `version`: the registry is at it, unless another
    /// node's change came in between, and then it catches up with the store. The caller holds
    /// `changes`.
    async fn advance_to(&self, version: i64) -> Result<()> {
        let in_step = self.subscriptions.write().is_ok_and(|mut r| {
            let next = r.version + 1 == version;
            if next {
                r.version = version;
            }
            next
        });
        if in_step { Ok(()) } else { self.sync_subscriptions().await }
    }

    /// Drops a deleted subscription's lane and stats and tells the watchers.
    fn forget_subscription(&self, id: &str) {
        let removed = self.subscriptions.write().ok().and_then(|mut r| r.by_id.remove(id));
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
    pub async fn set_state(&self, id: &str, state: SubscriptionState) -> Result<Arc<Subscription>> {
        let _guard = self.begin_change().await?;
        let mut sub = (*self.subscription(id)?).clone();
        sub.state = state;
        sub.disabled_reason = None;
        sub.updated_at = now_ms();
        self.save(sub, SubscriptionChange::Updated).await
    }

    /// A new secret signs from now on; the old one keeps signing beside it for 24 hours.
    pub async fn rotate_secret(&self, id: &str, secret: Option<String>) -> Result<Arc<Subscription>> {
        let _guard = self.begin_change().await?;
        let mut sub = (*self.subscription(id)?).clone();
        let new_secret = match secret {
            Some(s) => {
                dispatch::signing::secret_key(&s).map_err(|e| Error::invalid("invalid_secret", e))?;
                s
            }
            None => dispatch::signing::generate_secret(),
        };
        let now = now_ms();
        sub.previous_secret = Some(std::mem::replace(&mut sub.secret, new_secret));
        sub.previous_secret_expires_at = Some(now + 86_400_000);
        sub.updated_at = now;
        self.save(sub, SubscriptionChange::Updated).await
    }

    async fn save(&self, sub: Subscription, change: SubscriptionChange) -> Result<Arc<Subscription>> {
        let version = self.store.save_subscription(&sub).await?;
        let sub = Arc::new(sub);
        self.install(sub.clone(), change);
        self.advance_to(version).await?;
        Ok(sub)
    }

    /// Makes a saved subscription the live one: registry, lane, watchers.
    fn install(&self, sub: Arc<Subscription>, change: SubscriptionChange) {
        if let Ok(mut registry) = self.subscriptions.write() {
            registry.by_id.insert(sub.id.clone(), sub.clone());
        }
        self.dispatcher.upsert(sub.clone());
        self.feed.publish(FeedEvent::SubscriptionChanged { change, subscription: Box::new((*sub).clone()) });
    }

    /// Creates or updates the subscriptions declared in the config file, matched by name.
    async fn apply_declared_subscriptions(&self) -> anyhow::Result<()> {
        for input in &self.config.subscriptions {
            let name = input.name.clone().ok_or_else(|| {
                anyhow::anyhow!(
                    "a subscription in the config file has no \"name\"; names identify them across restarts"
                )
            })?;
            let existing = self.subscriptions().into_iter().find(|s| s.name == name);
            let outcome = match existing {
                Some(sub) => self.update_subscription(&sub.id, input).await.map(|_| ()),
                None => self.create_subscription(input).await.map(|_| ()),
            };
            outcome.map_err(|e| anyhow::anyhow!("config subscription {name:?}: {e}"))?;
        }
        Ok(())
    }

    // ----- redelivery -----

    /// Redelivers every failed delivery of the subscription for events since `since`.
    pub async fn recover(&self, subscription_id: &str, since: Millis) -> Result<usize> {
        self.subscription(subscription_id)?;
        let pending = self.store.requeue_failed(subscription_id, since, now_ms()).await?;
        Ok(self.resume(pending))
    }

    /// Redelivers an event to all its subscriptions, or to one (even one it never went to).
    /// With `failed_only`, only the deliveries that failed: the others already went through.
    pub async fn redeliver(&self, event_id: &str, subscription_id: Option<&str>, failed_only: bool) -> Result<usize> {
        if let Some(sub) = subscription_id {
            self.subscription(sub)?;
        }
        let pending = self.store.requeue_event(event_id, subscription_id, failed_only, now_ms()).await?;
        Ok(self.resume(pending))
    }

    // ----- observing -----

    pub async fn list_events(&self, query: EventQuery) -> Result<Vec<EventSummary>> {
        self.store.list_events(query).await
    }

    pub async fn event(&self, id: &str) -> Result<EventDetail> {
        self.store
            .event_detail(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no event {id}; list events with GET /v1/events")))
    }

    pub async fn count_events(&self) -> Result<u64> {
        self.store.count_events().await
    }

    /// What happened after `since` (any node's), for a stream client that resumes.
    pub async fn activity_since(&self, since: Millis, limit: u32) -> Result<Activity> {
        self.store.activity_since(since, limit).await
    }

    /// The Prometheus exposition of this node (and, in a cluster, of the others it follows).
    pub fn metrics(&self) -> String {
        self.stats().exposition(self.stats.metrics.gather())
    }

    pub fn alerts(&self) -> Vec<Alert> {
        self.alerts.lock().map(|a| a.iter().cloned().collect()).unwrap_or_default()
    }

    pub fn backlog(&self) -> usize {
        self.dispatcher.total_backlog()
    }

    pub fn stats(&self) -> StatsReport {
        let now = now_ms();
        let nodes = self.nodes();
        // A silent node's last report is stale: its work is being taken over by the live ones.
        let others: Vec<&NodeInfo> = nodes.iter().filter(|n| n.id != self.node_id && n.alive).collect();
        let (rate, total) = self.stats.ingest_rate(now, 10);
        let subscriptions = self
            .subscriptions()
            .into_iter()
            .map(|sub| {
                let gauges = self.dispatcher.gauges(&sub.id);
                EndpointReport::new(&sub, self.stats.snapshot(&sub.id, now), gauges.as_deref())
            })
            .collect();
        StatsReport {
            generated_at: now,
            uptime_s: self.uptime().as_secs(),
            ingest_per_second: rate,
            events_ingested: total,
            backlog: self.backlog() as u64 + others.iter().map(|n| n.backlog).sum::<u64>(),
            subscriptions,
            nodes,
        }
    }

    /// This node and, in a cluster, every other node the shared store knows.
    fn nodes(&self) -> Vec<NodeInfo> {
        let status = self.node_status();
        let me = NodeInfo {
            id: self.node_id.clone(),
            address: status.address,
            started_at: status.started_at,
            heartbeat_at: now_ms(),
            heartbeat_age_ms: 0,
            alive: true,
            in_flight: status.in_flight,
            backlog: status.backlog,
        };
        let lease = self.config.lease.as_millis() as u64;
        let mut nodes = self.nodes.read().map(|n| n.clone()).unwrap_or_default();
        for n in &mut nodes {
            n.alive = n.heartbeat_age_ms <= lease;
        }
        nodes.retain(|n| n.id != me.id);
        nodes.insert(0, me);
        nodes
    }

    // ----- cluster -----

    /// On a clean exit from a cluster: stop delivering and hand this node's work to the others
    /// now rather than when its lease runs out.
    pub async fn leave(&self) {
        let Some(shared) = self.store.shared() else { return };
        self.left.store(true, std::sync::atomic::Ordering::SeqCst);
        self.dispatcher.stop_all();
        match shared.leave().await {
            Ok(()) => tracing::info!("left the cluster; the other nodes take over this node's deliveries"),
            Err(e) => tracing::warn!("could not hand over this node's deliveries (they move when its lease ends): {e}"),
        }
    }

    pub(crate) fn has_left(&self) -> bool {
        self.left.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn node_status(&self) -> NodeStatus {
        NodeStatus {
            address: self.config.listen.to_string(),
            started_at: self.started_at,
            in_flight: self.dispatcher.total_in_flight() as u64,
            backlog: self.backlog() as u64,
        }
    }

    pub(crate) fn set_nodes(&self, nodes: Vec<NodeInfo>) {
        if let Ok(mut n) = self.nodes.write() {
            *n = nodes;
        }
    }

    /// Makes the stored subscriptions (at `version`) the live ones: changes another node made
    /// (created, updated, paused, deleted). The caller holds `changes`.
    fn follow_subscriptions(&self, version: i64, stored: Vec<Subscription>) {
        let mut gone: std::collections::BTreeSet<String> = self.subscriptions().iter().map(|s| s.id.clone()).collect();
        for sub in stored {
            gone.remove(&sub.id);
            let change = match self.subscription(&sub.id) {
                Ok(known) if *known == sub => continue,
                Ok(_) => SubscriptionChange::Updated,
                Err(_) => SubscriptionChange::Created,
            };
            self.install(Arc::new(sub), change);
        }
        for id in gone {
            self.forget_subscription(&id);
        }
        if let Ok(mut registry) = self.subscriptions.write() {
            registry.version = version;
        }
    }

    /// Folds the other nodes' events, attempts and alerts into this node's stats and live feed.
    pub(crate) fn absorb(&self, activity: Activity) {
        for event in activity.events {
            self.stats.record_ingest(event.received_at);
            self.feed.publish(FeedEvent::EventReceived { event });
        }
        for notice in activity.attempts {
            let facts = crate::metrics::AttemptFacts {
                success: notice.error_kind.is_none(),
                status_code: notice.status_code,
                error_kind: notice.error_kind,
                latency_ms: notice.duration_ms,
                // The notice carries its delivery's current state: only the attempt after which no
                // retry was scheduled is the one that made it dead.
                status: if notice.next_attempt_at.is_none() { notice.status } else { DeliveryStatus::Retrying },
            };
            self.stats.record_attempt(&notice.subscription_id, notice.started_at, &facts, notice.error.as_deref());
            self.feed.publish(FeedEvent::DeliveryAttempted(notice));
        }
        for alert in activity.alerts {
            self.remember_alert(alert);
        }
    }

    /// A lane's alert: kept in the store (the log outlives restarts and is shared by a cluster).
    async fn record_alert(&self, alert: Alert) {
        if let Err(e) = self.store.save_alert(&alert).await {
            tracing::warn!("could not store an alert (it stays in this node's log): {e}");
        }
        self.remember_alert(alert);
    }

    fn remember_alert(&self, alert: Alert) {
        if let Ok(mut log) = self.alerts.lock() {
            if log.len() >= ALERT_LOG {
                log.pop_front();
            }
            log.push_back(alert.clone());
        }
        self.feed.publish(FeedEvent::Alert(alert));
    }
}

/// The host's name and a random tail, e.g. `web-3-k2q9xz`: readable in the nodes view, and new
/// at every start (use `--node-id` to keep one across restarts).
fn default_node_id() -> String {
    let host: String = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(40)
        .collect();
    let id = new_id("");
    let tail = id[id.len() - 6..].to_ascii_lowercase();
    if host.is_empty() { format!("node-{tail}") } else { format!("{host}-{tail}") }
}

/// Acts on what the lanes ask for; holds only a weak handle so the engine can be dropped.
async fn handle_control(engine: Weak<Engine>, mut rx: mpsc::UnboundedReceiver<Control>) {
    while let Some(msg) = rx.recv().await {
        let Some(engine) = engine.upgrade() else { return };
        match msg {
            Control::Alert(alert) => engine.record_alert(alert).await,
            Control::Disable { subscription_id, reason } => {
                let _guard = engine.changes.lock().await;
                if let Err(e) = engine.sync_subscriptions().await {
                    tracing::warn!("disabling {subscription_id} with subscriptions not caught up: {e}");
                }
                let Ok(sub) = engine.subscription(&subscription_id) else { continue };
                let mut sub = (*sub).clone();
                sub.state = SubscriptionState::Disabled;
                sub.disabled_reason = Some(reason);
                sub.updated_at = now_ms();
                if let Err(e) = engine.save(sub, SubscriptionChange::Updated).await {
                    tracing::error!("could not disable {subscription_id}: {e}");
                }
            }
        }
    }
}

/// Retention: prunes finished events older than the configured age, hourly.
async fn prune_periodically(engine: Weak<Engine>) {
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
