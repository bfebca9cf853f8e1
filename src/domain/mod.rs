//! The plain types every stage shares, importing nothing of the flow: events, deliveries,
//! subscriptions, attempts and alerts (`model`), their typed ids (`ids`), domain errors, the signing secret and the
//! Standard Webhooks signature, the action catalog, the stop signal, the retry schedule, the filter
//! language over events (`query`), the window a list is read in (`page`) and the W3C trace context
//! an event carries (`trace`).

pub mod catalog;
pub mod error;
pub mod ids;
pub mod model;
pub mod page;
pub mod query;
pub(crate) mod schedule;
pub(crate) mod secret;
pub mod signals;
pub(crate) mod signing;
pub mod trace;
