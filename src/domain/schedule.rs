//! The retry schedule: the delays between a delivery's attempts, with jitter. A plain value the
//! configuration reads and the dispatcher follows.

use rand::RngExt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    /// Delay before attempt 2, 3, …; once exhausted the delivery is dead.
    pub delays: Vec<Duration>,
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

impl std::str::FromStr for RetrySchedule {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

impl std::fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let steps: Vec<String> = self.delays.iter().map(|d| humantime::format_duration(*d).to_string()).collect();
        f.write_str(&steps.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_has_jittered_steps_then_ends() {
        let s = RetrySchedule::parse("5s,5m,30m,2h,5h,10h,10h").unwrap();
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
}
