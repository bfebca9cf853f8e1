//! The bounds the API enforces and documents, shared by the server and its clients (the dashboard's
//! forms offer what the server accepts).

/// The highest rate a replay may send at, per endpoint.
pub const MAX_REPLAY_RATE: u32 = 10_000;
/// Deliveries per second per endpoint when a replay names no rate.
pub const DEFAULT_REPLAY_RATE: u32 = 10;

/// The highest rate limit a subscription may have, in attempts per second.
pub const MAX_RATE_PER_S: u32 = 10_000;

/// Headers a subscription may add to its deliveries, at most.
pub const MAX_HEADERS: usize = 32;

/// Headers hookwatch sets itself may not be overridden.
pub const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
    "connection",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];
