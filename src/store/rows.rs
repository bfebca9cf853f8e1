//! What both stores read back, written once: the column lists and the row mappers. A mapper reads
//! a row of either database through `Cells`, by the position its column list gives.

use super::{AttemptCount, EventToSend, KeyHolder, PendingDelivery, StoredAnswer};
use crate::domain::error::{Error, Result};
use crate::domain::model::{
    Attempt, AttemptNotice, DeliveryStatus, DeliverySummary, ErrorKind, EventDetail, EventSummary,
};

/// A result row of either database, read by column position.
pub(super) trait Cells {
    fn text(&self, i: usize) -> Result<Option<String>>;
    /// An integer column of any width (PostgreSQL's INTEGER and BIGINT, SQLite's INTEGER).
    fn int(&self, i: usize) -> Result<Option<i64>>;
    fn bytes(&self, i: usize) -> Result<Vec<u8>>;
    fn flag(&self, i: usize) -> Result<bool>;

    fn required_text(&self, i: usize) -> Result<String> {
        self.text(i)?.ok_or_else(|| Error::Storage(format!("column {i} is unexpectedly NULL")))
    }

    fn required_int(&self, i: usize) -> Result<i64> {
        self.int(i)?.ok_or_else(|| Error::Storage(format!("column {i} is unexpectedly NULL")))
    }

    /// A count or a duration (never negative), as its field's unsigned type.
    fn required_count<T: TryFrom<i64>>(&self, i: usize) -> Result<T> {
        count(i, self.required_int(i)?)
    }
}

impl Cells for rusqlite::Row<'_> {
    fn text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }

    fn int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }

    fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        Ok(self.get(i)?)
    }

    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.get(i)?)
    }
}

impl Cells for tokio_postgres::Row {
    fn text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }

    fn int(&self, i: usize) -> Result<Option<i64>> {
        let narrow = self.columns().get(i).is_some_and(|c| *c.type_() == tokio_postgres::types::Type::INT4);
        if narrow { Ok(self.try_get::<_, Option<i32>>(i)?.map(i64::from)) } else { Ok(self.try_get(i)?) }
    }

    fn bytes(&self, i: usize) -> Result<Vec<u8>> {
        Ok(self.try_get(i)?)
    }

    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.try_get(i)?)
    }
}

/// Column `i`'s count as `T`: a value that is negative or does not fit is a fault of the database.
fn count<T: TryFrom<i64>>(i: usize, value: i64) -> Result<T> {
    T::try_from(value).map_err(|_| Error::Storage(format!("column {i} holds {value}, which is no count")))
}

fn status(cells: &impl Cells, i: usize) -> Result<DeliveryStatus> {
    let s = cells.required_text(i)?;
    DeliveryStatus::parse(&s).ok_or_else(|| Error::Storage(format!("unknown delivery status {s:?} in the database")))
}

fn error_kind(cells: &impl Cells, i: usize) -> Result<Option<ErrorKind>> {
    Ok(cells.text(i)?.as_deref().and_then(ErrorKind::parse))
}

fn status_code(cells: &impl Cells, i: usize) -> Result<Option<u16>> {
    Ok(cells.int(i)?.and_then(|c| u16::try_from(c).ok()))
}

/// A row kept as JSON text (a subscription, a replay), read back; `what` names it for the error.
pub(super) fn stored<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T> {
    serde_json::from_str(body).map_err(|e| Error::Storage(format!("a stored {what} is unreadable: {e}")))
}

/// Columns `event_summary` reads, from `events e`.
pub(super) const EVENT_COLUMNS: &str = "e.id, e.action, e.received_at, e.card_id, e.pipe_id, e.card_title";
/// How many they are: a column selected after them is at this index.
pub(super) const EVENT_COLUMNS_LEN: usize = 6;

/// An event's row, without its deliveries (each store adds them).
pub(super) fn event_summary(r: &impl Cells) -> Result<EventSummary> {
    Ok(EventSummary {
        id: r.required_text(0)?.into(),
        action: r.required_text(1)?,
        received_at: r.required_int(2)?,
        card_id: r.text(3)?,
        pipe_id: r.text(4)?,
        card_title: r.text(5)?,
        deliveries: Vec::new(),
    })
}

/// Columns `event_detail` reads, from `events e`.
pub(super) const EVENT_DETAIL_COLUMNS: &str =
    "e.id, e.action, e.received_at, e.card_id, e.pipe_id, e.card_title, e.body";

pub(super) fn event_detail(r: &impl Cells) -> Result<EventDetail> {
    let summary = event_summary(r)?;
    Ok(EventDetail {
        id: summary.id,
        action: summary.action,
        received_at: summary.received_at,
        card_id: summary.card_id,
        card_title: summary.card_title,
        pipe_id: summary.pipe_id,
        body: String::from_utf8_lossy(&r.bytes(EVENT_COLUMNS_LEN)?).into_owned(),
        deliveries: Vec::new(),
    })
}

/// Columns `delivery_summary` reads, from a deliveries table or view.
pub(super) const DELIVERY_COLUMNS: &str =
    "id, subscription_id, status, attempts, last_status_code, last_error, next_attempt_at";

pub(super) fn delivery_summary(r: &impl Cells) -> Result<DeliverySummary> {
    Ok(DeliverySummary {
        id: r.required_text(0)?.into(),
        subscription_id: r.required_text(1)?.into(),
        status: status(r, 2)?,
        attempt_count: r.required_count(3)?,
        last_status_code: status_code(r, 4)?,
        last_error: r.text(5)?,
        next_attempt_at: r.int(6)?,
    })
}

/// Columns `pending_delivery` reads, from a deliveries table or view.
pub(super) const PENDING_COLUMNS: &str = "id, event_id, subscription_id, attempts, next_attempt_at";

pub(super) fn pending_delivery(r: &impl Cells) -> Result<PendingDelivery> {
    Ok(PendingDelivery {
        id: r.required_text(0)?.into(),
        event_id: r.required_text(1)?.into(),
        subscription_id: r.required_text(2)?.into(),
        attempts: r.required_count(3)?,
        next_attempt_at: r.int(4)?.unwrap_or(0),
    })
}

/// Columns `event_to_send` reads, from `events`.
pub(super) const EVENT_TO_SEND_COLUMNS: &str = "id, body, action, traceparent, tracestate";

/// An event as a lane sends it; a stored `traceparent` that no longer reads is left out.
pub(super) fn event_to_send(r: &impl Cells) -> Result<EventToSend> {
    let parent = r.text(3)?.as_deref().and_then(crate::domain::trace::TraceParent::parse);
    let state = r.text(4)?;
    Ok(EventToSend {
        id: r.required_text(0)?.into(),
        body: r.bytes(1)?.into(),
        action: r.required_text(2)?,
        trace: parent.map(|parent| crate::domain::trace::TraceContext { parent, state }),
    })
}

/// Columns `attempt` reads, from `attempts a`.
pub(super) const ATTEMPT_COLUMNS: &str =
    "a.id, a.delivery_id, a.started_at, a.duration_ms, a.status_code, a.error_kind,
     a.error, a.response_body, a.response_truncated, a.next_retry_at, a.request_headers, a.replay_id";

pub(super) fn attempt(r: &impl Cells) -> Result<Attempt> {
    Ok(Attempt {
        id: r.required_int(0)?,
        delivery_id: r.required_text(1)?.into(),
        started_at: r.required_int(2)?,
        duration_ms: r.required_count(3)?,
        status_code: status_code(r, 4)?,
        error_kind: error_kind(r, 5)?,
        error: r.text(6)?,
        response_body: String::from_utf8_lossy(&r.bytes(7)?).into_owned(),
        response_truncated: r.flag(8)?,
        next_retry_at: r.int(9)?,
        request_headers: serde_json::from_str(&r.required_text(10)?).unwrap_or_default(),
        replay_id: r.text(11)?.map(Into::into),
    })
}

/// Columns `attempt_notice` reads, from `attempts a JOIN deliveries d`: an attempt as the live
/// feed shows it, with its delivery's current state.
pub(super) const ATTEMPT_NOTICE_COLUMNS: &str =
    "d.event_id, a.delivery_id, a.subscription_id, d.attempts, a.started_at,
     a.duration_ms, a.status_code, a.error_kind, a.error, d.status, a.next_retry_at";

pub(super) fn attempt_notice(r: &impl Cells) -> Result<AttemptNotice> {
    Ok(AttemptNotice {
        event_id: r.required_text(0)?.into(),
        delivery_id: r.required_text(1)?.into(),
        subscription_id: r.required_text(2)?.into(),
        attempt: r.required_count(3)?,
        started_at: r.required_int(4)?,
        duration_ms: r.required_count(5)?,
        status_code: status_code(r, 6)?,
        error_kind: error_kind(r, 7)?,
        error: r.text(8)?,
        status: status(r, 9)?,
        next_attempt_at: r.int(10)?,
    })
}

/// Columns `attempt_count` reads: attempts per subscription, slot and response since `$1`, the slot
/// a second from `$2` (a minute's start, so no slot straddles it) and a minute before; oldest first.
pub(super) const ATTEMPT_COUNTS: &str = "SELECT subscription_id,
            CASE WHEN started_at >= $2 THEN started_at / 1000 * 1000 ELSE started_at / 60000 * 60000 END,
            COUNT(*), SUM(CASE WHEN error_kind IS NULL THEN 1 ELSE 0 END), status_code, error_kind
     FROM attempts WHERE started_at >= $1 GROUP BY 1, 2, 5, 6 ORDER BY 2";

pub(super) fn attempt_count(r: &impl Cells) -> Result<AttemptCount> {
    Ok(AttemptCount {
        subscription_id: r.required_text(0)?.into(),
        at: r.required_int(1)?,
        attempts: r.required_count(2)?,
        successes: r.int(3)?.map_or(Ok(0), |v| count(3, v))?,
        status_code: status_code(r, 4)?,
        error_kind: error_kind(r, 5)?,
    })
}

/// Who holds an idempotency key, from a `query::KEY_HOLDER` row.
pub(super) fn key_holder(r: &impl Cells) -> Result<KeyHolder> {
    let fingerprint = r.required_text(0)?;
    let answer = match r.int(1)? {
        None => None,
        Some(status) => Some(StoredAnswer {
            status: u16::try_from(status).map_err(|_| Error::Storage(format!("a kept answer's status {status}")))?,
            headers: stored(&r.text(2)?.unwrap_or_default(), "a kept answer's headers")?,
            body: r.bytes(3)?,
        }),
    };
    Ok(KeyHolder::Held { fingerprint, answer })
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn a_count_read_back_is_taken_only_if_it_fits() {
        assert_eq!(count::<u32>(3, 7).ok(), Some(7));
        for wrong in [-1, i64::from(u32::MAX) + 1] {
            let refused = count::<u32>(3, wrong).unwrap_err().to_string();
            assert!(refused.contains(&format!("column 3 holds {wrong}, which is no count")), "{refused}");
        }
    }
}
