//! Delivery statistics: success rates over sliding windows and latency percentiles, kept in
//! fixed-size rings so memory and cost do not grow with traffic.

use crate::metrics::{AttemptFacts, EndpointMetrics, Metrics};
use crate::model::Millis;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    key: i64,
    attempts: u64,
    successes: u64,
}

/// A ring of counters keyed by time slot (second or minute); stale slots are reused in place.
#[derive(Debug, Clone)]
struct Ring {
    slot_ms: i64,
    buckets: Vec<Bucket>,
}

impl Ring {
    fn new(slot_ms: i64, slots: usize) -> Self {
        Ring { slot_ms, buckets: vec![Bucket { key: -1, ..Default::default() }; slots] }
    }

    fn add(&mut self, at: Millis, attempts: u64, successes: u64) {
        let key = at.div_euclid(self.slot_ms);
        let len = self.buckets.len() as i64;
        let b = &mut self.buckets[key.rem_euclid(len) as usize];
        if b.key != key {
            *b = Bucket { key, attempts: 0, successes: 0 };
        }
        b.attempts += attempts;
        b.successes += successes;
    }

    /// Totals over the last `slots` slots up to and including the one holding `now`.
    fn sum(&self, now: Millis, slots: i64) -> (u64, u64) {
        let current = now.div_euclid(self.slot_ms);
        self.buckets
            .iter()
            .filter(|b| b.key > current - slots && b.key <= current)
            .fold((0, 0), |(a, s), b| (a + b.attempts, s + b.successes))
    }

    /// Per-slot (attempts, successes) for the last `slots` slots, oldest first.
    fn series(&self, now: Millis, slots: i64) -> Vec<(u64, u64)> {
        let current = now.div_euclid(self.slot_ms);
        let len = self.buckets.len() as i64;
        (current - slots + 1..=current)
            .map(|key| {
                let b = &self.buckets[key.rem_euclid(len) as usize];
                if b.key == key { (b.attempts, b.successes) } else { (0, 0) }
            })
            .collect()
    }
}

const LATENCY_MINUTES: usize = 5;

struct EndpointStats {
    seconds: Ring,
    minutes: Ring,
    /// One histogram per minute for the last few minutes: (minute, histogram).
    latency: Vec<(i64, Histogram<u64>)>,
    total_attempts: u64,
    total_successes: u64,
    last_error: Option<(Millis, String)>,
    last_success_at: Option<Millis>,
    metrics: EndpointMetrics,
}

impl EndpointStats {
    fn new(metrics: EndpointMetrics) -> Self {
        EndpointStats {
            metrics,
            seconds: Ring::new(1000, 120),
            minutes: Ring::new(60_000, 1440),
            latency: Vec::new(),
            total_attempts: 0,
            total_successes: 0,
            last_error: None,
            last_success_at: None,
        }
    }
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
pub struct Latency {
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
    pub max_ms: Option<u64>,
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
    ingest: Mutex<(Ring, u64)>,
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
    pub fn record_ingest(&self, at: Millis) {
        self.metrics.record_ingest();
        if let Ok(mut g) = self.ingest.lock() {
            g.0.add(at, 1, 1);
            g.1 += 1;
        }
    }

    /// Events per second over the last `seconds` full seconds, and the total since start.
    pub fn ingest_rate(&self, now: Millis, seconds: i64) -> (f64, u64) {
        let Ok(g) = self.ingest.lock() else { return (0.0, 0) };
        // Leave out the current, partial second so the rate does not dip at each second's start.
        let (count, _) = g.0.sum(now - 1000, seconds);
        (count as f64 / seconds as f64, g.1)
    }

    /// One attempt that started `at`; `error` is what the operator reads of a failure.
    pub fn record_attempt(&self, subscription_id: &str, at: Millis, facts: &AttemptFacts, error: Option<&str>) {
        let (success, latency_ms) = (facts.success, facts.latency_ms);
        let Ok(mut map) = self.endpoints.lock() else { return };
        let e = endpoint(&mut map, subscription_id, &self.metrics);
        e.metrics.record(facts);
        let ok = u64::from(success);
        e.seconds.add(at, 1, ok);
        e.minutes.add(at, 1, ok);
        e.total_attempts += 1;
        e.total_successes += ok;
        if let Some(err) = error {
            e.last_error = Some((at, err.to_string()));
        }
        if success {
            e.last_success_at = Some(e.last_success_at.map_or(at, |t| t.max(at)));
        }
        let minute = at.div_euclid(60_000);
        if e.latency.last().is_none_or(|(m, _)| *m != minute) {
            if e.latency.len() >= LATENCY_MINUTES {
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

    /// Seeds the minute windows from stored attempts after a restart.
    pub fn seed(&self, subscription_id: &str, minute: i64, attempts: u64, successes: u64) {
        if let Ok(mut map) = self.endpoints.lock() {
            let e = endpoint(&mut map, subscription_id, &self.metrics);
            e.minutes.add(minute * 60_000, attempts, successes);
        }
    }

    pub fn forget(&self, subscription_id: &str) {
        self.metrics.forget(subscription_id);
        if let Ok(mut map) = self.endpoints.lock() {
            map.remove(subscription_id);
        }
    }

    pub fn snapshot(&self, subscription_id: &str, now: Millis) -> EndpointSnapshot {
        let Ok(map) = self.endpoints.lock() else { return EndpointSnapshot::default() };
        let Some(e) = map.get(subscription_id) else { return EndpointSnapshot::default() };
        let current_minute = now.div_euclid(60_000);
        let mut merged: Option<Histogram<u64>> = None;
        for (_, h) in e.latency.iter().filter(|(m, _)| *m > current_minute - LATENCY_MINUTES as i64) {
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
        let history = e
            .seconds
            .series(now, 120)
            .chunks(10)
            .map(|c| {
                let (a, s) = c.iter().fold((0, 0), |(a, s), (x, y)| (a + x, s + y));
                Window::of((a, s)).rate
            })
            .collect();
        EndpointSnapshot {
            w1m: Window::of(e.seconds.sum(now, 60)),
            w5m: Window::of(e.minutes.sum(now, 5)),
            w1h: Window::of(e.minutes.sum(now, 60)),
            w24h: Window::of(e.minutes.sum(now, 1440)),
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
            error_kind: (!success).then_some(crate::model::ErrorKind::Status),
            latency_ms,
            status: crate::model::DeliveryStatus::Retrying,
        };
        s.record_attempt("a", now - 2 * 3_600_000, &attempt(false, 5), Some("HTTP 500"));
        s.record_attempt("a", now - 120_000, &attempt(true, 10), None);
        s.record_attempt("a", now - 1_000, &attempt(true, 20), None);
        s.record_attempt("a", now, &attempt(false, 30), Some("timeout"));
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
    }

    #[test]
    fn no_attempts_means_no_rate() {
        let s = Stats::default();
        assert_eq!(s.snapshot("none", 0).w5m.rate, None);
    }
}
