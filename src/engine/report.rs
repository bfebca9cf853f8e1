//! The stats report made from the figures kept (`wire::StatsReport`), and its Prometheus exposition.

use crate::dispatch::{BreakerState, LaneGauges};
use crate::domain::model::{Subscription, SubscriptionState};
use crate::observe::stats::EndpointSnapshot;
use crate::wire::{EndpointReport, StatsReport};
use std::sync::atomic::Ordering;

impl EndpointReport {
    pub fn new(sub: &Subscription, snap: EndpointSnapshot, gauges: Option<&LaneGauges>) -> Self {
        let windows = [("1m", snap.w1m), ("5m", snap.w5m), ("1h", snap.w1h), ("24h", snap.w24h)];
        EndpointReport {
            id: sub.id.clone(),
            name: sub.name.clone(),
            url: sub.url.clone(),
            actions: sub.actions.clone(),
            state: sub.state,
            success_rate: windows.iter().map(|(k, w)| (k.to_string(), w.rate)).collect(),
            attempts: windows.iter().map(|(k, w)| (k.to_string(), w.attempts)).collect(),
            latency_ms: snap.latency_5m,
            backlog: gauges.map_or(0, |g| g.backlog.load(Ordering::Relaxed) as u64),
            in_flight: gauges.map_or(0, |g| g.in_flight.load(Ordering::Relaxed) as u64),
            rate_limit_per_s: sub.rate_limit_per_s,
            breaker: gauges.map_or(BreakerState::Closed, LaneGauges::breaker),
            next_probe_at: gauges.and_then(LaneGauges::next_probe_at),
            breaker_since: gauges.and_then(LaneGauges::breaker_since),
            last_error: snap.last_error,
            last_error_at: snap.last_error_at,
            last_success_at: snap.last_success_at,
            total_attempts: snap.total_attempts,
            total_successes: snap.total_successes,
            history: snap.history,
        }
    }
}

impl StatsReport {
    /// The report as the viewer token reads it: each endpoint's URL with its secrets masked.
    pub fn for_viewer(mut self) -> StatsReport {
        for e in &mut self.subscriptions {
            e.url = crate::domain::model::masked_url(&e.url);
        }
        self
    }

    /// The Prometheus exposition (text format 0.0.4): `observed` (the counters and histograms kept
    /// as attempts happen) and this report's figures as gauges. The gauges live in a registry of
    /// this scrape only, so a deleted subscription leaves none behind.
    pub fn exposition(&self, mut observed: Vec<prometheus::proto::MetricFamily>) -> String {
        match self.gauges() {
            Ok(registry) => observed.extend(registry.gather()),
            Err(e) => tracing::error!("cannot build the metric gauges: {e}"),
        }
        let mut out = Vec::new();
        if let Err(e) = prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &observed, &mut out) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    fn gauges(&self) -> prometheus::Result<prometheus::Registry> {
        use prometheus::{Gauge, GaugeVec, Opts, Registry};
        let registry = Registry::new();
        let single = |name: &str, help: &str, value: f64| -> prometheus::Result<()> {
            let g = Gauge::new(name, help)?;
            g.set(value);
            registry.register(Box::new(g))
        };
        single("hookwatch_up", "1 while the server runs.", 1.0)?;
        single("hookwatch_uptime_seconds", "Seconds since the server started.", self.uptime_s as f64)?;
        single("hookwatch_ingest_rate", "Events accepted per second over the last 10 s.", self.ingest_per_second)?;
        single(
            "hookwatch_backlog_all_subscriptions",
            "Deliveries waiting across all subscriptions.",
            self.backlog as f64,
        )?;
        single(
            "hookwatch_held_body_bytes",
            "Bytes of event bodies this node keeps in memory for queued and in-flight deliveries.",
            self.held_body_bytes as f64,
        )?;
        let vec = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<GaugeVec> {
            let g = GaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let info = vec(
            "hookwatch_subscription_info",
            "1 per subscription, with its name and its URL's scheme, host and port (never its path or query).",
            &["subscription", "name", "url"],
        )?;
        let ratio = vec(
            "hookwatch_success_ratio",
            "Attempt success ratio per window (absent without attempts).",
            &["subscription", "window"],
        )?;
        let backlog = vec("hookwatch_backlog", "Deliveries waiting for this subscription.", &["subscription"])?;
        let in_flight = vec("hookwatch_in_flight", "Attempts in flight for this subscription.", &["subscription"])?;
        let breaker =
            vec("hookwatch_breaker_open", "1 when the circuit breaker is open or half-open.", &["subscription"])?;
        let state =
            vec("hookwatch_subscription_state", "1 for the subscription's current state.", &["subscription", "state"])?;
        for s in &self.subscriptions {
            let id = s.id.as_str();
            // /metrics is public: a webhook URL's path or query is often its credential.
            info.with_label_values(&[id, &s.name, &crate::domain::model::url_origin(&s.url)]).set(1.0);
            for (window, rate) in &s.success_rate {
                if let Some(rate) = rate {
                    ratio.with_label_values(&[id, window]).set(*rate);
                }
            }
            backlog.with_label_values(&[id]).set(s.backlog as f64);
            in_flight.with_label_values(&[id]).set(s.in_flight as f64);
            breaker.with_label_values(&[id]).set(f64::from(u8::from(s.breaker != BreakerState::Closed)));
            for st in [SubscriptionState::Active, SubscriptionState::Paused, SubscriptionState::Disabled] {
                state.with_label_values(&[id, st.as_str()]).set(f64::from(u8::from(s.state == st)));
            }
        }
        Ok(registry)
    }
}
