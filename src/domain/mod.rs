//! The plain types every stage shares, importing nothing of the flow: events, deliveries,
//! subscriptions, attempts and alerts (`model`), domain errors, the signing secret, the action
//! catalog, the stop signal, the retry schedule, the filter language over events (`query`) and
//! the W3C trace context an event carries (`trace`).

pub mod catalog;
pub mod error;
pub mod model;
pub mod query;
pub(crate) mod schedule;
pub(crate) mod secret;
pub mod signals;
pub mod trace;
