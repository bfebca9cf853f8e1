//! The delivery engine: routes each pending delivery to its subscription's lane.

mod breaker;
pub mod client;
mod compact_id;
mod health;
mod lane;
pub mod retry;
pub mod ssrf;
mod ticket;

pub use crate::domain::model::BreakerState;
pub use breaker::BreakerConfig;
pub use ssrf::SsrfGuard;
pub use ticket::{ReplayTally, ReplayTicket};

use crate::domain::ids::{DeliveryId, EventId, SubscriptionId};
use crate::domain::model::Alert;
use crate::domain::model::{Millis, Subscription};
use crate::domain::schedule::RetrySchedule;
use crate::observe::feed::Feed;
use crate::observe::stats::Stats;
use crate::observe::traces::{EventTrace, Traces};
use crate::store::{PendingDelivery, Store};
use bytes::Bytes;
pub use compact_id::CompactId;
use lane::{Command, Lane};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A delivery waiting in a lane.
#[derive(Debug)]
pub struct Job {
    pub delivery_id: CompactId<DeliveryId>,
    pub event_id: CompactId<EventId>,
    pub attempts: u32,
    pub due: Millis,
    /// The body when it is at hand (fresh events within the memory budget, or read ahead by the
    /// lane); a job goes out only once it is.
    pub body: Option<HeldBody>,
    /// When a replay handed it on: its ticket, settled by the delivery's next attempt.
    pub replay: Option<ReplayTicket>,
}

impl Job {
    pub fn from_pending(p: PendingDelivery) -> Self {
        Job {
            delivery_id: CompactId::new(&p.id),
            event_id: CompactId::new(&p.event_id),
            attempts: p.attempts,
            due: p.next_attempt_at,
            body: None,
            replay: None,
        }
    }
}

/// How much event body fresh jobs may keep in memory; beyond it bodies are read back from the
/// store just before they are sent. A read-ahead is counted but not refused, so the total can
/// pass the budget by what the lanes are about to send (twice their in-flight limits at most).
const BODY_BUDGET: usize = 64 * 1024 * 1024;

/// A body kept in memory for a queued delivery, counted against the budget until dropped, with
/// what its attempts' spans need of the event (read back with the body, so a job holds neither
/// while it waits long).
#[derive(Debug)]
pub struct HeldBody {
    bytes: Bytes,
    trace: Option<Arc<EventTrace>>,
    used: Arc<AtomicUsize>,
}

impl HeldBody {
    /// Counts `bytes` against the budget `used`, whatever it already holds.
    fn counted(bytes: Bytes, trace: Option<Arc<EventTrace>>, used: &Arc<AtomicUsize>) -> Self {
        used.fetch_add(bytes.len(), Ordering::Relaxed);
        HeldBody { bytes, trace, used: used.clone() }
    }

    pub fn bytes(&self) -> Bytes {
        self.bytes.clone()
    }
}

impl Drop for HeldBody {
    fn drop(&mut self) {
        self.used.fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

/// What a lane asks of the engine (state it does not own).
#[derive(Debug)]
pub enum Control {
    Disable { subscription_id: SubscriptionId, reason: String },
    Alert(Alert),
}

/// Everything the lanes share.
pub struct Context {
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    pub guard: Arc<SsrfGuard>,
    pub schedule: RetrySchedule,
    pub breaker: BreakerConfig,
    pub disable_after: Duration,
    pub stats: Arc<Stats>,
    pub feed: Feed,
    pub control: mpsc::UnboundedSender<Control>,
    pub total_backlog: AtomicUsize,
    /// Bytes of event bodies held by queued jobs.
    pub body_bytes: Arc<AtomicUsize>,
    /// Attempt records that may be waiting for the writer at once.
    pub unrecorded: Arc<tokio::sync::Semaphore>,
    /// Where each attempt's span goes (nowhere when traces are off).
    pub traces: Arc<Traces>,
}

/// How many attempt records may wait for the database writer before deliveries slow down.
pub const MAX_UNRECORDED: usize = 8192;

/// Live numbers of one lane, read by stats and the dashboard without asking the lane.
#[derive(Debug, Default)]
pub struct LaneGauges {
    pub backlog: AtomicUsize,
    pub in_flight: AtomicUsize,
    breaker: AtomicU8,
    /// When an open breaker lets its next probe through (wall-clock ms; 0 when not open).
    next_probe_at: AtomicI64,
    /// Since when the breaker has held deliveries, through failed probes (wall-clock ms; 0 when
    /// closed).
    breaker_since: AtomicI64,
}

impl LaneGauges {
    pub fn breaker(&self) -> BreakerState {
        breaker_state(self.breaker.load(Ordering::Relaxed))
    }

    pub fn next_probe_at(&self) -> Option<Millis> {
        Some(self.next_probe_at.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    pub fn breaker_since(&self) -> Option<Millis> {
        Some(self.breaker_since.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }
}

/// A breaker state as the gauges keep it.
fn breaker_state(code: u8) -> BreakerState {
    match code {
        1 => BreakerState::Open,
        2 => BreakerState::HalfOpen,
        _ => BreakerState::Closed,
    }
}

struct LaneHandle {
    commands: mpsc::UnboundedSender<Command>,
    gauges: Arc<LaneGauges>,
}

pub struct Dispatcher {
    ctx: Arc<Context>,
    lanes: Mutex<HashMap<SubscriptionId, LaneHandle>>,
}

impl Dispatcher {
    pub fn new(ctx: Context) -> Self {
        Dispatcher { ctx: Arc::new(ctx), lanes: Mutex::new(HashMap::new()) }
    }

    /// What deliveries may reach.
    pub fn guard(&self) -> &SsrfGuard {
        &self.ctx.guard
    }

    /// Starts the subscription's lane, or hands it the new settings.
    pub fn upsert(&self, sub: Arc<Subscription>) {
        let Ok(mut lanes) = self.lanes.lock() else { return };
        if let Some(lane) = lanes.get(&sub.id)
            && lane.commands.send(Command::Update(sub.clone())).is_ok()
        {
            return;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let gauges = Arc::new(LaneGauges::default());
        let lane = Lane::new(sub.clone(), self.ctx.clone(), gauges.clone());
        tokio::spawn(lane.run(rx));
        lanes.insert(sub.id.clone(), LaneHandle { commands: tx, gauges });
    }

    /// Stops the lane: dropping its command channel ends it and aborts what it has in flight.
    pub fn remove(&self, subscription_id: &SubscriptionId) {
        if let Ok(mut lanes) = self.lanes.lock() {
            lanes.remove(subscription_id);
        }
    }

    /// Stops every lane (and what it has in flight): the node is leaving.
    pub fn stop_all(&self) {
        if let Ok(mut lanes) = self.lanes.lock() {
            lanes.clear();
        }
    }

    pub fn enqueue(&self, subscription_id: &SubscriptionId, job: Job) {
        if let Ok(lanes) = self.lanes.lock()
            && let Some(lane) = lanes.get(subscription_id)
        {
            let _ = lane.commands.send(Command::Enqueue(job));
        }
    }

    /// Asks the lane to probe its endpoint now, if its breaker is open (false when it is not).
    pub fn probe(&self, subscription_id: &SubscriptionId) -> bool {
        let Ok(lanes) = self.lanes.lock() else { return false };
        let Some(lane) = lanes.get(subscription_id) else { return false };
        lane.gauges.breaker() == BreakerState::Open && lane.commands.send(Command::Probe(None)).is_ok()
    }

    /// Hands a replay's job to its lane as the probe: an open breaker's cooldown ends and this
    /// job goes first. With the breaker not open, the job just joins the queue.
    pub fn probe_with(&self, subscription_id: &SubscriptionId, job: Job) {
        if let Ok(lanes) = self.lanes.lock()
            && let Some(lane) = lanes.get(subscription_id)
        {
            let _ = lane.commands.send(Command::Probe(Some(job)));
        }
    }

    /// Keeps `body` (and its event's `trace`) in memory for a job if the budget allows.
    pub fn hold_body(&self, body: &Bytes, trace: &Option<Arc<EventTrace>>) -> Option<HeldBody> {
        let used = &self.ctx.body_bytes;
        (used.load(Ordering::Relaxed) + body.len() <= BODY_BUDGET)
            .then(|| HeldBody::counted(body.clone(), trace.clone(), used))
    }

    /// Bytes of event bodies kept in memory for queued and in-flight deliveries.
    pub fn held_body_bytes(&self) -> usize {
        self.ctx.body_bytes.load(Ordering::Relaxed)
    }

    pub fn gauges(&self, subscription_id: &SubscriptionId) -> Option<Arc<LaneGauges>> {
        self.lanes.lock().ok()?.get(subscription_id).map(|l| l.gauges.clone())
    }

    /// Attempts in flight across all lanes.
    pub fn total_in_flight(&self) -> usize {
        let Ok(lanes) = self.lanes.lock() else { return 0 };
        lanes.values().map(|l| l.gauges.in_flight.load(Ordering::Relaxed)).sum()
    }

    /// Deliveries queued across all lanes (not counting those in flight).
    pub fn total_backlog(&self) -> usize {
        self.ctx.total_backlog.load(Ordering::Relaxed)
    }
}
