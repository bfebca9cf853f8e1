//! A replay from the dashboard: the stream filter turned into a replay's filter, the preview the
//! server answers, and the rate the operator chooses before confirming.

use crate::dashboard::component::{Component, Reply};
use crate::dashboard::data::Data;
use crate::dashboard::effect::Effect;
use crate::dashboard::filter::{Filter, resolve_subscription};
use crate::dashboard::forms::edit;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::popup_area;
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{counted, span};
use crate::dashboard::theme::Theme;
use crate::domain::model::{ReplayFilter, ReplayPreview, Subscription};
use crate::wire::{DEFAULT_REPLAY_RATE, MAX_REPLAY_RATE};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
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
        Some(i64::try_from(preview.events.saturating_mul(1000).div_ceil(u64::from(rate))).unwrap_or(i64::MAX))
    }
}

impl Component for ReplayDraft {
    fn context(&self) -> Context {
        Context::Replay
    }

    fn on_key(&mut self, action: Option<Action>, key: KeyEvent, _: &Data) -> Reply {
        match action {
            Some(Action::Submit) => match self.ready() {
                Ok(rate_per_s) => {
                    self.server_error = None;
                    return Reply::Effects(vec![Effect::StartReplay { filter: self.filter.clone(), rate_per_s }]);
                }
                Err(e) => self.server_error = Some(e),
            },
            Some(Action::Back) => return Reply::Close { note: Some("replay cancelled: nothing was sent".into()) },
            // The rate is typed in digits.
            _ if !matches!(key.code, KeyCode::Char(c) if !c.is_ascii_digit()) => {
                edit(&mut self.rate, key);
                self.server_error = None;
            }
            _ => {}
        }
        Reply::Stay
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(frame, area, data, self, theme)
    }
}

const LABEL: usize = 10;
/// Targets listed before "… and N more".
const TARGETS_SHOWN: usize = 8;

fn draw(frame: &mut Frame, area: Rect, data: &Data, draft: &ReplayDraft, theme: &Theme) {
    let lines = selection_lines(data, draft, theme);
    // Sized to what it says: the selection, a blank line, the rate, and three lines after it.
    let height = crate::dashboard::layout::cells(lines.len()).saturating_add(7).min(area.height);
    let rect = popup_area(frame, area, 50, 0, (58, height));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.warn())
        .title(Line::styled(" Replay · y / Enter starts · n / Esc cancels ", theme.warn()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [top, rate_row, bottom] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1), Constraint::Length(4)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), top);

    let label = |text: &str| Span::styled(format!("{text:<LABEL$}"), theme.bold());
    let [rate_label, rate_input, rate_unit] = Layout::horizontal([
        Constraint::Length(crate::dashboard::layout::cells(LABEL)),
        Constraint::Length(8),
        Constraint::Min(0),
    ])
    .areas(rate_row);
    frame.render_widget(Paragraph::new("Rate").style(theme.bold()), rate_label);
    frame.render_widget(&draft.rate, rate_input);
    frame.render_widget(Paragraph::new(" per second per endpoint").style(theme.dim()), rate_unit);

    let mut after = Vec::new();
    if let Some(ms) = draft.duration_ms() {
        let takes = if ms < 1000 { "under a second".into() } else { format!("about {}", span(ms)) };
        after.push(Line::from(vec![label("Takes"), Span::raw(takes)]));
    }
    after.push(Line::raw(""));
    let note = draft.server_error.clone().or_else(|| draft.ready().err());
    after.push(match note {
        Some(e) => Line::styled(format!("✗ {}", clean(&e)), theme.bad()),
        None => Line::styled("y starts it; the header shows its progress, X cancels it", theme.dim()),
    });
    frame.render_widget(Paragraph::new(after).wrap(Wrap { trim: true }), bottom);
}

/// The filter, what it selects and where it goes, then a blank line.
fn selection_lines(data: &Data, draft: &ReplayDraft, theme: &Theme) -> Vec<Line<'static>> {
    let label = |text: &str| Span::styled(format!("{text:<LABEL$}"), theme.bold());
    let described = if draft.described.is_empty() { "everything (no filter)".into() } else { clean(&draft.described) };
    let mut lines = vec![Line::from(vec![label("Filter"), Span::raw(described.into_owned())])];
    match &draft.preview {
        None => lines.push(Line::from(vec![label("Selects"), Span::styled("counting…", theme.dim())])),
        Some(Err(e)) => {
            lines.push(Line::from(vec![label("Selects"), Span::styled(format!("✗ {}", clean(e)), theme.bad())]))
        }
        Some(Ok(p)) => {
            lines.push(Line::from(vec![
                label("Selects"),
                Span::styled(counted(p.total, "delivery"), theme.bold()),
                Span::raw(format!(" of {}, oldest first", counted(p.events, "event"))),
            ]));
            for (i, target) in p.subscriptions.iter().enumerate().take(TARGETS_SHOWN) {
                let limit = data
                    .endpoints
                    .iter()
                    .find(|e| e.id == target.id)
                    .and_then(|e| e.rate_limit_per_s)
                    .map(|n| format!("  own limit {n}/s"))
                    .unwrap_or_default();
                lines.push(Line::from(vec![
                    label(if i == 0 { "To" } else { "" }),
                    Span::raw(format!(
                        "{:<18}{:>7}",
                        crate::dashboard::text::fit(&clean(&target.name), 17),
                        target.deliveries
                    )),
                    Span::styled(limit, theme.dim()),
                ]));
            }
            if p.subscriptions.len() > TARGETS_SHOWN {
                let more = p.subscriptions.len() - TARGETS_SHOWN;
                lines.push(Line::from(vec![label(""), Span::styled(format!("… and {more} more"), theme.dim())]));
            }
        }
    }
    lines.push(Line::raw(""));
    lines
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
