//! The event catalog: every action hookwatch accepts, with a realistic sample payload.
//! This table is the one place action names live; everything else asks it.

use serde_json::{Value, json};

/// Which actor field an action's payload carries, if any.
pub struct ActionSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// Builds the sample payload (`{"data": {...}}`) used by `send`, the demo and the test-event form.
    sample: fn() -> Value,
}

impl ActionSpec {
    pub fn sample(&self) -> Value {
        (self.sample)()
    }
}

/// Pipefy's webhook actions: the seed catalog plus the documented extras.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec { name: "card.create", description: "a card was created", sample: card_create },
    ActionSpec { name: "card.done", description: "a card reached a done phase", sample: card_done },
    ActionSpec { name: "card.expired", description: "a card passed its expiration date", sample: card_expired },
    ActionSpec { name: "card.late", description: "a card is late in its phase", sample: card_late },
    ActionSpec { name: "card.move", description: "a card moved between phases", sample: card_move },
    ActionSpec { name: "card.overdue", description: "a card passed its due date", sample: card_overdue },
    ActionSpec { name: "card.field_update", description: "a card field changed", sample: card_field_update },
    ActionSpec { name: "card.delete", description: "a card was deleted", sample: card_delete },
    ActionSpec {
        name: "card.comment_create",
        description: "a comment was added to a card",
        sample: card_comment_create,
    },
    ActionSpec { name: "card.email_received", description: "a card received an email", sample: card_email_received },
    ActionSpec { name: "user.invitation_sent", description: "a user was invited", sample: user_invitation_sent },
    ActionSpec {
        name: "user.invitation_acceptance",
        description: "a user accepted an invitation",
        sample: user_invitation_acceptance,
    },
    ActionSpec { name: "user.role_set", description: "a user's role changed", sample: user_role_set },
    ActionSpec {
        name: "user.removal_from_org",
        description: "a user was removed from the organization",
        sample: user_removal_from_org,
    },
];

/// The set of actions this server accepts: the built-in table plus names declared in the config file.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    extra: Vec<String>,
}

impl Catalog {
    /// `extra` are action names a team emits itself; they are normalised to lowercase.
    pub fn new(extra: &[String]) -> Self {
        let mut extra: Vec<String> = extra
            .iter()
            .map(|a| a.trim().to_ascii_lowercase())
            .filter(|a| !a.is_empty() && find(a).is_none())
            .collect();
        extra.sort();
        extra.dedup();
        Catalog { extra }
    }

    /// The canonical (lowercase) name of `action`, or `None` when it is not in the catalog.
    pub fn canonical(&self, action: &str) -> Option<String> {
        let lower = action.trim().to_ascii_lowercase();
        (find(&lower).is_some() || self.extra.contains(&lower)).then_some(lower)
    }

    /// Every accepted action name, built-ins first.
    pub fn names(&self) -> Vec<String> {
        ACTIONS.iter().map(|a| a.name.to_string()).chain(self.extra.iter().cloned()).collect()
    }

    /// Checks a subscription's action pattern: a catalog name, `*`, or a `prefix.*` wildcard.
    pub fn canonical_pattern(&self, pattern: &str) -> Option<String> {
        let lower = pattern.trim().to_ascii_lowercase();
        if lower == "*" {
            return Some(lower);
        }
        if let Some(prefix) = lower.strip_suffix(".*") {
            let dotted = format!("{prefix}.");
            return self.names().iter().any(|n| n.starts_with(&dotted)).then_some(lower);
        }
        self.canonical(&lower)
    }
}

pub fn find(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Whether a subscription pattern (`*`, `card.*`, `card.move`) covers `action`.
pub fn pattern_matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => pattern == action,
    }
}

/// Whether two patterns can match a common action (for the duplicate-subscription rule).
pub fn patterns_overlap(a: &str, b: &str) -> bool {
    let prefix = |p: &str| p.strip_suffix('*').map(str::to_string);
    match (prefix(a), prefix(b)) {
        (Some(pa), Some(pb)) => pa.starts_with(&pb) || pb.starts_with(&pa),
        (Some(pa), None) => b.starts_with(&pa),
        (None, Some(pb)) => a.starts_with(&pb),
        (None, None) => a == b,
    }
}

fn person(id: u64, name: &str, username: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "username": username,
        "email": format!("{username}@example.com"),
        "avatar_url": format!("https://gravatar.example.com/avatar/{username}.png"),
    })
}

fn card() -> Value {
    json!({"id": 4_837_291, "title": "Prospect: Acme Corp renewal", "pipe_id": "CxeXHeOR"})
}

fn phase(id: u64, name: &str) -> Value {
    json!({"id": id, "name": name})
}

fn org(id: u64) -> Value {
    json!({"organization_id": id, "name": "Acme Operations"})
}

fn card_create() -> Value {
    json!({"data": {"action": "card.create", "on_phase": phase(311_214_433, "Inbox"),
        "created_by": person(301_975, "Maria Silva", "maria-silva"), "card": card()}})
}
fn card_done() -> Value {
    json!({"data": {"action": "card.done", "on_phase": phase(311_214_440, "Won"),
        "done_by": person(301_975, "Maria Silva", "maria-silva"), "card": card()}})
}
fn card_expired() -> Value {
    json!({"data": {"action": "card.expired", "on_phase": phase(311_214_435, "Proposal"), "card": card()}})
}
fn card_late() -> Value {
    json!({"data": {"action": "card.late", "on_phase": phase(311_214_434, "Qualification"), "card": card()}})
}
fn card_move() -> Value {
    json!({"data": {"action": "card.move", "from": phase(311_214_433, "Inbox"),
        "to": phase(311_214_434, "Qualification"),
        "moved_by": person(12_345, "John Doe", "john-doe"), "card": card()}})
}
fn card_overdue() -> Value {
    json!({"data": {"action": "card.overdue", "on_phase": phase(311_214_435, "Proposal"), "card": card()}})
}
fn card_field_update() -> Value {
    json!({"data": {"action": "card.field_update",
        "field": {"id": "deal_value", "label": "Deal value", "internal_id": 318_406_017},
        "new_value": "48000.00", "updated_by": person(12_345, "John Doe", "john-doe"), "card": card()}})
}
fn card_delete() -> Value {
    json!({"data": {"action": "card.delete", "deleted_by": person(12_345, "John Doe", "john-doe"), "card": card()}})
}
fn card_comment_create() -> Value {
    json!({"data": {"action": "card.comment_create",
        "comment": {"id": 99_812_334, "text": "Called the customer, waiting for the signed PO."},
        "created_by": person(301_975, "Maria Silva", "maria-silva"), "card": card()}})
}
fn card_email_received() -> Value {
    json!({"data": {"action": "card.email_received",
        "email": {"id": 7_781_120, "subject": "Re: renewal quote", "from": "buyer@acme.example"},
        "card": card()}})
}
fn user_invitation_sent() -> Value {
    json!({"data": {"action": "user.invitation_sent", "payload_id": "a3f1c2d4-0b1e-4c55-9a7e-2f1d3c4b5a61",
        "user": person(402_118, "Ana Costa", "ana-costa"),
        "user_invited_by": person(301_975, "Maria Silva", "maria-silva"), "to": org(300_512)}})
}
fn user_invitation_acceptance() -> Value {
    json!({"data": {"action": "user.invitation_acceptance", "payload_id": "b7e2d3c1-5a4f-4e8b-8c1d-3e2f1a0b9c87",
        "user": person(402_118, "Ana Costa", "ana-costa"), "accepted_at": "2026-11-20T14:03:11Z"}})
}
fn user_role_set() -> Value {
    json!({"data": {"action": "user.role_set", "payload_id": "c9d8e7f6-1a2b-4c3d-9e8f-7a6b5c4d3e21",
        "user": person(402_118, "Ana Costa", "ana-costa"),
        "action_done_by": person(301_975, "Maria Silva", "maria-silva"), "from": org(300_512),
        "previous_role": "member", "new_role": "admin", "action_done_at": "2026-11-21T09:30:00Z"}})
}
fn user_removal_from_org() -> Value {
    json!({"data": {"action": "user.removal_from_org", "payload_id": "d1c2b3a4-9f8e-4d7c-8b6a-5f4e3d2c1b09",
        "user": person(402_118, "Ana Costa", "ana-costa"),
        "user_removed_by": person(301_975, "Maria Silva", "maria-silva"), "from": org(300_512),
        "action_done_at": "2026-11-22T18:45:00Z"}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_names_its_own_action() {
        for spec in ACTIONS {
            assert_eq!(spec.sample()["data"]["action"], spec.name);
        }
    }

    #[test]
    fn actions_are_case_insensitive_and_extras_accepted() {
        let c = Catalog::new(&["Deploy.Finished".into()]);
        assert_eq!(c.canonical("CARD.Move").as_deref(), Some("card.move"));
        assert_eq!(c.canonical("deploy.finished").as_deref(), Some("deploy.finished"));
        assert_eq!(c.canonical("card.teleport"), None);
        assert_eq!(c.canonical_pattern("card.*").as_deref(), Some("card.*"));
        assert_eq!(c.canonical_pattern("nope.*"), None);
    }

    #[test]
    fn wildcards_match_and_overlap() {
        assert!(pattern_matches("*", "user.role_set"));
        assert!(pattern_matches("card.*", "card.move"));
        assert!(!pattern_matches("card.*", "user.role_set"));
        assert!(patterns_overlap("card.*", "card.move"));
        assert!(patterns_overlap("*", "user.role_set"));
        assert!(!patterns_overlap("card.move", "card.done"));
        assert!(!patterns_overlap("user.*", "card.move"));
    }
}
