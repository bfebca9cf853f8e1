//! Ingest: validate a body, store it durably with the deliveries it matched, then hand those to
//! their lanes and tell the watchers.

use super::Engine;
use crate::dispatch::{CompactId, Job};
use crate::domain::error::{Error, Result};
use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{DeliveryStatus, DeliverySummary, EventSummary, Millis, millis, now_ms};
use crate::domain::trace::TraceContext;
use crate::store::{IngestOutcome, NewEvent, PendingDelivery};
use crate::validate::payload::{self, Audience, PayloadFacts};
use crate::wire::FeedEvent;
use crate::wire::Ingested;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// How often an ingest matches again after the subscriptions changed under it, before it gives up.
const MATCH_ATTEMPTS: usize = 8;

/// The idempotency key an unkeyed body gets under `dedupe_window`: its SHA-256.
fn body_key(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    format!("body-sha256:{}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A new event for a validated body, before it is matched.
fn new_event(
    facts: &PayloadFacts,
    body: Bytes,
    idempotency_key: Option<String>,
    now: Millis,
    trace: Option<TraceContext>,
) -> NewEvent {
    NewEvent {
        id: EventId::generate(),
        action: facts.action.clone(),
        received_at: now,
        body,
        idempotency_key,
        card_id: facts.card_id.clone(),
        card_title: facts.card_title.clone(),
        pipe_id: facts.pipe_id.clone(),
        deliveries: Vec::new(),
        subscriptions_version: 0,
        trace,
    }
}

impl Engine {
    /// Validates and durably stores an event, then hands its deliveries to the dispatcher.
    pub async fn ingest(self: &Arc<Self>, body: Bytes, idempotency_key: Option<String>) -> Result<Ingested> {
        self.ingest_traced(body, idempotency_key, None).await
    }

    /// As `ingest`, for a request that came with a W3C trace context: the ingest's span is its
    /// child, and the event's deliveries continue the trace.
    pub async fn ingest_traced(
        self: &Arc<Self>,
        body: Bytes,
        idempotency_key: Option<String>,
        trace: Option<TraceContext>,
    ) -> Result<Ingested> {
        let span = self.traces.ingest(trace);
        let ingested = self.ingest_for(body, idempotency_key, Audience::Matching, span.context()).await;
        match &ingested {
            Ok(i) => span.committed(&i.id, &i.action, i.deliveries, i.replayed),
            Err(e) => span.refused(e.code()),
        }
        ingested
    }

    /// A test event for one subscription alone, whatever its actions and filters: what the
    /// dashboard's test-event editor sends by default, so a test reaches no other endpoint.
    pub async fn send_test(self: &Arc<Self>, subscription_id: &SubscriptionId, body: Bytes) -> Result<Ingested> {
        let sub = self.subscription(subscription_id)?;
        if sub.state == crate::domain::model::SubscriptionState::Disabled {
            return Err(Error::Conflict(format!("{} is disabled and gets no events; resume it to test it", sub.name)));
        }
        self.ingest_for(body, None, Audience::Only(subscription_id.clone()), None).await
    }

    /// `trace`: the context the event's deliveries continue.
    async fn ingest_for(
        self: &Arc<Self>,
        body: Bytes,
        idempotency_key: Option<String>,
        audience: Audience,
        trace: Option<TraceContext>,
    ) -> Result<Ingested> {
        let backlog = self.dispatcher.total_backlog();
        if backlog >= self.config.max_backlog {
            return Err(Error::Unavailable {
                message: format!("{backlog} deliveries are waiting (limit {}); retry later", self.config.max_backlog),
                retry_after: Duration::from_secs(5),
            });
        }
        let facts = PayloadFacts { audience, ..payload::inspect(&body, &self.catalog)? };
        if let Some(key) = &idempotency_key
            && (key.is_empty() || key.len() > 255 || key.chars().any(char::is_control))
        {
            return Err(Error::bad_input(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 printable characters",
            ));
        }
        let now = now_ms();
        // Pipefy redelivers without a key: with `dedupe_window`, an unkeyed body is keyed by its
        // hash, so a repeat within the window is answered as a replay of the first.
        let (idempotency_key, window) = match (idempotency_key, self.config.dedupe_window) {
            (None, Some(window)) if facts.audience == Audience::Matching => (Some(body_key(&body)), millis(*window)),
            (key, _) => (key, millis(*self.config.idempotency_window)),
        };
        let event = new_event(&facts, body, idempotency_key, now, trace);
        // The store call and the hand-off to the lanes run in their own task: the caller (an HTTP
        // request whose client may hang up) can drop this future, but an event that reaches the
        // store must still reach its lanes.
        let engine = self.clone();
        tokio::spawn(async move { engine.commit_and_dispatch(event, facts, now - window).await })
            .await
            .map_err(|e| Error::Storage(format!("the ingest task ended early: {e}")))?
    }

    /// Stores and dispatches one of hookwatch's own events (an alert), if any subscription asks for
    /// it. Called from the engine's own tasks, never from a request a client could cancel; the
    /// backlog limit does not apply, since an alert matters most when deliveries pile up.
    pub(super) async fn ingest_own(&self, body: Bytes, facts: PayloadFacts) -> Result<Option<Ingested>> {
        if self.registry.route(&facts)?.1.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let event = new_event(&facts, body, None, now, None);
        self.commit_and_dispatch(event, facts, now).await.map(Some)
    }

    /// Stores an accepted event and queues its deliveries; runs detached from the ingest's caller.
    /// The store refuses an event matched against subscriptions older than its own: then this
    /// node catches up with the stored subscriptions and matches again.
    async fn commit_and_dispatch(
        &self,
        mut event: NewEvent,
        facts: PayloadFacts,
        idempotency_since: Millis,
    ) -> Result<Ingested> {
        for _ in 0..MATCH_ATTEMPTS {
            (event.subscriptions_version, event.deliveries) = self.registry.route(&facts)?;
            match self.store.ingest(event.clone(), idempotency_since).await? {
                IngestOutcome::StaleSubscriptions => self.catch_up_subscriptions().await?,
                IngestOutcome::Duplicate { id, action, deliveries, same_body: true } => {
                    return Ok(Ingested { id, action, deliveries, replayed: true });
                }
                // As Stripe does: a key names one request; another body under it is a mistake.
                IngestOutcome::Duplicate { id, same_body: false, .. } => {
                    return Err(Error::invalid(
                        "idempotency_key_reused",
                        format!(
                            "Idempotency-Key {:?} was already used for event {id} with a different body; \
                             send a new key for a new event (the same body under the same key replays {id})",
                            event.idempotency_key.as_deref().unwrap_or_default()
                        ),
                    ));
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
    fn dispatch_new(&self, event: NewEvent, facts: PayloadFacts) -> Ingested {
        let NewEvent { id: event_id, received_at: now, body, deliveries, trace, .. } = event;
        self.stats.record_event(now, &facts.action);
        // A body from the HTTP layer can be a slice of a much larger read buffer; a queued
        // job keeps an exact copy so it pins only its own bytes.
        let held = (!deliveries.is_empty()).then(|| Bytes::copy_from_slice(&body));
        let trace = held.as_ref().and_then(|_| self.traces.event(&facts.action, trace));
        let queued_event_id = CompactId::new(&event_id);
        for (delivery_id, sub_id) in &deliveries {
            let job = Job {
                delivery_id: CompactId::new(delivery_id),
                event_id: queued_event_id.clone(),
                attempts: 0,
                due: now,
                body: held.as_ref().and_then(|b| self.dispatcher.hold_body(b, &trace)),
                replay: None,
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
                    card_title: facts.card_title,
                    pipe_id: facts.pipe_id,
                    deliveries: summaries,
                },
            });
        }
        // One per subscription, which are far fewer than 2^32.
        let count = u32::try_from(deliveries.len()).unwrap_or(u32::MAX);
        Ingested { id: event_id, action: facts.action, deliveries: count, replayed: false }
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
}
