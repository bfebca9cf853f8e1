//! One endpoint's attempts per time slot at three zooms (2 min by the second, 1 h by the minute,
//! 24 h by ten minutes): success, latency percentiles and the responses it gave, for the
//! dashboard's endpoint page and `GET /v1/subscriptions/{id}/history`.

use super::ring::Ring;
use crate::domain::model::{BreakerChange, ErrorKind, Millis};
use crate::wire::{EndpointHistory, HistoryPoint, RecentFailure, ResponseCount, Span};
use std::collections::VecDeque;

/// A span's slots: how long each is and how many.
fn slots(span: Span) -> (i64, usize) {
    match span {
        Span::TwoMinutes => (1_000, 120),
        Span::Hour => (60_000, 60),
        Span::Day => (600_000, 144),
    }
}

/// Latency classes: three per doubling from 1 ms, so a percentile read from them is within
/// about 13% of the true value; the last class holds everything from 2^16 ms (about 65 s) up.
const LATENCY_CLASSES: usize = 49;
/// Distinct responses told apart per endpoint; any further ones are counted together.
const RESPONSE_KINDS: usize = 16;
/// Failed attempts kept per endpoint for the page's list.
const FAILURES_KEPT: usize = 20;

fn latency_class(ms: u64) -> usize {
    if ms <= 1 {
        return 0;
    }
    let class = ((ms as f64).log2() * 3.0).ceil().min((LATENCY_CLASSES - 1) as f64);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a class between 1 and LATENCY_CLASSES - 1"
    )]
    let class = class as usize;
    class
}

/// The upper bound of latency class `c` in milliseconds.
fn class_bound(c: usize) -> f64 {
    (c as f64 / 3.0).exp2()
}

#[derive(Debug, Clone)]
struct Slot {
    attempts: u32,
    successes: u32,
    latency: [u32; LATENCY_CLASSES],
    responses: [u32; RESPONSE_KINDS],
}

impl Default for Slot {
    fn default() -> Self {
        Slot { attempts: 0, successes: 0, latency: [0; LATENCY_CLASSES], responses: [0; RESPONSE_KINDS] }
    }
}

/// What an attempt came back with: a status code, or the error that left it without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Response {
    Status(u16),
    Error(ErrorKind),
}

impl Response {
    pub(super) fn of(status_code: Option<u16>, error_kind: Option<ErrorKind>) -> Option<Response> {
        match (status_code, error_kind) {
            (Some(code), _) => Some(Response::Status(code)),
            (None, Some(kind)) => Some(Response::Error(kind)),
            (None, None) => None,
        }
    }
}

pub(super) struct History {
    spans: [Ring<Slot>; 3],
    /// The responses told apart, by their index in a slot's `responses`, and when each was last
    /// seen; the last index counts everything beyond.
    kinds: Vec<(Response, Millis)>,
    other_seen: Millis,
    failures: VecDeque<RecentFailure>,
    /// Newest first.
    breaker: VecDeque<BreakerChange>,
}

/// How many breaker changes an endpoint's history keeps (a probe every 10 minutes at most: two
/// changes each, so about 16 hours of a breaker that stays open).
const BREAKER_CHANGES_KEPT: usize = 200;

impl History {
    pub(super) fn new() -> Self {
        let ring = |span: Span| {
            let (slot_ms, len) = slots(span);
            Ring::new(slot_ms, len)
        };
        History {
            spans: Span::ALL.map(ring),
            kinds: Vec::new(),
            other_seen: 0,
            failures: VecDeque::new(),
            breaker: VecDeque::new(),
        }
    }

    fn kind_index(&mut self, response: Response, at: Millis) -> usize {
        if let Some(i) = self.kinds.iter().position(|(r, _)| *r == response) {
            self.kinds[i].1 = self.kinds[i].1.max(at);
            return i;
        }
        if self.kinds.len() < RESPONSE_KINDS - 1 {
            self.kinds.push((response, at));
            return self.kinds.len() - 1;
        }
        self.other_seen = self.other_seen.max(at);
        RESPONSE_KINDS - 1
    }

    /// Counts in every zoom's slot for `at`; `latency_ms` is `None` for attempts counted from the
    /// database, which keeps no latency per minute.
    pub(super) fn add(
        &mut self,
        at: Millis,
        count: u32,
        successes: u32,
        response: Option<Response>,
        latency_ms: Option<u64>,
    ) {
        let kind = response.map(|r| self.kind_index(r, at));
        for ring in &mut self.spans {
            let Some(slot) = ring.slot_mut(at) else { continue };
            slot.attempts += count;
            slot.successes += successes;
            if let Some(ms) = latency_ms {
                slot.latency[latency_class(ms)] += count;
            }
            if let Some(k) = kind {
                slot.responses[k] += count;
            }
        }
    }

    /// A failed attempt, kept newest first by its start (attempts end in another order).
    pub(super) fn failed(&mut self, failure: RecentFailure) {
        let at = self.failures.iter().position(|f| f.at <= failure.at).unwrap_or(self.failures.len());
        self.failures.insert(at, failure);
        self.failures.truncate(FAILURES_KEPT);
    }

    pub(super) fn breaker_changed(&mut self, change: BreakerChange) {
        self.breaker.push_front(change);
        self.breaker.truncate(BREAKER_CHANGES_KEPT);
    }

    pub(super) fn report(&self, span: Span, now: Millis) -> EndpointHistory {
        let ring = &self.spans[Span::ALL.iter().position(|s| *s == span).unwrap_or(1)];
        let (_, len) = slots(span);
        let mut responses = [0u64; RESPONSE_KINDS];
        let points = ring
            .recent(now, len)
            .map(|(at, slot)| {
                let Some(slot) = slot else {
                    return HistoryPoint { at, attempts: 0, successes: 0, p50_ms: None, p95_ms: None, p99_ms: None };
                };
                for (total, n) in responses.iter_mut().zip(slot.responses) {
                    *total += u64::from(n);
                }
                HistoryPoint {
                    at,
                    attempts: slot.attempts,
                    successes: slot.successes,
                    p50_ms: percentile(&slot.latency, 0.50),
                    p95_ms: percentile(&slot.latency, 0.95),
                    p99_ms: percentile(&slot.latency, 0.99),
                }
            })
            .collect();
        let mut counted: Vec<ResponseCount> = responses
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, &count)| {
                let (status_code, error_kind, last_seen_at) = match self.kinds.get(i) {
                    Some((Response::Status(code), seen)) if i < RESPONSE_KINDS - 1 => (Some(*code), None, *seen),
                    Some((Response::Error(kind), seen)) if i < RESPONSE_KINDS - 1 => (None, Some(*kind), *seen),
                    _ => (None, None, self.other_seen),
                };
                ResponseCount { status_code, error_kind, count, last_seen_at }
            })
            .collect();
        counted.sort_by(|a, b| b.count.cmp(&a.count).then(b.last_seen_at.cmp(&a.last_seen_at)));
        let since = now - ring.slot_ms() * i64::try_from(len).unwrap_or(i64::MAX);
        EndpointHistory {
            span,
            slot_s: u32::try_from(ring.slot_ms() / 1000).unwrap_or(u32::MAX),
            points,
            responses: counted,
            failures: self.failures.iter().filter(|f| f.at > since).cloned().collect(),
            breaker: Vec::new(),
            breaker_changes: self.breaker.iter().filter(|c| c.at > since).cloned().collect(),
        }
    }
}

/// The `q` quantile of the latencies counted in `classes`, placed within its class on the
/// log scale the classes follow.
fn percentile(classes: &[u32; LATENCY_CLASSES], q: f64) -> Option<u64> {
    let total: u64 = classes.iter().map(|n| u64::from(*n)).sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0);
    let mut below = 0u64;
    for (c, n) in classes.iter().enumerate().filter(|(_, n)| **n > 0) {
        let n = u64::from(*n);
        if (below + n) as f64 >= rank {
            let (low, high) = (if c == 0 { 0.5 } else { class_bound(c - 1) }, class_bound(c));
            let within = (rank - below as f64) / n as f64;
            let latency = (low * (high / low).powf(within)).round().max(1.0);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a latency in ms between 1 and the top class bound, far below 2^64"
            )]
            let latency = latency as u64;
            return Some(latency);
        }
        below += n;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_a_class_of_the_truth() {
        let mut h = History::new();
        for ms in 1..=1000u64 {
            h.add(10_000, 1, 1, Some(Response::Status(200)), Some(ms));
        }
        let report = h.report(Span::TwoMinutes, 10_500);
        let last = report.points.last().expect("a point per slot");
        for (got, want) in [(last.p50_ms, 500.0), (last.p95_ms, 950.0), (last.p99_ms, 990.0)] {
            let got = got.expect("timed attempts") as f64;
            assert!((got / want - 1.0).abs() < 0.14, "{got} against {want}");
        }
        assert_eq!(report.points.len(), 120);
    }

    #[test]
    fn responses_count_over_the_span_with_when_last_seen() {
        let mut h = History::new();
        h.add(0, 1, 0, Some(Response::Status(503)), Some(10));
        h.add(3_600_000, 2, 2, Some(Response::Status(200)), Some(10));
        h.add(3_601_000, 1, 0, Some(Response::Error(ErrorKind::Timeout)), Some(10));
        let hour = h.report(Span::Hour, 3_602_000);
        let seen: Vec<_> = hour.responses.iter().map(|r| (r.status_code, r.error_kind, r.count)).collect();
        assert_eq!(seen, vec![(Some(200), None, 2), (None, Some(ErrorKind::Timeout), 1)]);
        let day = h.report(Span::Day, 3_602_000);
        assert_eq!(day.responses.iter().map(|r| r.count).sum::<u64>(), 4);
        assert_eq!(day.responses.iter().find(|r| r.status_code == Some(503)).map(|r| r.last_seen_at), Some(0));
    }

    #[test]
    fn responses_beyond_the_kinds_told_apart_are_counted_together() {
        let mut h = History::new();
        for code in 500..520u16 {
            h.add(1_000, 1, 0, Some(Response::Status(code)), None);
        }
        let report = h.report(Span::TwoMinutes, 1_000);
        assert_eq!(report.responses.len(), RESPONSE_KINDS);
        let other = report.responses.iter().find(|r| r.status_code.is_none()).expect("the rest together");
        assert_eq!(other.count, 20 - (RESPONSE_KINDS as u64 - 1));
    }

    #[test]
    fn zoom_stops_at_its_ends() {
        assert_eq!(Span::Day.zoomed(true), Span::Day);
        assert_eq!(Span::TwoMinutes.zoomed(false), Span::TwoMinutes);
        assert_eq!(Span::Hour.zoomed(true), Span::Day);
    }
}
