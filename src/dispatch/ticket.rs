//! A replay's hold on the deliveries it hands to lanes. Each job a replay hands on carries a
//! ticket; the lane settles it with the outcome of the delivery's next attempt, and a ticket
//! dropped unsettled (the lane went away, the event was pruned, another node took the delivery)
//! counts as not attempted. The replay is done only when every ticket is settled.

use crate::domain::ids::ReplayId;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Notify;

/// What became of the deliveries one replay handed on.
#[derive(Debug)]
pub struct ReplayTally {
    replay_id: ReplayId,
    handed: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    /// Tickets dropped: attempted (counted in `delivered` or `failed` first) or not.
    ended: AtomicU64,
    settled: Notify,
}

impl ReplayTally {
    pub fn new(replay_id: &ReplayId) -> Arc<ReplayTally> {
        Arc::new(ReplayTally {
            replay_id: replay_id.clone(),
            handed: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            settled: Notify::new(),
        })
    }

    /// A ticket for one more delivery handed on.
    pub fn ticket(self: &Arc<Self>) -> ReplayTicket {
        self.handed.fetch_add(1, Ordering::SeqCst);
        ReplayTicket(self.clone())
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::SeqCst)
    }

    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::SeqCst)
    }

    pub fn unattempted(&self) -> u64 {
        let attempted = self.delivered() + self.failed();
        self.ended.load(Ordering::SeqCst).saturating_sub(attempted)
    }

    /// Deliveries handed on whose attempt has not ended yet.
    pub fn outstanding(&self) -> u64 {
        self.handed.load(Ordering::SeqCst).saturating_sub(self.ended.load(Ordering::SeqCst))
    }

    /// Waits until a ticket is settled (at once if one was since the last wait).
    pub async fn changed(&self) {
        self.settled.notified().await;
    }
}

/// One replayed delivery's claim on its replay's tally (a pointer: a queued job grows by 8 bytes).
#[derive(Debug)]
pub struct ReplayTicket(Arc<ReplayTally>);

impl ReplayTicket {
    /// The replay whose delivery this is (its attempt is marked with it).
    pub fn replay_id(&self) -> &ReplayId {
        &self.0.replay_id
    }

    /// The delivery's attempt ended, as `success` says; dropping the ticket then settles it.
    pub(super) fn attempted(self, success: bool) {
        let count = if success { &self.0.delivered } else { &self.0.failed };
        count.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for ReplayTicket {
    /// Settles the ticket: as attempted if `attempted` counted it, else as not attempted.
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::SeqCst);
        // One waiter, the replay's runner: a permit kept for it means no settlement goes unheard.
        self.0.settled.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ticket_is_settled_once_attempted_or_dropped() {
        let tally = ReplayTally::new(&"rpl_1".into());
        let (a, b, c) = (tally.ticket(), tally.ticket(), tally.ticket());
        assert_eq!(tally.outstanding(), 3);
        a.attempted(true);
        b.attempted(false);
        assert_eq!((tally.delivered(), tally.failed(), tally.outstanding()), (1, 1, 1));
        drop(c);
        assert_eq!((tally.unattempted(), tally.outstanding()), (1, 0));
        assert_eq!(std::mem::size_of::<Option<ReplayTicket>>(), 8, "a queued job grows by a pointer");
    }
}
