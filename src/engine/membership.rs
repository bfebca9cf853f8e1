//! This node among the others of a cluster: its identity, what it reports with each heartbeat,
//! the nodes the shared store last listed, and the other nodes' activity folded into this one's
//! stats and feed. A single node is a cluster of one.

use super::Engine;
use crate::domain::model::{DeliveryStatus, Millis, new_id, now_ms};
use crate::store::{Activity, NodeStatus};
use crate::wire::FeedEvent;
use crate::wire::NodeInfo;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a node of a cluster heartbeats: a fifth of the lease, so a few missed heartbeats
/// never cost a live node its leases.
pub(crate) fn heartbeat_interval(lease: Duration) -> Duration {
    (lease / 5).clamp(Duration::from_millis(100), Duration::from_secs(2))
}

/// A node not heard from for three heartbeats is silent: shown as such, its backlog read from what
/// is still leased to it, well before its lease ends.
pub(crate) fn silent_after(lease: Duration) -> Duration {
    (heartbeat_interval(lease) * 3).min(lease)
}

pub(super) struct Membership {
    pub(super) node_id: String,
    pub(super) started_at: Millis,
    /// The cluster's nodes as the shared store last reported them (empty for a single node), and
    /// when it did.
    nodes: RwLock<(Option<Instant>, Vec<NodeInfo>)>,
    /// Set on a clean exit from a cluster: the cluster loop stops claiming and heartbeating.
    left: AtomicBool,
}

impl Membership {
    pub(super) fn new(node_id: Option<String>) -> Membership {
        Membership {
            node_id: node_id.unwrap_or_else(default_node_id),
            started_at: now_ms(),
            nodes: Default::default(),
            left: Default::default(),
        }
    }
}

/// The host's name and a random tail, e.g. `web-3-k2q9xz`: readable in the nodes view, and new
/// at every start (use `--node-id` to keep one across restarts).
fn default_node_id() -> String {
    let host: String = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(40)
        .collect();
    let id = new_id("");
    let tail = id[id.len() - 6..].to_ascii_lowercase();
    if host.is_empty() { format!("node-{tail}") } else { format!("{host}-{tail}") }
}

impl Engine {
    /// On a clean exit. Alone: wait for the attempt records still waiting to commit. In a cluster:
    /// stop delivering and hand this node's work to the others now rather than when its lease
    /// runs out.
    pub async fn leave(&self) {
        let Some(shared) = self.store.shared() else {
            if let Err(e) = self.store.settle().await {
                tracing::warn!("attempts made just before stopping may not be recorded (they are sent again): {e}");
            }
            return;
        };
        self.membership.left.store(true, Ordering::SeqCst);
        self.dispatcher.stop_all();
        match shared.leave().await {
            Ok(()) => tracing::info!("left the cluster; the other nodes take over this node's deliveries"),
            Err(e) => tracing::warn!("could not hand over this node's deliveries (they move when its lease ends): {e}"),
        }
    }

    pub(crate) fn has_left(&self) -> bool {
        self.membership.left.load(Ordering::SeqCst)
    }

    pub(crate) fn node_status(&self) -> NodeStatus {
        NodeStatus {
            address: self.config.listen.to_string(),
            started_at: self.membership.started_at,
            in_flight: self.dispatcher.total_in_flight() as u64,
            backlog: self.backlog() as u64,
        }
    }

    pub(crate) fn set_nodes(&self, nodes: Vec<NodeInfo>) {
        if let Ok(mut n) = self.membership.nodes.write() {
            *n = (Some(Instant::now()), nodes);
        }
    }

    /// This node and, in a cluster, every other node the shared store knows.
    pub(super) fn nodes(&self) -> Vec<NodeInfo> {
        let status = self.node_status();
        let me = NodeInfo {
            id: self.membership.node_id.clone(),
            address: status.address,
            started_at: status.started_at,
            heartbeat_at: now_ms(),
            heartbeat_age_ms: 0,
            alive: true,
            in_flight: status.in_flight,
            backlog: status.backlog,
            takeover_in_ms: None,
        };
        let (read_at, mut nodes) = self.membership.nodes.read().map(|n| n.clone()).unwrap_or_default();
        // Aged by the time since the list was read, so a silent node's countdown runs between reads.
        let since_read = read_at.map_or(0, |t| crate::domain::model::millis_u64(t.elapsed()));
        for n in &mut nodes {
            n.heartbeat_age_ms += since_read;
            n.takeover_in_ms = n.takeover_in_ms.map(|ms| ms.saturating_sub(since_read));
        }
        nodes.retain(|n| n.id != me.id);
        nodes.insert(0, me);
        nodes
    }

    /// Folds the other nodes' events, attempts and alerts into this node's stats and live feed.
    pub(crate) fn absorb(&self, activity: Activity) {
        for event in activity.events {
            self.stats.record_event(event.received_at, &event.action);
            self.feed.publish(FeedEvent::EventReceived { event });
        }
        for notice in activity.attempts {
            let facts = crate::observe::metrics::AttemptFacts {
                success: notice.error_kind.is_none(),
                status_code: notice.status_code,
                error_kind: notice.error_kind,
                latency_ms: notice.duration_ms,
                // The notice carries its delivery's current state: only the attempt after which no
                // retry was scheduled is the one that made it dead.
                status: if notice.next_attempt_at.is_none() { notice.status } else { DeliveryStatus::Retrying },
            };
            let failed = notice.error.as_deref().map(|error| crate::observe::stats::Failed {
                error,
                event_id: &notice.event_id,
                attempt: notice.attempt,
            });
            self.stats.record_attempt(&notice.subscription_id, notice.started_at, &facts, failed);
            self.feed.publish(FeedEvent::DeliveryAttempted(notice));
        }
        for alert in activity.alerts {
            self.remember_alert(alert);
        }
    }
}
