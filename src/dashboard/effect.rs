//! What the dashboard asks of its source (`Effect`) and what comes back (`Outcome`): the event
//! loop carries each effect out and feeds the outcome back to the app.

use super::source::SourceError;
use crate::domain::ids::{EventId, ReplayId, SubscriptionId};
use crate::domain::model::{Alert, AuditEntry, EventDetail, EventSummary, Millis, Replay, ReplayFilter};
use crate::domain::model::{ReplayPreview, Subscription};
use crate::domain::query::EventQuery;
use crate::wire::StatsReport;
use crate::wire::SubscriptionInput;
use crate::wire::{EndpointHistory, Span};

/// Work the event loop carries out against the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadEvents(EventQuery),
    LoadEvent(EventId),
    LoadSubscriptions,
    /// `failed_only`: just the deliveries that failed (retrying or dead). `note` says what will
    /// happen, shown once the server has taken it.
    Redeliver {
        event_id: EventId,
        subscription_id: Option<SubscriptionId>,
        failed_only: bool,
        note: String,
    },
    /// `version`: the `etag` of the subscription as the operator saw it.
    SetPaused {
        subscription_id: SubscriptionId,
        name: String,
        paused: bool,
        version: String,
    },
    LoadAudit,
    Probe {
        subscription_id: SubscriptionId,
        name: String,
    },
    /// `version`: the `etag` of the subscription as the operator saw it when editing began; the
    /// change is refused if it changed since.
    SaveSubscription {
        id: Option<SubscriptionId>,
        input: Box<SubscriptionInput>,
        version: Option<String>,
    },
    /// A test event's body, for one subscription or (`None`) every matching one.
    SendEvent {
        body: String,
        to: Option<SubscriptionId>,
    },
    /// `version`: the `etag` of the subscription as the operator saw it when asked to confirm.
    DeleteSubscription {
        id: SubscriptionId,
        name: String,
        version: String,
    },
    PreviewReplay(ReplayFilter),
    StartReplay {
        filter: ReplayFilter,
        rate_per_s: u32,
    },
    LoadReplays,
    CancelReplay(ReplayId),
    /// An endpoint page's history over its span.
    LoadHistory {
        id: SubscriptionId,
        span: Span,
    },
    /// Text for the terminal's clipboard (OSC 52); `what` names it in the status line.
    Copy {
        text: String,
        what: String,
    },
    /// Reads a subscription's signing secret to show it (the read is audited).
    RevealSecret {
        subscription_id: SubscriptionId,
        name: String,
    },
    /// Copies a curl command that sends `body` to the subscription as a delivery of `event_id`,
    /// signed with its secrets read for it (`signed`; a read-only dashboard copies it unsigned).
    CopyCurl {
        subscription: Box<Subscription>,
        event_id: EventId,
        body: String,
        signed: bool,
    },
    Quit,
}

/// What came back from an effect or an initial load.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The store's answer to `query`, newest first.
    Events {
        query: EventQuery,
        list: Vec<EventSummary>,
    },
    /// The store could not answer `query`.
    EventsUnread {
        query: EventQuery,
        error: String,
    },
    Event(Box<EventDetail>),
    EventFailed {
        id: EventId,
        error: String,
    },
    Subscriptions(Vec<Subscription>),
    Alerts(Vec<Alert>),
    /// The audit log, newest first, and when it was read.
    Audit(Vec<AuditEntry>, Millis),
    /// Why the audit log could not be read.
    AuditUnread(String),
    Catalog(Vec<String>),
    Stats(Box<StatsReport>),
    SubscriptionSaved(Box<Subscription>),
    /// A change refused because the subscription changed since the operator saw it (someone else
    /// changed it meanwhile): what to tell them, and the subscriptions read again.
    ChangedMeanwhile {
        message: String,
        subscriptions: Option<Vec<Subscription>>,
    },
    /// The source refused or could not save: its code decides what the form offers.
    SaveFailed(SourceError),
    Sent(EventId),
    SendFailed(String),
    ReplayPreview(Result<ReplayPreview, String>),
    ReplayStarted(Box<Replay>),
    ReplayRefused(String),
    /// Every stored replay, newest first, and when they were read.
    Replays(Vec<Replay>, Millis),
    ReplaysUnread(String),
    ReplayCancelled(Box<Replay>),
    History {
        id: SubscriptionId,
        span: Span,
        read: Result<Box<EndpointHistory>, String>,
    },
    /// A subscription's signing secret, read to show it.
    SecretRead {
        subscription_id: SubscriptionId,
        key: String,
    },
    /// Text the loop hands to the clipboard, as `Effect::Copy`.
    Copy {
        text: String,
        what: String,
    },
    Done(String),
    Failed(String),
}
