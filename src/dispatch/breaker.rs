//! Per-endpoint circuit breaker: after enough consecutive failures the endpoint gets a rest;
//! deliveries wait without spending retries, and one probe tests it after a cooldown.

pub use crate::domain::model::BreakerState;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub first_cooldown: Duration,
    pub max_cooldown: Duration,
}

#[cfg(test)]
impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 10,
            first_cooldown: Duration::from_secs(30),
            max_cooldown: Duration::from_secs(600),
        }
    }
}

/// What the breaker says after an outcome is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    Opened,
    Closed,
}

#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: BreakerState,
    consecutive_failures: u32,
    cooldown: Duration,
    open_until: Option<Instant>,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        let cooldown = config.first_cooldown;
        Breaker { config, state: BreakerState::Closed, consecutive_failures: 0, cooldown, open_until: None }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// When an open breaker will let a probe through.
    pub fn open_until(&self) -> Option<Instant> {
        (self.state == BreakerState::Open).then_some(self.open_until).flatten()
    }

    /// Whether an attempt may start now; moving to half-open admits exactly one probe.
    pub fn try_admit(&mut self, now: Instant) -> bool {
        match self.state {
            BreakerState::Closed => true,
            BreakerState::HalfOpen => false,
            BreakerState::Open => {
                if self.open_until.is_some_and(|t| now >= t) {
                    self.state = BreakerState::HalfOpen;
                    true
                } else {
                    false
                }
            }
        }
    }

    pub fn record(&mut self, success: bool, now: Instant) -> Transition {
        if success {
            self.consecutive_failures = 0;
            self.cooldown = self.config.first_cooldown;
            let was_open = self.state != BreakerState::Closed;
            self.state = BreakerState::Closed;
            self.open_until = None;
            return if was_open { Transition::Closed } else { Transition::None };
        }
        self.consecutive_failures += 1;
        match self.state {
            BreakerState::HalfOpen => {
                // The probe failed: rest longer before the next one.
                self.cooldown = (self.cooldown * 2).min(self.config.max_cooldown);
                self.state = BreakerState::Open;
                self.open_until = Some(now + self.cooldown);
                Transition::None
            }
            BreakerState::Closed if self.consecutive_failures >= self.config.failure_threshold => {
                self.state = BreakerState::Open;
                self.open_until = Some(now + self.cooldown);
                Transition::Opened
            }
            _ => Transition::None,
        }
    }

    /// An operator asked for a probe now: an open breaker's cooldown ends at `now`, so the next
    /// held delivery goes out as the probe. False when the breaker is not open.
    pub fn probe_now(&mut self, now: Instant) -> bool {
        if self.state != BreakerState::Open {
            return false;
        }
        self.open_until = Some(now);
        true
    }

    /// The probe ended without an answer (another node took its delivery over, or its attempt
    /// broke off inside hookwatch): open again with the cooldown over, so that the next delivery
    /// is the probe. Left half-open, the breaker would admit nothing ever again.
    pub fn probe_lost(&mut self, now: Instant) {
        if self.state == BreakerState::HalfOpen {
            self.state = BreakerState::Open;
            self.open_until = Some(now);
        }
    }

    /// An operator's resume closes the breaker: they asked for traffic now.
    pub fn reset(&mut self) {
        *self = Breaker::new(self.config.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_probes_after_cooldown_and_doubles() {
        let mut b = Breaker::new(BreakerConfig::default());
        let t0 = Instant::now();
        for _ in 0..9 {
            assert_eq!(b.record(false, t0), Transition::None);
        }
        assert_eq!(b.record(false, t0), Transition::Opened);
        assert!(!b.try_admit(t0 + Duration::from_secs(29)));
        assert!(b.try_admit(t0 + Duration::from_secs(30)));
        assert!(!b.try_admit(t0 + Duration::from_secs(30)), "only one probe");
        let t1 = t0 + Duration::from_secs(31);
        b.record(false, t1);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.try_admit(t1 + Duration::from_secs(59)));
        assert!(b.try_admit(t1 + Duration::from_secs(60)));
        assert_eq!(b.record(true, t1), Transition::Closed);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn a_probe_without_an_answer_leaves_the_next_delivery_to_probe() {
        let mut b = Breaker::new(BreakerConfig { failure_threshold: 1, ..BreakerConfig::default() });
        let t = Instant::now();
        b.record(false, t);
        let later = t + b.config.first_cooldown;
        assert!(b.try_admit(later) && b.state() == BreakerState::HalfOpen);
        assert!(!b.try_admit(later), "one probe at a time");
        b.probe_lost(later);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.try_admit(later), "the next delivery is the probe, at once");
        b.record(true, later);
        b.probe_lost(later);
        assert_eq!(b.state(), BreakerState::Closed, "a closed breaker is left as it is");
    }

    #[test]
    fn a_probe_asked_for_ends_the_cooldown_of_an_open_breaker_only() {
        let mut b = Breaker::new(BreakerConfig { failure_threshold: 1, ..BreakerConfig::default() });
        let t0 = Instant::now();
        assert!(!b.probe_now(t0), "a closed breaker has nothing to probe");
        b.record(false, t0);
        assert!(!b.try_admit(t0 + Duration::from_secs(1)), "cooling down");
        assert!(b.probe_now(t0 + Duration::from_secs(1)));
        assert!(b.try_admit(t0 + Duration::from_secs(1)), "the probe goes at once");
        assert!(!b.probe_now(t0 + Duration::from_secs(1)), "one probe at a time");
    }
}
