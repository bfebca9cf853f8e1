//! One lane per subscription: its own queue, in-flight limit, retry timers and circuit breaker,
//! so a slow or dead endpoint never delays the others.

use super::client::{self, AttemptOutcome, Endpoint};
use super::health::{Ended, FAILING_ALERT_AFTER, Finding, Health};
use super::{BreakerState, CompactId, Context, Control, HeldBody, Job, LaneGauges, ReplayTicket, retry};
use crate::domain::ids::{DeliveryId, EventId};
use crate::domain::model::{Alert, AlertKind};
use crate::domain::model::{BreakerChange, DeliveryStatus, Millis, Subscription, SubscriptionState};
use crate::domain::model::{millis, millis_u64, now_ms, span};
use crate::observe::metrics::AttemptFacts;
use crate::observe::traces::{Attempt, EventTrace};
use crate::store::AttemptRecord;
use crate::wire::FeedEvent;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub(super) enum Command {
    Enqueue(Job),
    Update(Arc<Subscription>),
    /// End an open breaker's cooldown now: the next held delivery is the probe, or the job
    /// given (a replay's first delivery to this endpoint, the operator's word that it is back).
    Probe(Option<Job>),
}

/// An attempt that ended without an outcome to record.
enum NoOutcome {
    /// Another node has taken the delivery over: the job comes back unattempted.
    Moved(Job),
    /// The attempt's task panicked (a bug in hookwatch): the delivery stays as stored.
    BrokeOff(CompactId<DeliveryId>),
}

/// How long deliveries wait after the store failed to give their bodies.
const STORE_RETRY: Duration = Duration::from_secs(2);

/// Events read from the store to send.
type BodiesRead = crate::domain::error::Result<Vec<crate::store::EventToSend>>;

struct Finished {
    job: Job,
    outcome: AttemptOutcome,
    status: DeliveryStatus,
    next_at: Option<Millis>,
}

pub(super) struct Lane {
    sub: Arc<Subscription>,
    /// What every attempt to `sub` shares; made again whenever `sub` changes.
    endpoint: Arc<Endpoint>,
    ctx: Arc<Context>,
    gauges: Arc<LaneGauges>,
    ready: VecDeque<Job>,
    /// Retries not yet due, by due time (ties keep arrival order).
    waiting: BTreeMap<(Millis, u64), Job>,
    seq: u64,
    /// Delivery ids queued or in flight here, so a requeue never runs a delivery twice at once.
    queued: HashSet<CompactId<DeliveryId>>,
    /// Replay tickets of deliveries requeued while in flight, settled when that attempt ends.
    joined: HashMap<CompactId<DeliveryId>, ReplayTicket>,
    /// Attempts under way.
    in_flight: JoinSet<Result<Finished, NoOutcome>>,
    /// The one read under way of bodies that jobs near the head of `ready` lack, and which events
    /// it asked for.
    reading: JoinSet<BodiesRead>,
    asked: Vec<CompactId<EventId>>,
    /// After the store failed to give bodies, when to ask again.
    read_again_at: Option<Instant>,
    health: Health,
    /// The delivery whose attempt is the half-open breaker's probe.
    probe: Option<CompactId<DeliveryId>>,
    /// With a rate limit, the earliest the next attempt may start.
    next_start: Option<Instant>,
}

impl Lane {
    pub(super) fn new(sub: Arc<Subscription>, ctx: Arc<Context>, gauges: Arc<LaneGauges>) -> Self {
        let health = Health::new(ctx.breaker.clone(), ctx.disable_after);
        Lane {
            endpoint: Arc::new(Endpoint::new(&sub, &ctx.guard)),
            sub,
            ctx,
            gauges,
            ready: VecDeque::new(),
            waiting: BTreeMap::new(),
            seq: 0,
            queued: HashSet::new(),
            joined: HashMap::new(),
            in_flight: JoinSet::new(),
            reading: JoinSet::new(),
            asked: Vec::new(),
            read_again_at: None,
            health,
            probe: None,
            next_start: None,
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            let (now, at) = (now_ms(), Instant::now());
            self.promote_due(now);
            self.read_ahead(at);
            self.start_ready(at);
            self.publish_gauges(now, at);
            let wake = self.next_wake(now, at);
            tokio::select! {
                cmd = commands.recv() => {
                    let Some(cmd) = cmd else { break };
                    let now = now_ms();
                    self.command(cmd, now);
                    // Take everything already queued before the bookkeeping above runs again.
                    while let Ok(cmd) = commands.try_recv() {
                        self.command(cmd, now);
                    }
                }
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    match done {
                        Ok(Ok(done)) => self.finish(done, now_ms(), Instant::now()),
                        Ok(Err(ended)) => self.no_outcome(ended, Instant::now()),
                        // Aborted: only as the lane itself ends.
                        Err(_) => {}
                    }
                }
                Some(read) = self.reading.join_next(), if !self.reading.is_empty() => {
                    self.bodies_read(read.unwrap_or_else(|e| Err(crate::domain::error::Error::Storage(e.to_string()))), Instant::now());
                }
                _ = sleep_until(wake), if wake.is_some() => {}
            }
        }
        let backlog = self.gauges.backlog.swap(0, Ordering::Relaxed);
        self.ctx.total_backlog.fetch_sub(backlog, Ordering::Relaxed);
    }

    fn command(&mut self, cmd: Command, now: Millis) {
        match cmd {
            Command::Enqueue(job) => self.enqueue(job, now, false),
            Command::Update(sub) => self.update(sub),
            Command::Probe(job) => {
                let probing = self.health.breaker.probe_now(Instant::now());
                if let Some(job) = job {
                    self.enqueue(job, now, probing);
                }
            }
        }
    }

    /// Queues a job (`first`: ahead of the others, as the probe).
    fn enqueue(&mut self, mut job: Job, now: Millis, first: bool) {
        if self.sub.state != SubscriptionState::Active {
            job.body = None; // it may wait for as long as the pause lasts: read it back on resume
        }
        if !self.queued.insert(job.delivery_id.clone()) {
            // Already here: a requeue brings a waiting retry forward with its fresh series.
            let key = self.waiting.iter().find(|(_, j)| j.delivery_id == job.delivery_id).map(|(k, _)| *k);
            if let Some(key) = key {
                self.waiting.remove(&key);
                self.push_ready(job, first);
            } else if let Some(ticket) = job.replay.take() {
                self.join(&job.delivery_id, ticket);
            }
            return;
        }
        if job.due <= now {
            self.push_ready(job, first);
        } else {
            self.wait(job);
        }
    }

    fn push_ready(&mut self, job: Job, first: bool) {
        if first { self.ready.push_front(job) } else { self.ready.push_back(job) }
    }

    /// A replay's ticket for a delivery already queued or in flight here: the next attempt of
    /// that delivery settles it.
    fn join(&mut self, delivery_id: &CompactId<DeliveryId>, ticket: ReplayTicket) {
        match self.ready.iter_mut().find(|j| j.delivery_id == *delivery_id) {
            Some(queued) if queued.replay.is_none() => queued.replay = Some(ticket),
            Some(_) => {} // another replay's already: this one's counts it as not attempted
            None => {
                self.joined.insert(delivery_id.clone(), ticket);
            }
        }
    }

    fn wait(&mut self, job: Job) {
        self.seq += 1;
        self.waiting.insert((job.due, self.seq), job);
    }

    fn update(&mut self, sub: Arc<Subscription>) {
        let resumed = sub.state == SubscriptionState::Active && self.sub.state != SubscriptionState::Active;
        if resumed {
            self.health.reset();
        }
        if sub.state != SubscriptionState::Active {
            // Deliveries held by an operator may wait for hours; the memory goes to lanes that send.
            self.ready.iter_mut().chain(self.waiting.values_mut()).for_each(|job| job.body = None);
        }
        self.endpoint = Arc::new(Endpoint::new(&sub, &self.ctx.guard));
        self.sub = sub;
    }

    /// Due retries go to the front: they belong to older events, and in an ordered lane the head
    /// must go before anything behind it.
    fn promote_due(&mut self, now: Millis) {
        let mut due = Vec::new();
        while let Some(entry) = self.waiting.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        for job in due.into_iter().rev() {
            self.ready.push_front(job);
        }
    }

    fn limit(&self) -> usize {
        if self.sub.ordered { 1 } else { self.sub.max_in_flight.max(1) as usize }
    }

    fn start_ready(&mut self, at: Instant) {
        if self.sub.state != SubscriptionState::Active {
            return;
        }
        // In order means the head waits out its retries before anything behind it goes.
        if self.sub.ordered && !self.waiting.is_empty() {
            return;
        }
        while self.in_flight.len() < self.limit() {
            // The head goes once its body is at hand; `read_ahead` asks the store for it.
            let Some((body, trace)) =
                self.ready.front().and_then(|job| job.body.as_ref().map(|held| (held.bytes(), held.trace.clone())))
            else {
                return;
            };
            if self.next_start.is_some_and(|next| at < next) {
                return;
            }
            let was_open = self.health.breaker.state() == BreakerState::Open;
            if !self.health.breaker.try_admit(at) {
                return;
            }
            // A limit spaces the starts evenly: a queue of any size goes out at the rate, never in a burst.
            self.next_start = self
                .sub
                .rate_limit_per_s
                .map(|rate| self.next_start.map_or(at, |next| next.max(at)) + Duration::from_secs(1) / rate.max(1));
            let Some(job) = self.ready.pop_front() else { return };
            let (ctx, sub, endpoint) = (self.ctx.clone(), self.sub.clone(), self.endpoint.clone());
            let id = job.delivery_id.clone();
            if was_open {
                self.probe = Some(id.clone());
            }
            self.in_flight.spawn(async move {
                // A panic must not leave the delivery's place here (and a replay's ticket) held for good.
                let attempt = std::panic::AssertUnwindSafe(deliver(ctx, sub, endpoint, job, body, trace));
                futures::FutureExt::catch_unwind(attempt).await.unwrap_or(Err(NoOutcome::BrokeOff(id)))
            });
        }
    }

    /// How many jobs ahead of the attempts a lane keeps its bodies at hand.
    fn read_ahead_window(&self) -> usize {
        (2 * self.limit()).clamp(8, 128)
    }

    /// Asks the store, in one read, for the bodies that jobs near the head of `ready` lack
    /// (after a restart, a pause, a retry or with the memory budget spent), so that they are at
    /// hand by the time those jobs reach the head.
    fn read_ahead(&mut self, at: Instant) {
        let window = self.read_ahead_window();
        if self.sub.state != SubscriptionState::Active
            || !self.reading.is_empty()
            || self.read_again_at.is_some_and(|again| at < again)
            || self.ready.iter().take(window).all(|job| job.body.is_some())
        {
            return;
        }
        self.read_again_at = None;
        self.asked = self
            .ready
            .iter()
            .take(2 * window)
            .filter(|job| job.body.is_none())
            .take(window)
            .map(|job| job.event_id.clone())
            .collect();
        let (store, ids) = (self.ctx.store.clone(), self.asked.iter().map(CompactId::id).collect());
        self.reading.spawn(async move { store.event_bodies(ids).await });
    }

    /// Gives the jobs the bodies read ahead. A storage fault is not the endpoint's: nothing is
    /// sent or charged, and the lane asks again later. An event no longer stored has nothing
    /// left to send, so its job leaves the queue.
    fn bodies_read(&mut self, read: BodiesRead, at: Instant) {
        let asked = std::mem::take(&mut self.asked);
        let found = match read {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(subscription = %self.sub.name, "cannot read {} events to deliver (asking again in {} s; the endpoint is not charged): {e}", asked.len(), STORE_RETRY.as_secs());
                self.read_again_at = Some(at + STORE_RETRY);
                return;
            }
        };
        if self.sub.state != SubscriptionState::Active {
            return; // paused meanwhile: read again on resume
        }
        let traces = &self.ctx.traces;
        let mut bodies: HashMap<CompactId<EventId>, (Bytes, Option<Arc<EventTrace>>)> = found
            .into_iter()
            .map(|event| (CompactId::new(&event.id), (event.body, traces.event(&event.action, event.trace))))
            .collect();
        let mut gone: HashSet<CompactId<EventId>> = asked.into_iter().filter(|id| !bodies.contains_key(id)).collect();
        let mut i = 0;
        while i < self.ready.len() && !(bodies.is_empty() && gone.is_empty()) {
            let job = &mut self.ready[i];
            if job.body.is_none() {
                if let Some((body, trace)) = bodies.remove(&job.event_id) {
                    job.body = Some(HeldBody::counted(body, trace, &self.ctx.body_bytes));
                } else if gone.remove(&job.event_id)
                    && let Some(job) = self.ready.remove(i)
                {
                    tracing::error!(delivery = %job.delivery_id, event = %job.event_id, "the event is no longer stored; its delivery cannot be sent");
                    self.queued.remove(&job.delivery_id);
                    continue;
                }
            }
            i += 1;
        }
    }

    /// When the lane must look again without being told: the next retry's due time, or the
    /// breaker's probe time while deliveries wait behind it.
    fn next_wake(&self, now: Millis, at: Instant) -> Option<Instant> {
        let retry = self.waiting.keys().next().map(|(due, _)| at + span(*due - now));
        let probe = (!self.ready.is_empty()).then(|| self.health.breaker.open_until()).flatten();
        let paced = (!self.ready.is_empty()).then_some(self.next_start).flatten().filter(|next| *next > at);
        let read = (!self.ready.is_empty()).then_some(self.read_again_at).flatten().filter(|again| *again > at);
        [retry, probe, paced, read].into_iter().flatten().min()
    }

    /// Frees the place of a delivery whose attempt ended without an outcome; a replay's ticket
    /// joined to it settles as not attempted, and a probe's breaker probes again.
    fn no_outcome(&mut self, ended: NoOutcome, at: Instant) {
        let id = match ended {
            NoOutcome::Moved(job) => job.delivery_id.clone(),
            NoOutcome::BrokeOff(id) => {
                tracing::error!(
                    delivery = %id,
                    "an attempt broke off inside hookwatch (a bug; its log lines above say where): the delivery \
                     stays pending in the store and is sent again after a restart"
                );
                id
            }
        };
        self.queued.remove(&id);
        self.joined.remove(&id);
        if self.probe.take_if(|probe| *probe == id).is_some() {
            self.health.breaker.probe_lost(at);
        }
    }

    fn finish(&mut self, done: Finished, now: Millis, at: Instant) {
        let Finished { mut job, outcome, status, next_at } = done;
        self.probe.take_if(|probe| *probe == job.delivery_id);
        let success = outcome.succeeded();
        let tickets = job.replay.take().into_iter().chain(self.joined.remove(&job.delivery_id));
        tickets.for_each(|ticket| ticket.attempted(success));
        let facts = attempt_facts(&outcome, status);
        let event_id = outcome.error.is_some().then(|| job.event_id.id());
        let failed = outcome
            .error
            .as_deref()
            .zip(event_id.as_deref())
            .map(|(error, event_id)| crate::observe::stats::Failed { error, event_id, attempt: job.attempts + 1 });
        self.ctx.stats.record_attempt(&self.sub.id, outcome.started_at, &facts, failed);
        let ended = Ended {
            success,
            status_code: outcome.status_code,
            started_at: outcome.started_at,
            error: outcome.error.as_deref(),
        };
        for finding in self.health.attempt_ended(&ended, now, at) {
            match finding {
                Finding::BreakerOpened { failures } => self.alert(
                    AlertKind::BreakerOpen,
                    format!("{failures} consecutive failures; pausing deliveries for a cooldown"),
                    now,
                ),
                Finding::Failing { last_error } => self.alert(
                    AlertKind::EndpointFailing,
                    format!("{FAILING_ALERT_AFTER} failures in a row, last: {last_error}"),
                    now,
                ),
                Finding::Flapping(tally) => {
                    let how = match tally.after_recovery {
                        Some(gap) => format!("failing again {}s after it recovered", gap / 1000),
                        None => "failures keep returning between successes".to_string(),
                    };
                    self.alert(AlertKind::EndpointFlapping, format!("{how}: {}", tally.describe(now)), now)
                }
                Finding::Recovered(tally) => self.alert(
                    AlertKind::EndpointRecovered,
                    format!("deliveries succeed again; {}", tally.describe(now)),
                    now,
                ),
                Finding::Disable(reason) => self.disable(reason, now),
            }
        }
        match (status, next_at) {
            (DeliveryStatus::Retrying, Some(due)) => {
                job.attempts += 1;
                job.due = due;
                job.body = None; // a retry waits long; its body is reread rather than held
                self.wait(job);
            }
            _ => {
                self.queued.remove(&job.delivery_id);
            }
        }
    }

    fn disable(&mut self, reason: String, now: Millis) {
        if self.sub.state == SubscriptionState::Disabled {
            return;
        }
        let mut sub = (*self.sub).clone();
        sub.state = SubscriptionState::Disabled;
        sub.disabled_reason = Some(reason.clone());
        self.sub = Arc::new(sub);
        self.alert(AlertKind::Disabled, format!("disabled: {reason}"), now);
        let _ = self.ctx.control.send(Control::Disable { subscription_id: self.sub.id.clone(), reason });
    }

    fn alert(&self, kind: AlertKind, message: String, now: Millis) {
        let alert = Alert {
            kind,
            subscription_id: self.sub.id.clone(),
            subscription_name: self.sub.name.clone(),
            message,
            at: now,
        };
        tracing::warn!(subscription = %alert.subscription_name, kind = ?alert.kind, "{}", alert.message);
        let _ = self.ctx.control.send(Control::Alert(alert));
    }

    fn publish_gauges(&self, now: Millis, at: Instant) {
        let backlog = self.ready.len() + self.waiting.len();
        let before = self.gauges.backlog.swap(backlog, Ordering::Relaxed);
        if backlog >= before {
            self.ctx.total_backlog.fetch_add(backlog - before, Ordering::Relaxed);
        } else {
            self.ctx.total_backlog.fetch_sub(before - backlog, Ordering::Relaxed);
        }
        self.gauges.in_flight.store(self.in_flight.len(), Ordering::Relaxed);
        let breaker = &self.health.breaker;
        let before = self.gauges.breaker.swap(breaker.state() as u8, Ordering::Relaxed);
        let probe = breaker.open_until().map_or(0, |open| now + millis(open.saturating_duration_since(at)));
        self.gauges.next_probe_at.store(probe, Ordering::Relaxed);
        self.gauges.breaker_since.store(self.health.breaker_since().unwrap_or(0), Ordering::Relaxed);
        // Every state is published before the lane can leave it, so every change is seen here.
        if before != breaker.state() as u8 {
            let change = BreakerChange {
                at: now,
                from: super::breaker_state(before),
                to: breaker.state(),
                next_probe_at: Some(probe).filter(|p| *p > 0),
            };
            self.ctx.stats.record_breaker(&self.sub.id, change);
        }
    }
}

/// What the metrics and the attempt's span take of an attempt.
fn attempt_facts(outcome: &AttemptOutcome, status: DeliveryStatus) -> AttemptFacts {
    AttemptFacts {
        success: outcome.succeeded(),
        status_code: outcome.status_code,
        error_kind: outcome.error_kind,
        latency_ms: millis_u64(outcome.duration),
        status,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Makes one attempt, decides the delivery's next state and records both durably. In a cluster a
/// retry first checks that this node still holds the delivery: an operator may have redelivered
/// it on another node meanwhile, and sending it from both would be a needless duplicate.
async fn deliver(
    ctx: Arc<Context>,
    sub: Arc<Subscription>,
    endpoint: Arc<Endpoint>,
    job: Job,
    body: Bytes,
    trace: Option<Arc<EventTrace>>,
) -> Result<Finished, NoOutcome> {
    let (delivery_id, event_id) = (job.delivery_id.id(), job.event_id.id());
    if let (true, Some(shared)) = (job.attempts > 0, ctx.store.shared())
        && let Ok(false) = shared.holds(&delivery_id).await
    {
        tracing::debug!(delivery = %job.delivery_id, "another node has taken this delivery over");
        return Err(NoOutcome::Moved(job));
    }
    let attempts = job.attempts + 1;
    let attempt = Attempt { subscription: &sub, delivery_id: &delivery_id, event_id: &event_id, number: attempts };
    let span = ctx.traces.delivery(trace.as_deref(), &attempt);
    let mut outcome = client::attempt(&ctx.client, &endpoint, &sub, &event_id, body, span.context()).await;
    let (status, next_at) = retry::decide(&ctx.schedule, attempts, &outcome, now_ms());
    span.ended(&attempt_facts(&outcome, status));
    let record = AttemptRecord {
        delivery_id,
        event_id,
        subscription_id: sub.id.clone(),
        started_at: outcome.started_at,
        duration_ms: millis_u64(outcome.duration),
        status_code: outcome.status_code,
        error_kind: outcome.error_kind,
        error: outcome.error.clone(),
        // The lane reads neither again: they move to the record.
        response_body: std::mem::take(&mut outcome.response_body),
        response_truncated: outcome.response_truncated,
        request_headers: std::mem::take(&mut outcome.request_headers),
        next_retry_at: next_at,
        new_status: status,
        attempts_in_series: attempts,
        replay_id: job.replay.as_ref().map(|t| t.replay_id().clone()),
    };
    // Recorded in the background: the in-flight slot is free as soon as the endpoint answered.
    // Should the process die before the record commits, the delivery is still pending on disk and
    // is sent again after the restart (at-least-once). The permit bounds how many records may wait
    // for the writer, so a slow disk slows delivery down instead of growing memory.
    // Watchers hear of the attempt once it is stored, so what they read back (an inspector, a
    // resuming stream) already holds it.
    let notice = ctx.feed.has_listeners().then(|| record.notice());
    let feed = ctx.feed.clone();
    let delivery_id = job.delivery_id.clone();
    let permit = ctx.unrecorded.clone().acquire_owned().await;
    let recorded = move |outcome: crate::domain::error::Result<()>| {
        if let Err(e) = outcome {
            tracing::error!(delivery = %delivery_id, "could not record an attempt: {e}");
        }
        drop(permit);
        if let Some(notice) = notice {
            feed.publish(FeedEvent::DeliveryAttempted(notice));
        }
    };
    ctx.store.clone().record_attempt_then(record, Box::new(recorded));
    Ok(Finished { job, outcome, status, next_at })
}
