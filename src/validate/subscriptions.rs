//! Subscription input: what an operator may send to create or change one, and its validation.

use crate::domain::catalog::{Catalog, patterns_overlap};
use crate::domain::error::{Error, FieldProblem, Result};
use crate::domain::ids::SubscriptionId;
use crate::domain::model::{Filters, Millis, Subscription, SubscriptionState};
use crate::wire::{MAX_HEADERS, MAX_RATE_PER_S, RESERVED_HEADERS, SubscriptionInput};
use std::collections::BTreeMap;

pub const DEFAULT_MAX_IN_FLIGHT: u32 = 16;
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;
const MAX_FILTER_VALUES: usize = 500;

impl SubscriptionInput {
    /// Builds a new subscription from a create request.
    pub fn create(&self, catalog: &Catalog, now: Millis) -> Result<Subscription> {
        let mut problems = Problems::default();
        if self.url.is_none() {
            problems.add("url", "missing_url", "\"url\" is required, e.g. \"https://crm.example.com/hooks\"");
        }
        if self.actions.is_none() {
            problems.add(
                "actions",
                "missing_actions",
                "\"actions\" is required: a list like [\"card.move\"], [\"card.*\"] or [\"*\"]",
            );
        }
        let mut sub = Subscription {
            id: SubscriptionId::generate(),
            name: String::new(),
            url: self.url.clone().unwrap_or_default(),
            actions: Vec::new(),
            headers: BTreeMap::new(),
            filters: Filters::default(),
            // Replaced by a given `secret`; otherwise the scheme asked for (v1 by default).
            secret: crate::domain::secret::generate(self.signing.unwrap_or_default()),
            previous_secret: None,
            previous_secret_expires_at: None,
            older_secrets: Vec::new(),
            public_key: None,
            state: SubscriptionState::Active,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            rate_limit_per_s: None,
            ordered: false,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            created_at: now,
            updated_at: now,
            disabled_reason: None,
            owner: None,
            email: None,
        };
        self.check_fields(&mut sub, catalog, &mut problems);
        problems.into_result()?;
        self.rotate_if_asked(&mut sub, now)?;
        if sub.name.is_empty() {
            sub.name =
                url::Url::parse(&sub.url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        }
        Ok(sub)
    }

    /// Applies the given fields to `sub`, validating each; every field that is wrong is said.
    pub fn apply(&self, sub: &mut Subscription, catalog: &Catalog, now: Millis) -> Result<()> {
        let mut problems = Problems::default();
        self.check_fields(sub, catalog, &mut problems);
        problems.into_result()?;
        self.rotate_if_asked(sub, now)?;
        sub.updated_at = now;
        Ok(())
    }

    /// Sets each given field on `sub` that is acceptable, and notes each that is not.
    fn check_fields(&self, sub: &mut Subscription, catalog: &Catalog, problems: &mut Problems) {
        if let Some(name) = &self.name {
            let name = name.trim();
            if is_short_text(name) {
                sub.name = name.to_string();
            } else {
                problems.add("name", "invalid_name", "\"name\" must be 1 to 100 characters without control characters");
            }
        }
        if let Some(url) = self.url.as_deref().and_then(|url| problems.check("url", validate_url(url))) {
            sub.url = url;
        }
        if let Some(owner) =
            self.owner.as_ref().and_then(|owner| problems.check("owner", validate_owner(owner, sub.owner.as_ref())))
        {
            sub.owner = Some(owner);
        }
        if let Some(email) = self.email.as_deref().and_then(|email| problems.check("email", validate_email(email))) {
            sub.email = email;
        }
        if let Some(actions) =
            self.actions.as_deref().and_then(|actions| problems.check("actions", validate_actions(actions, catalog)))
        {
            sub.actions = actions;
        }
        if let Some(headers) = &self.headers
            && problems.check("headers", validate_headers(headers)).is_some()
        {
            sub.headers = headers.clone();
        }
        if let Some(filters) = &self.filters {
            let lists = [
                &filters.pipe_id,
                &filters.on_phase_id,
                &filters.from_phase_id,
                &filters.to_phase_id,
                &filters.field_id,
            ];
            if lists.iter().any(|l| l.len() > MAX_FILTER_VALUES) {
                problems.add(
                    "filters",
                    "invalid_filters",
                    format!("a filter list may hold at most {MAX_FILTER_VALUES} values"),
                );
            } else {
                sub.filters = filters.clone();
            }
        }
        if let Some(secret) = &self.secret {
            if let Err(e) = crate::domain::secret::check(secret) {
                problems.add("secret", "invalid_secret", e);
            } else if self.signing.is_some_and(|s| s != crate::domain::secret::Scheme::of(secret)) {
                problems.add(
                    "secret",
                    "invalid_secret",
                    "\"signing\" and \"secret\" disagree: v1 takes a whsec_ secret, v1a a whsk_ key; give one of them",
                );
            } else {
                sub.secret = secret.clone();
            }
        }
        if let Some(n) = self.max_in_flight {
            if (1..=256).contains(&n) {
                sub.max_in_flight = n;
            } else {
                problems.add(
                    "max_in_flight",
                    "invalid_max_in_flight",
                    format!("\"max_in_flight\" must be 1 to 256, not {n}"),
                );
            }
        }
        if let Some(limit) = self.rate_limit_per_s {
            match limit {
                Some(n) if !(1..=MAX_RATE_PER_S).contains(&n) => problems.add(
                    "rate_limit_per_s",
                    "invalid_rate_limit",
                    format!(
                        "\"rate_limit_per_s\" must be 1 to {MAX_RATE_PER_S} attempts per second, not {n} (null removes the limit)"
                    ),
                ),
                _ => sub.rate_limit_per_s = limit,
            }
        }
        if let Some(ordered) = self.ordered {
            sub.ordered = ordered;
        }
        if let Some(ms) = self.timeout_ms {
            if (100..=120_000).contains(&ms) {
                sub.timeout_ms = ms;
            } else {
                problems.add(
                    "timeout_ms",
                    "invalid_timeout",
                    format!("\"timeout_ms\" must be 100 to 120000 (2 minutes), not {ms}"),
                );
            }
        }
        match self.state {
            Some(SubscriptionState::Disabled) => problems.add(
                "state",
                "invalid_state",
                "\"state\" may be \"active\" or \"paused\"; hookwatch alone disables a subscription",
            ),
            Some(state) => {
                sub.state = state;
                sub.disabled_reason = None;
            }
            None => {}
        }
    }

    /// A new key of the scheme asked for, when no secret is given and the current one is of the
    /// other scheme; then the public key derived from whichever secret signs now.
    fn rotate_if_asked(&self, sub: &mut Subscription, now: Millis) -> Result<()> {
        if self.secret.is_none()
            && let Some(scheme) = self.signing
            && crate::domain::secret::Scheme::of(&sub.secret) != scheme
        {
            sub.rotate(crate::domain::secret::generate(scheme), now).map_err(Error::Conflict)?;
        }
        // Derived from the secret, stored so that every reader (viewers too) is shown it.
        sub.public_key = crate::domain::secret::public_key(&sub.secret);
        Ok(())
    }
}

/// The problems of one request, a field each, gathered so that all are said in one answer.
#[derive(Default)]
struct Problems(Vec<FieldProblem>);

impl Problems {
    fn add(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldProblem { field: field.to_string(), code, message: message.into() });
    }

    /// `result`'s value, or `None` with its problem noted against `field`.
    fn check<T>(&mut self, field: &str, result: Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(Error::Fields(more)) => {
                self.0.extend(more);
                None
            }
            Err(e) => {
                let code = e.code();
                self.add(field, code, e.to_string());
                None
            }
        }
    }

    fn into_result(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Fields(self.0)) }
    }
}

/// http or https, a host, no credentials; returns the URL as given (trimmed).
pub fn validate_url(url: &str) -> Result<String> {
    let url = url.trim();
    if url.is_empty() {
        return Err(Error::invalid("invalid_url", "\"url\" is empty; write e.g. https://crm.example.com/hooks"));
    }
    if url.len() > 2048 {
        return Err(Error::invalid("invalid_url", "\"url\" is longer than 2048 characters"));
    }
    let parsed = url::Url::parse(url).map_err(|e| {
        Error::invalid(
            "invalid_url",
            format!("\"url\" {url:?} is not a URL ({e}); write e.g. https://crm.example.com/hooks"),
        )
    })?;
    let (scheme, host, credentials) = facts_of(&parsed);
    if !matches!(scheme.as_str(), "http" | "https") {
        return Err(Error::invalid("invalid_url", format!("\"url\" must use http or https, not {scheme:?}")));
    }
    // The parser repairs `http:///nohost` and `http:nohost` into the host "nohost": as written,
    // such a URL names no host.
    let after_scheme = url.split_once(':').map_or("", |(_, rest)| rest);
    let authority =
        after_scheme.strip_prefix("//").is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '\\']));
    if !host || !authority {
        return Err(Error::invalid(
            "invalid_url",
            format!(
                "\"url\" {url:?} has no host; write it as {scheme}://host/path, e.g. https://crm.example.com/hooks"
            ),
        ));
    }
    if credentials {
        return Err(Error::invalid(
            "invalid_url",
            "\"url\" must not carry credentials; send them in \"headers\", e.g. {\"Authorization\": \"Bearer …\"}",
        ));
    }
    if let Some(url::Host::Domain(name)) = parsed.host() {
        implausible_name(name).map_or(Ok(()), |why| {
            Err(Error::invalid(
                "invalid_url",
                format!("\"url\" {url:?} {why}; write e.g. {scheme}://crm.example.com/hooks"),
            ))
        })?;
    }
    Ok(url.to_string())
}

/// What makes a host name (as the URL parser leaves it: lowercase, IDNs in punycode) name no
/// machine, if anything. A name is labels of letters, digits, `-` and `_`, 1 to 63 each, joined by
/// dots. A scheme is no host: `https://http://x` is a scheme written twice, which parses as the
/// host `http`.
fn implausible_name(name: &str) -> Option<String> {
    if matches!(name, "http" | "https") {
        return Some(format!("names the host {name:?}, a scheme: write the scheme once"));
    }
    let labels = name.strip_suffix('.').unwrap_or(name);
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len()) && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    (labels.len() > 253 || !labels.split('.').all(label_ok))
        .then(|| format!("has the host {name:?}, which is not a host name (letters, digits, - and _ between dots)"))
}

/// 1 to 100 characters without control characters: what a name or an owner's id may be.
fn is_short_text(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= 100 && !text.chars().any(char::is_control)
}

/// An owner is given once, when the webhook is created: a webhook does not move between pipes.
fn validate_owner(
    owner: &crate::domain::model::Owner,
    current: Option<&crate::domain::model::Owner>,
) -> Result<crate::domain::model::Owner> {
    let id = owner.id.trim();
    if !is_short_text(id) {
        return Err(Error::invalid(
            "invalid_owner",
            "\"owner.id\" must be 1 to 100 characters without control characters",
        ));
    }
    let owner = crate::domain::model::Owner { kind: owner.kind, id: id.to_string() };
    match current {
        Some(current) if *current != owner => Err(Error::invalid(
            "owner_fixed",
            format!("this webhook belongs to {} {}; create a new one for another", current.kind.as_str(), current.id),
        )),
        _ => Ok(owner),
    }
}

fn validate_email(email: &str) -> Result<Option<String>> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let shaped = email.split_once('@').is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'));
    if !shaped || email.len() > 254 || email.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            "invalid_email",
            format!("\"email\" {email:?} is not an address like ops@example.com"),
        ));
    }
    Ok(Some(email.to_string()))
}

fn validate_actions(actions: &[String], catalog: &Catalog) -> Result<Vec<String>> {
    if actions.is_empty() {
        return Err(Error::invalid("invalid_actions", "\"actions\" must name at least one action, or [\"*\"] for all"));
    }
    let mut out = Vec::new();
    for a in actions {
        let canonical = catalog.canonical_pattern(a).ok_or_else(|| {
            Error::invalid(
                "unknown_action",
                format!("unknown action {a:?}; valid actions: *, card.*, user.*, {}", catalog.names().join(", ")),
            )
        })?;
        if !out.contains(&canonical) {
            out.push(canonical);
        }
    }
    Ok(out)
}

fn validate_headers(headers: &BTreeMap<String, String>) -> Result<()> {
    if headers.len() > MAX_HEADERS {
        return Err(Error::invalid("invalid_headers", format!("at most {MAX_HEADERS} custom headers are allowed")));
    }
    for (name, value) in headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(Error::invalid(
                "invalid_headers",
                format!("header name {name:?} is not a valid HTTP header name"),
            ));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Error::invalid(
                "invalid_headers",
                format!("header {name:?} is set by hookwatch and cannot be overridden"),
            ));
        }
        if value.len() > 4096
            || reqwest::header::HeaderValue::from_str(value).is_err()
            || value.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "invalid_headers",
                format!(
                    "the value of header {name:?} must be printable text (no CR, LF or other control characters) up to 4096 bytes"
                ),
            ));
        }
    }
    Ok(())
}

/// (scheme, has a host, carries credentials) of a URL, or `None` when it does not parse.
pub fn url_facts(text: &str) -> Option<(String, bool, bool)> {
    url::Url::parse(text).ok().map(|u| facts_of(&u))
}

fn facts_of(url: &url::Url) -> (String, bool, bool) {
    let host = url.host_str().is_some_and(|h| !h.is_empty());
    let credentials = !url.username().is_empty() || url.password().is_some();
    (url.scheme().to_string(), host, credentials)
}

/// Existing subscriptions that `candidate` duplicates: the same owner (a Pipefy pipe's webhooks
/// are apart from another's, as in Pipefy), the same URL and an overlapping action.
pub fn conflicts<'a>(
    candidate: &Subscription,
    existing: impl Iterator<Item = &'a Subscription>,
) -> Vec<&'a Subscription> {
    existing
        .filter(|s| s.id != candidate.id && s.owner == candidate.owner && same_url(&s.url, &candidate.url))
        .filter(|s| s.actions.iter().any(|a| candidate.actions.iter().any(|b| patterns_overlap(a, b))))
        .collect()
}

fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, actions: &[&str]) -> SubscriptionInput {
        SubscriptionInput {
            url: Some(url.into()),
            actions: Some(actions.iter().map(|a| a.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn create_fills_defaults_and_generates_a_secret() {
        let sub =
            input("https://crm.example.com/hooks", &["Card.Move", "card.move"]).create(&Catalog::default(), 1).unwrap();
        assert!(sub.id.starts_with("sub_"));
        assert_eq!(sub.name, "crm.example.com");
        assert_eq!(sub.actions, vec!["card.move"]);
        assert!(sub.secret.starts_with("whsec_"));
        assert_eq!((sub.max_in_flight, sub.timeout_ms), (16, 15_000));
    }

    /// A Pipefy webhook's owner is given once; its duplicates are looked for among its owner's
    /// webhooks only, as Pipefy keeps each pipe's apart.
    #[test]
    fn an_owner_is_fixed_and_scopes_the_same_url_rule() {
        let c = Catalog::default();
        let owned = |id: &str| SubscriptionInput {
            owner: Some(crate::domain::model::Owner {
                kind: crate::domain::model::OwnerKind::Pipe,
                id: format!(" {id} "),
            }),
            email: Some("ops@example.com".into()),
            ..input("https://crm.example.com/hooks", &["card.move"])
        };
        let mut first = owned("301234").create(&c, 1).unwrap();
        assert_eq!(
            (first.owner.as_ref().unwrap().id.as_str(), first.email.as_deref()),
            ("301234", Some("ops@example.com"))
        );
        let other_pipe = owned("999").create(&c, 1).unwrap();
        let same_pipe = owned("301234").create(&c, 1).unwrap();
        let plain = input("https://crm.example.com/hooks", &["card.move"]).create(&c, 1).unwrap();
        let found: Vec<&str> =
            conflicts(&same_pipe, [&first, &other_pipe, &plain].into_iter()).iter().map(|s| s.id.as_str()).collect();
        assert_eq!(found, [first.id.as_str()]);
        let moved = owned("999").apply(&mut first, &c, 2).unwrap_err();
        assert_eq!(moved.code(), "owner_fixed", "{moved}");
        let cleared = SubscriptionInput { email: Some(String::new()), ..Default::default() };
        cleared.apply(&mut first, &c, 3).unwrap();
        assert_eq!(first.email, None, "\"\" removes the address");
        let bad = SubscriptionInput { email: Some("not an address".into()), ..Default::default() };
        assert_eq!(bad.apply(&mut first, &c, 4).unwrap_err().code(), "invalid_email");
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let c = Catalog::default();
        for (url, code) in [
            ("ftp://x.example.com", "invalid_url"),
            ("https://u:p@x.example.com", "invalid_url"),
            ("not a url", "invalid_url"),
            ("https://http://", "invalid_url"),
            ("https://https://crm.example.com/h", "invalid_url"),
            ("http://http//crm.example.com", "invalid_url"),
            ("https://crm..example.com", "invalid_url"),
            ("https://crm!.example.com", "invalid_url"),
        ] {
            assert_eq!(input(url, &["*"]).create(&c, 1).unwrap_err().code(), code, "{url}");
        }
        for url in
            ["https://crm.example.com./h", "http://receiver_1:8080/h", "https://bücher.example/h", "http://[::1]/"]
        {
            assert!(validate_url(url).is_ok(), "{url} names a machine");
        }
        let said = validate_url("https://http://").unwrap_err().to_string();
        assert!(said.contains("\"http\", a scheme") && said.contains("https://crm.example.com/hooks"), "{said}");
        assert_eq!(input("https://x.example.com", &["card.nope"]).create(&c, 1).unwrap_err().code(), "unknown_action");
        let mut crlf = input("https://x.example.com", &["*"]);
        crlf.headers = Some([("X-Team".to_string(), "a\r\nInjected: 1".to_string())].into());
        assert_eq!(crlf.create(&c, 1).unwrap_err().code(), "invalid_headers");
        let mut absurd = input("https://x.example.com", &["*"]);
        absurd.max_in_flight = Some(1_000_000);
        assert_eq!(absurd.create(&c, 1).unwrap_err().code(), "invalid_max_in_flight");
    }

    #[test]
    fn duplicates_need_same_url_and_overlapping_actions() {
        let c = Catalog::default();
        let a = input("https://x.example.com/h", &["card.*"]).create(&c, 1).unwrap();
        let b = input("https://x.example.com/h", &["card.move"]).create(&c, 1).unwrap();
        let other = input("https://x.example.com/h", &["user.role_set"]).create(&c, 1).unwrap();
        assert_eq!(conflicts(&b, [&a].into_iter()).len(), 1);
        assert!(conflicts(&other, [&a].into_iter()).is_empty());
    }
}
