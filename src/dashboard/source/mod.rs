//! How the dashboard reads and drives the engine: one interface, two implementations —
//! in-process (`local`) and over the HTTP API and SSE stream (`remote`, for `hookwatch attach`).

mod local;
mod remote;

pub use local::LocalSource;
pub use remote::RemoteSource;

use crate::domain::ids::{EventId, ReplayId, SubscriptionId};
use crate::domain::model::{Alert, AuditEntry, Replay, ReplayFilter, ReplayPreview};
use crate::domain::model::{EventDetail, EventSummary, SigningKeys, Subscription};
use crate::domain::query::EventQuery;
use crate::wire::FeedEvent;
use crate::wire::StatsReport;
use crate::wire::SubscriptionInput;
use crate::wire::{EndpointHistory, Span};
use tokio::sync::mpsc;

/// Something the dashboard should know about, pushed by the source.
#[derive(Debug, Clone)]
pub enum Update {
    Feed(FeedEvent),
    Stats(StatsReport),
    /// A remote source lost or regained its server.
    Connection {
        connected: bool,
        detail: String,
    },
    /// The source is alive and has nothing new to say (the stream's heartbeat).
    Heartbeat,
    /// Updates were dropped because the dashboard fell behind: reload.
    Lagged,
    /// A reconnected stream has replayed what it missed (`gaps`: what it could not replay).
    Resumed {
        replayed: u64,
        gaps: Vec<String>,
    },
    /// The server refused the credentials: final, the source stops trying.
    Refused(String),
}

/// Why the source could not do what was asked, as much as the screen needs to decide on: a
/// refusal carries the API's error code (`conflict`, `not_found`, `invalid_url`…), so the
/// dashboard matches on the code, never on the wording.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceError {
    /// The engine (or the server, `status`) refused it; `message` says why and what to do.
    Refused { status: Option<u16>, code: Option<String>, message: String },
    /// The server could not be reached, or did not answer in time.
    Unreachable(String),
    /// A request or an answer could not be encoded or read.
    Malformed(String),
}

impl SourceError {
    /// The API's error code of a refusal (a server that sent none has none).
    pub fn code(&self) -> Option<&str> {
        match self {
            SourceError::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether a conditional change was refused because what it was made against changed since.
    pub fn changed_meanwhile(&self) -> bool {
        self.code() == Some("precondition_failed")
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Refused { status: Some(status), message, .. } => write!(f, "{status}: {message}"),
            SourceError::Refused { status: None, message, .. } => f.write_str(message),
            SourceError::Unreachable(why) | SourceError::Malformed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SourceError {}

/// The engine's refusal, as the in-process source reports it.
impl From<crate::domain::error::Error> for SourceError {
    fn from(e: crate::domain::error::Error) -> Self {
        SourceError::Refused { status: None, code: Some(e.code().to_string()), message: e.to_string() }
    }
}

pub type SourceResult<T> = Result<T, SourceError>;

/// How many of the newest audit entries the dashboard reads.
pub const AUDIT_SHOWN: u32 = 500;

#[async_trait::async_trait]
pub trait Source: Send + Sync + 'static {
    /// What the header shows as "where": the listen address or the remote URL.
    fn location(&self) -> String;
    /// Starts pushing updates (feed events and periodic stats) into `tx`.
    fn watch(&self, tx: mpsc::Sender<Update>);
    async fn stats(&self) -> SourceResult<StatsReport>;
    /// Every subscription, its signing secrets masked.
    async fn subscriptions(&self) -> SourceResult<Vec<Subscription>>;
    /// A subscription's signing secrets in full (the read is audited; a viewer is refused).
    async fn signing_keys(&self, id: &SubscriptionId) -> SourceResult<SigningKeys>;
    async fn events(&self, query: EventQuery) -> SourceResult<Vec<EventSummary>>;
    async fn event(&self, id: &EventId) -> SourceResult<EventDetail>;
    async fn alerts(&self) -> SourceResult<Vec<Alert>>;
    /// One endpoint's attempts per time slot over `span`, for its page.
    async fn endpoint_history(&self, id: &SubscriptionId, span: Span) -> SourceResult<EndpointHistory>;
    /// The newest changes, newest first.
    async fn audit(&self) -> SourceResult<Vec<AuditEntry>>;
    /// Every accepted action name (built-ins and the server's extra ones).
    async fn catalog(&self) -> SourceResult<Vec<String>>;
    async fn redeliver(
        &self,
        event_id: &EventId,
        subscription_id: Option<&SubscriptionId>,
        failed_only: bool,
    ) -> SourceResult<usize>;
    /// Pauses or resumes it; with `version`, only if it has not changed since (else `precondition_failed`).
    async fn set_paused(
        &self,
        subscription_id: &SubscriptionId,
        paused: bool,
        version: Option<&str>,
    ) -> SourceResult<()>;
    /// Probes an open breaker now; how many deliveries it held.
    async fn probe(&self, subscription_id: &SubscriptionId) -> SourceResult<usize>;
    /// Creates (`id` `None`) or changes a subscription; a change with `version` (the `etag` the
    /// operator saw) is refused, `precondition_failed`, when the subscription changed since.
    async fn save_subscription(
        &self,
        id: Option<&SubscriptionId>,
        input: SubscriptionInput,
        version: Option<&str>,
    ) -> SourceResult<Subscription>;
    /// Deletes it; with `version`, only if it has not changed since (else `precondition_failed`).
    async fn delete_subscription(&self, id: &SubscriptionId, version: Option<&str>) -> SourceResult<()>;
    /// What a replay of `filter` would send, creating nothing.
    async fn preview_replay(&self, filter: &ReplayFilter, rate_per_s: u32) -> SourceResult<ReplayPreview>;
    async fn start_replay(&self, filter: &ReplayFilter, rate_per_s: u32) -> SourceResult<Replay>;
    /// Every stored replay, newest first.
    async fn replays(&self) -> SourceResult<Vec<Replay>>;
    async fn cancel_replay(&self, id: &ReplayId) -> SourceResult<Replay>;
    /// Ingests a test event, for subscription `to` alone or (`None`) for every matching one;
    /// returns the new event's id.
    async fn send_event(&self, body: String, to: Option<&SubscriptionId>) -> SourceResult<EventId>;
}
