//! Validation of an ingested body and the facts hookwatch reads from it (action, card, phases).
//! The body itself is never rewritten: what is delivered is what was ingested, byte for byte.

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::model::Filters;
use serde_json::Value;

/// What routing, filtering and display need from a payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadFacts {
    pub action: String,
    pub card_id: Option<String>,
    pub pipe_id: Option<String>,
    pub on_phase_id: Option<String>,
    pub from_phase_id: Option<String>,
    pub to_phase_id: Option<String>,
    pub field_id: Option<String>,
}

/// Parses and checks a Pipefy-shaped body: JSON, an object with `data.action` naming a catalog action.
pub fn inspect(body: &[u8], catalog: &Catalog) -> Result<PayloadFacts> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Error::bad_input(
            "malformed_json",
            format!(
                "the body is not valid JSON: {e} (line {}, column {}); send a JSON object like {{\"data\":{{\"action\":\"card.move\",...}}}}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Some(data) = value.get("data").filter(|d| d.is_object()) else {
        return Err(Error::invalid(
            "missing_data",
            "the body must be an object with a \"data\" object, e.g. {\"data\":{\"action\":\"card.move\",...}}",
        ));
    };
    let action = match data.get("action") {
        Some(Value::String(a)) => a,
        Some(_) => {
            return Err(Error::invalid("missing_action", "\"data.action\" must be a string naming a catalog action"));
        }
        None => {
            return Err(Error::invalid(
                "missing_action",
                format!("\"data.action\" is missing; valid actions: {}", catalog.names().join(", ")),
            ));
        }
    };
    let Some(action) = catalog.canonical(action) else {
        return Err(Error::invalid(
            "unknown_action",
            format!(
                "unknown action {:?}; valid actions: {} (declare your own under extra_actions in the config file)",
                truncate(action, 80),
                catalog.names().join(", ")
            ),
        ));
    };
    Ok(PayloadFacts {
        action,
        card_id: id_at(data, &["card", "id"]),
        pipe_id: id_at(data, &["card", "pipe_id"]),
        on_phase_id: id_at(data, &["on_phase", "id"]),
        from_phase_id: id_at(data, &["from", "id"]),
        to_phase_id: id_at(data, &["to", "id"]),
        field_id: id_at(data, &["field", "id"]),
    })
}

/// Pipefy sends ids as numbers or strings; both compare as their text.
fn id_at(data: &Value, path: &[&str]) -> Option<String> {
    let mut v = data;
    for key in path {
        v = v.get(key)?;
    }
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

impl Filters {
    /// An event matches when every given filter list contains the payload's value.
    pub fn matches(&self, facts: &PayloadFacts) -> bool {
        let check = |list: &Vec<String>, value: &Option<String>| {
            list.is_empty() || value.as_ref().is_some_and(|v| list.contains(v))
        };
        check(&self.pipe_id, &facts.pipe_id)
            && check(&self.on_phase_id, &facts.on_phase_id)
            && check(&self.from_phase_id, &facts.from_phase_id)
            && check(&self.to_phase_id, &facts.to_phase_id)
            && check(&self.field_id, &facts.field_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_facts_from_a_card_move() {
        let body = br#"{"data":{"action":"CARD.MOVE","from":{"id":1,"name":"a"},"to":{"id":"2"},"card":{"id":9,"pipe_id":"P"}}}"#;
        let f = inspect(body, &Catalog::default()).unwrap();
        assert_eq!(f.action, "card.move");
        assert_eq!(f.from_phase_id.as_deref(), Some("1"));
        assert_eq!(f.to_phase_id.as_deref(), Some("2"));
        assert_eq!(f.card_id.as_deref(), Some("9"));
        assert_eq!(f.pipe_id.as_deref(), Some("P"));
    }

    #[test]
    fn malformed_json_says_where() {
        let err = inspect(b"{\"data\": {\n\"action\": }", &Catalog::default()).unwrap_err();
        assert_eq!(err.code(), "malformed_json");
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_action_lists_valid_ones() {
        let err = inspect(br#"{"data":{"action":"card.teleport"}}"#, &Catalog::default()).unwrap_err();
        assert_eq!(err.code(), "unknown_action");
        assert!(err.to_string().contains("card.move"));
    }

    #[test]
    fn filters_need_every_given_list_to_match() {
        let facts = PayloadFacts { pipe_id: Some("P".into()), to_phase_id: Some("2".into()), ..Default::default() };
        let f = Filters { pipe_id: vec!["P".into()], to_phase_id: vec!["2".into(), "3".into()], ..Default::default() };
        assert!(f.matches(&facts));
        let f = Filters { field_id: vec!["x".into()], ..Default::default() };
        assert!(!f.matches(&facts));
        assert!(Filters::default().matches(&facts));
    }
}
