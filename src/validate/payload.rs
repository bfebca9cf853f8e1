//! Validation of an ingested body and the facts hookwatch reads from it (action, card, phases).
//! The body itself is never rewritten: what is delivered is what was ingested, byte for byte.

use crate::domain::catalog::Catalog;
use crate::domain::error::{Error, Result};
use crate::domain::ids::SubscriptionId;
use crate::domain::model::Filters;
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::value::RawValue;

/// What routing, filtering and display need from a payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadFacts {
    pub action: String,
    pub card_id: Option<String>,
    /// `data.card.title`, cut to `MAX_TITLE_CHARS`: what the stream shows of the card.
    pub card_title: Option<String>,
    pub pipe_id: Option<String>,
    pub on_phase_id: Option<String>,
    pub from_phase_id: Option<String>,
    pub to_phase_id: Option<String>,
    pub field_id: Option<String>,
    /// The field's numeric id, which Pipefy's `field_id` filters name.
    pub field_internal_id: Option<String>,
    /// The organization a user-management or audit event is about (`to`, `from` or
    /// `organization`'s `organization_id`): an organization's webhook takes only its own.
    pub organization_id: Option<String>,
    /// Who gets the event beside what its action and filters decide.
    pub audience: Audience,
}

/// Which subscriptions an event goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Audience {
    /// Those whose actions and filters match it.
    #[default]
    Matching,
    /// Those that match, except this one: hookwatch's own alert about it.
    MatchingExcept(SubscriptionId),
    /// This one alone, whatever its actions and filters: a test sent to one endpoint.
    Only(SubscriptionId),
}

/// The part of a payload hookwatch reads. Everything else is skipped without being built, and
/// the sub-objects are kept as raw text and read leniently, so a team's own event shapes pass.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    data: Data<'a>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow, default)]
    action: Option<&'a RawValue>,
    #[serde(borrow, default)]
    card: Option<&'a RawValue>,
    #[serde(borrow, default)]
    on_phase: Option<&'a RawValue>,
    #[serde(borrow, default)]
    from: Option<&'a RawValue>,
    #[serde(borrow, default)]
    to: Option<&'a RawValue>,
    #[serde(borrow, default)]
    field: Option<&'a RawValue>,
    #[serde(borrow, default)]
    organization: Option<&'a RawValue>,
}

/// `{"id": …, "pipe_id": …, "internal_id": …, "title": …}` with ids as numbers or strings;
/// anything else reads as absent.
#[derive(Deserialize, Default)]
struct Ids {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    title: Option<Id>,
    #[serde(default)]
    pipe_id: Option<Id>,
    #[serde(default)]
    internal_id: Option<Id>,
    #[serde(default)]
    organization_id: Option<Id>,
}

/// An id as sent: a number or a string; anything else reads as absent. A visitor rather than
/// `#[serde(untagged)]`, which buffers the value and builds an error for each variant it rules
/// out — a measurable share of an ingest's CPU, as every event carries several ids.
struct Id(Option<String>);

impl Id {
    fn text(self) -> Option<String> {
        self.0
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

impl<'de> serde::de::Visitor<'de> for IdVisitor {
    type Value = Id;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an id (a number or a string)")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Id, E> {
        Ok(Id(Some(v.to_string())))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Id, E> {
        Ok(Id(Some(v.to_string())))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Id, E> {
        Ok(Id(Some(v.to_string())))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Id, E> {
        Ok(Id(serde_json::Number::from_f64(v).map(|n| n.to_string())))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> std::result::Result<Id, E> {
        Ok(Id(None))
    }
    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Id, E> {
        Ok(Id(None))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Id, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(Id(None))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Id, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(Id(None))
    }
}

/// The most of a card's title that is kept beside the event (the payload keeps all of it).
pub const MAX_TITLE_CHARS: usize = 200;

/// A title as kept: trimmed, at most `MAX_TITLE_CHARS`; `None` when blank.
fn cut_title(title: &str) -> Option<String> {
    let title = title.trim();
    (!title.is_empty()).then(|| title.chars().take(MAX_TITLE_CHARS).collect())
}

fn ids(raw: Option<&RawValue>) -> Ids {
    raw.and_then(|r| serde_json::from_str(r.get()).ok()).unwrap_or_default()
}

/// Deeper payloads are refused: consumers' parsers (and ours, when showing one) have recursion
/// limits, and no real event nests this far.
pub const MAX_DEPTH: usize = 64;

/// What one pass over JSON text finds without parsing it.
struct Scan {
    /// The deepest nesting of arrays and objects (strings are skipped).
    depth: usize,
    /// Where the first `\u0000` escape (a NUL character) starts inside a string.
    nul_at: Option<usize>,
}

fn scan(body: &[u8]) -> Scan {
    let (mut depth, mut found) = (0usize, Scan { depth: 0, nul_at: None });
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in body.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, b'u') => {
                    escaped = false;
                    if body.get(i + 1..i + 5) == Some(b"0000") && found.nul_at.is_none() {
                        found.nul_at = Some(i - 1);
                    }
                }
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                found.depth = found.depth.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    found
}

/// Parses and checks a Pipefy-shaped body: JSON, an object with `data.action` naming a catalog action.
pub fn inspect(body: &[u8], catalog: &Catalog) -> Result<PayloadFacts> {
    // JSON is UTF-8 (RFC 8259); skipped strings are not checked by the parser, so check it all here.
    if let Err(e) = std::str::from_utf8(body) {
        return Err(Error::bad_input(
            "malformed_json",
            format!("the body is not valid UTF-8 (first bad byte at offset {}); send UTF-8 JSON", e.valid_up_to()),
        ));
    }
    let scanned = scan(body);
    if scanned.depth > MAX_DEPTH {
        return Err(Error::bad_input(
            "too_deep",
            format!("the body nests arrays or objects more than {MAX_DEPTH} levels deep; flatten the payload"),
        ));
    }
    // PostgreSQL's jsonb cannot hold a NUL, so such an event could never be searched there;
    // refused alike on every store rather than accepted and left to break later reads.
    if let Some(at) = scanned.nul_at {
        return Err(Error::invalid(
            "nul_character",
            format!(
                "a string in the body holds \\u0000 (a NUL character) at byte {at}; remove it or send it as \\ufffd"
            ),
        ));
    }
    let envelope: Envelope = serde_json::from_slice(body).map_err(|e| match e.classify() {
        // serde's own words name the Rust types it wanted ("expected struct Envelope"): say
        // what the body needs instead, and where it went wrong.
        Category::Data => Error::invalid(
            "missing_data",
            format!(
                "the body must be an object with a \"data\" object holding \"action\", e.g. {{\"data\":{{\"action\":\"card.move\",...}}}} (line {}, column {})",
                e.line(),
                e.column()
            ),
        ),
        _ => Error::bad_input(
            "malformed_json",
            format!(
                "the body is not valid JSON: {e}; send a JSON object like {{\"data\":{{\"action\":\"card.move\",...}}}}"
            ),
        ),
    })?;
    let data = envelope.data;
    let action: String = match data.action.map(|raw| serde_json::from_str::<String>(raw.get())) {
        Some(Ok(a)) => a,
        Some(Err(_)) => {
            return Err(Error::invalid("missing_action", "\"data.action\" must be a string naming a catalog action"));
        }
        None => {
            return Err(Error::invalid(
                "missing_action",
                format!("\"data.action\" is missing; valid actions: {}", catalog.names().join(", ")),
            ));
        }
    };
    let Some(action) = catalog.canonical(&action) else {
        return Err(Error::invalid(
            "unknown_action",
            format!(
                "unknown action {:?}; valid actions: {} (declare your own under extra_actions in the config file)",
                truncate(&action, 80),
                catalog.names().join(", ")
            ),
        ));
    };
    if crate::domain::catalog::is_operational(&action) {
        return Err(Error::invalid(
            "reserved_action",
            format!(
                "{action:?} is one of hookwatch's own alerts: hookwatch sends them itself and takes none from outside"
            ),
        ));
    }
    let card = ids(data.card);
    let field = ids(data.field);
    let (from, to) = (ids(data.from), ids(data.to));
    let organization_id = [to.organization_id, from.organization_id, ids(data.organization).organization_id]
        .into_iter()
        .flatten()
        .find_map(Id::text);
    Ok(PayloadFacts {
        action,
        card_id: card.id.and_then(Id::text),
        card_title: card.title.and_then(Id::text).and_then(|t| cut_title(&t)),
        pipe_id: card.pipe_id.and_then(Id::text),
        on_phase_id: ids(data.on_phase).id.and_then(Id::text),
        from_phase_id: from.id.and_then(Id::text),
        to_phase_id: to.id.and_then(Id::text),
        field_id: field.id.and_then(Id::text),
        field_internal_id: field.internal_id.and_then(Id::text),
        organization_id,
        audience: Audience::Matching,
    })
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Whether a webhook of `owner` takes the event: a pipe's or table's only the events of cards in
/// it (`card.pipe_id`, compared as text), an organization's only the events of that organization
/// (`organization_id`), so events that carry neither are not theirs.
pub fn owner_takes(owner: Option<&crate::domain::model::Owner>, facts: &PayloadFacts) -> bool {
    use crate::domain::model::OwnerKind;
    match owner {
        Some(owner) if owner.kind.scopes_cards() => facts.pipe_id.as_deref() == Some(owner.id.as_str()),
        Some(owner) if owner.kind == OwnerKind::Organization => {
            facts.organization_id.as_deref() == Some(owner.id.as_str())
        }
        _ => true,
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
            && (check(&self.field_id, &facts.field_id) || check(&self.field_id, &facts.field_internal_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe's (or table's) webhook takes the cards of its pipe, compared as text; an event with no
    /// card is not its; an organization's takes the events of its organization alone.
    #[test]
    fn a_pipe_webhook_takes_only_its_pipes_cards() {
        use crate::domain::model::{Owner, OwnerKind};
        let pipe = Owner { kind: OwnerKind::Pipe, id: "301234".into() };
        let org = Owner { kind: OwnerKind::Organization, id: "22".into() };
        let card = inspect(br#"{"data":{"action":"card.move","card":{"id":1,"pipe_id":301234}}}"#, &Catalog::default())
            .unwrap();
        let elsewhere =
            inspect(br#"{"data":{"action":"card.move","card":{"id":1,"pipe_id":"9"}}}"#, &Catalog::default()).unwrap();
        let no_card = inspect(br#"{"data":{"action":"user.role_set"}}"#, &Catalog::default()).unwrap();
        assert!(owner_takes(Some(&pipe), &card));
        assert!(!owner_takes(Some(&pipe), &elsewhere));
        assert!(!owner_takes(Some(&pipe), &no_card));
        assert!([&card, &elsewhere, &no_card].iter().all(|f| owner_takes(None, f)), "no owner: every event");
        let catalog = Catalog::default();
        let ours = inspect(br#"{"data":{"action":"user.role_set","from":{"organization_id":22}}}"#, &catalog).unwrap();
        let invited = inspect(br#"{"data":{"action":"user.invitation_sent","to":{"organization_id":"22"}}}"#, &catalog);
        let theirs =
            inspect(br#"{"data":{"action":"user.role_set","from":{"organization_id":23}}}"#, &catalog).unwrap();
        assert!(owner_takes(Some(&org), &ours) && owner_takes(Some(&org), &invited.unwrap()));
        assert!(!owner_takes(Some(&org), &theirs), "another organization's user events are not its");
        assert!(!owner_takes(Some(&org), &card) && !owner_takes(Some(&org), &no_card), "nor events of no organization");
    }

    #[test]
    fn shape_errors_say_what_the_body_needs_not_which_type_was_expected() {
        for body in [&b"[1, 2]"[..], b"{\"data\": 5}", b"\"text\""] {
            let said = inspect(body, &Catalog::default()).unwrap_err().to_string();
            assert!(said.contains("\"data\" object") && said.contains("line 1"), "{said}");
            assert!(!said.contains("struct") && !said.contains("Envelope"), "{said}");
        }
        let said = inspect(br#"{"data":{"action":"hookwatch.disabled"}}"#, &Catalog::default()).unwrap_err();
        assert!(said.to_string().contains("hookwatch's own alerts"), "{said}");
    }

    #[test]
    fn reads_facts_from_a_card_move() {
        let body = br#"{"data":{"action":"CARD.MOVE","from":{"id":1,"name":"a"},"to":{"id":"2"},"card":{"id":9,"pipe_id":"P"}}}"#;
        let f = inspect(body, &Catalog::default()).unwrap();
        assert_eq!(f.action, "card.move");
        assert_eq!(f.from_phase_id.as_deref(), Some("1"));
        assert_eq!(f.to_phase_id.as_deref(), Some("2"));
        assert_eq!(f.card_id.as_deref(), Some("9"));
        assert_eq!(f.pipe_id.as_deref(), Some("P"));
        assert_eq!(f.card_title, None);
        let long = format!(r#"{{"data":{{"action":"card.move","card":{{"id":9,"title":" {} "}}}}}}"#, "é".repeat(300));
        let titled = inspect(long.as_bytes(), &Catalog::default()).unwrap().card_title.unwrap();
        assert_eq!(titled, "é".repeat(MAX_TITLE_CHARS), "trimmed and cut on a character");
        let blank = inspect(br#"{"data":{"action":"card.move","card":{"title":"  "}}}"#, &Catalog::default()).unwrap();
        assert_eq!(blank.card_title, None);
    }

    #[test]
    fn malformed_json_says_where() {
        let err = inspect(b"{\"data\": {\n\"action\": }", &Catalog::default()).unwrap_err();
        assert_eq!(err.code(), "malformed_json");
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = inspect(br#"{"data":{"action":"card.move"}} trailing"#, &Catalog::default()).unwrap_err();
        assert_eq!(err.code(), "malformed_json");
    }

    #[test]
    fn a_nul_escape_is_found_in_strings_only_and_refused() {
        assert_eq!(scan(br#"{"a":"x\u0000"}"#).nul_at, Some(7));
        assert_eq!(scan(br#"{"a":"\\u0000"}"#).nul_at, None, "an escaped backslash, then text");
        assert_eq!(scan(br#"{"a":"\u00001"}"#).nul_at, Some(6));
        assert_eq!(scan(br#"{"a":"\u0001"}"#).nul_at, None);
        let body = br#"{"data":{"action":"card.move","card":{"title":"a\u0000b"}}}"#;
        let refused = inspect(body, &Catalog::default()).unwrap_err();
        assert_eq!(refused.code(), "nul_character");
        assert!(refused.to_string().contains("byte 48"), "{refused}");
    }

    #[test]
    fn nesting_is_measured_outside_strings() {
        assert_eq!(scan(br#"{"a":[{"b":"[[[[{{"}]}"#).depth, 3);
        assert_eq!(scan(br#"{"a":"\"[["}"#).depth, 1);
        let deep = format!(r#"{{"data":{{"action":"card.move","x":{}}}}}"#, "[".repeat(70) + &"]".repeat(70));
        assert_eq!(inspect(deep.as_bytes(), &Catalog::default()).unwrap_err().code(), "too_deep");
    }

    #[test]
    fn odd_shapes_are_read_leniently_but_structure_is_required() {
        let c = Catalog::default();
        let f = inspect(br#"{"data":{"action":"card.move","card":"not an object","to":{"id":[1]}}}"#, &c).unwrap();
        assert_eq!((f.card_id, f.to_phase_id), (None, None));
        let odd = br#"{"data":{"action":"card.move","card":{"id":{"a":[1]},"pipe_id":1.5},"from":{"id":true},
                      "to":{"id":null},"field":{"id":-3}}}"#;
        let f = inspect(odd, &c).unwrap();
        assert_eq!((f.card_id, f.pipe_id.as_deref()), (None, Some("1.5")));
        assert_eq!((f.from_phase_id, f.to_phase_id, f.field_id.as_deref()), (None, None, Some("-3")));
        assert_eq!(inspect(br#"[1,2]"#, &c).unwrap_err().code(), "missing_data");
        assert_eq!(inspect(br#"{"data":"x"}"#, &c).unwrap_err().code(), "missing_data");
        assert_eq!(inspect(br#"{"data":{"action":7}}"#, &c).unwrap_err().code(), "missing_action");
        assert_eq!(
            inspect(br#"{"data":{"action":"card.move","action":"card.done"}}"#, &c).unwrap_err().code(),
            "missing_data"
        );
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

    /// Pipefy's filters give ids as numbers, and `field_id` names the field's numeric
    /// `internal_id` (its `id` is a slug): both match.
    #[test]
    fn filters_take_numeric_ids_and_a_fields_internal_id() {
        let f: Filters = serde_json::from_str(r#"{"on_phase_id":[123],"field_id":[318406017,"deal_value"]}"#).unwrap();
        assert_eq!((f.on_phase_id.as_slice(), f.field_id.len()), (["123".to_string()].as_slice(), 2));
        let facts = inspect(
            br#"{"data":{"action":"card.field_update","on_phase":{"id":123},"field":{"id":"deal_value","internal_id":318406017}}}"#,
            &Catalog::default(),
        )
        .unwrap();
        assert!(f.matches(&facts));
        let by_internal_only = Filters { field_id: vec!["318406017".into()], ..Default::default() };
        assert!(by_internal_only.matches(&facts), "the numeric internal_id matches");
        let other = Filters { field_id: vec!["318406018".into()], ..Default::default() };
        assert!(!other.matches(&facts));
        let err = serde_json::from_str::<Filters>(r#"{"pipe_id":[true]}"#).unwrap_err().to_string();
        assert!(err.contains("an id: a number or a string"), "{err}");
    }
}
