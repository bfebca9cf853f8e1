//! Attempts and successes per time slot, with running totals over the windows read from them:
//! reading a window costs the same however long it is. Summing the slots instead cost about
//! 9,000 slot reads per endpoint for every stream client every 2 s and for every `/metrics`
//! scrape, all under the lock each attempt's record takes.

use super::ring::Ring;
use crate::domain::model::Millis;

/// Attempts and how many of them succeeded, in one slot (32 bits: the seconds ring is long).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Counts {
    pub attempts: u32,
    pub successes: u32,
}

/// The totals of the last `len` slots up to `newest`, kept as slots are added to and leave it.
#[derive(Debug, Clone)]
struct Window {
    len: i64,
    newest: Option<i64>,
    attempts: u64,
    successes: u64,
}

impl Window {
    /// Moves the window's end up to slot `key`, taking out the slots that leave it. The ring still
    /// holds them: it is at least as long as the window, and is written at `key` only after this.
    fn advance(&mut self, ring: &Ring<Counts>, key: i64) {
        let Some(newest) = self.newest.filter(|newest| *newest < key) else {
            self.newest = self.newest.or(Some(key));
            return;
        };
        if key - newest >= self.len {
            (self.attempts, self.successes) = (0, 0);
        } else {
            for leaving in (newest - self.len + 1)..=(key - self.len) {
                if let Some(c) = ring.get(leaving) {
                    self.attempts -= u64::from(c.attempts);
                    self.successes -= u64::from(c.successes);
                }
            }
        }
        self.newest = Some(key);
    }

    fn covers(&self, key: i64) -> bool {
        self.newest.is_some_and(|newest| key > newest - self.len && key <= newest)
    }
}

/// A ring of counts and the windows read from it, each `len` slots long.
#[derive(Debug, Clone)]
pub(super) struct Tally<const N: usize> {
    ring: Ring<Counts>,
    windows: [Window; N],
}

impl<const N: usize> Tally<N> {
    pub fn new(slot_ms: i64, slots: usize, windows: [usize; N]) -> Self {
        assert!(windows.iter().all(|len| *len <= slots), "a window longer than its ring could not be taken out");
        let window = |len: usize| Window {
            len: i64::try_from(len).unwrap_or(i64::MAX),
            newest: None,
            attempts: 0,
            successes: 0,
        };
        Tally { ring: Ring::new(slot_ms, slots), windows: windows.map(window) }
    }

    pub fn add(&mut self, at: Millis, attempts: u64, successes: u64) {
        let key = self.ring.key(at);
        for window in &mut self.windows {
            window.advance(&self.ring, key);
        }
        let (attempts, successes) =
            (u32::try_from(attempts).unwrap_or(u32::MAX), u32::try_from(successes).unwrap_or(u32::MAX));
        let Some(slot) = self.ring.slot_mut(at) else { return };
        // What the slot takes is what the windows count: a full slot stops both alike.
        let before = *slot;
        slot.attempts = slot.attempts.saturating_add(attempts);
        slot.successes = slot.successes.saturating_add(successes);
        let added = (u64::from(slot.attempts - before.attempts), u64::from(slot.successes - before.successes));
        for window in self.windows.iter_mut().filter(|w| w.covers(key)) {
            window.attempts += added.0;
            window.successes += added.1;
        }
    }

    /// Attempts and successes in window `i`, over its slots up to the one holding `now`.
    pub fn window(&mut self, i: usize, now: Millis) -> (u64, u64) {
        let key = self.ring.key(now);
        let window = &mut self.windows[i];
        window.advance(&self.ring, key);
        (window.attempts, window.successes)
    }

    /// The last `n` slots up to the one holding `now`, oldest first (`None`: nothing recorded).
    pub fn recent(&self, now: Millis, n: usize) -> impl Iterator<Item = Option<&Counts>> {
        self.ring.recent(now, n.min(self.ring.len())).map(|(_, c)| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the order of adds and reads, a window's running totals are the sum of its slots.
    #[test]
    fn running_totals_are_the_sum_of_the_slots() {
        let mut tally = Tally::new(1000, 50, [10, 50]);
        let mut added: Vec<(Millis, u64, u64)> = Vec::new();
        let mut seed = 7u64;
        let mut next = |m: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        let mut now: Millis = 100_000;
        for _ in 0..5_000 {
            // Mostly forward, sometimes a jump past a whole window, sometimes an older slot.
            now += match next(20) {
                0 => 70_000,
                1..=10 => 0,
                _ => 1_000 * Millis::try_from(next(3)).unwrap(),
            };
            let at = now - 1_000 * Millis::try_from(next(60)).unwrap();
            let (attempts, successes) = (1 + next(3), next(2));
            tally.add(at, attempts, successes);
            added.push((at, attempts, successes));
            for (i, len) in [10i64, 50].into_iter().enumerate() {
                let newest = now / 1000;
                let expected = added
                    .iter()
                    .filter(|(at, _, _)| at / 1000 > newest - len && at / 1000 <= newest)
                    // What the ring could not take (older than it reaches when added) is in no window.
                    .filter(|(at, _, _)| tally.ring.get(at / 1000).is_some())
                    .fold((0, 0), |(a, s), (_, x, y)| (a + x, s + y));
                assert_eq!(tally.window(i, now), expected, "window {len} s at {now}");
            }
        }
    }
}
