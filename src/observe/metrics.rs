//! Prometheus counters and latency histograms, observed as attempts happen (this node's and, in a
//! cluster, the others' as they are folded in). Series are keyed by subscription id, so a rename
//! never splits one; the gauges read at scrape time are in `report`.

use crate::domain::model::{DeliveryStatus, ErrorKind};
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

/// Attempt latency buckets, in seconds: from a fast loopback answer to the longest timeout.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

pub struct Metrics {
    registry: Registry,
    events: IntCounter,
    own_events: IntCounter,
    attempts: IntCounterVec,
    responses: IntCounterVec,
    dead: IntCounterVec,
    latency: HistogramVec,
}

/// How an attempt can end, as `hookwatch_responses_total` counts it: the status class, or the
/// error kind when no response came.
const RESPONSE_CLASSES: [&str; 10] =
    ["2xx", "3xx", "4xx", "5xx", "other", "timeout", "connect", "dns", "tls", "unknown"];

/// Which of `RESPONSE_CLASSES` an attempt falls in.
fn response_class(status_code: Option<u16>, error_kind: Option<ErrorKind>) -> usize {
    match (status_code, error_kind) {
        (Some(200..=299), _) => 0,
        (Some(300..=399), _) => 1,
        (Some(400..=499), _) => 2,
        (Some(500..=599), _) => 3,
        (Some(_), _) => 4,
        (None, Some(ErrorKind::Timeout)) => 5,
        (None, Some(ErrorKind::Connect)) => 6,
        (None, Some(ErrorKind::Dns)) => 7,
        (None, Some(ErrorKind::Tls)) => 8,
        (None, Some(ErrorKind::Status) | None) => 9,
    }
}

/// One subscription's series.
pub struct EndpointMetrics {
    success: IntCounter,
    failure: IntCounter,
    responses: [IntCounter; RESPONSE_CLASSES.len()],
    dead: IntCounter,
    latency: prometheus::Histogram,
}

impl EndpointMetrics {
    /// One attempt, as it ended, and the delivery state it led to.
    pub fn record(&self, attempt: &AttemptFacts) {
        if attempt.success { &self.success } else { &self.failure }.inc();
        self.responses[response_class(attempt.status_code, attempt.error_kind)].inc();
        self.latency.observe(attempt.latency_ms as f64 / 1000.0);
        if attempt.status == DeliveryStatus::Dead {
            self.dead.inc();
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new().expect("the metric definitions are valid")
    }
}

impl Metrics {
    fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let sub = &["subscription"];
        let counter = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<IntCounterVec> {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let events = IntCounter::new("hookwatch_events_ingested_total", "Events accepted from clients since start.")?;
        registry.register(Box::new(events.clone()))?;
        let own_events = IntCounter::new(
            "hookwatch_own_events_total",
            "hookwatch's own events (alerts sent as hookwatch.* events) since start; not counted as ingested.",
        )?;
        registry.register(Box::new(own_events.clone()))?;
        let latency = HistogramVec::new(
            HistogramOpts::new("hookwatch_delivery_latency_seconds", "Attempt latency, from send to answer.")
                .buckets(LATENCY_BUCKETS.to_vec()),
            sub,
        )?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Metrics {
            events,
            own_events,
            attempts: counter(
                "hookwatch_delivery_attempts_total",
                "Delivery attempts since start, by outcome (success or failure).",
                &["subscription", "outcome"],
            )?,
            responses: counter(
                "hookwatch_responses_total",
                "Attempts by how they ended: status class (2xx…5xx) or error kind (timeout, connect, dns, tls).",
                &["subscription", "class"],
            )?,
            dead: counter(
                "hookwatch_deliveries_dead_total",
                "Deliveries whose retry schedule ran out (or whose endpoint answered 410).",
                sub,
            )?,
            latency,
            registry,
        })
    }

    pub fn record_ingest(&self) {
        self.events.inc();
    }

    pub fn record_own_event(&self) {
        self.own_events.inc();
    }

    /// The series of one subscription, looked up once and kept by its stats (an attempt then
    /// costs no label lookup).
    pub fn endpoint(&self, subscription_id: &str) -> EndpointMetrics {
        let id = subscription_id;
        EndpointMetrics {
            success: self.attempts.with_label_values(&[id, "success"]),
            failure: self.attempts.with_label_values(&[id, "failure"]),
            responses: RESPONSE_CLASSES.map(|class| self.responses.with_label_values(&[id, class])),
            dead: self.dead.with_label_values(&[id]),
            latency: self.latency.with_label_values(&[id]),
        }
    }

    /// Drops a deleted subscription's series.
    pub fn forget(&self, subscription_id: &str) {
        for outcome in ["success", "failure"] {
            let _ = self.attempts.remove_label_values(&[subscription_id, outcome]);
        }
        for class in RESPONSE_CLASSES {
            let _ = self.responses.remove_label_values(&[subscription_id, class]);
        }
        let _ = self.dead.remove_label_values(&[subscription_id]);
        let _ = self.latency.remove_label_values(&[subscription_id]);
    }

    /// The observed families, for the exposition.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }
}

/// What the metrics need of one attempt.
#[derive(Debug, Clone, Copy)]
pub struct AttemptFacts {
    pub success: bool,
    pub status_code: Option<u16>,
    pub error_kind: Option<ErrorKind>,
    pub latency_ms: u64,
    pub status: DeliveryStatus,
}
