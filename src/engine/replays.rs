//! Replays: stored jobs that send a filtered set of deliveries again, oldest event first, never
//! faster than their rate, resumable after a restart and cancellable. A replay is the operator's
//! word that its endpoints may be back: its first delivery to an endpoint whose breaker is open is
//! the probe. Should the probe fail, the replay is held until the breaker's next probe (its next
//! delivery). It is done once every delivery it sent has been attempted.

use super::Engine;
use super::changes::audit;
use crate::dispatch::{BreakerState, Job, ReplayTally};
use crate::domain::error::{Error, Result};
use crate::domain::ids::{ReplayId, SubscriptionId};
use crate::domain::model::{
    Caller, DeliveryStatus, EventSummary, Millis, PreviewTarget, Replay, ReplayFilter, ReplayHold, ReplayPreview,
    ReplayState, SubscriptionState, now_ms, rfc3339,
};
use crate::domain::page::Window;
use crate::domain::query::{EventQuery, StatusFilter};
use crate::store::first_event_id_at;
use crate::wire::MAX_REPLAY_RATE;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Events read per page while counting or replaying.
const PAGE: u32 = 500;
/// How often a running replay stores its progress (a restart resends at most this much).
const SAVE_EVERY: Duration = Duration::from_millis(250);

/// How often a held replay, or one waiting for its last attempts, looks at its endpoints again.
const LOOK_AGAIN: Duration = Duration::from_millis(100);

/// How to reach each replay running on this node: its runner alone stores it, so a cancel is
/// asked of the runner, which stops and stores its final figures with the cancel's audit entry.
#[derive(Default)]
pub(super) struct ReplayRuns(Mutex<HashMap<ReplayId, oneshot::Sender<CancelRequest>>>);

/// Who cancels, and where the runner answers with the replay as it stored it.
struct CancelRequest {
    actor: Caller,
    reply: oneshot::Sender<Result<Replay>>,
}

/// How a replay's filter reads the store and which of an event's deliveries it sends again.
struct Selection {
    query: EventQuery,
    failed_only: bool,
}

impl Selection {
    fn of(filter: &ReplayFilter) -> Result<Selection> {
        let status = match filter.status.as_deref() {
            None => None,
            Some(s) => Some(StatusFilter::parse(s).ok_or_else(|| {
                Error::invalid("invalid_status", format!("status {s:?} is not one of {}", StatusFilter::NAMES))
            })?),
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && since > until
        {
            return Err(Error::invalid("invalid_range", "\"since\" is after \"until\""));
        }
        let failed_only = status.is_some_and(|s| s.statuses().iter().all(|st| st.has_failed()));
        Ok(Selection {
            query: EventQuery {
                action: filter.action.clone(),
                subscription: filter.subscription.as_ref().map(ToString::to_string),
                status,
                card_id: filter.card.clone(),
                before: filter.until.map(|t| first_event_id_at(t + 1)),
                after: filter.since.map(first_event_id_at),
                oldest_first: true,
                limit: PAGE,
                ..EventQuery::default()
            },
            failed_only,
        })
    }

    /// The next page after `cursor`.
    fn page(&self, cursor: Option<&str>) -> EventQuery {
        let mut query = self.query.clone();
        if let Some(cursor) = cursor {
            query.after = Some(cursor.to_string());
        }
        query
    }

    /// The subscriptions the event has deliveries to that the replay sends again.
    fn targets(&self, event: &EventSummary) -> Vec<SubscriptionId> {
        let mut subs: Vec<SubscriptionId> = event
            .deliveries
            .iter()
            .filter(|d| self.takes(&d.subscription_id, d.status))
            .map(|d| d.subscription_id.clone())
            .collect();
        subs.sort();
        subs.dedup();
        subs
    }

    /// Whether a delivery of `subscription_id` in `status` is one the replay sends again.
    fn takes(&self, subscription_id: &SubscriptionId, status: DeliveryStatus) -> bool {
        self.query.subscription.as_deref().is_none_or(|s| subscription_id == s)
            && status != DeliveryStatus::Cancelled
            && (!self.failed_only || status.has_failed())
    }
}

impl Engine {
    /// Counts what a replay of `filter` would send, per subscription.
    pub async fn preview_replay(&self, filter: &ReplayFilter, rate_per_s: u32) -> Result<ReplayPreview> {
        check_rate(rate_per_s)?;
        if let Some(sub) = &filter.subscription {
            self.subscription(sub)?;
        }
        let selection = Selection::of(filter)?;
        let mut counts: BTreeMap<SubscriptionId, u64> = BTreeMap::new();
        let mut events = 0;
        let mut cursor = None;
        loop {
            let page = self.store.list_events(selection.page(cursor.as_deref())).await?;
            for event in &page {
                let mut taken = false;
                for d in event.deliveries.iter().filter(|d| selection.takes(&d.subscription_id, d.status)) {
                    *counts.entry(d.subscription_id.clone()).or_default() += 1;
                    taken = true;
                }
                events += u64::from(taken);
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => cursor = Some(last.id.clone()),
                _ => break,
            }
        }
        let subscriptions = counts
            .into_iter()
            .map(|(id, deliveries)| {
                let name = self.subscription(&id).map(|s| s.name.clone()).unwrap_or_else(|_| "(deleted)".into());
                PreviewTarget { id, name, deliveries }
            })
            .collect::<Vec<_>>();
        let total = subscriptions.iter().map(|s| s.deliveries).sum();
        Ok(ReplayPreview { total, events, rate_per_s, subscriptions })
    }

    /// Creates a replay and starts it on this node.
    pub async fn start_replay(
        self: &Arc<Self>,
        filter: ReplayFilter,
        rate_per_s: u32,
        actor: impl Into<Caller>,
    ) -> Result<Replay> {
        let preview = self.preview_replay(&filter, rate_per_s).await?;
        let now = now_ms();
        let replay = Replay {
            id: ReplayId::generate(),
            filter,
            rate_per_s,
            state: if preview.total == 0 { ReplayState::Done } else { ReplayState::Running },
            total: preview.total,
            sent: 0,
            delivered: 0,
            failed: 0,
            skipped: 0,
            held: None,
            created_at: now,
            updated_at: now,
            cursor: None,
            node: self.membership.node_id.clone(),
        };
        let summary =
            format!("{}: {} deliveries at {}/s", self.describe_filter(&replay.filter), replay.total, rate_per_s);
        self.store.save_replay(&replay, Some(&audit(actor, "replay.start", &replay.id, summary))).await?;
        if replay.state.is_live() {
            self.run_replay(replay.clone());
        }
        Ok(replay)
    }

    /// What a replay covers, as the audit log says it.
    fn describe_filter(&self, filter: &ReplayFilter) -> String {
        let mut parts = vec![match &filter.subscription {
            Some(id) => {
                let name = self.subscription(id).map(|s| s.name.clone()).unwrap_or_else(|_| "(deleted)".into());
                format!("{name} ({id})")
            }
            None => "every subscription".to_string(),
        }];
        let fields = [("status", &filter.status), ("action", &filter.action), ("card", &filter.card)];
        parts.extend(fields.iter().filter_map(|(key, value)| value.as_ref().map(|v| format!("{key} {v}"))));
        parts.extend(filter.since.map(|t| format!("since {}", rfc3339(t))));
        parts.extend(filter.until.map(|t| format!("until {}", rfc3339(t))));
        parts.join(", ")
    }

    pub async fn replays(&self) -> Result<Vec<Replay>> {
        self.store.replays().await
    }

    /// A window of the replay jobs, a list newest first.
    pub async fn replays_window(&self, window: Window<String>) -> Result<Vec<Replay>> {
        self.store.replays_window(window).await
    }

    pub async fn replay(&self, id: &ReplayId) -> Result<Replay> {
        self.store
            .replays()
            .await?
            .into_iter()
            .find(|r| r.id == *id)
            .ok_or_else(|| Error::NotFound(format!("no replay {id}; list them with GET /v1/replays")))
    }

    /// Stops a running or held replay where it is. The answer is the replay as stored, and the
    /// audit entry (written with it) gives the same figures: deliveries already sent are
    /// attempted, the others are not.
    pub async fn cancel_replay(&self, id: &ReplayId, actor: impl Into<Caller>) -> Result<Replay> {
        // Taken out at once: a second cancel finds nothing running, even before the runner stops.
        let runner = self.replay_runs.0.lock().ok().and_then(|mut runs| runs.remove(id));
        let (reply, answer) = oneshot::channel();
        match runner.map(|runner| runner.send(CancelRequest { actor: actor.into(), reply })) {
            Some(Ok(())) => answer.await.map_err(|_| {
                Error::Storage(format!("replay {id} stopped without storing its cancel; read it again"))
            })?,
            // Not running here, or it finished just now.
            _ => {
                let replay = self.replay(id).await?;
                Err(Error::Conflict(format!(
                    "replay {id} is {} here, not running on this node; nothing to cancel",
                    replay.state.as_str()
                )))
            }
        }
    }

    /// Resumes the replays this node was running when it stopped.
    pub(super) async fn resume_replays(self: &Arc<Self>) -> Result<()> {
        let shared = self.store.shared().is_some();
        for replay in self.store.replays().await? {
            if replay.state.is_live() && (!shared || replay.node == self.membership.node_id) {
                tracing::info!("resuming replay {} after {} of {} deliveries", replay.id, replay.sent, replay.total);
                self.run_replay(replay);
            }
        }
        Ok(())
    }

    fn run_replay(self: &Arc<Self>, replay: Replay) {
        // Its filter was checked when it was created: a stored one that no longer parses is left as it is.
        let Ok(selection) = Selection::of(&replay.filter) else {
            tracing::error!("replay {}: its stored filter is not valid; it cannot go on", replay.id);
            return;
        };
        let (cancel_tx, cancel) = oneshot::channel();
        if let Ok(mut runs) = self.replay_runs.0.lock() {
            runs.insert(replay.id.clone(), cancel_tx);
        }
        let runner = Runner {
            tally: ReplayTally::new(&replay.id),
            base: (replay.delivered, replay.failed, replay.skipped),
            replay,
            selection,
            seen: HashSet::new(),
            saved: Instant::now(),
        };
        tokio::spawn(runner.run(Arc::downgrade(self), cancel));
    }

    /// Whether the replay may hand on a delivery to each of `targets` now: `Ok` with those whose
    /// open breaker this delivery probes, else what it waits for (`None`: a probe is under way,
    /// its outcome is a moment away). Only the first delivery to an endpoint (not in `seen`)
    /// forces a probe: that is the operator's word; later ones wait for the breaker's own time.
    fn admits(
        &self,
        targets: &[SubscriptionId],
        seen: &HashSet<SubscriptionId>,
        now: Millis,
    ) -> std::result::Result<Vec<SubscriptionId>, Option<ReplayHold>> {
        let mut probes = Vec::new();
        for id in targets {
            match self.gate(id, !seen.contains(id), now) {
                Gate::Go => {}
                Gate::Probe => probes.push(id.clone()),
                Gate::Wait(hold) => return Err(hold),
            }
        }
        Ok(probes)
    }

    /// What keeps the deliveries already sent to `subscriptions` from going out, if anything.
    /// `probed`: endpoints whose probe was just handed on; their open breaker is not a hold (its
    /// probe is a moment away), but a pause or a disabling still is.
    fn holding(
        &self,
        subscriptions: &HashSet<SubscriptionId>,
        probed: &[SubscriptionId],
        now: Millis,
    ) -> Option<ReplayHold> {
        subscriptions.iter().find_map(|id| match self.gate(id, probed.contains(id), now) {
            Gate::Wait(hold) => hold,
            Gate::Go | Gate::Probe => None,
        })
    }

    fn gate(&self, id: &SubscriptionId, first: bool, now: Millis) -> Gate {
        // A subscription deleted meanwhile has nothing left to send: the requeue skips it.
        let Ok(sub) = self.subscription(id) else { return Gate::Go };
        let hold = |reason: &str, next_probe_at| {
            Gate::Wait(Some(ReplayHold {
                reason: reason.to_string(),
                subscription_id: sub.id.clone(),
                subscription_name: sub.name.clone(),
                next_probe_at,
            }))
        };
        match sub.state {
            SubscriptionState::Active => {}
            SubscriptionState::Paused => return hold("subscription paused", None),
            SubscriptionState::Disabled => return hold("subscription disabled", None),
        }
        let Some(gauges) = self.dispatcher.gauges(id) else { return Gate::Go };
        match gauges.breaker() {
            BreakerState::Closed => Gate::Go,
            BreakerState::HalfOpen => Gate::Wait(None),
            BreakerState::Open => match gauges.next_probe_at() {
                Some(at) if !first && at > now => hold("breaker open", Some(at)),
                _ => Gate::Probe,
            },
        }
    }
}

/// Whether a replay may hand a delivery to an endpoint now.
enum Gate {
    Go,
    /// Its breaker is open and this delivery is the probe.
    Probe,
    /// Not now: what it waits for (`None`: a probe's outcome, a moment away).
    Wait(Option<ReplayHold>),
}

fn check_rate(rate_per_s: u32) -> Result<()> {
    if (1..=MAX_REPLAY_RATE).contains(&rate_per_s) {
        Ok(())
    } else {
        Err(Error::invalid(
            "invalid_rate",
            format!(
                "\"rate_per_s\" must be 1 to {MAX_REPLAY_RATE} deliveries per second per endpoint, not {rate_per_s}"
            ),
        ))
    }
}

/// Why a runner stopped before the end.
enum Stop {
    Cancelled(CancelRequest),
    /// The engine is gone (the node is stopping): the replay resumes at the next start.
    EngineGone,
}

/// `work`, unless a cancel comes first.
async fn or_cancel<T>(
    cancel: &mut oneshot::Receiver<CancelRequest>,
    work: impl Future<Output = T>,
) -> std::result::Result<T, Stop> {
    tokio::select! {
        biased;
        asked = cancel => Err(asked.map_or(Stop::EngineGone, Stop::Cancelled)),
        done = work => Ok(done),
    }
}

/// What a runner waits for when it waits for its deliveries' attempts.
enum Settling {
    /// The probe it sent to these subscriptions (whose open breakers are not a hold meanwhile).
    Probe(Vec<SubscriptionId>),
    /// Its last deliveries.
    End,
}

/// One replay under way on this node; the only writer of its stored job.
struct Runner {
    replay: Replay,
    selection: Selection,
    /// What became of the deliveries sent in this run.
    tally: Arc<ReplayTally>,
    /// Delivered, failed and skipped as stored before this run (a resumed replay adds to them).
    base: (u64, u64, u64),
    /// The subscriptions it has sent to: only the first delivery to each may force a probe.
    seen: HashSet<SubscriptionId>,
    saved: Instant,
}

impl Runner {
    async fn run(mut self, weak: Weak<Engine>, mut cancel: oneshot::Receiver<CancelRequest>) {
        match self.send_all(&weak, &mut cancel).await {
            Ok(()) => {
                self.replay.state = ReplayState::Done;
                self.replay.held = None;
                self.checkpoint(&weak).await;
            }
            Err(Stop::Cancelled(request)) => self.cancelled(&weak, request).await,
            Err(Stop::EngineGone) => return,
        }
        if let Some(engine) = weak.upgrade()
            && let Ok(mut runs) = engine.replay_runs.0.lock()
        {
            runs.remove(&self.replay.id);
        }
    }

    /// Hands on every selected delivery, oldest event first, one event per tick (so no endpoint
    /// gets more than `rate_per_s`), then waits until each one sent was attempted.
    async fn send_all(
        &mut self,
        weak: &Weak<Engine>,
        cancel: &mut oneshot::Receiver<CancelRequest>,
    ) -> std::result::Result<(), Stop> {
        let mut tick = tokio::time::interval(Duration::from_secs(1) / self.replay.rate_per_s.max(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Only a weak handle is held between steps, so dropping the engine ends the replay.
            let engine = weak.upgrade().ok_or(Stop::EngineGone)?;
            let read = engine.store.list_events(self.selection.page(self.replay.cursor.as_deref())).await;
            drop(engine);
            let page = match read {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!("replay {}: cannot read events, trying again: {e}", self.replay.id);
                    or_cancel(cancel, tokio::time::sleep(Duration::from_secs(2))).await?;
                    continue;
                }
            };
            for event in &page {
                let targets = self.selection.targets(event);
                if !targets.is_empty() {
                    or_cancel(cancel, tick.tick()).await?;
                    let probes = self.admitted(weak, &targets, cancel).await?;
                    self.send_event(weak, event, &targets, &probes).await?;
                    if !probes.is_empty() {
                        // The probe's outcome decides whether the rest may follow.
                        self.settle(weak, cancel, Settling::Probe(probes)).await?;
                    }
                }
                self.replay.cursor = Some(event.id.clone());
                if self.saved.elapsed() >= SAVE_EVERY {
                    self.checkpoint(weak).await;
                }
            }
            if page.len() < PAGE as usize {
                return self.settle(weak, cancel, Settling::End).await;
            }
        }
    }

    /// Waits until every target may take a delivery; held meanwhile when one cannot. Returns
    /// the targets whose open breaker the next delivery probes.
    async fn admitted(
        &mut self,
        weak: &Weak<Engine>,
        targets: &[SubscriptionId],
        cancel: &mut oneshot::Receiver<CancelRequest>,
    ) -> std::result::Result<Vec<SubscriptionId>, Stop> {
        loop {
            let engine = weak.upgrade().ok_or(Stop::EngineGone)?;
            let now = now_ms();
            let hold = match engine.admits(targets, &self.seen, now) {
                Ok(probes) => {
                    self.hold(weak, None).await;
                    return Ok(probes);
                }
                Err(hold) => hold,
            };
            drop(engine);
            let wait = hold
                .as_ref()
                .and_then(|h| h.next_probe_at)
                .map_or(LOOK_AGAIN, |at| crate::domain::model::span(at - now).min(LOOK_AGAIN));
            if hold.is_some() {
                self.hold(weak, hold).await;
            }
            or_cancel(cancel, tokio::time::sleep(wait)).await?;
        }
    }

    /// Requeues the event's selected deliveries and hands them to their lanes, each with a ticket.
    async fn send_event(
        &mut self,
        weak: &Weak<Engine>,
        event: &EventSummary,
        targets: &[SubscriptionId],
        probes: &[SubscriptionId],
    ) -> std::result::Result<(), Stop> {
        let engine = weak.upgrade().ok_or(Stop::EngineGone)?;
        let sub = self.replay.filter.subscription.as_ref();
        match engine.store.requeue_event(&event.id, sub, self.selection.failed_only, now_ms(), None).await {
            Ok(pending) => {
                for p in pending {
                    let subscription_id = p.subscription_id.clone();
                    let mut job = Job::from_pending(p);
                    job.replay = Some(self.tally.ticket());
                    self.replay.sent += 1;
                    if probes.contains(&subscription_id) {
                        engine.dispatcher.probe_with(&subscription_id, job);
                    } else {
                        engine.dispatcher.enqueue(&subscription_id, job);
                    }
                }
            }
            Err(e) => {
                tracing::warn!("replay {}: event {} not redelivered: {e}", self.replay.id, event.id);
                self.base.2 += targets.len() as u64;
            }
        }
        self.seen.extend(targets.iter().cloned());
        Ok(())
    }

    /// Waits until every delivery sent so far was attempted, held meanwhile while an endpoint it
    /// sent to cannot take them (paused, disabled, its breaker open): the replay says what it
    /// waits for instead of showing `running` while nothing moves. The open breaker of an
    /// endpoint just probed is not a hold (the probe is its answer, a moment away); its pause is.
    async fn settle(
        &mut self,
        weak: &Weak<Engine>,
        cancel: &mut oneshot::Receiver<CancelRequest>,
        settling: Settling,
    ) -> std::result::Result<(), Stop> {
        let probed: &[SubscriptionId] = match &settling {
            Settling::Probe(probes) => probes,
            Settling::End => &[],
        };
        while self.tally.outstanding() > 0 {
            let engine = weak.upgrade().ok_or(Stop::EngineGone)?;
            let hold = engine.holding(&self.seen, probed, now_ms());
            drop(engine);
            self.hold(weak, hold).await;
            let _ = or_cancel(cancel, tokio::time::timeout(LOOK_AGAIN, self.tally.changed())).await?;
            if self.saved.elapsed() >= SAVE_EVERY {
                self.checkpoint(weak).await;
            }
        }
        Ok(())
    }

    /// Marks the replay held (with what it waits for) or running again, storing the change.
    async fn hold(&mut self, weak: &Weak<Engine>, hold: Option<ReplayHold>) {
        if self.replay.held == hold {
            return;
        }
        self.replay.state = if hold.is_some() { ReplayState::Held } else { ReplayState::Running };
        self.replay.held = hold;
        self.checkpoint(weak).await;
    }

    /// Stops on a cancel: stores the figures it has with the audit entry and answers with them,
    /// then keeps the counts current until what it sent has been attempted.
    async fn cancelled(&mut self, weak: &Weak<Engine>, request: CancelRequest) {
        self.replay.state = ReplayState::Cancelled;
        self.replay.held = None;
        let summary = format!("after {} of {} deliveries sent", self.replay.sent, self.replay.total);
        let entry = audit(request.actor, "replay.cancel", &self.replay.id, summary);
        let stored = self.save(weak, Some(&entry)).await.map(|()| self.replay.clone());
        let _ = request.reply.send(stored);
        while self.tally.outstanding() > 0 {
            let _ = tokio::time::timeout(SAVE_EVERY, self.tally.changed()).await;
            if weak.strong_count() == 0 {
                return;
            }
            self.checkpoint(weak).await;
        }
        self.checkpoint(weak).await;
    }

    /// Stores the replay's progress; a failure is logged, and the next save tries again.
    async fn checkpoint(&mut self, weak: &Weak<Engine>) {
        let _ = self.save(weak, None).await;
    }

    /// Stores the replay's progress (with `audit` in the same transaction, if given).
    async fn save(&mut self, weak: &Weak<Engine>, audit: Option<&crate::domain::model::AuditEntry>) -> Result<()> {
        let (delivered, failed, skipped) = self.base;
        self.replay.delivered = delivered + self.tally.delivered();
        self.replay.failed = failed + self.tally.failed();
        self.replay.skipped = skipped + self.tally.unattempted();
        self.replay.updated_at = now_ms();
        self.saved = Instant::now();
        let Some(engine) = weak.upgrade() else { return Err(Error::Storage("the node is stopping".into())) };
        let saved = engine.store.save_replay(&self.replay, audit).await;
        if let Err(e) = &saved {
            tracing::warn!(
                "replay {}: progress not stored (a restart resends from the last stored point): {e}",
                self.replay.id
            );
        }
        saved
    }
}
