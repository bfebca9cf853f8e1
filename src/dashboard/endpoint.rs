//! The endpoint page (`Enter` on a subscription): its history over a span that zooms, read again
//! while the page is open, and its recent failures, each opening in the inspector.

use super::effect::Effect;
use crate::domain::model::Millis;
use crate::observe::stats::{EndpointHistory, RecentFailure, Span};

/// How often an open page reads its history again.
pub const HISTORY_EVERY: Millis = 2_000;
/// A read older than this is shown with its time: the page is not current.
pub const HISTORY_STALE: Millis = 5_000;

pub struct EndpointPage {
    pub id: String,
    pub span: Span,
    /// The latest read of this span and when it came back.
    pub history: Option<(EndpointHistory, Millis)>,
    /// Why the latest read failed, if it did.
    pub error: Option<String>,
    /// The selected failure.
    pub cursor: usize,
    pub asked_at: Millis,
}

impl EndpointPage {
    pub fn new(id: String, now: Millis) -> Self {
        EndpointPage { id, span: Span::default(), history: None, error: None, cursor: 0, asked_at: now }
    }

    pub fn failures(&self) -> &[RecentFailure] {
        self.history.as_ref().map_or(&[], |(h, _)| h.failures.as_slice())
    }

    pub fn load(&self) -> Effect {
        Effect::LoadHistory { id: self.id.clone(), span: self.span }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::app::{App, Outcome, Pane, Popup};
    use crate::dashboard::keymap::Context;
    use crate::dashboard::screenshots::{demo_app, demo_history};
    use crossterm::event::{KeyCode, KeyEvent};

    const BILLING: &str = "sub_01KQBIL0000000000000000003";

    fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.on_key(KeyEvent::from(code))
    }

    /// The demo with billing's page open and its history read.
    fn on_billing_page() -> App {
        let mut app = demo_app();
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.selected_endpoint().map(|e| e.id.as_str()), Some(BILLING));
        let load = Effect::LoadHistory { id: BILLING.into(), span: Span::Hour };
        assert_eq!(press(&mut app, KeyCode::Enter), vec![load]);
        assert_eq!(app.context(), Context::Endpoint);
        app.apply_outcome(Outcome::History {
            id: BILLING.into(),
            span: Span::Hour,
            read: Ok(Box::new(demo_history())),
        });
        app
    }

    fn page(app: &App) -> &EndpointPage {
        match app.popups.last() {
            Some(Popup::Endpoint(page)) => page,
            _ => panic!("the endpoint page is not on top"),
        }
    }

    #[test]
    fn enter_on_a_failure_opens_the_inspector_on_that_attempt() {
        let mut app = on_billing_page();
        press(&mut app, KeyCode::Char('j'));
        let failure = demo_history().failures[1].clone();
        assert_eq!(press(&mut app, KeyCode::Enter), vec![Effect::LoadEvent(failure.event_id.clone())]);
        let Some(Popup::Inspector(ins)) = app.popups.last() else { panic!("no inspector") };
        assert_eq!(ins.wanted, Some((BILLING.to_string(), failure.at)));
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.context(), Context::Endpoint, "Esc goes back to the page");
    }

    #[test]
    fn plus_and_minus_zoom_and_read_the_new_span() {
        let mut app = on_billing_page();
        assert_eq!(
            press(&mut app, KeyCode::Char('+')),
            vec![Effect::LoadHistory { id: BILLING.into(), span: Span::Day }]
        );
        assert!(press(&mut app, KeyCode::Char('+')).is_empty(), "24 h is the longest");
        // A late read of the span left behind is not taken as the new one's.
        let mut late = demo_history();
        late.failures.clear();
        app.apply_outcome(Outcome::History { id: BILLING.into(), span: Span::Hour, read: Ok(Box::new(late)) });
        assert_eq!(page(&app).history.as_ref().map(|(h, _)| h.failures.len()), Some(4));
        press(&mut app, KeyCode::Char('-'));
        let effects = press(&mut app, KeyCode::Char('-'));
        assert_eq!(effects, vec![Effect::LoadHistory { id: BILLING.into(), span: Span::TwoMinutes }]);
    }

    #[test]
    fn an_open_page_reads_again_every_two_seconds_and_keeps_what_it_had_when_a_read_fails() {
        let mut app = on_billing_page();
        let asked = page(&app).asked_at;
        assert!(!app.due_reads(asked + HISTORY_EVERY - 1).iter().any(|e| matches!(e, Effect::LoadHistory { .. })));
        assert!(
            app.due_reads(asked + HISTORY_EVERY)
                .contains(&Effect::LoadHistory { id: BILLING.into(), span: Span::Hour })
        );
        let failed = Outcome::History { id: BILLING.into(), span: Span::Hour, read: Err("connection refused".into()) };
        app.apply_outcome(failed);
        assert_eq!(page(&app).error.as_deref(), Some("connection refused"));
        assert!(page(&app).history.is_some(), "the last read stays, marked by the error");
    }

    #[test]
    fn slash_leaves_the_page_for_the_stream_filtered_to_the_endpoint() {
        let mut app = on_billing_page();
        let effects = press(&mut app, KeyCode::Char('/'));
        assert!(matches!(effects.as_slice(), [Effect::LoadEvents(q)] if q.subscription.as_deref() == Some(BILLING)));
        assert!(app.popups.is_empty());
        assert_eq!((app.focus, app.filter_text.as_str()), (Pane::Stream, "sub:billing"));
    }
}
