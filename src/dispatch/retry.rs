//! The one retry decision: the schedule's next delay, shortened by an answer's `Retry-After`.

use crate::domain::schedule::RetrySchedule;
use std::time::Duration;

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
        Some(delay) => (DeliveryStatus::Retrying, Some(now + crate::domain::model::millis(delay))),
        None => (DeliveryStatus::Dead, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
