//! The inspector's state: one event's payload, deliveries and attempts, and what is selected.

use super::json::{self, JsonLine};
use crate::domain::model::{Attempt, DeliveryDetail, EventDetail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Payload,
    Deliveries,
    Response,
}

impl Section {
    pub fn next(self) -> Self {
        match self {
            Section::Payload => Section::Deliveries,
            Section::Deliveries => Section::Response,
            Section::Response => Section::Payload,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Payload => "Payload",
            Section::Deliveries => "Deliveries",
            Section::Response => "Response",
        }
    }
}

/// Payloads larger than this are shown as plain text rather than pretty-printed.
const PRETTY_LIMIT: usize = 256 * 1024;

pub struct Inspector {
    pub event_id: String,
    pub detail: Option<EventDetail>,
    pub payload: Vec<JsonLine>,
    pub section: Section,
    pub payload_scroll: usize,
    /// Index into `attempt_refs()`.
    pub attempt_cursor: usize,
    pub response_scroll: usize,
    pub error: Option<String>,
    /// The attempt to start on (its subscription and start), when opened from one.
    pub wanted: Option<(String, crate::domain::model::Millis)>,
    /// Long lines of the payload and response go on in the rows below (`w`); otherwise they are
    /// cut at the pane's edge, shifted `columns` to the left (←/→).
    pub wrap: bool,
    pub columns: usize,
}

/// How far ←/→ shift cut lines.
const SIDEWAYS: usize = 8;

impl Inspector {
    pub fn loading(event_id: String) -> Self {
        Inspector {
            event_id,
            detail: None,
            payload: Vec::new(),
            section: Section::Payload,
            payload_scroll: 0,
            attempt_cursor: 0,
            response_scroll: 0,
            error: None,
            wanted: None,
            wrap: true,
            columns: 0,
        }
    }

    /// Opens on one attempt: subscription `subscription_id`'s that started `at`, its response shown.
    pub fn at_attempt(event_id: String, subscription_id: String, at: crate::domain::model::Millis) -> Self {
        Inspector { section: Section::Response, wanted: Some((subscription_id, at)), ..Inspector::loading(event_id) }
    }

    pub fn load(&mut self, detail: EventDetail) {
        self.payload = match serde_json::from_str::<serde_json::Value>(&detail.body) {
            Ok(v) if detail.body.len() <= PRETTY_LIMIT => json::lines(&v),
            _ => json::plain(&detail.body),
        };
        self.detail = Some(detail);
        self.attempt_cursor = self.first_attempt();
    }

    /// Where the cursor starts: the attempt it was opened on, else the newest attempt of a
    /// delivery that failed (that is the question on a failed event), else the newest attempt.
    fn first_attempt(&self) -> usize {
        let Some(detail) = &self.detail else { return 0 };
        let refs = self.attempt_refs();
        if let Some((sub, at)) = &self.wanted {
            let is_wanted = |(di, ai): &(usize, usize)| {
                let d = &detail.deliveries[*di];
                d.summary.subscription_id == *sub && d.attempts[*ai].started_at == *at
            };
            if let Some(i) = refs.iter().position(is_wanted) {
                return i;
            }
        }
        let failed = |di: usize| detail.deliveries[di].summary.status.has_failed();
        let newest = |refs: &mut dyn Iterator<Item = (usize, (usize, usize))>| {
            refs.max_by_key(|(_, (di, ai))| detail.deliveries[*di].attempts[*ai].started_at).map(|(i, _)| i)
        };
        newest(&mut refs.iter().copied().enumerate().filter(|(_, (di, _))| failed(*di)))
            .or_else(|| newest(&mut refs.iter().copied().enumerate()))
            .unwrap_or(0)
    }

    /// Every attempt as (delivery index, attempt index), in display order.
    pub fn attempt_refs(&self) -> Vec<(usize, usize)> {
        let Some(d) = &self.detail else { return Vec::new() };
        d.deliveries.iter().enumerate().flat_map(|(di, del)| (0..del.attempts.len()).map(move |ai| (di, ai))).collect()
    }

    pub fn selected(&self) -> Option<(&DeliveryDetail, &Attempt)> {
        let (di, ai) = *self.attempt_refs().get(self.attempt_cursor)?;
        let delivery = self.detail.as_ref()?.deliveries.get(di)?;
        Some((delivery, delivery.attempts.get(ai)?))
    }

    /// The delivery to redeliver: the selected attempt's, or the only one.
    pub fn selected_subscription(&self) -> Option<String> {
        if let Some((d, _)) = self.selected() {
            return Some(d.summary.subscription_id.clone());
        }
        let d = self.detail.as_ref()?;
        (d.deliveries.len() == 1).then(|| d.deliveries[0].summary.subscription_id.clone())
    }

    /// Moves the section's view (or, in Deliveries, the cursor) by `delta` rows, or to an end;
    /// `limit` is how far the payload or response can scroll as shown now.
    pub fn scroll(&mut self, delta: isize, to_end: Option<bool>, limit: usize) {
        let attempts = self.attempt_refs().len();
        let (value, max) = match self.section {
            Section::Payload => (&mut self.payload_scroll, limit),
            Section::Deliveries => (&mut self.attempt_cursor, attempts.saturating_sub(1)),
            Section::Response => (&mut self.response_scroll, limit),
        };
        // A view left past its end (the pane grew, lines were wrapped) comes back on first move.
        *value = (*value).min(max);
        *value = match to_end {
            Some(true) => max,
            Some(false) => 0,
            None => value.saturating_add_signed(delta).min(max),
        };
        if self.section == Section::Deliveries {
            self.response_scroll = 0;
        }
    }

    /// `w`: wrap long lines, or cut them again where they were.
    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
        self.columns = 0;
    }

    /// ←/→ on cut lines: shift them, no further than where the longest line's end shows
    /// (`limit`).
    pub fn sideways(&mut self, right: bool, limit: usize) {
        if self.wrap {
            return;
        }
        self.columns = if right { (self.columns + SIDEWAYS).min(limit) } else { self.columns.saturating_sub(SIDEWAYS) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::screenshots::demo_inspector;
    use crate::domain::model::DeliveryStatus;

    #[test]
    fn the_cursor_starts_on_the_newest_attempt_of_a_failed_delivery() {
        let mut detail = demo_inspector().detail.unwrap();
        // The failed delivery first, a newer successful one after it: the failure is the question.
        detail.deliveries.sort_by_key(|d| d.summary.status == DeliveryStatus::Succeeded);
        let failed = detail.deliveries.iter().position(|d| d.summary.status != DeliveryStatus::Succeeded);
        assert!(failed.is_some(), "the demo event has a failed delivery");
        let newest_ok = detail.deliveries.iter().flat_map(|d| &d.attempts).map(|a| a.started_at).max().unwrap();
        if let Some(ok) = detail.deliveries.iter_mut().find(|d| d.summary.status == DeliveryStatus::Succeeded) {
            ok.attempts.last_mut().unwrap().started_at = newest_ok + 1000;
        }
        let mut ins = Inspector::loading(detail.id.clone());
        ins.load(detail);
        let (delivery, attempt) = ins.selected().unwrap();
        assert_ne!(delivery.summary.status, DeliveryStatus::Succeeded);
        assert_eq!(Some(attempt.started_at), delivery.attempts.iter().map(|a| a.started_at).max());
    }
}
