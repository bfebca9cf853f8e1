//! What the flow is doing, as figures and updates: delivery statistics over sliding windows
//! (`stats`), Prometheus series (`metrics`), and the live update bus with its journal (`feed`).

pub mod feed;
pub(crate) mod metrics;
pub(crate) mod stats;
