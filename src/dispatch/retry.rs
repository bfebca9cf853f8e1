//! The retry schedule: delays between attempts, with jitter, shortened by an answer's `Retry-After`.

use rand::RngExt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    /// Delay before attempt 2, 3, …; once exhausted the delivery is dead.
    pub delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        Self::parse("5s,5m,30m,2h,5h,10h,10h").expect("the default schedule parses")
    }
}

impl RetrySchedule {
    /// Parses `5s,5m,30m,2h` (humantime units; `ms` allowed for tests). An empty string means no retries.
    pub fn parse(text: &str) -> Result<Self, String> {
        let delays = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                humantime::parse_duration(s).map_err(|e| {
                    format!("retry schedule step {s:?} is not a duration ({e}); write steps like 5s,5m,30m,2h")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if delays.len() > 50 {
            return Err(format!("the retry schedule has {} steps; at most 50 are allowed", delays.len()));
        }
        Ok(RetrySchedule { delays })
    }

    /// The delay after the `attempts`-th failed attempt (1-based), ±20% jitter, or `None` when exhausted.
    pub fn next_delay(&self, attempts: u32) -> Option<Duration> {
        let base = *self.delays.get(attempts.checked_sub(1)? as usize)?;
        let factor = rand::rng().random_range(0.8..=1.2);
        Some(base.mul_f64(factor))
    }
}

impl std::fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let steps: Vec<String> = self.delays.iter().map(|d| humantime::format_duration(*d).to_string()).collect();
        f.write_str(&steps.join(","))
    }
}

/// The state a delivery moves to after its `attempts`-th attempt of the series ended with
/// `outcome`, at `now`: the one retry decision. A 410 means the endpoint is gone: no retry (the
/// lane disables the subscription); `Retry-After` on 429/503 replaces the schedule's delay, never
/// its length.
pub fn decide(
    schedule: &RetrySchedule,
    attempts: u32,
    outcome: &super::client::AttemptOutcome,
    now: crate::domain::model::Millis,
) -> (crate::domain::model::DeliveryStatus, Option<crate::domain::model::Millis>) {
    use crate::domain::model::DeliveryStatus;
    if outcome.succeeded() {
        return (DeliveryStatus::Succeeded, None);
    }
    if outcome.status_code == Some(410) {
        return (DeliveryStatus::Dead, None);
    }
    let honoured = match (schedule.next_delay(attempts), outcome.status_code, outcome.retry_after) {
        (Some(_), Some(429 | 503), Some(after)) => Some(after.min(Duration::from_secs(86_400))),
        (scheduled, _, _) => scheduled,
    };
    match honoured {
        Some(delay) => (DeliveryStatus::Retrying, Some(now + delay.as_millis() as i64)),
        None => (DeliveryStatus::Dead, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_has_jittered_steps_then_ends() {
        let s = RetrySchedule::default();
        assert_eq!(s.delays.len(), 7);
        let first = s.next_delay(1).unwrap();
        assert!(first >= Duration::from_secs(4) && first <= Duration::from_secs(6), "{first:?}");
        assert!(s.next_delay(7).unwrap() >= Duration::from_secs(8 * 3600));
        assert_eq!(s.next_delay(8), None);
        assert_eq!(s.next_delay(0), None);
    }

    #[test]
    fn parse_rejects_nonsense_with_a_hint() {
        let err = RetrySchedule::parse("5s,soon").unwrap_err();
        assert!(err.contains("soon") && err.contains("5s,5m"), "{err}");
        assert_eq!(RetrySchedule::parse("100ms, 1s").unwrap().delays.len(), 2);
    }

    fn answered(status: Option<u16>, retry_after: Option<Duration>) -> super::super::client::AttemptOutcome {
        super::super::client::AttemptOutcome {
            started_at: 0,
            duration: Duration::ZERO,
            status_code: status,
            error_kind: status.filter(|s| !(200..300).contains(s)).map(|_| crate::domain::model::ErrorKind::Status),
            error: None,
            response_body: Vec::new(),
            response_truncated: false,
            retry_after,
            request_headers: Default::default(),
        }
    }

    #[test]
    fn one_decision_for_every_outcome() {
        use crate::domain::model::DeliveryStatus::*;
        let s = RetrySchedule::parse("10s,20s").unwrap();
        let now = 1_000_000;
        assert_eq!(decide(&s, 1, &answered(Some(204), None), now), (Succeeded, None));
        assert_eq!(decide(&s, 1, &answered(Some(410), None), now), (Dead, None), "gone: no retry");
        let (status, at) = decide(&s, 1, &answered(Some(500), None), now);
        assert_eq!(status, Retrying);
        assert!((now + 8_000..=now + 12_000).contains(&at.unwrap()), "{at:?}");
        let after = Some(Duration::from_secs(90));
        assert_eq!(decide(&s, 1, &answered(Some(429), after), now), (Retrying, Some(now + 90_000)));
        assert_eq!(decide(&s, 3, &answered(Some(503), after), now), (Dead, None), "Retry-After never lengthens");
        assert_eq!(decide(&s, 3, &answered(Some(500), None), now), (Dead, None));
    }
}
