//! Prometheus counters and latency histograms, observed as attempts happen (this node's and, in a
//! cluster, the others' as they are folded in). Series are keyed by subscription id, so a rename
//! never splits one; the gauges read at scrape time are in `report`.

use crate::model::{DeliveryStatus, ErrorKind};
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

/// Attempt latency buckets, in seconds: from a fast loopback answer to the longest timeout.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

pub struct Metrics {
    registry: Registry,
    events: IntCounter,
    attempts: IntCounterVec,
    responses: IntCounterVec,
    dead: IntCounterVec,
    latency: HistogramVec,
}

/// How an attempt ended, as `hookwatch_responses_total` counts it: the status class, or the error
/// kind when no response came.
pub fn response_class(status_code: Option<u16>, error_kind: Option<ErrorKind>) -> &'static str {
    match (status_code, error_kind) {
        (Some(200..=299), _) => "2xx",
        (Some(300..=399), _) => "3xx",
        (Some(400..=499), _) => "4xx",
        (Some(500..=599), _) => "5xx",
        (Some(_), _) => "other",
        (None, Some(kind)) => kind.as_str(),
        (None, None) => "unknown",
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
        let events = IntCounter::new("hookwatch_events_ingested_total", "Events accepted since start.")?;
        registry.register(Box::new(events.clone()))?;
        let latency = HistogramVec::new(
            HistogramOpts::new("hookwatch_delivery_latency_seconds", "Attempt latency, from send to answer.")
                .buckets(LATENCY_BUCKETS.to_vec()),
            sub,
        )?;
        registry.register(Box::new(latency.clone()))?;
        Ok(Metrics {
            events,
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

    /// One attempt to `subscription_id`, as it ended, and the delivery state it led to.
    pub fn record_attempt(&self, subscription_id: &str, attempt: &AttemptFacts) {
        let outcome = if attempt.success { "success" } else { "failure" };
        self.attempts.with_label_values(&[subscription_id, outcome]).inc();
        let class = response_class(attempt.status_code, attempt.error_kind);
        self.responses.with_label_values(&[subscription_id, class]).inc();
        self.latency.with_label_values(&[subscription_id]).observe(attempt.latency_ms as f64 / 1000.0);
        if attempt.status == DeliveryStatus::Dead {
            self.dead.with_label_values(&[subscription_id]).inc();
        }
    }

    /// Drops a deleted subscription's series.
    pub fn forget(&self, subscription_id: &str) {
        for vec in [&self.attempts, &self.responses] {
            for label in ["success", "failure", "2xx", "3xx", "4xx", "5xx", "other", "unknown"] {
                let _ = vec.remove_label_values(&[subscription_id, label]);
            }
            for kind in ErrorKind::ALL {
                let _ = vec.remove_label_values(&[subscription_id, kind.as_str()]);
            }
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
