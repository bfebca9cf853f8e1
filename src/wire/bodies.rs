//! The bodies of the API's requests and answers that are not stored records: errors, lists,
//! and what each action takes and answers.

use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{Actor, EventDetail, ReplayFilter, Subscription};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What every error answer carries.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// An error: its code, its message and, for a body, the fields at fault.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: e.g. `invalid_field`, `not_found`, `unauthorized`.
    pub code: String,
    /// For people: what was wrong and how to fix it.
    pub message: String,
    /// For a body whose fields were not acceptable: each of them, what was wrong and what to send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One field of a request that was not acceptable: where, why, and what to send instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// Where in the body, e.g. `url`, `headers`, `actions[2]`.
    pub field: String,
    /// Stable, for programs: e.g. `invalid_url`, `missing_actions`.
    pub code: String,
    pub message: String,
}

impl From<crate::domain::error::FieldProblem> for FieldProblem {
    fn from(problem: crate::domain::error::FieldProblem) -> Self {
        FieldProblem { field: problem.field, code: problem.code.to_string(), message: problem.message }
    }
}

/// A page of a list, newest first unless the route says otherwise.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    pub data: Vec<T>,
    /// Pass as `iterator` for the next page (onwards in the list's order); null only when the
    /// list is empty. On the last page it still continues from there, with what is added there.
    pub iterator: Option<String>,
    /// Pass as `iterator` for the page before this one; null only when the list is empty.
    pub prev_iterator: Option<String>,
    /// Nothing more lies beyond this page in the direction asked.
    pub done: bool,
}

/// An event with its deliveries and attempts, and its payload parsed.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventWithPayload {
    #[serde(flatten)]
    pub event: EventDetail,
    /// The payload as JSON for readers, beside the exact ingested text in `body`.
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// How many deliveries were sent again.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Redelivering {
    pub redelivering: usize,
}

/// What `POST /v1/events/{id}/redeliver` takes (every field optional).
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverBody {
    /// Only the delivery to this subscription (default: every one).
    #[schema(value_type = Option<String>)]
    pub subscription: Option<SubscriptionId>,
    /// Only the deliveries that failed (retrying or dead), not those that went through.
    #[serde(default)]
    pub failed_only: bool,
}

/// What the request's token may do (`GET /v1/access`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Access {
    pub actor: Actor,
    /// Whether this token may change anything (the viewer token reads only).
    pub can_change: bool,
}

/// What `/healthz` and `/readyz` answer while the server runs.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub uptime_s: u64,
}

/// An action events may carry.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CatalogAction {
    pub action: String,
    pub description: String,
    /// A realistic payload (null for actions declared in the config file).
    #[schema(value_type = Option<Object>)]
    pub sample: Option<Value>,
    /// One of hookwatch's own `hookwatch.*` alerts: subscribable, never ingested.
    pub operational: bool,
    /// Other spellings accepted for it.
    pub aliases: Vec<String>,
}

/// Every action events may carry (`GET /v1/catalog`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Catalog {
    pub data: Vec<CatalogAction>,
    /// How many of them are built in (the rest come from `extra_actions`).
    pub builtin: usize,
}

/// What `POST /v1/replays` takes, for a preview (`?dry_run=true`) and for the replay itself.
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayBody {
    #[serde(default, deserialize_with = "crate::domain::model::from_object")]
    pub filter: ReplayFilter,
    /// Events handed on per second, 1 to 10000 (default 10).
    #[schema(minimum = 1, maximum = 10000)]
    pub rate_per_s: Option<u32>,
}

/// A new subscription, and the ones it replaced (with `override_previous`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Created {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// Ids of the subscriptions deleted in its favour.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub replaced: Vec<SubscriptionId>,
}

/// What `POST /v1/subscriptions/{id}/rotate-secret` takes.
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// The new secret (`whsec_…` or `whsk_…`); absent: a new one of the same scheme.
    #[schema(pattern = r"^whsec_([A-Za-z0-9+/]{4}){8,21}$")]
    pub secret: Option<String>,
}

/// What `POST /v1/subscriptions/{id}/recover` takes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverBody {
    /// RFC 3339: failed deliveries of events received since then are sent again.
    #[schema(format = DateTime)]
    pub since: String,
}

/// What `POST /v1/subscriptions/{id}/probe` answers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Probing {
    pub probing: bool,
    /// Deliveries waiting behind the open breaker.
    pub held: usize,
}

/// What an accepted ingest returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ingested {
    #[schema(value_type = String)]
    pub id: EventId,
    pub action: String,
    pub deliveries: u32,
    /// True when the idempotency key matched an earlier event and nothing was created.
    #[serde(skip)]
    pub replayed: bool,
}
