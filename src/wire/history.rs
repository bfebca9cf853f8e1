//! One endpoint's history over a span, as `GET /v1/subscriptions/{id}/history` answers it and the
//! dashboard's endpoint page draws it.

use crate::domain::model::{Alert, BreakerChange, ErrorKind, Millis};
use serde::{Deserialize, Serialize};

/// How far back the endpoint page looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub enum Span {
    #[serde(rename = "2m")]
    TwoMinutes,
    #[default]
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "24h")]
    Day,
}

impl Span {
    pub const ALL: [Span; 3] = [Span::TwoMinutes, Span::Hour, Span::Day];

    pub fn label(self) -> &'static str {
        match self {
            Span::TwoMinutes => "2m",
            Span::Hour => "1h",
            Span::Day => "24h",
        }
    }

    pub fn parse(text: &str) -> Option<Span> {
        Span::ALL.into_iter().find(|s| s.label() == text)
    }

    /// One step longer (`+`), or shorter; the ends stay where they are.
    pub fn zoomed(self, longer: bool) -> Span {
        let i = Span::ALL.iter().position(|s| *s == self).unwrap_or(1);
        let i = if longer { (i + 1).min(2) } else { i.saturating_sub(1) };
        Span::ALL[i]
    }
}

/// A failed attempt as the endpoint page lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct RecentFailure {
    #[serde(with = "crate::domain::model::ts")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Millis,
    #[schema(value_type = String)]
    pub event_id: crate::domain::ids::EventId,
    pub attempt: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub error: String,
}

/// One slot of the span, oldest first in `EndpointHistory::points`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct HistoryPoint {
    #[serde(with = "crate::domain::model::ts")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Millis,
    pub attempts: u32,
    pub successes: u32,
    /// Latency percentiles of the slot's attempts (absent without timed attempts: none, or
    /// counted from the database after a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<u64>,
}

/// How often the endpoint answered one way over the span, and when it last did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct ResponseCount {
    /// The HTTP status; absent with `error_kind` when no answer came, absent with it too for
    /// the responses beyond the ones told apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    pub count: u64,
    #[serde(with = "crate::domain::model::ts")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: Millis,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndpointHistory {
    pub span: Span,
    pub slot_s: u32,
    pub points: Vec<HistoryPoint>,
    /// Most frequent first.
    pub responses: Vec<ResponseCount>,
    /// Newest first.
    pub failures: Vec<RecentFailure>,
    /// Breaker openings, failure streaks, recoveries and disabling: newest first.
    #[serde(default)]
    pub breaker: Vec<Alert>,
    /// Every change of the breaker over the span (openings, probes sent, failed with the next
    /// probe's time, succeeded), newest first.
    #[serde(default)]
    pub breaker_changes: Vec<BreakerChange>,
}
