//! Domain types shared by the store, the dispatcher, the API and the dashboard.

use super::ids::{DeliveryId, EventId, ReplayId, SubscriptionId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Milliseconds since the Unix epoch: the one time unit stored and exchanged everywhere.
pub type Millis = i64;

/// A duration in milliseconds. Saturates: the durations hookwatch measures or is set to (an
/// attempt, a lease, a retention of days) are far below the 292 million years where it would.
pub fn millis(d: std::time::Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// The same, as an unsigned count.
pub fn millis_u64(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds between two times (`later - earlier`) as a `Duration`: zero when negative.
pub fn span(ms: Millis) -> std::time::Duration {
    std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, utoipa::ToSchema)]
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

/// Pipefy's webhook filters: each given list must contain the payload's value. Ids are given as
/// numbers or strings (`[123]`, `["123"]`, as Pipefy's own examples do) and kept as text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    #[serde(default, deserialize_with = "id_list", skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = id_list_schema)]
    pub pipe_id: Vec<String>,
    #[serde(default, deserialize_with = "id_list", skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = id_list_schema)]
    pub on_phase_id: Vec<String>,
    #[serde(default, deserialize_with = "id_list", skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = id_list_schema)]
    pub from_phase_id: Vec<String>,
    #[serde(default, deserialize_with = "id_list", skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = id_list_schema)]
    pub to_phase_id: Vec<String>,
    /// Matches the field's `id` or its numeric `internal_id`.
    #[serde(default, deserialize_with = "id_list", skip_serializing_if = "Vec::is_empty")]
    #[schema(schema_with = id_list_schema)]
    pub field_id: Vec<String>,
}

/// A struct field read only from a JSON object: serde's derive also builds a struct from an array
/// of its fields in order (`"filter": [null, null]`), which no client means and the API's
/// document does not allow.
pub fn from_object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> std::result::Result<T, D::Error> {
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    T::deserialize(serde_json::Value::Object(map)).map_err(serde::de::Error::custom)
}

/// `from_object` for an optional field (`null` is absent).
pub fn from_optional_object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    match Option::<serde_json::Map<String, serde_json::Value>>::deserialize(d)? {
        None => Ok(None),
        Some(map) => T::deserialize(serde_json::Value::Object(map)).map(Some).map_err(serde::de::Error::custom),
    }
}

/// An id as given: a number or a string, as text.
struct IdText(String);

impl<'de> Deserialize<'de> for IdText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IdText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id: a number or a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<IdText, E> {
                Ok(IdText(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// What `id_list` takes, for the API's document: a list of numbers or strings.
fn id_list_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Type};
    let id = OneOfBuilder::new().item(ObjectBuilder::new().schema_type(Type::String)).item(id_number());
    utoipa::openapi::ArrayBuilder::new().items(id).max_items(Some(500)).build()
}

/// A replay filter's `status`, for the API's document: the names `store::StatusFilter` takes (a
/// test checks they are those `GET /v1/events?status=` is documented with, but its empty one).
fn status_filter_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type, schema::SchemaType};
    let names = ["pending", "retrying", "succeeded", "dead", "cancelled", "failed"];
    ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])).enum_values(Some(names)).build()
}

/// An id given as a number: an integer of 64 bits (what `IdText` reads).
fn id_number() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(i64::MIN)).maximum(Some(u64::MAX)).build()
}

/// 1 to 100 characters, none of them a control character, not all of them spaces (they are
/// trimmed): what a name or an owner's id may be, as a JSON Schema pattern.
pub const SHORT_TEXT_PATTERN: &str =
    r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

/// An owner's id, for the API's document: a short text or a number.
fn owner_id_schema() -> utoipa::openapi::Schema {
    use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Type};
    let text = ObjectBuilder::new().schema_type(Type::String).max_length(Some(100)).pattern(Some(SHORT_TEXT_PATTERN));
    OneOfBuilder::new().item(text).item(id_number()).build().into()
}

fn id_list<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    Ok(Vec::<IdText>::deserialize(d)?.into_iter().map(|id| id.0).collect())
}

fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(IdText::deserialize(d)?.0)
}

fn optional_id<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Ok(Option::<IdText>::deserialize(d)?.map(|id| id.0))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Subscription {
    #[schema(value_type = String)]
    pub id: SubscriptionId,
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
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_expires_at: Option<Millis>,
    /// Secrets replaced by earlier rotations that are still within their 24 hours: each keeps
    /// signing until its own end, however often the secret was rotated since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub older_secrets: Vec<RetiredSecret>,
    /// With `v1a` signing: the Ed25519 public key (`whpk_…`) consumers verify deliveries with.
    /// Public: shown to viewers too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    pub state: SubscriptionState,
    pub max_in_flight: u32,
    /// Attempts started per second at most, for every delivery (new, retried, redelivered);
    /// absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_per_s: Option<u32>,
    pub ordered: bool,
    pub timeout_ms: u64,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
    /// Why the subscription was disabled, for the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// The pipe, table or organization it is a webhook of, in Pipefy's terms (the GraphQL API
    /// lists it there); a pipe's or table's takes only the events of cards in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// Where Pipefy would mail about failing deliveries: kept and shown (hookwatch raises alerts
    /// and `hookwatch.*` events instead of sending mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Subscription {
    /// Its version as an HTTP entity tag: FNV-1a of what a viewer reads of it (secrets masked, so
    /// the tag is no digest of them), `updated_at` included, so any change (by anyone, on any
    /// node) gives another. A client sends it back in `If-Match` to change only what it read.
    pub fn etag(&self) -> String {
        use std::hash::Hasher;
        let mut hasher = fnv::FnvHasher::default();
        hasher.write(&serde_json::to_vec(&self.for_viewer()).unwrap_or_default());
        format!("\"{:016x}\"", hasher.finish())
    }
}

/// What a Pipefy webhook belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub kind: OwnerKind,
    /// The pipe's, table's or organization's id, as text.
    #[serde(deserialize_with = "id_text")]
    #[schema(schema_with = owner_id_schema)]
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OwnerKind {
    Pipe,
    /// A database table: its records are cards whose `pipe_id` is the table's id.
    Table,
    Organization,
}

impl OwnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerKind::Pipe => "pipe",
            OwnerKind::Table => "table",
            OwnerKind::Organization => "organization",
        }
    }

    /// Whether its webhooks take only the events of cards in it.
    pub fn scopes_cards(self) -> bool {
        matches!(self, OwnerKind::Pipe | OwnerKind::Table)
    }
}

struct RetiredSecretRef<'a> {
    secret: &'a str,
    until: Millis,
}

/// A secret a rotation replaced, and until when it still signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetiredSecret {
    pub secret: String,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub until: Millis,
}

/// A subscription's signing secrets, in full: what `GET /v1/subscriptions/{id}/secret` answers
/// (Svix's `key`), and each read of it is audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SigningKeys {
    /// The secret that signs from now: `whsec_…` (HMAC-SHA256, `v1`) or `whsk_…` (Ed25519, `v1a`).
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub key: String,
    /// Secrets replaced by rotations less than 24 hours ago: each signs beside `key` until its
    /// `until`, newest first.
    pub previous: Vec<RetiredSecret>,
    /// With `v1a` signing: the public key (`whpk_…`) consumers verify with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

impl SigningKeys {
    /// The secrets a delivery is signed with now, newest first.
    pub fn signing(&self) -> Vec<&str> {
        std::iter::once(self.key.as_str()).chain(self.previous.iter().map(|r| r.secret.as_str())).collect()
    }
}

/// How long a replaced secret keeps signing.
pub const ROTATION_OVERLAP_MS: Millis = 86_400_000;
/// Secrets signing at once at most (the current one and those of recent rotations).
pub const MAX_SIGNING_SECRETS: usize = 10;

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

/// What a masked part of a URL reads as.
const MASKED: &str = "•••";

/// Whether a path segment reads as a word a person chose (`webhooks`, `pipefy-events`) rather
/// than a token (`T0123ABC`, `b2f1c0…`): only words are shown to those who must not see secrets.
fn is_plain_word(segment: &str) -> bool {
    (1..=24).contains(&segment.len()) && segment.bytes().all(|b| b.is_ascii_alphabetic() || b"-_.".contains(&b))
}

/// A URL as someone who must not learn its credentials may read it: scheme, host and port, the
/// path's plain words, every other path segment and every query value masked
/// (`https://hooks.slack.com/services/•••/•••/•••`, `https://x.example/hook?api_key=•••`).
pub fn masked_url(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else { return MASKED.to_string() };
    let mut shown = url_origin(url);
    for segment in parsed.path_segments().into_iter().flatten() {
        shown.push('/');
        shown.push_str(if is_plain_word(segment) { segment } else { MASKED });
    }
    let query: Vec<String> = parsed.query_pairs().map(|(name, _)| format!("{name}={MASKED}")).collect();
    if !query.is_empty() {
        shown = format!("{shown}?{}", query.join("&"));
    }
    shown
}

/// The scheme, host and port of a URL (`https://hooks.slack.com`): all a public metric carries.
pub fn url_origin(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else { return MASKED.to_string() };
    let host = parsed.host_str().unwrap_or_default();
    match parsed.port() {
        Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
        None => format!("{}://{host}", parsed.scheme()),
    }
}

/// Request headers as a viewer may read them: hookwatch's own non-secret headers whole, every
/// other value masked (a consumer's credential can hide under any name: `X-Auth`, `X-Signature-Key`).
pub fn headers_for_viewer(headers: &mut BTreeMap<String, String>) {
    const SHOWN: [&str; 7] = [
        "content-type",
        "content-length",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "traceparent",
        "tracestate",
    ];
    for (name, value) in headers.iter_mut() {
        if !SHOWN.contains(&name.to_ascii_lowercase().as_str()) {
            *value = mask(value);
        }
    }
}

impl Subscription {
    /// A copy for the viewer token: as `masked`, and its URL's secrets and every header value
    /// masked too (only the admin token reads them whole).
    pub fn for_viewer(&self) -> Subscription {
        let mut copy = self.masked();
        copy.url = masked_url(&self.url);
        for value in copy.headers.values_mut() {
            *value = mask(value);
        }
        copy
    }

    /// A copy safe to broadcast: signing secrets and credential headers masked.
    pub fn masked(&self) -> Subscription {
        let mut copy = self.with_secrets_masked();
        for (name, value) in copy.headers.iter_mut() {
            if is_sensitive(name) {
                *value = mask(value);
            }
        }
        copy
    }

    /// A copy as every list and read answers it, the admin's too: its signing secrets masked
    /// (they are read whole only through `signing_keys`, which is audited).
    pub fn with_secrets_masked(&self) -> Subscription {
        let mut copy = self.clone();
        copy.secret = mask(&self.secret);
        copy.previous_secret = self.previous_secret.as_deref().map(mask);
        for old in copy.older_secrets.iter_mut() {
            old.secret = mask(&old.secret);
        }
        copy
    }

    /// Its signing secrets in full, as of `now`: the current one and those still signing after
    /// a rotation, each with its end.
    pub fn signing_keys(&self, now: Millis) -> SigningKeys {
        let previous =
            self.retired(now).into_iter().map(|r| RetiredSecret { secret: r.secret.to_string(), until: r.until });
        SigningKeys { key: self.secret.clone(), previous: previous.collect(), public_key: self.public_key.clone() }
    }

    /// The secrets that sign a delivery now: the current one, plus every one a rotation replaced
    /// less than 24 hours ago, newest first.
    pub fn signing_secrets(&self, now: Millis) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        secrets.extend(self.retired(now).into_iter().map(|r| r.secret));
        secrets
    }

    /// The replaced secrets still signing at `now`, newest first.
    fn retired(&self, now: Millis) -> Vec<RetiredSecretRef<'_>> {
        let previous = match (&self.previous_secret, self.previous_secret_expires_at) {
            (Some(secret), Some(until)) => Some(RetiredSecretRef { secret, until }),
            _ => None,
        };
        let older = self.older_secrets.iter().map(|r| RetiredSecretRef { secret: &r.secret, until: r.until });
        previous.into_iter().chain(older).filter(|r| now < r.until).collect()
    }

    /// A rotation: `new` signs from `now`, the current secret and every replaced one still within
    /// its 24 hours keep signing. Refused when that would be more than `MAX_SIGNING_SECRETS`.
    pub fn rotate(&mut self, new: String, now: Millis) -> Result<(), String> {
        let still: Vec<RetiredSecret> = self
            .retired(now)
            .into_iter()
            .map(|r| RetiredSecret { secret: r.secret.to_string(), until: r.until })
            .collect();
        if still.len() + 2 > MAX_SIGNING_SECRETS {
            return Err(format!(
                "{} secrets already sign for {} (rotations within 24 hours keep the replaced ones signing); \
                 wait until the oldest expires at {}",
                still.len() + 1,
                self.name,
                rfc3339(still.iter().map(|r| r.until).min().unwrap_or(now))
            ));
        }
        let old = std::mem::replace(&mut self.secret, new);
        self.previous_secret = Some(old);
        self.previous_secret_expires_at = Some(now + ROTATION_OVERLAP_MS);
        self.older_secrets = still;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, utoipa::ToSchema)]
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

    /// Retrying or dead: its last attempt failed (what `failed` selects, and `r` redelivers).
    pub fn has_failed(self) -> bool {
        matches!(self, Self::Retrying | Self::Dead)
    }
}

/// How an attempt failed: the kinds an attempt's `error_kind` names in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventSummary {
    #[schema(value_type = String)]
    pub id: EventId,
    pub action: String,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// The card's title (`data.card.title`), its first 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipe_id: Option<String>,
    pub deliveries: Vec<DeliverySummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliverySummary {
    #[schema(value_type = String)]
    pub id: DeliveryId,
    #[schema(value_type = String)]
    pub subscription_id: SubscriptionId,
    pub status: DeliveryStatus,
    /// Attempts in the current series (a redelivery starts a new one).
    pub attempt_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Millis>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub id: i64,
    #[schema(value_type = String)]
    pub delivery_id: DeliveryId,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
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
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_retry_at: Option<Millis>,
    /// The request headers sent, signature included (the subscription secret never is).
    pub request_headers: BTreeMap<String, String>,
    /// The replay (`rpl_…`) that sent this attempt, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub replay_id: Option<ReplayId>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.error_kind.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub summary: DeliverySummary,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventDetail {
    #[schema(value_type = String)]
    pub id: EventId,
    pub action: String,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// The card's title (`data.card.title`), its first 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_title: Option<String>,
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
            card_title: self.card_title.clone(),
            pipe_id: self.pipe_id.clone(),
            deliveries: self.deliveries.iter().map(|d| d.summary.clone()).collect(),
        }
    }
}

/// One attempt as watchers see it: the live feed, the stream, another node's activity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptNotice {
    pub event_id: EventId,
    pub delivery_id: DeliveryId,
    pub subscription_id: SubscriptionId,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    EndpointFailing,
    EndpointRecovered,
    /// Failures keep returning between successes, or soon after a recovery: one alert, with counts,
    /// instead of a `failing`/`recovered` pair per flip.
    EndpointFlapping,
    BreakerOpen,
    Disabled,
    /// More deliveries wait for the endpoint than `backlog_alert`.
    BacklogHigh,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alert {
    pub kind: AlertKind,
    #[schema(value_type = String)]
    pub subscription_id: SubscriptionId,
    pub subscription_name: String,
    pub message: String,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Millis,
}

/// An endpoint's circuit breaker: closed (deliveries go), open (they wait for a probe), half-open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    /// The cooldown passed and one probe is in flight.
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// One change of an endpoint's breaker, as its lane made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BreakerChange {
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Millis,
    pub from: BreakerState,
    pub to: BreakerState,
    /// Once open: when its cooldown ends and the next probe goes.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_probe_at: Option<Millis>,
}

impl BreakerChange {
    /// What happened, in words.
    pub fn describe(&self) -> &'static str {
        use BreakerState::*;
        match (self.from, self.to) {
            (Closed, Open) => "opened",
            (Open, HalfOpen) => "probe sent",
            (HalfOpen, Open) => "probe failed: open again",
            (HalfOpen, Closed) => "probe succeeded: closed",
            (Open, Closed) => "closed by a resume",
            (_, Closed) => "closed",
            (_, Open) => "open",
            (_, HalfOpen) => "half-open",
        }
    }
}

/// Who made a change: the kind of token a request carried, or the part of hookwatch that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

/// Who acts: the kind of token (or the part of hookwatch) and, for a token the token file
/// names, its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub actor: Actor,
    pub name: Option<String>,
    /// The HTTP request it acts through (`X-Request-Id`), kept in the audit log.
    pub request_id: Option<String>,
}

impl From<Actor> for Caller {
    fn from(actor: Actor) -> Caller {
        Caller { actor, name: None, request_id: None }
    }
}

/// One change, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Millis,
    pub actor: Actor,
    /// The name of the token it was made with, when the token file names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What was done, e.g. `subscription.pause`, `event.redeliver`.
    pub action: String,
    /// The id it was done to.
    pub target: String,
    pub summary: String,
    /// The HTTP request that made it (its `X-Request-Id`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Which deliveries a replay sends again: every field narrows it (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub subscription: Option<SubscriptionId>,
    /// As in `GET /v1/events`: `pending`, `retrying`, `succeeded`, `dead`, `cancelled` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = status_filter_schema)]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// A card id, a number or a string.
    #[serde(default, deserialize_with = "optional_id", skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    Running,
    /// Waiting for an endpoint it must send to: its breaker is open (the replay's probe failed),
    /// or its subscription is paused or disabled. `held` says which and until when.
    Held,
    /// Every selected delivery was attempted.
    Done,
    Cancelled,
}

impl ReplayState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayState::Running => "running",
            ReplayState::Held => "held",
            ReplayState::Done => "done",
            ReplayState::Cancelled => "cancelled",
        }
    }

    /// Whether the replay is still under way (running or held).
    pub fn is_live(self) -> bool {
        matches!(self, ReplayState::Running | ReplayState::Held)
    }
}

/// What a held replay waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplayHold {
    /// `breaker open`, `subscription paused` or `subscription disabled`.
    pub reason: String,
    /// The subscription it waits for, and its name.
    #[schema(value_type = String)]
    pub subscription_id: SubscriptionId,
    pub subscription_name: String,
    /// With the breaker open: when its next probe goes (the replay's next delivery).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_probe_at: Option<Millis>,
}

/// What a replay would do, answered before it is created (`?dry_run=true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreviewTarget {
    #[schema(value_type = String)]
    pub id: SubscriptionId,
    pub name: String,
    pub deliveries: u64,
}

/// A stored replay job: it survives restarts and resumes after the last event it handed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Replay {
    #[schema(value_type = String)]
    pub id: ReplayId,
    pub filter: ReplayFilter,
    pub rate_per_s: u32,
    pub state: ReplayState,
    /// Deliveries it will send again, counted when it was created.
    pub total: u64,
    /// Deliveries handed to their lanes so far: each of them is attempted, even after a cancel.
    #[serde(alias = "done")]
    pub sent: u64,
    /// Sent deliveries whose attempt succeeded.
    #[serde(default)]
    pub delivered: u64,
    /// Sent deliveries whose attempt failed (they go on retrying as their schedule says).
    #[serde(default)]
    pub failed: u64,
    /// Selected deliveries it could not send: their event was pruned meanwhile, a storage fault,
    /// or another node took the delivery over.
    #[serde(default)]
    pub skipped: u64,
    /// While `held`: what it waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<ReplayHold>,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
    /// The last event handed on: where it resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub cursor: Option<EventId>,
    /// The node that runs it (in a cluster it resumes when that node restarts with its id).
    pub node: String,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_url_read_by_a_viewer_shows_its_host_and_words_only() {
        use super::{masked_url, url_origin};
        let slack = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdEFGH1234ijkl";
        assert_eq!(masked_url(slack), "https://hooks.slack.com/services/•••/•••/•••");
        assert_eq!(
            masked_url("http://10.0.0.5:8080/webhooks/pipefy?api_key=s3cr3t&v=2"),
            "http://10.0.0.5:8080/webhooks/pipefy?api_key=•••&v=•••"
        );
        assert_eq!(masked_url("https://user:pw@x.example.com/hook"), "https://x.example.com/hook");
        assert_eq!(url_origin(slack), "https://hooks.slack.com");
        assert_eq!(url_origin("http://[::1]:9000/a/b?c=d"), "http://[::1]:9000");
        assert_eq!(masked_url("not a url"), "•••");
    }

    use super::*;

    /// Durations saturate instead of wrapping, and a time already past is no wait at all.
    #[test]
    fn durations_and_spans_convert_without_wrapping() {
        use std::time::Duration;
        assert_eq!(millis(Duration::from_millis(1_500)), 1_500);
        assert_eq!(millis(Duration::MAX), Millis::MAX);
        assert_eq!(millis_u64(Duration::MAX), u64::MAX);
        assert_eq!(span(2_000), Duration::from_secs(2));
        assert_eq!(span(-5), Duration::ZERO);
    }

    fn subscription() -> Subscription {
        crate::wire::SubscriptionInput {
            url: Some("https://crm.example.com/h".into()),
            actions: Some(vec!["*".into()]),
            ..Default::default()
        }
        .create(&crate::domain::catalog::Catalog::default(), 0)
        .expect("a valid subscription")
    }

    /// Every secret a rotation replaced signs for its own 24 hours, however many rotations came
    /// after it; past that, it stops.
    #[test]
    fn each_replaced_secret_signs_for_its_own_day() {
        let mut sub = subscription();
        let first = sub.secret.clone();
        sub.rotate("whsec_second".into(), 1_000).unwrap();
        sub.rotate("whsec_third".into(), 2_000).unwrap();
        assert_eq!(sub.signing_secrets(3_000), ["whsec_third", "whsec_second", first.as_str()]);
        assert_eq!(sub.signing_secrets(1_000 + ROTATION_OVERLAP_MS), ["whsec_third", "whsec_second"]);
        assert_eq!(sub.signing_secrets(2_000 + ROTATION_OVERLAP_MS), ["whsec_third"]);
        for n in 4..=MAX_SIGNING_SECRETS {
            sub.rotate(format!("whsec_{n}"), 2_500).unwrap();
        }
        let refused = sub.rotate("whsec_one_too_many".into(), 2_600).unwrap_err();
        assert!(refused.contains("wait until the oldest expires"), "{refused}");
        assert_eq!(sub.signing_secrets(2_600).len(), MAX_SIGNING_SECRETS);
        assert!(sub.masked().older_secrets.iter().all(|r| r.secret.ends_with("(masked)")));
    }
}
