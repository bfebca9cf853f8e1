//! The in-process source: calls the engine directly.

use super::AUDIT_SHOWN;
use super::{Source, SourceError, SourceResult, Update};
use crate::domain::ids::{EventId, ReplayId, SubscriptionId};
use crate::domain::model::{Actor, Alert, AuditEntry, Replay, ReplayFilter, ReplayPreview};
use crate::domain::model::{EventDetail, EventSummary, SigningKeys, Subscription, SubscriptionState};
use crate::domain::page::Window;
use crate::domain::query::EventQuery;
use crate::engine::Engine;
use crate::wire::StatsReport;
use crate::wire::SubscriptionInput;
use crate::wire::{EndpointHistory, Span};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

pub struct LocalSource {
    engine: Arc<Engine>,
    location: String,
}

impl LocalSource {
    pub fn new(engine: Arc<Engine>, location: String) -> Self {
        LocalSource { engine, location }
    }
}

/// How often stats are pushed; the dashboard redraws only if they changed.
pub const STATS_EVERY: Duration = Duration::from_secs(1);

#[async_trait::async_trait]
impl Source for LocalSource {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn watch(&self, tx: mpsc::Sender<Update>) {
        let mut feed = self.engine.feed().subscribe();
        let engine = self.engine.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(STATS_EVERY);
            loop {
                let update = tokio::select! {
                    msg = feed.recv() => match msg {
                        Ok(ev) => Update::Feed((*ev).clone()),
                        Err(broadcast::error::RecvError::Lagged(_)) => Update::Lagged,
                        Err(broadcast::error::RecvError::Closed) => return,
                    },
                    _ = tick.tick() => Update::Stats(engine.stats()),
                };
                if tx.send(update).await.is_err() {
                    return;
                }
            }
        });
    }

    async fn stats(&self) -> SourceResult<StatsReport> {
        Ok(self.engine.stats())
    }

    /// Secrets masked, as the API lists them: `signing_keys` reads them, audited.
    async fn subscriptions(&self) -> SourceResult<Vec<Subscription>> {
        Ok(self.engine.subscriptions().iter().map(|s| s.with_secrets_masked()).collect())
    }

    async fn signing_keys(&self, id: &SubscriptionId) -> SourceResult<SigningKeys> {
        self.engine.signing_keys(id, Actor::Local).await.map_err(SourceError::from)
    }

    async fn events(&self, query: EventQuery) -> SourceResult<Vec<EventSummary>> {
        self.engine.list_events(query).await.map_err(SourceError::from)
    }

    async fn event(&self, id: &EventId) -> SourceResult<EventDetail> {
        self.engine.event(id).await.map_err(SourceError::from)
    }

    async fn alerts(&self) -> SourceResult<Vec<Alert>> {
        Ok(self.engine.alerts())
    }

    async fn endpoint_history(&self, id: &SubscriptionId, span: Span) -> SourceResult<EndpointHistory> {
        self.engine.endpoint_history(id, span).map_err(SourceError::from)
    }

    async fn audit(&self) -> SourceResult<Vec<AuditEntry>> {
        let newest = self.engine.audit_window(Window::first(AUDIT_SHOWN)).await.map_err(SourceError::from)?;
        Ok(newest.into_iter().map(|(_, entry)| entry).collect())
    }

    async fn catalog(&self) -> SourceResult<Vec<String>> {
        Ok(self.engine.catalog().names())
    }

    async fn redeliver(
        &self,
        event_id: &EventId,
        subscription_id: Option<&SubscriptionId>,
        failed_only: bool,
    ) -> SourceResult<usize> {
        self.engine.redeliver(event_id, subscription_id, failed_only, Actor::Local).await.map_err(SourceError::from)
    }

    async fn set_paused(
        &self,
        subscription_id: &SubscriptionId,
        paused: bool,
        version: Option<&str>,
    ) -> SourceResult<()> {
        let state = if paused { SubscriptionState::Paused } else { SubscriptionState::Active };
        let set = self.engine.set_state_matching(subscription_id, version, state, Actor::Local).await;
        set.map(|_| ()).map_err(SourceError::from)
    }

    async fn probe(&self, subscription_id: &SubscriptionId) -> SourceResult<usize> {
        self.engine.probe(subscription_id, Actor::Local).await.map_err(SourceError::from)
    }

    async fn save_subscription(
        &self,
        id: Option<&SubscriptionId>,
        input: SubscriptionInput,
        version: Option<&str>,
    ) -> SourceResult<Subscription> {
        let saved = match id {
            Some(id) => self.engine.update_subscription_matching(id, version, &input, Actor::Local).await,
            None => self.engine.create_subscription(&input, Actor::Local).await.map(|(s, _)| s),
        };
        saved.map(|s| s.with_secrets_masked()).map_err(SourceError::from)
    }

    async fn delete_subscription(&self, id: &SubscriptionId, version: Option<&str>) -> SourceResult<()> {
        self.engine.delete_subscription_matching(id, version, Actor::Local).await.map_err(SourceError::from)
    }

    async fn preview_replay(&self, filter: &ReplayFilter, rate_per_s: u32) -> SourceResult<ReplayPreview> {
        self.engine.preview_replay(filter, rate_per_s).await.map_err(SourceError::from)
    }

    async fn start_replay(&self, filter: &ReplayFilter, rate_per_s: u32) -> SourceResult<Replay> {
        self.engine.start_replay(filter.clone(), rate_per_s, Actor::Local).await.map_err(SourceError::from)
    }

    async fn replays(&self) -> SourceResult<Vec<Replay>> {
        self.engine.replays().await.map_err(SourceError::from)
    }

    async fn cancel_replay(&self, id: &ReplayId) -> SourceResult<Replay> {
        self.engine.cancel_replay(id, Actor::Local).await.map_err(SourceError::from)
    }

    async fn send_event(&self, body: String, to: Option<&SubscriptionId>) -> SourceResult<EventId> {
        let sent = match to {
            Some(id) => self.engine.send_test(id, body.into()).await,
            None => self.engine.ingest(body.into(), None).await,
        };
        sent.map(|i| i.id).map_err(SourceError::from)
    }
}
