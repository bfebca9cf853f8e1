//! What input must be before anything is stored: an ingested body (`payload`) and a
//! subscription's settings (`subscriptions`).

pub mod payload;
pub mod subscriptions;
