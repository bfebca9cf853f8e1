//! The stats report: what `/v1/stats`, `/metrics` and the dashboard show per endpoint.

use crate::dispatch::{BreakerState, LaneGauges};
use crate::model::{Millis, Subscription, SubscriptionState};
use crate::stats::{EndpointSnapshot, Latency};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatsReport {
    #[serde(with = "crate::model::ts")]
    pub generated_at: Millis,
    pub uptime_s: u64,
    pub ingest_per_second: f64,
    pub events_ingested: u64,
    /// Deliveries queued, on every node of the cluster.
    pub backlog: u64,
    pub subscriptions: Vec<EndpointReport>,
    /// This node first, then the cluster's other nodes (when several share a database).
    #[serde(default)]
    pub nodes: Vec<crate::store::NodeInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EndpointReport {
    pub id: String,
    pub name: String,
    pub url: String,
    pub actions: Vec<String>,
    pub state: SubscriptionState,
    /// Attempt success rate (0..1) per window: "1m", "5m", "1h", "24h"; null without attempts.
    pub success_rate: BTreeMap<String, Option<f64>>,
    pub attempts: BTreeMap<String, u64>,
    /// Attempt latency over the last 5 minutes.
    pub latency_ms: Latency,
    pub backlog: u64,
    pub in_flight: u64,
    pub breaker: BreakerState,
    /// When an open breaker sends its next probe; deliveries wait until then.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::model::ts::option")]
    pub next_probe_at: Option<Millis>,
    pub last_error: Option<String>,
    #[serde(with = "crate::model::ts::option")]
    pub last_error_at: Option<Millis>,
    pub total_attempts: u64,
    pub total_successes: u64,
    /// Success rate per 10 s over the last 2 minutes, oldest first.
    pub history: Vec<Option<f64>>,
}

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
            breaker: gauges.map_or(BreakerState::Closed, LaneGauges::breaker),
            next_probe_at: gauges.and_then(LaneGauges::next_probe_at),
            last_error: snap.last_error,
            last_error_at: snap.last_error_at,
            total_attempts: snap.total_attempts,
            total_successes: snap.total_successes,
            history: snap.history,
        }
    }
}
