//! Ids as queued jobs hold them. A backlog keeps two per job (its delivery's and its event's) and
//! the lane's requeue set a third, for as long as the backlog lasts: 243,000 jobs queued behind a
//! paused subscription in `hookwatch bench`'s ingest phase (2026-12-06). hookwatch's own ids
//! (`dlv_`, `evt_` and a ULID) are kept as their 16 bytes, 24 in all, instead of a `String` and
//! its 30 bytes on the heap, 56 in all. Any other id is kept as text, so every id reads back
//! exactly as it was given. A `CompactId<K>` keeps its kind `K` (`DeliveryId`, `EventId`), so a
//! job's two ids cannot be swapped either.

use std::fmt::{self, Write};
use std::marker::PhantomData;

/// An id of kind `K`, compact.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CompactId<K> {
    stored: Stored,
    kind: PhantomData<fn() -> K>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Stored {
    /// `prefix_ULID`: a three-letter ASCII prefix and a ULID written as `Ulid` writes it.
    Ulid {
        prefix: [u8; 3],
        value: [u8; 16],
    },
    Text(Box<str>),
}

impl<K: AsRef<str> + From<String>> CompactId<K> {
    pub fn new(id: &K) -> Self {
        let id = id.as_ref();
        let stored = Stored::ulid(id).unwrap_or_else(|| Stored::Text(id.into()));
        CompactId { stored, kind: PhantomData }
    }

    /// The id, in one allocation of its exact length (`to_string` grows a `String` as the parts
    /// are written).
    pub fn id(&self) -> K {
        let len = match &self.stored {
            Stored::Ulid { prefix, .. } => prefix.len() + 1 + ulid::ULID_LEN,
            Stored::Text(text) => text.len(),
        };
        let mut text = String::with_capacity(len);
        // Writing into a String cannot fail.
        let _ = self.stored.write(&mut text);
        K::from(text)
    }
}

impl Stored {
    fn ulid(id: &str) -> Option<Self> {
        let (prefix, encoded) = id.split_once('_')?;
        let prefix: [u8; 3] = prefix.as_bytes().try_into().ok().filter(|p: &[u8; 3]| p.is_ascii())?;
        let ulid = ulid::Ulid::from_string(encoded).ok()?;
        // Base32 reads some strings more than one way (lower case, an overlong first letter):
        // only an id that writes back exactly as given is kept as bytes.
        let mut written = [0; ulid::ULID_LEN];
        (ulid.array_to_str(&mut written) == encoded).then_some(Stored::Ulid { prefix, value: ulid.to_bytes() })
    }

    /// The one way an id is written, for `id` and `Display`.
    fn write(&self, out: &mut impl Write) -> fmt::Result {
        match self {
            Stored::Ulid { prefix, value } => {
                for &letter in prefix {
                    out.write_char(char::from(letter))?;
                }
                out.write_char('_')?;
                out.write_str(ulid::Ulid::from_bytes(*value).array_to_str(&mut [0; ulid::ULID_LEN]))
            }
            Stored::Text(text) => out.write_str(text),
        }
    }
}

impl<K> fmt::Display for CompactId<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.stored.write(f)
    }
}

impl<K> fmt::Debug for CompactId<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{DeliveryId, EventId};

    fn is_bytes<K>(id: &CompactId<K>) -> bool {
        matches!(id.stored, Stored::Ulid { .. })
    }

    #[test]
    fn hookwatch_ids_are_kept_as_bytes_and_read_back_as_given() {
        let (delivery, event) = (DeliveryId::generate(), EventId::generate());
        let (compact_delivery, compact_event) = (CompactId::new(&delivery), CompactId::new(&event));
        assert!(is_bytes(&compact_delivery) && is_bytes(&compact_event), "{delivery} {event}");
        assert_eq!((compact_delivery.to_string(), compact_delivery.id()), (delivery.to_string(), delivery));
        assert_eq!((compact_event.to_string(), compact_event.id()), (event.to_string(), event));
    }

    #[test]
    fn other_ids_are_kept_as_text() {
        let ulid = ulid::Ulid::generate().to_string();
        for id in [
            format!("dlv_{}", ulid.to_lowercase()),
            format!("delivery_{ulid}"),
            format!("dl_{ulid}"),
            "dlv_8ZZZZZZZZZZZZZZZZZZZZZZZZZ".to_string(),
            format!("dé_{ulid}"),
            ulid.clone(),
            "42".to_string(),
            String::new(),
        ] {
            let compact = CompactId::new(&DeliveryId::from(id.as_str()));
            assert!(!is_bytes(&compact), "{id}");
            assert_eq!(compact.to_string(), id);
            assert_eq!(compact.id(), id);
        }
    }

    #[test]
    fn equal_ids_are_equal_and_different_ones_are_not() {
        let (a, b) = (DeliveryId::generate(), DeliveryId::generate());
        assert_eq!(CompactId::new(&a), CompactId::new(&a));
        assert_ne!(CompactId::new(&a), CompactId::new(&b));
        let same_ulid = DeliveryId::from(a.replacen("dlv", "evt", 1));
        assert_ne!(CompactId::new(&a), CompactId::new(&same_ulid));
    }

    #[test]
    fn an_id_takes_24_bytes() {
        assert_eq!(std::mem::size_of::<CompactId<DeliveryId>>(), 24);
    }
}
