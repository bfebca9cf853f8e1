//! The API's JSON vocabulary: every body the server answers or takes, in one place that the API
//! serves and `attach`'s remote source reads. The dashboard knows the server through these types
//! alone (`tests/it/architecture.rs` checks it), so what it shows is what the API says.
//!
//! The stored records (subscriptions, events, deliveries, replays, alerts, audit entries) are
//! their own wire form: their serde derives in `domain::model` are the contract, re-exported here.

mod bodies;
mod history;
mod limits;
mod report;
mod stream;
mod subscription;

pub use bodies::*;
pub use history::{EndpointHistory, HistoryPoint, RecentFailure, ResponseCount, Span};
pub use limits::*;
pub use report::{EndpointReport, Latency, NodeInfo, StatsReport};
pub use stream::{FeedEvent, Heartbeat, StreamGap, StreamResumed};
pub use subscription::SubscriptionInput;

pub use crate::domain::model::{
    Actor, Alert, AlertKind, Attempt, AttemptNotice, AuditEntry, BreakerChange, BreakerState, DeliveryDetail,
    DeliveryStatus, ErrorKind, EventDetail, EventSummary, Filters, Owner, Replay, ReplayFilter, ReplayHold,
    ReplayPreview, ReplayState, SigningKeys, Subscription, SubscriptionChange, SubscriptionState,
};
