//! The Subscriptions pane: one row per endpoint with its state, target and health.

use crate::dashboard::app::App;
use crate::dashboard::columns::Column;
use crate::dashboard::panes::figures_block;
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::clock;
use crate::dashboard::theme::Theme;
use crate::dispatch::BreakerState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool, folded: bool) {
    let endpoints = app.endpoints();
    let title = format!("Subscriptions ({})", endpoints.len());
    let block = figures_block(&title, focused, &app.data(), theme);
    let inner = block.inner(area);
    // When not every row fits, the detail line gives way and the bottom border says which show.
    let detail_line = inner.height as usize > endpoints.len() + 1;
    let rows_shown = usize::from(inner.height.saturating_sub(1));
    let first = crate::dashboard::layout::first_shown(app.sub_cursor, rows_shown);
    let block = match crate::dashboard::layout::scroll_note(first, rows_shown, endpoints.len()) {
        Some(note) => block.title_bottom(Line::styled(note, theme.dim()).right_aligned()),
        None => block,
    };
    frame.render_widget(block, area);
    if endpoints.is_empty() {
        let text = match (&app.refused, &app.stats) {
            (Some(reason), _) => format!("Not connected: {reason}"),
            (None, None) if !app.connected => format!("Not connected yet: {}", app.connection_detail),
            (None, None) => "Loading…".to_string(),
            (None, Some(_)) => "No subscriptions yet. Press n to create one, or POST /v1/subscriptions.".to_string(),
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    }
    let wide = inner.width >= 90;
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(u16::from(detail_line))]).areas(inner);
    let columns = Column::fitting(inner.width, wide, folded);
    let rows = endpoints.iter().map(|e| Row::new(columns.iter().map(|c| c.cell(e, wide, folded, app.now, theme))));
    let widths = columns.iter().map(|c| c.width(wide, folded));
    // The sorted column says so, and which way (▲ ascending, ▼ descending).
    let header = columns.iter().map(|c| match *c == app.sort.0 {
        true => format!("{}{}", c.header(), if app.sort.1 { "▼" } else { "▲" }),
        false => c.header().to_string(),
    });
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.bold())).row_highlight_style(if focused {
        theme.selected()
    } else {
        theme.bold()
    });
    let mut state = TableState::default().with_offset(first).with_selected(Some(app.sub_cursor));
    frame.render_stateful_widget(table, table_area, &mut state);

    if detail_line && let Some(e) = app.selected_endpoint() {
        let sub = app.subscriptions.iter().find(|s| s.id == e.id);
        let secret = match sub {
            Some(s) if app.revealed_secret.as_deref() == Some(s.id.as_str()) => clean(&s.secret).into_owned(),
            Some(_) if app.read_only => "whsec_•••••••• (hidden: read-only)".to_string(),
            Some(_) => "whsec_•••••••• (S reveals)".to_string(),
            None => String::new(),
        };
        let mut parts = vec![Span::styled(clean(&e.name).into_owned(), theme.bold())];
        if let (BreakerState::Open, Some(at)) = (e.breaker, e.next_probe_at) {
            let since = e.breaker_since.map(|t| format!(" since {}", clock(t))).unwrap_or_default();
            let held = format!("  breaker open{since}, {} held, next probe {} (b probes now)", e.backlog, clock(at));
            parts.push(Span::styled(held, theme.bad()));
        }
        if let (Some(err), Some(at)) = (&e.last_error, e.last_error_at) {
            // An error older than the last success is history: said as such, not in red.
            let (since, style) = match e.last_success_at.is_some_and(|ok| ok > at) {
                true => (" (succeeded since)", theme.dim()),
                false => ("", theme.bad()),
            };
            parts.push(Span::styled(format!("  last error {}{since}: {}", clock(at), clean(err)), style));
        }
        parts.push(Span::styled(format!("  {}  secret {secret}", e.id), theme.dim()));
        frame.render_widget(Paragraph::new(Line::from(parts)), detail_area);
    }
}
