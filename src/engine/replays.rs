//! Replays: stored jobs that send a filtered set of deliveries again, oldest event first, never
//! faster than their rate, resumable after a restart and cancellable.

use super::Engine;
use super::changes::audit;
use crate::error::{Error, Result};
use crate::model::{
    Actor, DeliveryStatus, PreviewTarget, Replay, ReplayFilter, ReplayPreview, ReplayState, new_id, now_ms,
};
use crate::store::{EventQuery, StatusFilter, first_event_id_at};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// The highest rate a replay may send at, per endpoint.
pub const MAX_REPLAY_RATE: u32 = 10_000;
/// Deliveries per second per endpoint when a replay names no rate.
pub const DEFAULT_REPLAY_RATE: u32 = 10;
/// Events read per page while counting or replaying.
const PAGE: u32 = 500;
/// How often a running replay stores its progress (a restart resends at most this much).
const SAVE_EVERY: Duration = Duration::from_millis(250);

/// The cancel flags of the replays running on this node.
#[derive(Default)]
pub(super) struct ReplayRuns(Mutex<HashMap<String, Arc<AtomicBool>>>);

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
                subscription: filter.subscription.clone(),
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

    /// Whether a delivery of `subscription_id` in `status` is one the replay sends again.
    fn takes(&self, subscription_id: &str, status: DeliveryStatus) -> bool {
        self.query.subscription.as_deref().is_none_or(|s| s == subscription_id)
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
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
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
    pub async fn start_replay(self: &Arc<Self>, filter: ReplayFilter, rate_per_s: u32, actor: Actor) -> Result<Replay> {
        let preview = self.preview_replay(&filter, rate_per_s).await?;
        let now = now_ms();
        let replay = Replay {
            id: new_id("rpl"),
            filter,
            rate_per_s,
            state: if preview.total == 0 { ReplayState::Done } else { ReplayState::Running },
            total: preview.total,
            done: 0,
            failed: 0,
            created_at: now,
            updated_at: now,
            cursor: None,
            node: self.membership.node_id.clone(),
        };
        let summary = format!("{} deliveries at {}/s", replay.total, rate_per_s);
        self.store.save_replay(&replay, Some(&audit(actor, "replay.start", &replay.id, summary))).await?;
        if replay.state == ReplayState::Running {
            self.run_replay(replay.clone());
        }
        Ok(replay)
    }

    pub async fn replays(&self) -> Result<Vec<Replay>> {
        self.store.replays().await
    }

    pub async fn replay(&self, id: &str) -> Result<Replay> {
        self.store
            .replays()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::NotFound(format!("no replay {id}; list them with GET /v1/replays")))
    }

    /// Stops a running replay where it is.
    pub async fn cancel_replay(&self, id: &str, actor: Actor) -> Result<Replay> {
        // Taken out at once: a second cancel finds nothing running, even before the runner stops.
        let flag = self.replay_runs.0.lock().ok().and_then(|mut runs| runs.remove(id));
        let Some(flag) = flag else {
            let replay = self.replay(id).await?;
            return Err(Error::Conflict(format!(
                "replay {id} is {} here, not running on this node; nothing to cancel",
                replay.state.as_str()
            )));
        };
        flag.store(true, Ordering::SeqCst);
        // The runner stores its last progress as it stops; the state is set here so the answer is final.
        let mut replay = self.replay(id).await?;
        replay.state = ReplayState::Cancelled;
        replay.updated_at = now_ms();
        let summary = format!("after {} of {} deliveries", replay.done, replay.total);
        self.store.save_replay(&replay, Some(&audit(actor, "replay.cancel", id, summary))).await?;
        Ok(replay)
    }

    /// Resumes the replays this node was running when it stopped.
    pub(super) async fn resume_replays(self: &Arc<Self>) -> Result<()> {
        let shared = self.store.shared().is_some();
        for replay in self.store.replays().await? {
            if replay.state == ReplayState::Running && (!shared || replay.node == self.membership.node_id) {
                tracing::info!("resuming replay {} after {} of {} deliveries", replay.id, replay.done, replay.total);
                self.run_replay(replay);
            }
        }
        Ok(())
    }

    fn run_replay(self: &Arc<Self>, replay: Replay) {
        let cancelled = Arc::new(AtomicBool::new(false));
        if let Ok(mut runs) = self.replay_runs.0.lock() {
            runs.insert(replay.id.clone(), cancelled.clone());
        }
        tokio::spawn(run(Arc::downgrade(self), replay, cancelled));
    }
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

/// Hands the replay's deliveries to their lanes, one event per tick: an event gives each
/// endpoint at most one delivery, so no endpoint gets more than `rate_per_s`.
async fn run(weak: Weak<Engine>, mut replay: Replay, cancelled: Arc<AtomicBool>) {
    let Ok(selection) = Selection::of(&replay.filter) else { return };
    let mut tick = tokio::time::interval(Duration::from_secs(1) / replay.rate_per_s.max(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut saved = Instant::now();
    'pages: loop {
        // Only a weak handle is held between steps, so dropping the engine ends the replay.
        let read = match weak.upgrade() {
            Some(engine) => engine.store.list_events(selection.page(replay.cursor.as_deref())).await,
            None => return,
        };
        let page = match read {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!("replay {}: cannot read events, trying again: {e}", replay.id);
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        for event in &page {
            if cancelled.load(Ordering::SeqCst) {
                break 'pages;
            }
            tick.tick().await;
            let Some(engine) = weak.upgrade() else { return };
            let sub = selection.query.subscription.as_deref();
            match engine.store.requeue_event(&event.id, sub, selection.failed_only, now_ms(), None).await {
                Ok(pending) => replay.done += engine.resume(pending) as u64,
                Err(e) => {
                    tracing::warn!("replay {}: event {} not redelivered: {e}", replay.id, event.id);
                    replay.failed += 1;
                }
            }
            replay.cursor = Some(event.id.clone());
            if saved.elapsed() >= SAVE_EVERY {
                saved = Instant::now();
                save_progress(&engine, &replay, &cancelled).await;
            }
        }
        if page.len() < PAGE as usize {
            replay.state = ReplayState::Done;
            break;
        }
    }
    let Some(engine) = weak.upgrade() else { return };
    save_progress(&engine, &replay, &cancelled).await;
    if let Ok(mut runs) = engine.replay_runs.0.lock() {
        runs.remove(&replay.id);
    }
}

/// Stores a running replay's progress; once cancelled, it is stored as cancelled.
async fn save_progress(engine: &Engine, replay: &Replay, cancelled: &AtomicBool) {
    let mut replay = replay.clone();
    if cancelled.load(Ordering::SeqCst) {
        replay.state = ReplayState::Cancelled;
    }
    replay.updated_at = now_ms();
    if let Err(e) = engine.store.save_replay(&replay, None).await {
        tracing::warn!("replay {}: progress not stored (a restart resends from the last stored point): {e}", replay.id);
    }
}
