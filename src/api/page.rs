//! The one pagination convention of every list route, Svix's: a bounded `limit` and an opaque
//! `iterator` in, `{data, iterator, prev_iterator, done}` out. A cursor names its list, a
//! direction and the position of the item it is next to (keyset: the store reads from there in
//! the list's stable order), base64url-encoded so that clients pass it back unread.

use super::ApiError;
use crate::domain::page::Window;
pub use crate::wire::ListResponse;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Items per page when `limit` is left out.
pub const DEFAULT_LIMIT: u32 = 50;
/// The most items one page holds.
pub const MAX_LIMIT: u32 = 500;

/// The query of a list route that takes nothing else.
#[derive(serde::Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1 to 500 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// `iterator` or `prev_iterator` of a page of this list: the page after it, or before it.
    iterator: Option<String>,
}

impl super::extract::Usage for PageParams {
    const USAGE: &'static str = "?limit=1..500&iterator= (docs/api.md, Lists)";
}

impl PageParams {
    pub fn request<K: Position>(&self, listing: Listing) -> Result<PageRequest<K>, ApiError> {
        PageRequest::parse(listing, self.limit.as_deref(), self.iterator.as_deref())
    }
}

/// The list a cursor belongs to: a cursor of one is refused by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Events,
    Subscriptions,
    Replays,
    Alerts,
    Audit,
}

impl Listing {
    fn name(self) -> &'static str {
        match self {
            Listing::Events => "events",
            Listing::Subscriptions => "subscriptions",
            Listing::Replays => "replays",
            Listing::Alerts => "alerts",
            Listing::Audit => "audit",
        }
    }
}

/// The position of an item in its list: an id, or a number.
pub trait Position: Sized + Clone {
    fn write(&self) -> String;
    fn read(text: &str) -> Option<Self>;
}

impl Position for String {
    fn write(&self) -> String {
        self.clone()
    }

    /// Ids are ASCII letters, digits and `_`.
    fn read(text: &str) -> Option<Self> {
        let plausible = (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        plausible.then(|| text.to_string())
    }
}

impl Position for i64 {
    fn write(&self) -> String {
        self.to_string()
    }

    fn read(text: &str) -> Option<Self> {
        text.parse().ok().filter(|n| *n >= 0)
    }
}

/// The `limit` and `iterator` of a list request, checked: the window to read.
pub struct PageRequest<K> {
    listing: Listing,
    limit: u32,
    from: Option<K>,
    backward: bool,
}

impl<K: Position> PageRequest<K> {
    /// `limit` (1 to `MAX_LIMIT`, `DEFAULT_LIMIT` when absent or empty) and `iterator` (one this
    /// list answered) as the query string gave them.
    pub fn parse(listing: Listing, limit: Option<&str>, iterator: Option<&str>) -> Result<Self, ApiError> {
        let limit = match limit {
            None | Some("") => DEFAULT_LIMIT,
            Some(l) => l.parse::<u32>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_limit",
                    format!("limit must be a number from 1 to {MAX_LIMIT}, not {l:?}; follow `iterator` for more"),
                )
            })?,
        };
        let (from, backward) = match iterator.filter(|i| !i.is_empty()) {
            None => (None, false),
            Some(text) => {
                let (backward, key) = decode(listing, text).ok_or_else(|| invalid_iterator(listing, text))?;
                (Some(key), backward)
            }
        };
        Ok(PageRequest { listing, limit, from, backward })
    }

    /// What to read: one item more than the page holds, to know whether more follow.
    pub fn window(&self) -> Window<K> {
        Window { from: self.from.clone(), backward: self.backward, take: self.limit + 1 }
    }

    /// The answer from what the window read (nearest first), `key` giving each item's position.
    pub fn answer<T>(&self, found: Vec<T>, key: impl Fn(&T) -> K) -> ListResponse<T> {
        let positions = found.iter().map(key).collect();
        self.answer_at(found, positions)
    }

    /// The answer from what the window read (nearest first) and each item's position.
    pub fn answer_at<T>(&self, mut found: Vec<T>, mut positions: Vec<K>) -> ListResponse<T> {
        let done = found.len() <= self.limit as usize;
        found.truncate(self.limit as usize);
        positions.truncate(self.limit as usize);
        if self.backward {
            found.reverse();
            positions.reverse();
        }
        let cursor = |backward: bool, at: Option<&K>| at.map(|k| encode(self.listing, backward, k));
        // An empty page stays where it was asked, both ways.
        let (last, first) = match (positions.last(), positions.first()) {
            (Some(last), Some(first)) => (Some(last), Some(first)),
            _ => (self.from.as_ref(), self.from.as_ref()),
        };
        ListResponse { data: found, iterator: cursor(false, last), prev_iterator: cursor(true, first), done }
    }
}

fn encode(listing: Listing, backward: bool, key: &impl Position) -> String {
    let direction = if backward { "prev" } else { "next" };
    URL_SAFE_NO_PAD.encode(format!("{}:{direction}:{}", listing.name(), key.write()))
}

fn decode<K: Position>(listing: Listing, text: &str) -> Option<(bool, K)> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, ':');
    let (name, direction, key) = (parts.next()?, parts.next()?, parts.next()?);
    let backward = match direction {
        "next" => false,
        "prev" => true,
        _ => return None,
    };
    (name == listing.name()).then_some(())?;
    Some((backward, K::read(key)?))
}

fn invalid_iterator(listing: Listing, text: &str) -> ApiError {
    let shown: String = text.chars().take(80).collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_iterator",
        format!(
            "iterator {shown:?} is not one GET /v1/{} gave: pass back `iterator` or `prev_iterator` of one of its \
             pages unchanged, or leave it out for the first page",
            listing.name()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_in_its_own_list() {
        let next = encode(Listing::Events, false, &"evt_01ABC".to_string());
        assert_eq!(decode::<String>(Listing::Events, &next), Some((false, "evt_01ABC".to_string())));
        assert_eq!(decode::<String>(Listing::Replays, &next), None, "a cursor of another list");
        let prev = encode(Listing::Audit, true, &42_i64);
        assert_eq!(decode::<i64>(Listing::Audit, &prev), Some((true, 42)));
        for garbled in ["", "%%%", "bm90IGEgY3Vyc29y", &prev[1..], &URL_SAFE_NO_PAD.encode("audit:next:-1")] {
            assert_eq!(decode::<i64>(Listing::Audit, garbled), None, "{garbled:?}");
        }
    }
}
