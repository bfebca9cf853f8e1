//! A replay's hold on the deliveries it hands to lanes. Each job a replay hands on carries a
//! ticket; the lane settles it with the outcome of the delivery's next attempt, and a ticket
//! dropped unsettled (the lane went away, the event was pruned, another node took the delivery)
//! counts as not attempted. The replay is done only when every ticket is settled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Notify;

/// What became of the deliveries one replay handed on.
#[derive(Debug)]
pub struct ReplayTally {
    replay_id: String,
    handed: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    unattempted: AtomicU64,
    settled: Notify,
}

impl ReplayTally {
    pub fn new(replay_id: &str) -> Arc<ReplayTally> {
        Arc::new(ReplayTally {
            replay_id: replay_id.to_string(),
            handed: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unattempted: AtomicU64::new(0),
            settled: Notify::new(),
        })
    }

    /// A ticket for one more delivery handed on.
    pub fn ticket(self: &Arc<Self>) -> ReplayTicket {
        self.handed.fetch_add(1, Ordering::SeqCst);
        ReplayTicket(Some(self.clone()))
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::SeqCst)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    pub fn unattempted(&self) -> u64 {
        self.unattempted.load(Ordering::SeqCst)
    }

    /// Deliveries handed on whose attempt has not ended yet.
    pub fn outstanding(&self) -> u64 {
        let settled = self.delivered() + self.failed() + self.unattempted();
        self.handed.load(Ordering::SeqCst).saturating_sub(settled)
    }

    /// Waits until a ticket is settled (at once if one was since the last wait).
    pub async fn changed(&self) {
        self.settled.notified().await;
    }

    fn settle(&self, count: &AtomicU64) {
        count.fetch_add(1, Ordering::SeqCst);
        // One waiter, the replay's runner: a permit kept for it means no settlement goes unheard.
        self.settled.notify_one();
    }
}

/// One replayed delivery's claim on its replay's tally.
#[derive(Debug)]
pub struct ReplayTicket(Option<Arc<ReplayTally>>);

impl ReplayTicket {
    /// The replay whose delivery this is (its attempt is marked with it).
    pub fn replay_id(&self) -> Option<&str> {
        self.0.as_deref().map(|t| t.replay_id.as_str())
    }

    /// The delivery's attempt ended, as `success` says.
    pub(super) fn attempted(mut self, success: bool) {
        if let Some(tally) = self.0.take() {
            tally.settle(if success { &tally.delivered } else { &tally.failed });
        }
    }
}

impl Drop for ReplayTicket {
    fn drop(&mut self) {
        if let Some(tally) = self.0.take() {
            tally.settle(&tally.unattempted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ticket_is_settled_once_attempted_or_dropped() {
        let tally = ReplayTally::new("rpl_1");
        let (a, b, c) = (tally.ticket(), tally.ticket(), tally.ticket());
        assert_eq!(tally.outstanding(), 3);
        a.attempted(true);
        b.attempted(false);
        assert_eq!((tally.delivered(), tally.failed(), tally.outstanding()), (1, 1, 1));
        drop(c);
        assert_eq!((tally.unattempted(), tally.outstanding()), (1, 0));
    }
}
