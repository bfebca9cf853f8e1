//! Delivery statistics: success rates over sliding windows and latency percentiles, kept in
//! fixed-size rings so memory and cost do not grow with traffic; `history` keeps the same per
//! time slot for the endpoint page.

mod history;
mod ring;
mod sliding;

use ring::Ring;
use sliding::{Counts, Tally};

use crate::domain::model::Millis;
use crate::observe::metrics::{AttemptFacts, EndpointMetrics, Metrics};
use crate::wire::{EndpointHistory, Latency, RecentFailure, Span};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

const LATENCY_MINUTES: u8 = 5;
/// How far back the seconds ring reaches: the 1 m, 5 m and 1 h windows are read from it, so each
/// covers its span to the second; after a restart the stored attempts of this last stretch are
/// counted again by the second, older ones by the minute.
pub const SECONDS_KEPT_MS: Millis = SECONDS_KEPT as Millis * 1000;
const SECONDS_KEPT: u16 = 3_660;

/// The windows read from the seconds ring: 1 m, 5 m and 1 h.
const BY_SECOND: [usize; 3] = [60, 300, 3600];
/// The 24 h window, read from the minutes ring: its oldest minute counts only when it lies
/// wholly inside, so the window is short of 24 h by under a minute.
const DAY_MINUTES: usize = 1440;

struct EndpointStats {
    seconds: Tally<3>,
    minutes: Tally<1>,
    /// One histogram per minute for the last few minutes: (minute, histogram).
    latency: Vec<(i64, Histogram<u64>)>,
    total_attempts: u64,
    total_successes: u64,
    last_error: Option<(Millis, String)>,
    last_success_at: Option<Millis>,
    metrics: EndpointMetrics,
    history: history::History,
}

impl EndpointStats {
    fn new(metrics: EndpointMetrics) -> Self {
        EndpointStats {
            metrics,
            seconds: Tally::new(1000, usize::from(SECONDS_KEPT), BY_SECOND),
            minutes: Tally::new(60_000, DAY_MINUTES, [DAY_MINUTES]),
            latency: Vec::new(),
            total_attempts: 0,
            total_successes: 0,
            last_error: None,
            last_success_at: None,
            history: history::History::new(),
        }
    }
}

/// What a failed attempt leaves for the operator to read, and which attempt of which event it was.
pub struct Failed<'a> {
    pub error: &'a str,
    pub event_id: &'a str,
    pub attempt: u32,
}

/// Stored attempts of one slot that ended alike, counted again after a restart: a second within
/// `SECONDS_KEPT_MS` of the restart (`per_second`), else a minute.
pub struct Seeded {
    pub at: Millis,
    pub per_second: bool,
    pub attempts: u64,
    pub successes: u64,
    pub status_code: Option<u16>,
    pub error_kind: Option<crate::domain::model::ErrorKind>,
}

/// Success rate (0..1) and attempts over one window; `rate` is `None` without attempts.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Window {
    pub attempts: u64,
    pub successes: u64,
    pub rate: Option<f64>,
}

impl Window {
    fn of((attempts, successes): (u64, u64)) -> Self {
        Window { attempts, successes, rate: (attempts > 0).then(|| successes as f64 / attempts as f64) }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EndpointSnapshot {
    pub w1m: Window,
    pub w5m: Window,
    pub w1h: Window,
    pub w24h: Window,
    pub latency_5m: Latency,
    pub total_attempts: u64,
    pub total_successes: u64,
    pub last_error: Option<String>,
    pub last_error_at: Option<Millis>,
    pub last_success_at: Option<Millis>,
    /// Success rate per 10 s over the last 5 minutes, oldest first (`None`: no attempts then).
    pub history: Vec<Option<f64>>,
}

/// The endpoint's entry, allocating its key only the first time (this runs on every attempt).
fn endpoint<'a>(map: &'a mut HashMap<String, EndpointStats>, id: &str, metrics: &Metrics) -> &'a mut EndpointStats {
    if !map.contains_key(id) {
        map.insert(id.to_string(), EndpointStats::new(metrics.endpoint(id)));
    }
    map.get_mut(id).expect("inserted above")
}

pub struct Stats {
    endpoints: Mutex<HashMap<String, EndpointStats>>,
    /// Events per second over the last 2 minutes, and the total since start.
    ingest: Mutex<(Ring<u32>, u64)>,
    /// The same observations as Prometheus counters and histograms.
    pub metrics: Metrics,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            endpoints: Mutex::new(HashMap::new()),
            ingest: Mutex::new((Ring::new(1000, 120), 0)),
            metrics: Metrics::default(),
        }
    }
}

impl Stats {
    /// One event stored at `at`: a client's counts as ingest traffic; one of hookwatch's own
    /// (an alert sent as a `hookwatch.*` event) is counted apart, so alerts never read as load.
    pub fn record_event(&self, at: Millis, action: &str) {
        if crate::domain::catalog::is_operational(action) {
            self.metrics.record_own_event();
        } else {
            self.record_ingest(at);
        }
    }

    fn record_ingest(&self, at: Millis) {
        self.metrics.record_ingest();
        if let Ok(mut g) = self.ingest.lock() {
            if let Some(count) = g.0.slot_mut(at) {
                *count = count.saturating_add(1);
            }
            g.1 += 1;
        }
    }

    /// Events per second over the last `seconds` full seconds, and the total since start.
    pub fn ingest_rate(&self, now: Millis, seconds: i64) -> (f64, u64) {
        let Ok(g) = self.ingest.lock() else { return (0.0, 0) };
        // Leave out the current, partial second so the rate does not dip at each second's start.
        let count: u64 =
            g.0.recent(now - 1000, usize::try_from(seconds).unwrap_or(0))
                .filter_map(|(_, c)| c)
                .map(|c| u64::from(*c))
                .sum();
        (count as f64 / seconds as f64, g.1)
    }

    /// One attempt that started `at`; a failure says what the operator reads of it.
    pub fn record_attempt(&self, subscription_id: &str, at: Millis, facts: &AttemptFacts, failure: Option<Failed<'_>>) {
        let (success, latency_ms) = (facts.success, facts.latency_ms);
        let Ok(mut map) = self.endpoints.lock() else { return };
        let e = endpoint(&mut map, subscription_id, &self.metrics);
        e.metrics.record(facts);
        let ok = u64::from(success);
        e.seconds.add(at, 1, ok);
        e.minutes.add(at, 1, ok);
        e.total_attempts += 1;
        e.total_successes += ok;
        let response = history::Response::of(facts.status_code, facts.error_kind);
        e.history.add(at, 1, u32::from(success), response, Some(latency_ms));
        if let Some(f) = failure {
            e.last_error = Some((at, f.error.to_string()));
            e.history.failed(RecentFailure {
                at,
                event_id: f.event_id.into(),
                attempt: f.attempt,
                status_code: facts.status_code,
                error: f.error.to_string(),
            });
        }
        if success {
            e.last_success_at = Some(e.last_success_at.map_or(at, |t| t.max(at)));
        }
        let minute = at.div_euclid(60_000);
        if e.latency.last().is_none_or(|(m, _)| *m != minute) {
            if e.latency.len() >= usize::from(LATENCY_MINUTES) {
                e.latency.remove(0);
            }
            if let Ok(h) = Histogram::new_with_bounds(1, 3_600_000, 2) {
                e.latency.push((minute, h));
            }
        }
        if let Some((_, h)) = e.latency.last_mut() {
            h.saturating_record(latency_ms.max(1));
        }
    }

    /// Seeds the windows and the endpoint's history from stored attempts after a restart, before
    /// any new attempt: `attempts` in one slot that answered `status_code` (or failed with
    /// `error_kind`). Slots come oldest first, so a ring's slot reused for a later time is never
    /// overwritten by an earlier one.
    pub fn seed(&self, subscription_id: &str, seeded: Seeded) {
        if let Ok(mut map) = self.endpoints.lock() {
            let e = endpoint(&mut map, subscription_id, &self.metrics);
            let (at, attempts, successes) = (seeded.at, seeded.attempts, seeded.successes);
            if seeded.per_second {
                e.seconds.add(at, attempts, successes);
            }
            e.minutes.add(at, attempts, successes);
            let response = history::Response::of(seeded.status_code, seeded.error_kind);
            // A slot's count read back from the store: far below 2^32 attempts a minute.
            let (attempts, successes) = (saturated(attempts), saturated(successes));
            e.history.add(at, attempts, successes, response, None);
        }
    }

    /// The endpoint's attempts per slot over `span`, and its recent failures.
    pub fn history(&self, subscription_id: &str, span: Span, now: Millis) -> EndpointHistory {
        let known =
            self.endpoints.lock().ok().and_then(|map| map.get(subscription_id).map(|e| e.history.report(span, now)));
        // An endpoint never attempted has the same report as one whose attempts have aged out.
        known.unwrap_or_else(|| history::History::new().report(span, now))
    }

    /// A change of the endpoint's breaker.
    pub fn record_breaker(&self, subscription_id: &str, change: crate::domain::model::BreakerChange) {
        if let Ok(mut map) = self.endpoints.lock() {
            endpoint(&mut map, subscription_id, &self.metrics).history.breaker_changed(change);
        }
    }

    pub fn forget(&self, subscription_id: &str) {
        self.metrics.forget(subscription_id);
        if let Ok(mut map) = self.endpoints.lock() {
            map.remove(subscription_id);
        }
    }

    pub fn snapshot(&self, subscription_id: &str, now: Millis) -> EndpointSnapshot {
        let Ok(mut map) = self.endpoints.lock() else { return EndpointSnapshot::default() };
        let Some(e) = map.get_mut(subscription_id) else { return EndpointSnapshot::default() };
        let current_minute = now.div_euclid(60_000);
        let mut merged: Option<Histogram<u64>> = None;
        for (_, h) in e.latency.iter().filter(|(m, _)| *m > current_minute - i64::from(LATENCY_MINUTES)) {
            match &mut merged {
                Some(m) => {
                    let _ = m.add(h);
                }
                None => merged = Some(h.clone()),
            }
        }
        let latency_5m = match merged.filter(|h| !h.is_empty()) {
            Some(h) => Latency {
                p50_ms: Some(h.value_at_quantile(0.50)),
                p95_ms: Some(h.value_at_quantile(0.95)),
                p99_ms: Some(h.value_at_quantile(0.99)),
                max_ms: Some(h.max()),
            },
            None => Latency::default(),
        };
        let per_second: Vec<Counts> = e.seconds.recent(now, 120).map(|c| c.copied().unwrap_or_default()).collect();
        let history = per_second
            .chunks(10)
            .map(|c| {
                let totals = c.iter().fold((0, 0), |(a, s), c| (a + u64::from(c.attempts), s + u64::from(c.successes)));
                Window::of(totals).rate
            })
            .collect();
        EndpointSnapshot {
            w1m: Window::of(e.seconds.window(0, now)),
            w5m: Window::of(e.seconds.window(1, now)),
            w1h: Window::of(e.seconds.window(2, now)),
            w24h: Window::of(e.minutes.window(0, now)),
            latency_5m,
            total_attempts: e.total_attempts,
            total_successes: e.total_successes,
            last_error: e.last_error.as_ref().map(|(_, m)| m.clone()),
            last_error_at: e.last_error.as_ref().map(|(t, _)| *t),
            last_success_at: e.last_success_at,
            history,
        }
    }
}

/// A count as a slot's `u32`, saturating.
fn saturated(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_only_their_span() {
        let s = Stats::default();
        let now = 10 * 3_600_000;
        let attempt = |success, latency_ms| AttemptFacts {
            success,
            status_code: Some(if success { 200 } else { 500 }),
            error_kind: (!success).then_some(crate::domain::model::ErrorKind::Status),
            latency_ms,
            status: crate::domain::model::DeliveryStatus::Retrying,
        };
        let failed = |error| Some(Failed { error, event_id: "evt", attempt: 1 });
        s.record_attempt("a", now - 2 * 3_600_000, &attempt(false, 5), failed("HTTP 500"));
        s.record_attempt("a", now - 120_000, &attempt(true, 10), None);
        s.record_attempt("a", now - 1_000, &attempt(true, 20), None);
        s.record_attempt("a", now, &attempt(false, 30), failed("timeout"));
        let snap = s.snapshot("a", now);
        assert_eq!(snap.w1m.attempts, 2);
        assert_eq!(snap.w1m.rate, Some(0.5));
        assert_eq!(snap.w5m.attempts, 3);
        assert_eq!(snap.w1h.attempts, 3);
        assert_eq!(snap.w24h.attempts, 4);
        assert_eq!(snap.w24h.successes, 2);
        assert_eq!(snap.last_error.as_deref(), Some("timeout"));
        assert_eq!(snap.latency_5m.max_ms, Some(30));
        assert_eq!(snap.history.len(), 12);
        let hour = s.history("a", Span::Hour, now);
        assert_eq!(hour.points.iter().map(|p| p.attempts).sum::<u32>(), 3);
        assert_eq!(hour.failures.iter().map(|f| f.error.as_str()).collect::<Vec<_>>(), ["timeout"]);
    }

    /// Each window counts the current second and the ones before it, as many as its span holds;
    /// the 24 h one counts its oldest minute only when it lies wholly inside.
    #[test]
    fn windows_end_to_the_second() {
        let s = Stats::default();
        let now = 30 * 3_600_000 + 20_500;
        let ok = AttemptFacts {
            success: true,
            status_code: Some(200),
            error_kind: None,
            latency_ms: 1,
            status: crate::domain::model::DeliveryStatus::Succeeded,
        };
        let second = now / 1000 * 1000;
        for span_s in [60, 300, 3600] {
            s.record_attempt("a", second - span_s * 1000, &ok, None); // just outside
            s.record_attempt("a", second - (span_s - 1) * 1000, &ok, None); // the window's first second
        }
        // The 24 h window starts 21 s into a minute: that minute is left out, the next one counts.
        s.record_attempt("a", second - 86_400_000 + 30_000, &ok, None);
        s.record_attempt("a", second - 86_400_000 + 40_000, &ok, None);
        let snap = s.snapshot("a", now);
        let attempts = [snap.w1m, snap.w5m, snap.w1h, snap.w24h].map(|w| w.attempts);
        assert_eq!(attempts, [1, 3, 5, 7]);
    }

    /// Attempts read back after a restart, by the second for the last hour and by the minute
    /// before it, give the windows the live attempts gave.
    #[test]
    fn seeded_attempts_fill_the_windows_as_recorded_ones_did() {
        let (live, seeded) = (Stats::default(), Stats::default());
        let now = 30 * 3_600_000 + 20_500;
        let by_second_from = (now - SECONDS_KEPT_MS).div_euclid(60_000) * 60_000;
        let mut slots: std::collections::BTreeMap<i64, (u64, u64)> = Default::default();
        for i in (0..2_000).rev() {
            let at = now - i * 37_003;
            let success = i % 3 != 0;
            let facts = AttemptFacts {
                success,
                status_code: Some(if success { 200 } else { 500 }),
                error_kind: (!success).then_some(crate::domain::model::ErrorKind::Status),
                latency_ms: 1,
                status: crate::domain::model::DeliveryStatus::Retrying,
            };
            live.record_attempt("a", at, &facts, None);
            let per_second = at >= by_second_from;
            let slot = if per_second { at / 1000 * 1000 } else { at / 60_000 * 60_000 };
            let c = slots.entry(slot).or_default();
            *c = (c.0 + 1, c.1 + u64::from(success));
        }
        for (at, (attempts, successes)) in slots {
            let per_second = at >= by_second_from;
            seeded.seed("a", Seeded { at, per_second, attempts, successes, status_code: Some(200), error_kind: None });
        }
        let (l, s) = (live.snapshot("a", now), seeded.snapshot("a", now));
        assert_eq!([l.w1m, l.w5m, l.w1h, l.w24h], [s.w1m, s.w5m, s.w1h, s.w24h]);
        assert_eq!(l.history, s.history);
        assert!(l.w24h.attempts > l.w1h.attempts && l.w1h.attempts > l.w5m.attempts && l.w5m.attempts > 0);
    }

    #[test]
    fn no_attempts_means_no_rate() {
        let s = Stats::default();
        assert_eq!(s.snapshot("none", 0).w5m.rate, None);
    }
}
