//! The replay preview: what the stream filter selects, where it goes, at what rate, for how long —
//! the question asked before anything is sent.

use crate::dashboard::app::App;
use crate::dashboard::layout::popup_area;
use crate::dashboard::replay::ReplayDraft;
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{counted, span};
use crate::dashboard::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

const LABEL: usize = 10;
/// Targets listed before "… and N more".
const TARGETS_SHOWN: usize = 8;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, draft: &ReplayDraft, theme: &Theme) {
    let lines = selection_lines(app, draft, theme);
    // Sized to what it says: the selection, a blank line, the rate, and three lines after it.
    let height = (lines.len() as u16 + 7).min(area.height);
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
    let [rate_label, rate_input, rate_unit] =
        Layout::horizontal([Constraint::Length(LABEL as u16), Constraint::Length(8), Constraint::Min(0)])
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
fn selection_lines(app: &App, draft: &ReplayDraft, theme: &Theme) -> Vec<Line<'static>> {
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
                let limit = app
                    .endpoints()
                    .into_iter()
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
