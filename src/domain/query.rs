//! The filter language: which events a list, a replay or the stream keeps (`EventQuery`), the
//! delivery states it names (`StatusFilter`) and the search text `GET /v1/events?q=` and the
//! dashboard's filter take (`search_terms`, `field_term`, `field_path`). The API, the dashboard and
//! the store all read it, so it lives with the plain types.

use crate::domain::model::DeliveryStatus;

/// Which deliveries an events query keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Is(DeliveryStatus),
    /// Retrying or dead: every delivery that has not gone through.
    Failed,
}

impl StatusFilter {
    /// The names `parse` takes, for messages.
    pub const NAMES: &str = "pending, retrying, succeeded, dead, cancelled, failed";

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "failed" => Some(Self::Failed),
            other => DeliveryStatus::parse(other).map(Self::Is),
        }
    }

    /// The name `parse` takes back.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Is(s) => s.as_str(),
            Self::Failed => "failed",
        }
    }

    pub fn statuses(self) -> Vec<DeliveryStatus> {
        match self {
            Self::Is(s) => vec![s],
            Self::Failed => vec![DeliveryStatus::Retrying, DeliveryStatus::Dead],
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub action: Option<String>,
    pub subscription: Option<String>,
    pub status: Option<StatusFilter>,
    pub card_id: Option<String>,
    /// Only events with an id strictly below this one (ids sort by time): the paging cursor.
    pub before: Option<String>,
    /// Only events with an id strictly above this one: the cursor of a pass oldest first.
    pub after: Option<String>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Words each of which the payload must hold, as a word or the beginning of one (any case).
    pub words: Vec<String>,
    /// Payload fields (`data.card.title`) whose text must hold the value (any case).
    pub fields: Vec<FieldCondition>,
    pub limit: u32,
}

impl EventQuery {
    /// The query narrowed to a window of its list (newest first, by id): the events next to
    /// the window's event, in its direction.
    pub fn in_window(self, window: crate::domain::page::Window<String>) -> EventQuery {
        let (before, after) = if window.backward { (None, window.from) } else { (window.from, None) };
        EventQuery { before, after, oldest_first: window.backward, limit: window.take, ..self }
    }
}

/// A payload field's path (`data.card.title`) and the text its value must hold.
pub type FieldCondition = (String, String);

/// A search text (`acme data.card.title:renewal`) as words and field conditions: a term whose key
/// has a dot is a field; any other term is a word.
pub fn search_terms(text: &str) -> std::result::Result<(Vec<String>, Vec<FieldCondition>), String> {
    if let Some(c) = text.chars().find(|c| c.is_control() && !c.is_whitespace()) {
        return Err(format!("a search cannot hold a control character ({c:?}); search for printable text"));
    }
    let (mut words, mut fields) = (Vec::new(), Vec::new());
    for term in text.split_whitespace() {
        match field_term(term) {
            Some(field) => fields.push(field?),
            None => words.push(term.to_string()),
        }
    }
    Ok((words, fields))
}

/// `term` as a field condition if its key has a dot (`data.card.title:Acme`), checked; `None`
/// for any other term.
pub fn field_term(term: &str) -> Option<std::result::Result<FieldCondition, String>> {
    let (path, value) = term.split_once(':').filter(|(path, _)| path.contains('.'))?;
    Some(field_path(path).and_then(|_| match value {
        "" => Err(format!("{path}: needs a value, e.g. {path}:Acme")),
        _ => Ok((path.to_string(), value.to_string())),
    }))
}

/// A payload field path as the filter and `GET /v1/events?q=` write it: dot-separated keys
/// (letters, digits, `_`, `-`), a number indexing an array. What is wrong with it, otherwise.
pub fn field_path(path: &str) -> std::result::Result<Vec<String>, String> {
    let segments: Vec<String> = path.split('.').map(str::to_string).collect();
    let ok = |s: &String| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if segments.len() < 2 || !segments.iter().all(ok) {
        return Err(format!("{path:?} is not a field path; write it like data.card.title"));
    }
    Ok(segments)
}
