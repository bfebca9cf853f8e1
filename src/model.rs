//! Domain types shared by the store, the dispatcher, the API and the dashboard.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Milliseconds since the Unix epoch: the one time unit stored and exchanged everywhere.
pub type Millis = i64;

pub fn now_ms() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// Formats stored milliseconds as RFC 3339 for people and JSON.
pub fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Serde for stored milliseconds as RFC 3339 text (accepting either text or a number back).
pub mod ts {
    use super::Millis;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*ms))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(Millis),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(t) => {
                chrono::DateTime::parse_from_rfc3339(&t).map(|t| t.timestamp_millis()).map_err(serde::de::Error::custom)
            }
        }
    }

    /// The same for optional times.
    pub mod option {
        use super::Millis;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => super::serialize(ms, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Millis);
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }
    }
}

/// A new sortable id (`evt_01J…`): ULIDs sort by creation time, so ids double as cursors. Ids from
/// one process increase strictly, even within a millisecond, because lists sort by id and "newest
/// first" must hold for events received in the same millisecond.
pub fn new_id(prefix: &str) -> String {
    static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    // A generator overflow (2^80 ids in one millisecond) or a poisoned lock falls back to a plain one.
    let fresh = || ulid::Ulid::from_datetime(std::time::SystemTime::now());
    let id = IDS.lock().ok().and_then(|mut g| g.generate().ok()).unwrap_or_else(fresh);
    format!("{prefix}_{id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionState {
    Active,
    /// Paused by an operator: deliveries queue up, none are attempted.
    Paused,
    /// Disabled automatically (410, or failing for too long); an operator re-enables it.
    Disabled,
}

impl SubscriptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Disabled => "disabled",
        }
    }
}

/// Pipefy's webhook filters: each given list must contain the payload's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pipe_id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_phase_id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_phase_id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_phase_id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub field_id: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub name: String,
    pub url: String,
    pub actions: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub filters: Filters,
    pub secret: String,
    /// The secret replaced by the last rotation; it keeps signing until `previous_secret_expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    pub previous_secret_expires_at: Option<Millis>,
    pub state: SubscriptionState,
    pub max_in_flight: u32,
    /// Attempts started per second at most, for every delivery (new, retried, redelivered);
    /// absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_s: Option<u32>,
    pub ordered: bool,
    pub timeout_ms: u64,
    #[serde(with = "ts")]
    pub created_at: Millis,
    #[serde(with = "ts")]
    pub updated_at: Millis,
    /// Why the subscription was disabled, for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
}

/// Header names whose values are masked wherever they are shown or recorded (they carry the
/// consumer's credentials).
pub fn is_sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["authorization", "cookie", "token", "secret", "api-key", "apikey", "password"].iter().any(|s| n.contains(s))
}

pub fn mask(value: &str) -> String {
    let visible: String = value.chars().take(4).collect();
    format!("{visible}…(masked)")
}

impl Subscription {
    /// A copy safe to broadcast: signing secrets and credential headers masked.
    pub fn masked(&self) -> Subscription {
        let mut copy = self.clone();
        copy.secret = mask(&self.secret);
        copy.previous_secret = self.previous_secret.as_deref().map(mask);
        for (name, value) in copy.headers.iter_mut() {
            if is_sensitive(name) {
                *value = mask(value);
            }
        }
        copy
    }

    /// The secrets that sign a delivery now: the current one, plus the previous one during a rotation.
    pub fn signing_secrets(&self, now: Millis) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(prev), Some(until)) = (&self.previous_secret, self.previous_secret_expires_at)
            && now < until
        {
            secrets.push(prev);
        }
        secrets
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt (or queued behind a paused endpoint or open breaker).
    Pending,
    /// Failed at least once; another attempt is scheduled.
    Retrying,
    Succeeded,
    /// The retry schedule is exhausted; an operator can redeliver it.
    Dead,
    /// Its subscription was deleted before it finished.
    Cancelled,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "retrying" => Self::Retrying,
            "succeeded" => Self::Succeeded,
            "dead" => Self::Dead,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Dead | Self::Cancelled)
    }
}

/// How an attempt failed, as the SPEC names the kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Timeout,
    Connect,
    Dns,
    Tls,
    /// The endpoint answered with a non-2xx status.
    Status,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Connect => "connect",
            Self::Dns => "dns",
            Self::Tls => "tls",
            Self::Status => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "timeout" => Self::Timeout,
            "connect" => Self::Connect,
            "dns" => Self::Dns,
            "tls" => Self::Tls,
            "status" => Self::Status,
            _ => return None,
        })
    }
}

/// A stored event as lists show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventSummary {
    pub id: String,
    pub action: String,
    #[serde(with = "ts")]
    pub received_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipe_id: Option<String>,
    pub deliveries: Vec<DeliverySummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverySummary {
    pub id: String,
    pub subscription_id: String,
    pub status: DeliveryStatus,
    /// Attempts in the current series (a redelivery starts a new one).
    pub attempt_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    pub next_attempt_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub id: i64,
    pub delivery_id: String,
    #[serde(with = "ts")]
    pub started_at: Millis,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The first 16 KiB of the response body, lossily decoded as UTF-8.
    pub response_body: String,
    pub response_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    pub next_retry_at: Option<Millis>,
    /// The request headers sent, signature included (the subscription secret never is).
    pub request_headers: BTreeMap<String, String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.error_kind.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub summary: DeliverySummary,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventDetail {
    pub id: String,
    pub action: String,
    #[serde(with = "ts")]
    pub received_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipe_id: Option<String>,
    /// The payload exactly as ingested.
    pub body: String,
    pub deliveries: Vec<DeliveryDetail>,
}

impl EventDetail {
    /// The event as a list shows it.
    pub fn summary(&self) -> EventSummary {
        EventSummary {
            id: self.id.clone(),
            action: self.action.clone(),
            received_at: self.received_at,
            card_id: self.card_id.clone(),
            pipe_id: self.pipe_id.clone(),
            deliveries: self.deliveries.iter().map(|d| d.summary.clone()).collect(),
        }
    }
}

/// One attempt as watchers see it: the live feed, the stream, another node's activity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptNotice {
    pub event_id: String,
    pub delivery_id: String,
    pub subscription_id: String,
    pub attempt: u32,
    #[serde(with = "ts")]
    pub started_at: Millis,
    pub duration_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The delivery's state after this attempt (replayed, or from another node: its state now).
    pub status: DeliveryStatus,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    pub next_attempt_at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionChange {
    Created,
    Updated,
    Deleted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    EndpointFailing,
    EndpointRecovered,
    BreakerOpen,
    Disabled,
    /// More deliveries wait for the endpoint than `backlog_alert`.
    BacklogHigh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    pub kind: AlertKind,
    pub subscription_id: String,
    pub subscription_name: String,
    pub message: String,
    #[serde(with = "ts")]
    pub at: Millis,
}

/// Who made a change: the kind of token a request carried, or the part of hookwatch that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Admin,
    Ingest,
    Viewer,
    /// The dashboard running in the same process (`hookwatch dashboard`, `demo`).
    Local,
    /// The config file's declared subscriptions, applied at start.
    Config,
    /// hookwatch itself, e.g. a lane disabling an endpoint that answered 410.
    Hookwatch,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Admin => "admin",
            Actor::Ingest => "ingest",
            Actor::Viewer => "viewer",
            Actor::Local => "local",
            Actor::Config => "config",
            Actor::Hookwatch => "hookwatch",
        }
    }
}

/// One change, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    #[serde(with = "ts")]
    pub at: Millis,
    pub actor: Actor,
    /// What was done, e.g. `subscription.pause`, `event.redeliver`.
    pub action: String,
    /// The id it was done to.
    pub target: String,
    pub summary: String,
}

/// Which deliveries a replay sends again: every field narrows it (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    /// As in `GET /v1/events`: `pending`, `retrying`, `succeeded`, `dead`, `cancelled` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    pub since: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    pub until: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    Running,
    Done,
    Cancelled,
}

impl ReplayState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayState::Running => "running",
            ReplayState::Done => "done",
            ReplayState::Cancelled => "cancelled",
        }
    }
}

/// What a replay would do, answered before it is created (`?dry_run=true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayPreview {
    /// Deliveries it would send again.
    pub total: u64,
    /// Events they belong to: at `rate_per_s` events a second, the replay takes `events / rate_per_s` seconds.
    #[serde(default)]
    pub events: u64,
    pub rate_per_s: u32,
    /// Each subscription it would send to, with how many deliveries.
    pub subscriptions: Vec<PreviewTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewTarget {
    pub id: String,
    pub name: String,
    pub deliveries: u64,
}

/// A stored replay job: it survives restarts and resumes after the last event it handed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Replay {
    pub id: String,
    pub filter: ReplayFilter,
    pub rate_per_s: u32,
    pub state: ReplayState,
    /// Deliveries it will send again, counted when it was created.
    pub total: u64,
    /// Deliveries handed to their lanes so far.
    pub done: u64,
    /// Events it could not redeliver (pruned meanwhile, or a storage fault).
    pub failed: u64,
    #[serde(with = "ts")]
    pub created_at: Millis,
    #[serde(with = "ts")]
    pub updated_at: Millis,
    /// The last event handed on: where it resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The node that runs it (in a cluster it resumes when that node restarts with its id).
    pub node: String,
}
