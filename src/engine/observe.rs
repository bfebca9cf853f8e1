//! Reading what happened (events, details, activity, stats, metrics) and acting on it
//! (redelivery): everything the API and the dashboard ask of stored and live state.

use super::Engine;
use super::changes::audit;
use crate::domain::error::{Error, Result};
use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{AlertKind, AuditEntry, Caller, EventDetail, EventSummary, Millis, now_ms};
use crate::domain::page::Window;
use crate::domain::query::EventQuery;
use crate::store::Activity;
use crate::wire::{EndpointHistory, NodeInfo, Span};
use crate::wire::{EndpointReport, StatsReport};

impl Engine {
    pub async fn list_events(&self, query: EventQuery) -> Result<Vec<EventSummary>> {
        self.store.list_events(query).await
    }

    pub async fn event(&self, id: &EventId) -> Result<EventDetail> {
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

    /// Redelivers every failed delivery of the subscription for events since `since`.
    pub async fn recover(
        &self,
        subscription_id: &SubscriptionId,
        since: Millis,
        actor: impl Into<Caller>,
    ) -> Result<usize> {
        let sub = self.subscription(subscription_id)?;
        let since_text = chrono::DateTime::from_timestamp_millis(since).map(|t| t.to_rfc3339()).unwrap_or_default();
        let summary = format!("{}: failed deliveries of events since {since_text}", sub.name);
        let entry = audit(actor, "subscription.recover", subscription_id, summary);
        let pending = self.store.requeue_failed(subscription_id, since, now_ms(), &entry).await?;
        Ok(self.resume(pending))
    }

    /// Redelivers an event to all its subscriptions, or to one (even one it never went to).
    /// With `failed_only`, only the deliveries that failed: the others already went through.
    pub async fn redeliver(
        &self,
        event_id: &EventId,
        subscription_id: Option<&SubscriptionId>,
        failed_only: bool,
        actor: impl Into<Caller>,
    ) -> Result<usize> {
        let to = match subscription_id {
            Some(sub) => format!("to {}", self.subscription(sub)?.name),
            None => "to its subscriptions".to_string(),
        };
        let which = if failed_only { "the failed deliveries " } else { "" };
        let entry = audit(actor, "event.redeliver", event_id, format!("{which}{to}"));
        let pending = self.store.requeue_event(event_id, subscription_id, failed_only, now_ms(), Some(&entry)).await?;
        Ok(self.resume(pending))
    }

    /// Probes the subscription's endpoint now if its breaker is open on this node: the cooldown
    /// ends and the next held delivery goes out; its success closes the breaker. Returns how many
    /// deliveries were held.
    pub async fn probe(&self, subscription_id: &SubscriptionId, actor: impl Into<Caller>) -> Result<usize> {
        let sub = self.subscription(subscription_id)?;
        let held =
            self.dispatcher.gauges(subscription_id).map_or(0, |g| g.backlog.load(std::sync::atomic::Ordering::Relaxed));
        if !self.dispatcher.probe(subscription_id) {
            return Err(Error::Conflict(format!(
                "the breaker of {} is not open on this node: its deliveries are not held, so there is nothing to probe",
                sub.name
            )));
        }
        let entry =
            audit(actor, "subscription.probe", subscription_id, format!("{}: {held} deliveries held", sub.name));
        self.store.save_audit(&entry).await?;
        Ok(held)
    }

    /// Subscription `id`'s attempts per time slot over `span`, the responses it gave, its recent
    /// failures and the changes of its health (breaker, failure streaks, disabling).
    pub fn endpoint_history(&self, id: &SubscriptionId, span: Span) -> Result<EndpointHistory> {
        let sub = self.subscription(id)?;
        let mut history = self.stats.history(&sub.id, span, now_ms());
        let health = [
            AlertKind::BreakerOpen,
            AlertKind::EndpointFailing,
            AlertKind::EndpointFlapping,
            AlertKind::EndpointRecovered,
            AlertKind::Disabled,
        ];
        history.breaker = self
            .alerts()
            .into_iter()
            .rev()
            .filter(|a| a.subscription_id == sub.id && health.contains(&a.kind))
            .take(20)
            .collect();
        Ok(history)
    }

    /// A window of the changes made by anyone, a list newest first, each with its position.
    pub async fn audit_window(&self, window: Window<i64>) -> Result<Vec<(i64, AuditEntry)>> {
        self.store.audit_window(window).await
    }

    /// The Prometheus exposition of this node (and, in a cluster, of the others it follows).
    pub fn metrics(&self) -> String {
        self.stats().exposition(self.stats.metrics.gather())
    }

    /// Whether this node can take new work: its store commits a write now. A probe at most once a
    /// second, however many ask (`/readyz` needs no token). The error says why, for the log.
    pub async fn ready(&self) -> std::result::Result<(), String> {
        let mut last = self.readiness.lock().await;
        if let Some((at, verdict)) = last.as_ref()
            && at.elapsed() < std::time::Duration::from_secs(1)
        {
            return verdict.clone();
        }
        // A probe stuck on a half-open connection is an answer too: not ready.
        let probe = tokio::time::timeout(std::time::Duration::from_secs(2), self.store.probe_write()).await;
        let verdict = match probe {
            Ok(done) => done.map_err(Error::into_reason),
            Err(_) => Err("the store did not commit a write within 2 s".to_string()),
        };
        *last = Some((std::time::Instant::now(), verdict.clone()));
        verdict
    }

    pub fn backlog(&self) -> usize {
        self.dispatcher.total_backlog()
    }

    pub fn stats(&self) -> StatsReport {
        let now = now_ms();
        let nodes = self.nodes();
        // A silent node's backlog is what is still leased to it, until the live nodes take it over.
        let others: Vec<&NodeInfo> = nodes.iter().filter(|n| n.id != self.membership.node_id).collect();
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
            held_body_bytes: self.dispatcher.held_body_bytes() as u64,
            subscriptions,
            nodes,
        }
    }
}
