//! Prometheus metrics: counters and latency histograms observed as attempts happen (this node's
//! and, in a cluster, the others' as they are folded in), and gauges read from the stats report
//! at scrape time. Series are keyed by subscription id; `hookwatch_subscription_info` carries the
//! name and URL to join on, so a rename never splits a series.

use crate::model::{DeliveryStatus, ErrorKind};
use crate::report::StatsReport;
use prometheus::{Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

/// Attempt latency buckets, in seconds: from a fast loopback answer to the longest timeout.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

pub struct Metrics {
    registry: Registry,
    events: IntCounter,
    attempts: IntCounterVec,
    responses: IntCounterVec,
    dead: IntCounterVec,
    latency: HistogramVec,
    /// Read from the stats report at each scrape.
    gauges: Gauges,
}

struct Gauges {
    up: Gauge,
    uptime: Gauge,
    ingest_rate: Gauge,
    backlog_all: Gauge,
    info: GaugeVec,
    success_ratio: GaugeVec,
    backlog: GaugeVec,
    in_flight: GaugeVec,
    breaker_open: GaugeVec,
    state: GaugeVec,
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
        let gauge = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<GaugeVec> {
            let g = GaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let single = |name: &str, help: &str| -> prometheus::Result<Gauge> {
            let g = Gauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
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
            gauges: Gauges {
                up: single("hookwatch_up", "1 while the server runs.")?,
                uptime: single("hookwatch_uptime_seconds", "Seconds since the server started.")?,
                ingest_rate: single("hookwatch_ingest_rate", "Events accepted per second over the last 10 s.")?,
                backlog_all: single(
                    "hookwatch_backlog_all_subscriptions",
                    "Deliveries waiting across all subscriptions.",
                )?,
                info: gauge(
                    "hookwatch_subscription_info",
                    "1 per subscription, with its name and URL.",
                    &["subscription", "name", "url"],
                )?,
                success_ratio: gauge(
                    "hookwatch_success_ratio",
                    "Attempt success ratio per window (absent without attempts).",
                    &["subscription", "window"],
                )?,
                backlog: gauge("hookwatch_backlog", "Deliveries waiting for this subscription.", sub)?,
                in_flight: gauge("hookwatch_in_flight", "Attempts in flight for this subscription.", sub)?,
                breaker_open: gauge("hookwatch_breaker_open", "1 when the circuit breaker is open or half-open.", sub)?,
                state: gauge(
                    "hookwatch_subscription_state",
                    "1 for the subscription's current state.",
                    &["subscription", "state"],
                )?,
            },
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

    /// The exposition (Prometheus text format 0.0.4), with the gauges as `report` has them.
    pub fn render(&self, report: &StatsReport) -> String {
        let g = &self.gauges;
        g.up.set(1.0);
        g.uptime.set(report.uptime_s as f64);
        g.ingest_rate.set(report.ingest_per_second);
        g.backlog_all.set(report.backlog as f64);
        // Per-subscription gauges are set anew: a deleted subscription leaves no series behind.
        for vec in [&g.info, &g.success_ratio, &g.backlog, &g.in_flight, &g.breaker_open, &g.state] {
            vec.reset();
        }
        for s in &report.subscriptions {
            let id = s.id.as_str();
            g.info.with_label_values(&[id, &s.name, &s.url]).set(1.0);
            for (window, rate) in &s.success_rate {
                if let Some(rate) = rate {
                    g.success_ratio.with_label_values(&[id, window]).set(*rate);
                }
            }
            g.backlog.with_label_values(&[id]).set(s.backlog as f64);
            g.in_flight.with_label_values(&[id]).set(s.in_flight as f64);
            let open = s.breaker != crate::dispatch::BreakerState::Closed;
            g.breaker_open.with_label_values(&[id]).set(f64::from(u8::from(open)));
            for state in [
                crate::model::SubscriptionState::Active,
                crate::model::SubscriptionState::Paused,
                crate::model::SubscriptionState::Disabled,
            ] {
                g.state.with_label_values(&[id, state.as_str()]).set(f64::from(u8::from(s.state == state)));
            }
        }
        let mut out = Vec::new();
        if let Err(e) = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        String::from_utf8(out).unwrap_or_default()
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
