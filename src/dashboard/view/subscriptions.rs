//! The Subscriptions pane: one row per endpoint with its state, target and health.

use super::{figures_block, fit, percent};
use crate::dashboard::app::App;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use crate::dispatch::BreakerState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

fn breaker(state: BreakerState, theme: &Theme) -> Span<'static> {
    match state {
        BreakerState::Closed => Span::styled("closed", theme.dim()),
        BreakerState::Open => Span::styled("OPEN", theme.bad()),
        BreakerState::HalfOpen => Span::styled("probe", theme.warn()),
    }
}

/// A success bar of `width` cells, for narrow layouts where the rates pane is folded in.
pub fn bar(rate: Option<f64>, width: usize) -> String {
    let filled = rate.map_or(0, |r| (r * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool, folded: bool) {
    let endpoints = app.endpoints();
    let title = format!("Subscriptions ({})", endpoints.len());
    let block = figures_block(&title, focused, app, theme);
    let inner = block.inner(area);
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
    let detail_line = !folded && inner.height as usize > endpoints.len() + 1;
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(u16::from(detail_line))]).areas(inner);
    let rows = endpoints.iter().map(|e| {
        let (glyph, style) = theme.subscription(e.state);
        let rate = e.success_rate.get("5m").copied().flatten();
        let p99 = e.latency_ms.p99_ms.map_or("—".into(), |v| format!("{v}ms"));
        let backlog = Span::styled(e.backlog.to_string(), if e.backlog > 0 { theme.warn() } else { theme.dim() });
        let mut cells = vec![
            Cell::from(Span::styled(format!("{glyph} {}", e.state.as_str()), style)),
            Cell::from(clean(&e.name).into_owned()),
        ];
        if wide {
            cells.push(Cell::from(Span::styled(clean(&e.url).into_owned(), theme.dim())));
            cells.push(Cell::from(e.actions.join(",")));
        }
        let rate_text = if folded { format!("{} {:>6}", bar(rate, 6), percent(rate)) } else { percent(rate) };
        cells.extend([
            Cell::from(Span::styled(rate_text, theme.rate(rate))),
            Cell::from(p99),
            Cell::from(backlog),
            Cell::from(breaker(e.breaker, theme)),
        ]);
        Row::new(cells)
    });
    let mut widths = vec![Constraint::Length(10), Constraint::Length(if wide { 18 } else { 14 })];
    let mut header = vec!["state", "name"];
    if wide {
        widths.extend([Constraint::Min(16), Constraint::Length(16)]);
        header.extend(["target", "actions"]);
    }
    widths.extend([
        Constraint::Length(if folded { 14 } else { 7 }),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
    ]);
    header.extend(["ok 5m", "p99", "backlog", "breaker"]);
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.bold())).row_highlight_style(if focused {
        theme.selected()
    } else {
        theme.bold()
    });
    let mut state = TableState::default().with_selected(Some(app.sub_cursor));
    frame.render_stateful_widget(table, table_area, &mut state);

    if detail_line && let Some(e) = app.selected_endpoint() {
        let sub = app.subscriptions.iter().find(|s| s.id == e.id);
        let secret = match sub {
            Some(s) if app.revealed_secret.as_deref() == Some(s.id.as_str()) => clean(&s.secret).into_owned(),
            Some(_) => "whsec_•••••••• (S reveals)".to_string(),
            None => String::new(),
        };
        let last = e.last_error.as_deref().map(|err| format!("  last error: {}", clean(err))).unwrap_or_default();
        let text = format!("{}  secret {secret}{last}", e.id);
        frame.render_widget(Paragraph::new(fit(&text, detail_area.width as usize)).style(theme.dim()), detail_area);
    }
}
