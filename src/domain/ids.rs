//! Typed ids: a type per kind of thing hookwatch names (`evt_…`, `sub_…`, `dlv_…`, `rpl_…`), so an
//! event's id cannot be passed where a subscription's is meant. hookwatch makes each as its prefix
//! and a ULID; on the wire and in both stores an id is the same text as before.
//!
//! Text read back from a store or a trusted peer is taken as it is (`From<String>`): an id nobody
//! made finds nothing, as it always did. Text from a client is read with `parse`, which checks the
//! prefix and the letters, so an id of the wrong kind is refused with a message naming the kind.

use std::fmt;

/// The longest id `parse` takes: hookwatch's are 30 characters.
const MAX_LEN: usize = 100;

/// Text that is not an id of the kind asked for. The API answers it as `404 not_found`, as it
/// does an id of the right kind that names nothing: neither names a thing it has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no {kind} {given}: {kind} ids begin with `{prefix}` and go on in letters, digits and `_`; list them with {list}"
)]
pub struct IdError {
    kind: &'static str,
    prefix: &'static str,
    list: &'static str,
    given: String,
}

impl From<IdError> for super::error::Error {
    fn from(e: IdError) -> Self {
        super::error::Error::NotFound(e.to_string())
    }
}

/// Whether `text` is `prefix` followed by 1 to `MAX_LEN` letters, digits and `_` in all.
fn well_formed(text: &str, prefix: &str) -> bool {
    text.len() <= MAX_LEN
        && text
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// Defines each id type once: its prefix, how it is made, read, shown and stored.
macro_rules! typed_ids {
    ($($(#[$doc:meta])* $name:ident = $prefix:literal, $kind:literal, $list:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// What every id of this kind that hookwatch makes begins with.
            pub const PREFIX: &'static str = concat!($prefix, "_");

            /// A new id, later than every one made before it by this process.
            pub fn generate() -> Self {
                Self(super::model::new_id($prefix))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;

            /// A client's text, checked: the prefix, then letters, digits and `_`.
            fn from_str(text: &str) -> Result<Self, IdError> {
                if well_formed(text, Self::PREFIX) {
                    Ok(Self(text.to_string()))
                } else {
                    Err(IdError { kind: $kind, prefix: Self::PREFIX, list: $list, given: text.to_string() })
                }
            }
        }

        /// Stored or received text, taken as it is (see the module's comment).
        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Maps keyed by an id are looked up by its text too.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// As its text is: quoted.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                String::column_result(value).map(Self)
            }
        }

        impl tokio_postgres::types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &tokio_postgres::types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.0.to_sql(ty, out)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <String as tokio_postgres::types::ToSql>::accepts(ty)
            }

            tokio_postgres::types::to_sql_checked!();
        }

        impl<'a> tokio_postgres::types::FromSql<'a> for $name {
            fn from_sql(
                ty: &tokio_postgres::types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                String::from_sql(ty, raw).map(Self)
            }

            fn accepts(ty: &tokio_postgres::types::Type) -> bool {
                <String as tokio_postgres::types::FromSql>::accepts(ty)
            }
        }
    )*};
}

typed_ids! {
    /// An event's id, `evt_…`: its ULID begins with when it was received, so ids sort by time.
    EventId = "evt", "event", "GET /v1/events";
    /// A subscription's id, `sub_…`.
    SubscriptionId = "sub", "subscription", "GET /v1/subscriptions";
    /// A delivery's id, `dlv_…`: one event to one subscription. Sent as `webhook-id`.
    DeliveryId = "dlv", "delivery", "GET /v1/events/{id}";
    /// A replay job's id, `rpl_…`.
    ReplayId = "rpl", "replay", "GET /v1/replays";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_id_has_its_prefix_and_reads_back_as_itself() {
        let id = EventId::generate();
        assert!(id.starts_with("evt_") && id.len() == 30, "{id}");
        assert_eq!(id.as_str().parse::<EventId>(), Ok(id.clone()));
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""), "on the wire, the text alone");
        assert!(EventId::generate() > id, "later ids sort after");
    }

    #[test]
    fn parse_refuses_another_kind_and_other_letters() {
        let sub = SubscriptionId::generate();
        let refused = sub.as_str().parse::<EventId>().unwrap_err().to_string();
        assert!(refused.starts_with(&format!("no event {sub}: event ids begin with `evt_`")), "{refused}");
        for text in
            ["", "evt_", "evt", "EVT_01", "evt_01/..", "evt_01 ", "evt_é", &format!("evt_{}", "0".repeat(MAX_LEN))]
        {
            assert!(text.parse::<EventId>().is_err(), "{text:?}");
        }
        assert!("evt_1".parse::<EventId>().is_ok(), "any letters and digits, as tests and older ids have");
    }
}
