//! A fixed ring of time slots: memory and cost stay the same whatever the traffic.

use crate::domain::model::Millis;

/// Slots keyed by `at / slot_ms`; a slot left from an earlier turn of the ring is reset in
/// place when its time comes again.
#[derive(Debug, Clone)]
pub(super) struct Ring<T> {
    slot_ms: i64,
    slots: Vec<(i64, T)>,
}

impl<T: Default + Clone> Ring<T> {
    pub(super) fn new(slot_ms: i64, len: usize) -> Self {
        Ring { slot_ms, slots: vec![(i64::MIN, T::default()); len] }
    }

    pub(super) fn slot_ms(&self) -> i64 {
        self.slot_ms
    }

    /// The slot holding time `at`, emptied first if it still holds an older time's values;
    /// `None` when a later time holds it: a time older than the ring reaches displaces nothing.
    pub(super) fn slot_mut(&mut self, at: Millis) -> Option<&mut T> {
        let key = self.key(at);
        let place = self.place(key);
        let slot = &mut self.slots[place];
        if slot.0 > key {
            return None;
        }
        if slot.0 != key {
            *slot = (key, T::default());
        }
        Some(&mut slot.1)
    }

    /// Where slot number `key` is kept: its remainder by the ring's length.
    fn place(&self, key: i64) -> usize {
        let len = i64::try_from(self.slots.len()).unwrap_or(i64::MAX);
        // A remainder by a length is below that length, so it is an index.
        usize::try_from(key.rem_euclid(len)).unwrap_or(0)
    }

    /// The slot number of time `at`.
    pub(super) fn key(&self, at: Millis) -> i64 {
        at.div_euclid(self.slot_ms)
    }

    /// The values of slot number `key`, if the ring still holds them.
    pub(super) fn get(&self, key: i64) -> Option<&T> {
        let (held, value) = &self.slots[self.place(key)];
        (*held == key).then_some(value)
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The last `n` slots (at most the ring's length) up to the one holding `now`, oldest
    /// first, each with its start time; `None` for a slot nothing was recorded in.
    pub(super) fn recent(&self, now: Millis, n: usize) -> impl Iterator<Item = (Millis, Option<&T>)> {
        let current = now.div_euclid(self.slot_ms);
        let n = i64::try_from(n.min(self.slots.len())).unwrap_or(i64::MAX);
        (current - n + 1..=current).map(move |key| {
            let (held, value) = &self.slots[self.place(key)];
            (key * self.slot_ms, (*held == key).then_some(value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_reused_after_a_turn_starts_empty() {
        let mut ring: Ring<u32> = Ring::new(1000, 3);
        *ring.slot_mut(500).unwrap() += 1;
        *ring.slot_mut(3_500).unwrap() += 5; // the same slot, one turn later
        let seen: Vec<_> = ring.recent(3_999, 4).map(|(at, v)| (at, v.copied())).collect();
        assert_eq!(seen, vec![(1_000, None), (2_000, None), (3_000, Some(5))]);
        assert!(ring.slot_mut(400).is_none(), "an older time does not displace a later one");
        assert_eq!(ring.get(3), Some(&5));
    }
}
