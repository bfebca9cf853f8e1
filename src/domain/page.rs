//! A window of a list kept in one stable order: what a list route asks the engine and the store
//! for, a page at a time, by the position of an item (keyset), never by loading the list and
//! cutting it.

/// The items next to `from` (exclusive) in one direction of the list's order, at most `take`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window<K> {
    /// The position to start next to; none: from the list's first item (forward) or last (backward).
    pub from: Option<K>,
    /// Against the list's order: the items before `from`, nearest first.
    pub backward: bool,
    pub take: u32,
}

impl<K> Window<K> {
    /// The first `take` items in the list's order.
    pub fn first(take: u32) -> Window<K> {
        Window { from: None, backward: false, take }
    }

    /// Whether `key` lies in this window's direction from `from`, for a list ordered by `K`
    /// ascending (`descending`: by `K` descending).
    pub fn admits(&self, key: &K, descending: bool) -> bool
    where
        K: Ord,
    {
        let Some(from) = &self.from else { return true };
        let ahead = if descending { key < from } else { key > from };
        if self.backward { key != from && !ahead } else { ahead }
    }

    /// Reads an ascending source (`ascending`: its items in key order) as this window of a list
    /// ordered by `K` (`descending` or not): what an in-memory list does that a query does in SQL.
    pub fn read<T>(
        &self,
        ascending: impl DoubleEndedIterator<Item = T>,
        key: impl Fn(&T) -> K,
        descending: bool,
    ) -> Vec<T>
    where
        K: Ord,
    {
        let admitted = |item: &T| self.admits(&key(item), descending);
        let take = self.take as usize;
        // Reading towards smaller keys walks the source from its end.
        if descending != self.backward {
            ascending.rev().filter(admitted).take(take).collect()
        } else {
            ascending.filter(admitted).take(take).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reads_next_to_its_position_in_either_direction_of_either_order() {
        let keys = [1, 2, 3, 4, 5];
        let read = |w: Window<i32>, descending| w.read(keys.iter().copied(), |k| *k, descending);
        assert_eq!(read(Window::first(2), false), [1, 2]);
        assert_eq!(read(Window::first(2), true), [5, 4]);
        assert_eq!(read(Window { from: Some(2), backward: false, take: 2 }, false), [3, 4]);
        assert_eq!(read(Window { from: Some(4), backward: true, take: 2 }, false), [3, 2]);
        assert_eq!(read(Window { from: Some(4), backward: false, take: 9 }, true), [3, 2, 1]);
        assert_eq!(read(Window { from: Some(2), backward: true, take: 2 }, true), [3, 4]);
        assert_eq!(read(Window { from: Some(5), backward: false, take: 2 }, false), Vec::<i32>::new());
    }
}
