//! An endpoint's health as its lane judges it, a pure function of the attempts it saw and of the
//! `now` it is given: the breaker, the failure streak, the alerts they raise and when it disables
//! the subscription. The lane acts on the findings; nothing here reads a clock.
//!
//! Alerts have hysteresis, so an endpoint failing half its requests raises a handful of alerts,
//! not a pair per flip: three failures in a row open a *failing spell* (one `failing` alert, or
//! `breaker_open` if the breaker opened first); the spell ends with one `recovered` alert only
//! after a streak of successes and a quiet time without failures; a spell whose failures keep
//! coming back between successes, or one that starts soon after the last recovery, is *flapping*
//! (one `flapping` alert with its counts) and must stay quiet longer to recover. A spell raises
//! `breaker_open` once, however often its breaker reopens.

use super::breaker::{Breaker, BreakerConfig, Transition};
use crate::domain::model::{Millis, millis, span};
use std::time::{Duration, Instant};

/// Consecutive failures after which an "endpoint failing" alert is raised.
pub(super) const FAILING_ALERT_AFTER: u32 = 3;
/// Successes in a row a failing endpoint needs before it can be said to have recovered.
pub(super) const RECOVERED_AFTER_SUCCESSES: u32 = 5;
/// How long a failing endpoint must go without a failure to have recovered: a few successes
/// between failures are not a recovery.
pub(super) const QUIET_TO_RECOVER: Millis = 30_000;
/// The same for a flapping endpoint, whose quiet spells are known to end.
pub(super) const QUIET_TO_RECOVER_FLAPPING: Millis = 300_000;
/// A spell that starts this soon after the last recovery is the same trouble coming back.
pub(super) const FLAP_WINDOW: Millis = 600_000;
/// Failures that came back after a success, within one spell, before it counts as flapping (when
/// at least a quarter of its attempts succeeded: mostly failing is failing, not flapping).
const FLAPPING_AFTER_RELAPSES: u32 = 3;

/// What an attempt's end tells about its endpoint, as the health needs it.
pub(super) struct Ended<'a> {
    pub success: bool,
    pub status_code: Option<u16>,
    pub started_at: Millis,
    pub error: Option<&'a str>,
}

/// A failing spell's counts, as an alert reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tally {
    /// When the spell began (the first failure of the streak that opened it).
    pub since: Millis,
    pub attempts: u64,
    pub failures: u64,
    /// For a spell that began flapping: how long after the last recovery it began.
    pub after_recovery: Option<Millis>,
}

impl Tally {
    /// "31 of 64 attempts failed over 42s", as of `now`.
    pub(super) fn describe(&self, now: Millis) -> String {
        let over = Duration::from_secs(span(now - self.since).as_secs());
        let attempts = if self.attempts == 1 { "attempt" } else { "attempts" };
        format!("{} of {} {attempts} failed over {}", self.failures, self.attempts, humantime::format_duration(over))
    }
}

/// What the lane must do after an attempt, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Finding {
    /// The breaker opened after this many consecutive failures (said once per spell).
    BreakerOpened { failures: u32 },
    /// The streak reached `FAILING_ALERT_AFTER`; the last error.
    Failing { last_error: String },
    /// The spell alternates between failures and successes, or came back soon after a recovery.
    Flapping(Tally),
    /// The spell ended: successes held for long enough.
    Recovered(Tally),
    /// Give up on the endpoint: the reason.
    Disable(String),
}

/// From the alert that opened it until the endpoint recovered.
#[derive(Debug)]
struct Spell {
    tally: Tally,
    /// Failures that followed a success within the spell.
    relapses: u32,
    successes_in_row: u32,
    last_failure_at: Millis,
    flapping: bool,
    breaker_alerted: bool,
}

impl Spell {
    fn quiet_needed(&self) -> Millis {
        if self.flapping { QUIET_TO_RECOVER_FLAPPING } else { QUIET_TO_RECOVER }
    }

    fn looks_flapping(&self) -> bool {
        let Tally { attempts, failures, .. } = self.tally;
        self.relapses >= FLAPPING_AFTER_RELAPSES && (attempts - failures) * 4 >= attempts
    }
}

pub(super) struct Health {
    pub(super) breaker: Breaker,
    consecutive_failures: u32,
    failing_since: Option<Millis>,
    spell: Option<Spell>,
    last_recovery: Option<Millis>,
    /// Since when (wall clock) the breaker has held deliveries, through failed probes.
    breaker_since: Option<Millis>,
    /// How long every attempt may fail before the subscription is disabled.
    disable_after: Duration,
}

impl Health {
    pub(super) fn new(breaker: BreakerConfig, disable_after: Duration) -> Health {
        Health {
            breaker: Breaker::new(breaker),
            consecutive_failures: 0,
            failing_since: None,
            spell: None,
            last_recovery: None,
            breaker_since: None,
            disable_after,
        }
    }

    /// An operator asked for traffic: the breaker and the streak start from a clean slate. A
    /// spell stays open: only successes end it, so its alerts are not raised twice.
    pub(super) fn reset(&mut self) {
        self.breaker.reset();
        self.breaker_since = None;
        self.consecutive_failures = 0;
        self.failing_since = None;
    }

    /// Since when the breaker has held this endpoint's deliveries (wall clock), if it does.
    pub(super) fn breaker_since(&self) -> Option<Millis> {
        self.breaker_since
    }

    /// Judges an attempt that ended at `now` (wall clock) / `at` (the breaker's clock).
    pub(super) fn attempt_ended(&mut self, ended: &Ended<'_>, now: Millis, at: Instant) -> Vec<Finding> {
        let transition = self.breaker.record(ended.success, at);
        if ended.success {
            self.consecutive_failures = 0;
            self.failing_since = None;
            self.breaker_since = None;
            return self.succeeded(now).into_iter().collect();
        }
        self.consecutive_failures += 1;
        let since = *self.failing_since.get_or_insert(ended.started_at);
        let mut findings = Vec::new();
        if transition == Transition::Opened {
            self.breaker_since = Some(now);
        }
        self.failed(ended, transition == Transition::Opened, now, &mut findings);
        if ended.status_code == Some(410) {
            findings.push(Finding::Disable("the endpoint answered 410 Gone".into()));
        } else if now - since >= millis(self.disable_after) {
            let days = self.disable_after.as_secs_f64() / 86_400.0;
            findings.push(Finding::Disable(format!("every attempt has failed for {days:.1} days")));
        }
        findings
    }

    fn succeeded(&mut self, now: Millis) -> Option<Finding> {
        let spell = self.spell.as_mut()?;
        spell.tally.attempts += 1;
        spell.successes_in_row += 1;
        let held =
            spell.successes_in_row >= RECOVERED_AFTER_SUCCESSES && now - spell.last_failure_at >= spell.quiet_needed();
        if !held {
            return None;
        }
        let tally = spell.tally;
        self.spell = None;
        self.last_recovery = Some(now);
        Some(Finding::Recovered(tally))
    }

    fn failed(&mut self, ended: &Ended<'_>, opened: bool, now: Millis, findings: &mut Vec<Finding>) {
        if let Some(spell) = &mut self.spell {
            spell.tally.attempts += 1;
            spell.tally.failures += 1;
            spell.relapses += u32::from(spell.successes_in_row > 0);
            spell.successes_in_row = 0;
            spell.last_failure_at = now;
            if opened && !std::mem::replace(&mut spell.breaker_alerted, true) {
                findings.push(Finding::BreakerOpened { failures: self.consecutive_failures });
            }
            if !spell.flapping && spell.looks_flapping() {
                spell.flapping = true;
                findings.push(Finding::Flapping(spell.tally));
            }
            return;
        }
        if !opened && self.consecutive_failures < FAILING_ALERT_AFTER {
            return;
        }
        let after_recovery = self.last_recovery.map(|t| now - t).filter(|gap| *gap < FLAP_WINDOW);
        let failures = u64::from(self.consecutive_failures);
        let tally = Tally {
            since: self.failing_since.unwrap_or(ended.started_at),
            attempts: failures,
            failures,
            after_recovery,
        };
        if opened {
            findings.push(Finding::BreakerOpened { failures: self.consecutive_failures });
        }
        match after_recovery {
            Some(_) => findings.push(Finding::Flapping(tally)),
            None if !opened => {
                findings.push(Finding::Failing { last_error: ended.error.unwrap_or_default().to_string() })
            }
            None => {}
        }
        self.spell = Some(Spell {
            tally,
            relapses: 0,
            successes_in_row: 0,
            last_failure_at: now,
            flapping: after_recovery.is_some(),
            breaker_alerted: opened,
        });
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

    /// Attempts every `every` ms from `from` for `until` ms, as a lane makes them: none while
    /// the breaker rests the endpoint. `fails(i)` says whether the i-th attempt fails. Returns
    /// every finding, and the time after the last attempt.
    fn run(
        h: &mut Health,
        t0: Instant,
        from: Millis,
        until: Millis,
        every: Millis,
        fails: impl Fn(u64) -> bool,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        let (mut now, mut i) = (from, 0);
        while now < from + until {
            let at = t0 + span(now);
            if h.breaker.try_admit(at) {
                let ended = if fails(i) { failed(now, Some(500)) } else { succeeded(now) };
                findings.extend(h.attempt_ended(&ended, now + 5, at));
                i += 1;
            }
            now += every;
        }
        findings
    }

    #[test]
    fn a_streak_alerts_at_three_opens_the_breaker_once_and_recovers_only_after_a_quiet_streak() {
        let (mut h, at) = (health(), Instant::now());
        let mut seen = Vec::new();
        for i in 0..5 {
            seen.push(h.attempt_ended(&failed(i * 1000, Some(500)), i * 1000 + 10, at));
        }
        assert_eq!(seen[0..2], [vec![], vec![]]);
        assert_eq!(seen[2], [Finding::Failing { last_error: "HTTP 500".into() }]);
        assert_eq!(seen[3], []);
        assert_eq!(seen[4], [Finding::BreakerOpened { failures: 5 }]);
        assert_eq!(h.breaker_since(), Some(4010));
        assert!(!h.breaker.try_admit(at + Duration::from_secs(29)), "the breaker rests the endpoint");
        assert!(h.breaker.try_admit(at + Duration::from_secs(30)), "then lets one probe through");
        assert_eq!(h.attempt_ended(&failed(30_000, Some(500)), 30_010, at), [], "a failed probe reopens silently");
        assert!(h.breaker.try_admit(at + Duration::from_secs(90)));
        let later = (0..RECOVERED_AFTER_SUCCESSES as i64).map(|i| 90_000 + i * 1000);
        let findings: Vec<_> = later.map(|t| h.attempt_ended(&succeeded(t), t + 10, at)).collect();
        assert_eq!(h.breaker_since(), None, "the probe's success closed the breaker");
        assert!(findings[..4].iter().all(Vec::is_empty), "{findings:?}");
        let tally = Tally { since: 0, attempts: 11, failures: 6, after_recovery: None };
        assert_eq!(findings[4], [Finding::Recovered(tally)]);
        assert_eq!(h.attempt_ended(&succeeded(99_000), 99_010, at), [], "recovered is said once");
    }

    #[test]
    fn successes_between_failures_are_not_a_recovery() {
        let (mut h, at) = (health(), Instant::now());
        for i in 0..3 {
            h.attempt_ended(&failed(i, Some(500)), i, at);
        }
        for i in 0..RECOVERED_AFTER_SUCCESSES as i64 {
            let t = 1000 + i * 1000;
            assert_eq!(h.attempt_ended(&succeeded(t), t, at), [], "{}s after the last failure", t / 1000);
        }
        let t = 2 + QUIET_TO_RECOVER;
        assert!(matches!(h.attempt_ended(&succeeded(t), t, at)[..], [Finding::Recovered(_)]));
    }

    #[test]
    fn an_endpoint_failing_half_its_requests_for_a_minute_raises_at_most_four_alerts() {
        let breaker = BreakerConfig::default();
        for seed in 1..=20u64 {
            let mut h = Health::new(breaker.clone(), Duration::from_secs(5 * 86_400));
            // A fixed pseudo-random half of the attempts fail (splitmix64's bits), 20 a second for 60 s.
            let fails = |i: u64| {
                let mut z = (i + (seed << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)) & 1 == 1
            };
            let findings = run(&mut h, Instant::now(), 0, 60_000, 50, fails);
            assert!((2..=4).contains(&findings.len()), "seed {seed}: {findings:?}");
            assert!(matches!(findings[0], Finding::Failing { .. } | Finding::BreakerOpened { .. }), "{findings:?}");
            let flapping: Vec<_> = findings.iter().filter(|f| matches!(f, Finding::Flapping(_))).collect();
            assert_eq!(flapping.len(), 1, "seed {seed}: {findings:?}");
            assert!(!findings.iter().any(|f| matches!(f, Finding::Recovered(_))), "seed {seed}: {findings:?}");
        }
    }

    #[test]
    fn trouble_that_returns_soon_after_a_recovery_is_flapping_and_must_stay_quiet_longer() {
        let (mut h, t0) = (health(), Instant::now());
        let down = run(&mut h, t0, 0, 20_000, 1000, |_| true);
        assert!(matches!(down[..], [Finding::Failing { .. }, Finding::BreakerOpened { .. }]), "{down:?}");
        let up = run(&mut h, t0, 40_000, 60_000, 1000, |_| false);
        assert!(matches!(up[..], [Finding::Recovered(_)]), "{up:?}");
        let again = run(&mut h, t0, 100_000, 20_000, 1000, |_| true);
        let [Finding::Flapping(tally), Finding::BreakerOpened { .. }] = again[..] else { panic!("{again:?}") };
        assert!(tally.after_recovery.is_some_and(|gap| gap < 60_000), "{tally:?}");
        let up = run(&mut h, t0, 140_000, 120_000, 1000, |_| false);
        assert_eq!(up, [], "a flapping endpoint is not recovered after two quiet minutes");
        let up = run(&mut h, t0, 260_000, 300_000, 1000, |_| false);
        assert!(matches!(up[..], [Finding::Recovered(_)]), "{up:?}");
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
    fn a_410_disables_at_once_and_a_reset_forgets_the_streak_but_not_the_spell() {
        let (mut h, at) = (health(), Instant::now());
        assert_eq!(
            h.attempt_ended(&failed(0, Some(410)), 5, at),
            [Finding::Disable("the endpoint answered 410 Gone".into())]
        );
        for i in 1..5 {
            h.attempt_ended(&failed(i, Some(500)), i, at);
        }
        h.reset();
        assert_eq!(h.breaker.state(), super::super::breaker::BreakerState::Closed);
        for i in 10..14 {
            let after = h.attempt_ended(&failed(i, Some(500)), i, at);
            assert_eq!(after, [], "the spell is still open: its failing alert is not raised again");
        }
    }
}
