//! What the flow is doing, as figures and updates: delivery statistics over sliding windows
//! (`stats`), Prometheus series (`metrics`), the live update bus with its journal (`feed`), and
//! the OpenTelemetry spans of ingests and attempts (`traces`).

pub mod feed;
pub(crate) mod metrics;
pub(crate) mod stats;
pub mod traces;
