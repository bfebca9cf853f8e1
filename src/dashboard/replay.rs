//! A replay from the dashboard: the stream filter turned into a replay's filter, the preview the
//! server answers, and the rate the operator chooses before confirming.

use super::filter::{Filter, resolve_subscription};
use crate::domain::model::{ReplayFilter, ReplayPreview, Subscription};
use crate::engine::{DEFAULT_REPLAY_RATE, MAX_REPLAY_RATE};
use ratatui_textarea::TextArea;

/// The replay's filter for the stream's, or why the stream's cannot be replayed as it is.
/// `sub:` must name one subscription (a replay must not guess which).
pub fn replay_filter(filter: &Filter, subscriptions: &[Subscription]) -> Result<ReplayFilter, String> {
    if filter.pipe.is_some() || !filter.text.is_empty() {
        return Err("a replay selects by action:, sub:, status: and card: only; take pipe: and free text out of \
                    the filter (/) first"
            .into());
    }
    if let Some(action) = filter.action.as_ref().filter(|a| a.ends_with('*')) {
        return Err(format!("a replay takes one action, not action:{action}; name it, e.g. action:card.move"));
    }
    let subscription = match &filter.subscription {
        Some(query) => Some(resolve_subscription(subscriptions, query)?.id.clone()),
        None => None,
    };
    Ok(ReplayFilter {
        subscription,
        status: filter.status.map(|s| s.as_str().to_string()),
        action: filter.action.clone(),
        card: filter.card.clone(),
        since: None,
        until: None,
    })
}

/// The replay popup: what the stream filter selects, as the server counted it, and the rate.
pub struct ReplayDraft {
    pub filter: ReplayFilter,
    /// The stream filter it came from, as typed ("" for everything).
    pub described: String,
    /// `None` while the server counts.
    pub preview: Option<Result<ReplayPreview, String>>,
    pub rate: TextArea<'static>,
    /// What the server said when starting it failed.
    pub server_error: Option<String>,
}

impl ReplayDraft {
    pub fn new(filter: ReplayFilter, described: &str) -> Self {
        let mut rate = TextArea::new(vec![DEFAULT_REPLAY_RATE.to_string()]);
        rate.move_cursor(ratatui_textarea::CursorMove::End);
        ReplayDraft { filter, described: described.to_string(), preview: None, rate, server_error: None }
    }

    /// The rate typed, or what is wrong with it.
    pub fn rate(&self) -> Result<u32, String> {
        let text = self.rate.lines().join("");
        match text.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_REPLAY_RATE).contains(&n) => Ok(n),
            _ => Err(format!("the rate is 1 to {MAX_REPLAY_RATE} deliveries per second per endpoint")),
        }
    }

    /// What Enter would start: the rate, once the preview found something to send.
    pub fn ready(&self) -> Result<u32, String> {
        match &self.preview {
            None => Err("still counting what the filter selects".into()),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(p)) if p.total == 0 => Err("nothing to replay: the filter selects no delivery".into()),
            Some(Ok(_)) => self.rate(),
        }
    }

    /// How long the replay takes at the typed rate (an event a tick, so `events / rate`).
    pub fn duration_ms(&self) -> Option<i64> {
        let preview = self.preview.as_ref()?.as_ref().ok()?;
        let rate = self.rate().ok()?;
        Some(preview.events.saturating_mul(1000).div_ceil(u64::from(rate)).min(i64::MAX as u64) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::screenshots::demo_app;

    #[test]
    fn the_stream_filter_becomes_a_replay_filter() {
        let app = demo_app();
        let f = Filter::parse("status:failed sub:billing action:card.move card:42").unwrap();
        let r = replay_filter(&f, &app.subscriptions).unwrap();
        assert_eq!(r.subscription.as_deref(), Some("sub_01KQBIL0000000000000000003"));
        assert_eq!(
            (r.status.as_deref(), r.action.as_deref(), r.card.as_deref()),
            (Some("failed"), Some("card.move"), Some("42"))
        );
        for (text, why) in [("pipe:7", "pipe:"), ("card.move", "free text"), ("action:card.*", "one action")] {
            let err = replay_filter(&Filter::parse(text).unwrap(), &app.subscriptions).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        let err = replay_filter(&Filter::parse("sub:nowhere").unwrap(), &app.subscriptions).unwrap_err();
        assert!(err.contains("no subscription"), "{err}");
    }

    #[test]
    fn the_draft_starts_only_with_something_to_send_at_a_valid_rate() {
        let mut draft = ReplayDraft::new(ReplayFilter::default(), "");
        assert!(draft.ready().unwrap_err().contains("counting"));
        draft.preview = Some(Ok(ReplayPreview { total: 0, events: 0, rate_per_s: 10, subscriptions: Vec::new() }));
        assert!(draft.ready().unwrap_err().contains("nothing to replay"));
        draft.preview = Some(Ok(ReplayPreview { total: 30, events: 20, rate_per_s: 10, subscriptions: Vec::new() }));
        assert_eq!(draft.ready(), Ok(DEFAULT_REPLAY_RATE));
        assert_eq!(draft.duration_ms(), Some(2000));
        draft.rate = TextArea::new(vec!["0".into()]);
        assert!(draft.ready().is_err());
    }
}
