//! An endpoint's health as its lane judges it, a pure function of the attempts it saw and of the
//! `now` it is given: the breaker, the failure streak, the alerts that streak raises and when it
//! disables the subscription. The lane acts on the findings; nothing here reads a clock.

use super::breaker::{Breaker, BreakerConfig, Transition};
use crate::model::Millis;
use std::time::{Duration, Instant};

/// Consecutive failures after which an "endpoint failing" alert is raised.
pub(super) const FAILING_ALERT_AFTER: u32 = 3;

/// What an attempt's end tells about its endpoint, as the health needs it.
pub(super) struct Ended<'a> {
    pub success: bool,
    pub status_code: Option<u16>,
    pub started_at: Millis,
    pub error: Option<&'a str>,
}

/// What the lane must do after an attempt, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Finding {
    /// The breaker opened after this many consecutive failures.
    BreakerOpened { failures: u32 },
    /// The streak reached `FAILING_ALERT_AFTER`; the last error.
    Failing { last_error: String },
    /// A success after a failing alert.
    Recovered,
    /// Give up on the endpoint: the reason.
    Disable(String),
}

pub(super) struct Health {
    pub(super) breaker: Breaker,
    consecutive_failures: u32,
    failing_since: Option<Millis>,
    alerted_failing: bool,
    /// How long every attempt may fail before the subscription is disabled.
    disable_after: Duration,
}

impl Health {
    pub(super) fn new(breaker: BreakerConfig, disable_after: Duration) -> Health {
        Health {
            breaker: Breaker::new(breaker),
            consecutive_failures: 0,
            failing_since: None,
            alerted_failing: false,
            disable_after,
        }
    }

    /// An operator asked for traffic: the endpoint starts from a clean slate.
    pub(super) fn reset(&mut self) {
        self.breaker.reset();
        self.consecutive_failures = 0;
        self.failing_since = None;
    }

    /// Judges an attempt that ended at `now` (wall clock) / `at` (the breaker's clock).
    pub(super) fn attempt_ended(&mut self, ended: &Ended<'_>, now: Millis, at: Instant) -> Vec<Finding> {
        let mut findings = Vec::new();
        let transition = self.breaker.record(ended.success, at);
        if ended.success {
            self.consecutive_failures = 0;
            self.failing_since = None;
            if std::mem::take(&mut self.alerted_failing) {
                findings.push(Finding::Recovered);
            }
            return findings;
        }
        self.consecutive_failures += 1;
        if transition == Transition::Opened {
            findings.push(Finding::BreakerOpened { failures: self.consecutive_failures });
        }
        let since = *self.failing_since.get_or_insert(ended.started_at);
        if self.consecutive_failures == FAILING_ALERT_AFTER {
            self.alerted_failing = true;
            findings.push(Finding::Failing { last_error: ended.error.unwrap_or_default().to_string() });
        }
        if ended.status_code == Some(410) {
            findings.push(Finding::Disable("the endpoint answered 410 Gone".into()));
        } else if now - since >= self.disable_after.as_millis() as i64 {
            let days = self.disable_after.as_secs_f64() / 86_400.0;
            findings.push(Finding::Disable(format!("every attempt has failed for {days:.1} days")));
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 86_400_000;

    fn health() -> Health {
        let breaker = BreakerConfig {
            failure_threshold: 5,
            first_cooldown: Duration::from_secs(30),
            max_cooldown: Duration::from_secs(600),
        };
        Health::new(breaker, Duration::from_secs(5 * 86_400))
    }

    fn failed(at: Millis, code: Option<u16>) -> Ended<'static> {
        Ended { success: false, status_code: code, started_at: at, error: Some("HTTP 500") }
    }

    fn succeeded(at: Millis) -> Ended<'static> {
        Ended { success: true, status_code: Some(200), started_at: at, error: None }
    }

    #[test]
    fn a_streak_alerts_at_three_opens_the_breaker_at_its_threshold_and_recovers_once() {
        let (mut h, at) = (health(), Instant::now());
        let mut seen = Vec::new();
        for i in 0..5 {
            seen.push(h.attempt_ended(&failed(i * 1000, Some(500)), i * 1000 + 10, at));
        }
        assert_eq!(seen[0..2], [vec![], vec![]]);
        assert_eq!(seen[2], [Finding::Failing { last_error: "HTTP 500".into() }]);
        assert_eq!(seen[3], []);
        assert_eq!(seen[4], [Finding::BreakerOpened { failures: 5 }]);
        assert!(!h.breaker.try_admit(at + Duration::from_secs(29)), "the breaker rests the endpoint");
        assert!(h.breaker.try_admit(at + Duration::from_secs(30)), "then lets one probe through");
        assert_eq!(h.attempt_ended(&succeeded(40_000), 40_010, at), [Finding::Recovered]);
        assert_eq!(h.attempt_ended(&succeeded(41_000), 41_010, at), [], "recovered is said once");
    }

    #[test]
    fn an_endpoint_failing_for_the_whole_window_is_disabled_and_a_success_restarts_the_clock() {
        let (mut h, at) = (health(), Instant::now());
        assert_eq!(h.attempt_ended(&failed(0, None), 10, at), []);
        let just_before = h.attempt_ended(&failed(5 * DAY - 20, None), 5 * DAY - 1, at);
        assert!(!just_before.iter().any(|f| matches!(f, Finding::Disable(_))), "{just_before:?}");
        let at_the_limit = h.attempt_ended(&failed(5 * DAY, None), 5 * DAY, at);
        assert!(at_the_limit.contains(&Finding::Disable("every attempt has failed for 5.0 days".into())));

        let mut h = health();
        h.attempt_ended(&failed(0, None), 10, at);
        h.attempt_ended(&succeeded(DAY), DAY, at);
        let later = h.attempt_ended(&failed(5 * DAY, None), 5 * DAY, at);
        assert!(!later.iter().any(|f| matches!(f, Finding::Disable(_))), "the streak began at the last failure");
    }

    #[test]
    fn a_410_disables_at_once_and_a_reset_forgets_the_streak() {
        let (mut h, at) = (health(), Instant::now());
        assert_eq!(
            h.attempt_ended(&failed(0, Some(410)), 5, at),
            [Finding::Disable("the endpoint answered 410 Gone".into())]
        );
        for i in 0..4 {
            h.attempt_ended(&failed(i, Some(500)), i, at);
        }
        h.reset();
        assert_eq!(h.breaker.state(), super::super::breaker::BreakerState::Closed);
        let after = h.attempt_ended(&failed(10, Some(500)), 10, at);
        assert_eq!(after, [], "a reset streak starts from one");
    }
}
