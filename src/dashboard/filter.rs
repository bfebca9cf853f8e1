//! The stream filter language: `action:card.move sub:crm status:failed card:123` plus free text.

use crate::domain::model::{DeliveryStatus, EventSummary, Subscription};
use crate::domain::query::StatusFilter;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub action: Option<String>,
    /// A subscription name or id fragment (case-insensitive).
    pub subscription: Option<String>,
    pub status: Option<StatusFilter>,
    pub card: Option<String>,
    pub pipe: Option<String>,
    /// Words that must all appear in the payload or the event id (searched by the store).
    pub text: Vec<String>,
    /// Payload fields (`data.card.title:Acme`) whose text must hold the value (searched by the store).
    pub fields: Vec<(String, String)>,
}

pub const KEYS: &str = "action:, sub:, status:, card:, pipe:, or a payload field like data.card.title:";

impl Filter {
    pub fn parse(input: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        for word in input.split_whitespace() {
            let Some((key, value)) = word.split_once(':') else {
                f.text.push(word.to_lowercase());
                continue;
            };
            if value.is_empty() {
                return Err(format!("{key}: needs a value, e.g. {key}:something"));
            }
            if let Some(field) = crate::domain::query::field_term(word) {
                f.fields.push(field?);
                continue;
            }
            match key.to_ascii_lowercase().as_str() {
                "action" => f.action = Some(value.to_ascii_lowercase()),
                "sub" | "subscription" => f.subscription = Some(value.to_lowercase()),
                "status" => {
                    f.status = Some(StatusFilter::parse(&value.to_ascii_lowercase()).ok_or_else(|| {
                        format!(
                            "status:{value} is unknown; use pending, retrying, succeeded, dead, cancelled or failed"
                        )
                    })?)
                }
                "card" => f.card = Some(value.to_string()),
                "pipe" => f.pipe = Some(value.to_string()),
                other => return Err(format!("unknown filter key {other:?}; keys are {KEYS}")),
            }
        }
        Ok(f)
    }

    /// `parse`, and a `sub:` term must name a subscription there is (as a replay needs).
    pub fn parse_for(input: &str, subscriptions: &[Subscription]) -> Result<Filter, String> {
        let filter = Filter::parse(input)?;
        if let Some(query) = &filter.subscription {
            named_subscriptions(subscriptions, query).map_err(|e| format!("sub:{query}: {e}"))?;
        }
        Ok(filter)
    }

    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// What a search looks for, lowercase, to mark where it was found.
    pub fn search_needles(&self) -> Vec<String> {
        self.text.iter().cloned().chain(self.fields.iter().map(|(_, v)| v.to_lowercase())).collect()
    }

    /// Whether the filter searches payloads: only the store can tell which events match.
    pub fn searches(&self) -> bool {
        !self.text.is_empty() || !self.fields.is_empty()
    }

    /// Whether an event may pass as its deliveries go on: every condition but `status:` (which
    /// changes) holds. Words and fields are the store's to match.
    pub fn admits(&self, e: &EventSummary, sub_matches: impl Fn(&str, &str) -> bool) -> bool {
        Filter { status: None, ..self.clone() }.matches(e, sub_matches)
    }

    /// Whether an event passes; `sub_matches` tells whether a subscription id fits `sub:`.
    pub fn matches(&self, e: &EventSummary, sub_matches: impl Fn(&str, &str) -> bool) -> bool {
        if let Some(a) = &self.action {
            let ok = match a.strip_suffix('*') {
                Some(prefix) => e.action.starts_with(prefix),
                None => e.action == *a,
            };
            if !ok {
                return false;
            }
        }
        if self.card.as_ref().is_some_and(|c| e.card_id.as_deref() != Some(c)) {
            return false;
        }
        if self.pipe.as_ref().is_some_and(|p| e.pipe_id.as_deref() != Some(p)) {
            return false;
        }
        let delivery_ok = |status: DeliveryStatus, sub: &str| {
            self.status.is_none_or(|f| f.statuses().contains(&status))
                && self.subscription.as_ref().is_none_or(|s| sub_matches(sub, s))
        };
        if (self.status.is_some() || self.subscription.is_some())
            && !e.deliveries.iter().any(|d| delivery_ok(d.status, &d.subscription_id))
        {
            return false;
        }
        // Words and fields were matched by the store that listed the event.
        true
    }
}

/// A filter with the subscriptions its `sub:` term is read against: what decides which stream
/// rows show.
#[derive(Clone, Copy)]
pub struct Sieve<'a> {
    pub filter: &'a Filter,
    pub subscriptions: &'a [Subscription],
}

impl Sieve<'_> {
    /// Whether `e` shows under the filter now.
    pub fn shows(&self, e: &EventSummary) -> bool {
        self.filter.matches(e, |id, q| self.subscription_matches(id, q))
    }

    /// Whether `e` may come to show (a delivery's status may still change).
    pub fn admits(&self, e: &EventSummary) -> bool {
        self.filter.admits(e, |id, q| self.subscription_matches(id, q))
    }

    /// Whether subscription `id` fits the `sub:` filter text (by name fragment or id).
    fn subscription_matches(&self, id: &str, query: &str) -> bool {
        id.to_lowercase().contains(query)
            || self.subscriptions.iter().any(|s| s.id == id && s.name.to_lowercase().contains(query))
    }
}

/// The subscriptions a `sub:` term names: those whose name or id holds it (in any case). None is
/// an error, the same for the stream filter, a replay and a command, so what one takes the others
/// do not refuse.
pub fn named_subscriptions<'a>(
    subscriptions: &'a [Subscription],
    query: &str,
) -> Result<Vec<&'a Subscription>, String> {
    let q = query.trim().to_lowercase();
    let matching: Vec<&Subscription> = subscriptions
        .iter()
        .filter(|s| s.name.to_lowercase().contains(&q) || s.id.to_lowercase().contains(&q))
        .collect();
    if matching.is_empty() {
        let names: Vec<&str> = subscriptions.iter().map(|s| s.name.as_str()).collect();
        let known =
            if names.is_empty() { "there is none yet".to_string() } else { format!("names: {}", names.join(", ")) };
        return Err(format!("no subscription is named {query:?} ({known})"));
    }
    Ok(matching)
}

/// The one subscription `query` names: its id, its whole name, or a fragment only it contains
/// (case-insensitive). Several matches are an error that lists them.
pub fn resolve_subscription<'a>(subscriptions: &'a [Subscription], query: &str) -> Result<&'a Subscription, String> {
    let q = query.trim().to_lowercase();
    if let Some(s) = subscriptions.iter().find(|s| s.id == query.trim() || s.name.to_lowercase() == q) {
        return Ok(s);
    }
    let matching = named_subscriptions(subscriptions, query)?;
    match matching[..] {
        [one] => Ok(one),
        _ => {
            let names: Vec<&str> = matching.iter().map(|s| s.name.as_str()).collect();
            Err(format!("{query:?} matches {}; write more of the name", names.join(", ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::DeliverySummary;

    fn event(action: &str, card: &str, status: DeliveryStatus) -> EventSummary {
        EventSummary {
            id: "evt_01ABC".into(),
            action: action.into(),
            received_at: 0,
            card_id: Some(card.into()),
            card_title: None,
            pipe_id: Some("PIPE9".into()),
            deliveries: vec![DeliverySummary {
                id: "dlv_1".into(),
                subscription_id: "sub_crm".into(),
                status,
                attempt_count: 1,
                last_status_code: None,
                last_error: None,
                next_attempt_at: None,
            }],
        }
    }

    #[test]
    fn parses_keys_and_free_text() {
        let f = Filter::parse("action:CARD.MOVE sub:CRM status:failed card:123 acme").unwrap();
        assert_eq!(f.action.as_deref(), Some("card.move"));
        assert_eq!(f.subscription.as_deref(), Some("crm"));
        assert_eq!(f.status, Some(StatusFilter::Failed));
        assert_eq!(f.card.as_deref(), Some("123"));
        assert_eq!(f.text, vec!["acme"]);
        assert!(Filter::parse("").unwrap().is_empty());
        let f = Filter::parse("data.card.title:Acme").unwrap();
        assert_eq!(f.fields, vec![("data.card.title".to_string(), "Acme".to_string())]);
        assert!(f.searches());
        assert!(Filter::parse("data..title:x").unwrap_err().contains("field path"));
    }

    #[test]
    fn bad_filters_explain_themselves() {
        assert!(Filter::parse("colour:red").unwrap_err().contains("action:"));
        assert!(Filter::parse("status:burnt").unwrap_err().contains("retrying"));
        assert!(Filter::parse("card:").unwrap_err().contains("needs a value"));
    }

    #[test]
    fn matching_combines_every_condition() {
        let subs = |id: &str, q: &str| id.contains(q);
        let e = event("card.move", "123", DeliveryStatus::Dead);
        assert!(Filter::parse("action:card.move status:failed sub:crm card:123 pipe9").unwrap().matches(&e, subs));
        assert!(Filter::parse("action:card.*").unwrap().matches(&e, subs));
        assert!(!Filter::parse("status:succeeded").unwrap().matches(&e, subs));
        assert!(!Filter::parse("sub:billing").unwrap().matches(&e, subs));
        assert!(!Filter::parse("card:999").unwrap().matches(&e, subs));
        assert!(Filter::parse("nomatch").unwrap().matches(&e, subs), "words are the store's to match");
        let failed_to_crm = Filter::parse("status:succeeded sub:crm").unwrap();
        assert!(failed_to_crm.admits(&e, subs), "a delivery's status may still change");
        assert!(!Filter::parse("status:succeeded sub:billing").unwrap().admits(&e, subs));
    }
    #[test]
    fn a_fragment_must_name_one_subscription() {
        let app = crate::dashboard::screenshots::demo_app();
        let names: Vec<&str> = app.subscriptions.iter().map(|s| s.name.as_str()).collect();
        assert!(resolve_subscription(&app.subscriptions, "BILLING").is_ok(), "case does not matter: {names:?}");
        let err = resolve_subscription(&app.subscriptions, "i").unwrap_err();
        assert!(err.contains("write more"), "{err}");
    }

    /// `sub:nosuch` was taken by the filter and refused by a replay: both refuse it now, alike.
    #[test]
    fn a_sub_term_must_name_a_subscription_for_the_filter_as_for_a_replay() {
        let app = crate::dashboard::screenshots::demo_app();
        let said = Filter::parse_for("status:failed sub:nosuch", &app.subscriptions).unwrap_err();
        let replay =
            crate::dashboard::popups::replay::replay_filter(&Filter::parse("sub:nosuch").unwrap(), &app.subscriptions);
        assert!(said.contains("no subscription is named \"nosuch\"") && said.contains("billing"), "{said}");
        assert!(said.ends_with(&replay.unwrap_err()), "the same words: {said}");
        assert!(Filter::parse_for("sub:BILL", &app.subscriptions).is_ok());
        let id = &app.subscriptions[0].id;
        assert!(Filter::parse_for(&format!("sub:{}", &id[id.len() - 6..]), &app.subscriptions).is_ok(), "an id's tail");
        assert!(Filter::parse_for("sub:i", &app.subscriptions).is_ok(), "the stream may show several");
    }
}
