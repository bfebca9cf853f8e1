//! The stats report: what `/v1/stats` answers and the dashboard shows per endpoint and node.

use crate::domain::ids::SubscriptionId;
use crate::domain::model::{BreakerState, Millis, SubscriptionState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct StatsReport {
    #[serde(with = "crate::domain::model::ts")]
    #[schema(value_type = String, format = DateTime)]
    pub generated_at: Millis,
    pub uptime_s: u64,
    pub ingest_per_second: f64,
    pub events_ingested: u64,
    /// Deliveries queued, on every node of the cluster.
    pub backlog: u64,
    /// Bytes of event bodies this node keeps in memory for queued and in-flight deliveries (a
    /// paused subscription's are left in the store).
    #[serde(default)]
    pub held_body_bytes: u64,
    pub subscriptions: Vec<EndpointReport>,
    /// This node first, then the cluster's other nodes (when several share a database).
    #[serde(default)]
    pub nodes: Vec<NodeInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct EndpointReport {
    #[schema(value_type = String)]
    pub id: SubscriptionId,
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
    /// Attempts per second at most (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_s: Option<u32>,
    pub breaker: BreakerState,
    /// When an open breaker sends its next probe; deliveries wait until then.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::model::ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_probe_at: Option<Millis>,
    /// Since when an open breaker has held this endpoint's deliveries (through failed probes):
    /// the success rates are older than this.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::model::ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub breaker_since: Option<Millis>,
    pub last_error: Option<String>,
    #[serde(with = "crate::domain::model::ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_error_at: Option<Millis>,
    /// The last attempt that succeeded: a last error before it is history, not the present.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::domain::model::ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_success_at: Option<Millis>,
    pub total_attempts: u64,
    pub total_successes: u64,
    /// Success rate per 10 s over the last 2 minutes, oldest first.
    pub history: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Latency {
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub max_ms: Option<u64>,
}

/// A node as the shared store last heard of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NodeInfo {
    pub id: String,
    pub address: String,
    #[serde(with = "crate::domain::model::ts")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Millis,
    #[serde(with = "crate::domain::model::ts")]
    #[schema(value_type = String, format = DateTime)]
    pub heartbeat_at: Millis,
    /// Time since the last heartbeat, on the database's clock.
    pub heartbeat_age_ms: u64,
    /// Heartbeating: heard from within three heartbeats. A silent node's deliveries go to the live
    /// ones when its lease ends.
    #[serde(default)]
    pub alive: bool,
    pub in_flight: u64,
    /// Deliveries waiting on the node: as it last reported while alive; for a silent node, those
    /// still leased to it, counted in the database, until the live nodes have taken them over.
    pub backlog: u64,
    /// A silent node: how long until the live nodes may take over the last of what it holds, when
    /// its lease ends or, for a retry due later, when that is due (0: under way). Absent for a node
    /// heard from in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub takeover_in_ms: Option<u64>,
}
