//! The event catalog: every action hookwatch accepts, with a realistic sample payload.
//! This table is the one place action names live; everything else asks it.

use crate::domain::model::{Alert, AlertKind};
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
    ActionSpec {
        name: "user.removal_from_pipe",
        description: "a user was removed from a pipe",
        sample: user_removal_from_pipe,
    },
    ActionSpec {
        name: "user.removal_from_table",
        description: "a user was removed from a database table",
        sample: user_removal_from_table,
    },
    ActionSpec {
        name: "automation.execution",
        description: "an automation ran (or failed to)",
        sample: automation_execution,
    },
    ActionSpec { name: "agent.ai_execution", description: "an AI agent ran", sample: agent_ai_execution },
    ActionSpec {
        name: "audit_log.export_finished",
        description: "an audit log export is ready to download",
        sample: audit_log_export_finished,
    },
];

/// Other spellings Pipefy uses for an action, and the catalog name each stands for: an event or a
/// subscription may use either, and both reach the same subscriptions.
pub const ALIASES: &[(&str, &str)] = &[("user.invitation_accepted", "user.invitation_acceptance")];

/// hookwatch's own alerts, as events: sent signed and retried like any other, only to the
/// subscriptions that name them (`hookwatch.*`; `*` does not cover them), never to the endpoint an
/// alert is about, and never taken from outside.
pub const OPERATIONAL: &[ActionSpec] = &[
    ActionSpec {
        name: "hookwatch.endpoint_failing",
        description: "hookwatch: an endpoint failed three attempts in a row",
        sample: || alert_sample(AlertKind::EndpointFailing, "3 attempts in a row failed: HTTP 503 Service Unavailable"),
    },
    ActionSpec {
        name: "hookwatch.endpoint_recovered",
        description: "hookwatch: a failing endpoint succeeds again (a streak of successes, quiet for 30 s)",
        sample: || {
            alert_sample(AlertKind::EndpointRecovered, "deliveries succeed again; 6 of 11 attempts failed over 1m 34s")
        },
    },
    ActionSpec {
        name: "hookwatch.endpoint_flapping",
        description: "hookwatch: an endpoint's failures keep returning between successes",
        sample: || {
            alert_sample(
                AlertKind::EndpointFlapping,
                "failures keep returning between successes: 31 of 64 attempts failed over 42s",
            )
        },
    },
    ActionSpec {
        name: "hookwatch.breaker_open",
        description: "hookwatch: an endpoint's breaker opened; deliveries wait for a probe",
        sample: || alert_sample(AlertKind::BreakerOpen, "breaker open after 10 failures in a row; next probe in 30s"),
    },
    ActionSpec {
        name: "hookwatch.disabled",
        description: "hookwatch: a subscription was disabled (410 Gone, or failing for days)",
        sample: || alert_sample(AlertKind::Disabled, "disabled: the endpoint answered 410 Gone"),
    },
    ActionSpec {
        name: "hookwatch.backlog_high",
        description: "hookwatch: more deliveries wait for an endpoint than backlog_alert",
        sample: || alert_sample(AlertKind::BacklogHigh, "1204 deliveries are waiting (backlog_alert is 1000)"),
    },
];

/// Whether `action` is one of hookwatch's own (reserved: never ingested from outside).
pub fn is_operational(action: &str) -> bool {
    action.starts_with("hookwatch.")
}

/// The action an alert of `kind` is sent as.
pub fn alert_action(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::EndpointFailing => "hookwatch.endpoint_failing",
        AlertKind::EndpointRecovered => "hookwatch.endpoint_recovered",
        AlertKind::EndpointFlapping => "hookwatch.endpoint_flapping",
        AlertKind::BreakerOpen => "hookwatch.breaker_open",
        AlertKind::Disabled => "hookwatch.disabled",
        AlertKind::BacklogHigh => "hookwatch.backlog_high",
    }
}

/// The event an alert is sent as: which subscription it is about, what happened, when, where.
pub fn alert_payload(alert: &Alert, url: &str, node: &str) -> Value {
    let at = chrono::DateTime::from_timestamp_millis(alert.at)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    json!({"data": {
        "action": alert_action(alert.kind),
        // The bridges that hear an alert are other parties: the URL's credentials stay here.
        "subscription": {"id": alert.subscription_id, "name": alert.subscription_name, "url": crate::domain::model::masked_url(url)},
        "message": alert.message,
        "at": at,
        "node": node,
    }})
}

fn alert_sample(kind: AlertKind, message: &str) -> Value {
    let alert = Alert {
        kind,
        subscription_id: "sub_01KQBIL0000000000000000003".into(),
        subscription_name: "billing".into(),
        message: message.into(),
        at: 1_796_000_000_000,
    };
    alert_payload(&alert, "https://billing.example.com/webhooks", "hw-1")
}

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
            .filter(|a| !a.is_empty() && find(a).is_none() && !ALIASES.iter().any(|(alias, _)| alias == a))
            .collect();
        extra.sort();
        extra.dedup();
        Catalog { extra }
    }

    /// The canonical (lowercase) name of `action`, an alias read as the name it stands for, or
    /// `None` when it is not in the catalog.
    pub fn canonical(&self, action: &str) -> Option<String> {
        let lower = action.trim().to_ascii_lowercase();
        if let Some((_, name)) = ALIASES.iter().find(|(alias, _)| *alias == lower) {
            return Some(name.to_string());
        }
        (find(&lower).is_some() || self.extra.contains(&lower)).then_some(lower)
    }

    /// Every action name, built-ins first, then hookwatch's own, then the extra ones.
    pub fn names(&self) -> Vec<String> {
        ACTIONS.iter().chain(OPERATIONAL).map(|a| a.name.to_string()).chain(self.extra.iter().cloned()).collect()
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

/// The names an ingested event's `data.action` may carry: the built-in actions and their aliases
/// (a server's `extra_actions` add to them; hookwatch's own are never taken from outside).
pub fn ingestable_names() -> Vec<String> {
    ACTIONS.iter().map(|a| a.name).chain(ALIASES.iter().map(|(alias, _)| *alias)).map(str::to_string).collect()
}

/// The patterns a subscription may name, as `canonical_pattern` takes them from the built-in
/// table: `*`, every `prefix.*` of a name, and every name and alias (hookwatch's own too).
pub fn subscribable_patterns() -> Vec<String> {
    let names: Vec<&str> = ACTIONS.iter().chain(OPERATIONAL).map(|a| a.name).collect();
    let mut prefixes: Vec<String> =
        names.iter().flat_map(|n| n.match_indices('.').map(|(dot, _)| format!("{}.*", &n[..dot]))).collect();
    prefixes.sort();
    prefixes.dedup();
    let aliases = ALIASES.iter().map(|(alias, _)| alias.to_string());
    std::iter::once("*".to_string()).chain(prefixes).chain(names.iter().map(|n| n.to_string())).chain(aliases).collect()
}

pub fn find(name: &str) -> Option<&'static ActionSpec> {
    ACTIONS.iter().chain(OPERATIONAL).find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Whether a subscription pattern (`*`, `card.*`, `card.move`) covers `action`. hookwatch's own
/// actions are covered only by patterns that name them: a subscription to `*` never gets alerts
/// it did not ask for.
pub fn pattern_matches(pattern: &str, action: &str) -> bool {
    if is_operational(action) && !is_operational(pattern) {
        return false;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) => action.starts_with(prefix),
        None => pattern == action,
    }
}

/// Whether two patterns can match a common action (for the duplicate-subscription rule).
pub fn patterns_overlap(a: &str, b: &str) -> bool {
    if is_operational(a) != is_operational(b) {
        return false;
    }
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
/// The `card.move` sample: the body the bench posts, the API document shows and the screenshots inspect.
pub fn card_move() -> Value {
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
fn pipe(id: u64, name: &str) -> Value {
    json!({"id": id, "name": name})
}
fn user_removal_from_pipe() -> Value {
    json!({"data": {"action": "user.removal_from_pipe", "payload_id": "e2d3c4b5-a6f7-4e8d-9c0b-1a2f3e4d5c6b",
        "user": person(402_118, "Ana Costa", "ana-costa"),
        "user_removed_by": person(301_975, "Maria Silva", "maria-silva"), "from": pipe(301_234, "Sales"),
        "action_done_at": "2026-11-23T10:12:00Z"}})
}
fn user_removal_from_table() -> Value {
    json!({"data": {"action": "user.removal_from_table", "payload_id": "f3e4d5c6-b7a8-4f9e-8d1c-2b3a4f5e6d7c",
        "user": person(402_118, "Ana Costa", "ana-costa"),
        "user_removed_by": person(301_975, "Maria Silva", "maria-silva"),
        "from": {"id": "k7Ds2Lq9", "name": "Customers"}, "action_done_at": "2026-11-23T10:14:00Z"}})
}
fn automation_execution() -> Value {
    json!({"data": {"action": "automation.execution", "payload_id": "a4f5e6d7-c8b9-4a0f-9e2d-3c4b5a6f7e8d",
        "automation": {"id": 88_120_443, "name": "Move won deals to Onboarding"},
        "execution": {"id": "3f1c9a2e-77b4-4d1a-a0c5-6e2b8f9d0c14", "status": "success",
            "started_at": "2026-11-24T08:00:01Z", "finished_at": "2026-11-24T08:00:02Z"},
        "event": {"action": "card.move", "card_id": 4_837_291, "pipe_id": 301_234}, "card": card()}})
}
fn agent_ai_execution() -> Value {
    json!({"data": {"action": "agent.ai_execution", "payload_id": "b5a6f7e8-d9c0-4b1a-8f3e-4d5c6b7a8f9e",
        "agent": {"id": 5_512, "name": "Lead qualifier"},
        "execution": {"id": "9b2e4c6a-1d3f-4e5a-b7c9-0a1b2c3d4e5f", "status": "success",
            "credits_used": 3, "started_at": "2026-11-24T09:15:40Z", "finished_at": "2026-11-24T09:15:47Z"},
        "card": card()}})
}
fn audit_log_export_finished() -> Value {
    json!({"data": {"action": "audit_log.export_finished", "payload_id": "c6b7a8f9-e0d1-4c2b-9a4f-5e6d7c8b9a0f",
        "organization": org(300_512), "requested_by": person(301_975, "Maria Silva", "maria-silva"),
        "export": {"id": 77_301, "status": "finished", "format": "csv",
            "file_url": "https://app.pipefy.example/exports/77301.csv", "expires_at": "2026-11-27T12:00:00Z"},
        "finished_at": "2026-11-25T12:00:00Z"}})
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
        for spec in ACTIONS.iter().chain(OPERATIONAL) {
            assert_eq!(spec.sample()["data"]["action"], spec.name);
        }
    }

    #[test]
    fn an_alias_stands_for_its_catalog_name() {
        let c = Catalog::default();
        assert_eq!(c.canonical("user.invitation_accepted").as_deref(), Some("user.invitation_acceptance"));
        assert_eq!(c.canonical_pattern("User.Invitation_Accepted").as_deref(), Some("user.invitation_acceptance"));
        for (alias, name) in ALIASES {
            assert!(find(name).is_some() && find(alias).is_none(), "{alias} stands for a catalog name");
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

    #[test]
    fn only_patterns_that_name_them_cover_hookwatchs_own_actions() {
        assert!(!pattern_matches("*", "hookwatch.breaker_open"), "* is every Pipefy action, not the alerts");
        assert!(pattern_matches("hookwatch.*", "hookwatch.breaker_open"));
        assert!(pattern_matches("hookwatch.disabled", "hookwatch.disabled"));
        assert!(!pattern_matches("hookwatch.*", "card.move"));
        assert!(!patterns_overlap("*", "hookwatch.*"));
        assert!(patterns_overlap("hookwatch.*", "hookwatch.disabled"));
        assert_eq!(Catalog::default().canonical_pattern("hookwatch.*").as_deref(), Some("hookwatch.*"));
        for kind in [
            AlertKind::EndpointFailing,
            AlertKind::EndpointRecovered,
            AlertKind::EndpointFlapping,
            AlertKind::BreakerOpen,
            AlertKind::Disabled,
            AlertKind::BacklogHigh,
        ] {
            assert!(find(alert_action(kind)).is_some(), "{kind:?} is in the catalog");
        }
    }
}
