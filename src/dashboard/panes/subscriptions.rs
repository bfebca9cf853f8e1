//! The Subscriptions pane: one row per endpoint with its state, target and health. Its cursor
//! (which the Delivery success pane shares), the column it is ordered by and the secret revealed,
//! its keys and its drawing. What its keys do to a subscription, the app does (the endpoint page
//! and the palette ask the same).

use super::figures_block;
use crate::dashboard::columns::Column;
use crate::dashboard::component::{Component, Reply, Request};
use crate::dashboard::data::Data;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::{Pane, first_shown, main_layout, moved, scroll_note};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::clock;
use crate::dashboard::theme::Theme;
use crate::domain::ids::SubscriptionId;
use crate::wire::BreakerState;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};

pub struct Subscriptions {
    /// The row selected (the Delivery success pane shows the same).
    pub cursor: usize,
    /// The column the rows are ordered by, and whether reversed (`App::set_sort` orders them).
    pub sort: (Column, bool),
    /// The subscription whose signing secret shows (`S`), and that secret as the source read it
    /// for this (the list holds it masked).
    pub revealed_secret: Option<(SubscriptionId, String)>,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Subscriptions { cursor: 0, sort: (Column::Name, false), revealed_secret: None }
    }
}

/// How many rows show below the table's header on the screen as it is: what PgUp and PgDn move
/// by. At least one.
fn page_rows(data: &Data) -> usize {
    let layout = main_layout(data.screen, data.endpoints.len());
    let pane = if data.zoomed { layout.body } else { layout.subscriptions };
    usize::from(pane.height.saturating_sub(3)).max(1)
}

impl Component for Subscriptions {
    fn context(&self) -> Context {
        Context::Subscriptions
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(self, frame, area, data, theme);
    }

    fn on_key(&mut self, action: Option<Action>, _key: KeyEvent, data: &Data) -> Reply {
        let Some(action) = action else { return Reply::Stay };
        let last = data.endpoints.len().saturating_sub(1);
        if let Some(cursor) = moved(self.cursor, action, last, page_rows(data)) {
            self.cursor = cursor;
            return Reply::Stay;
        }
        match (action, data.endpoints.get(self.cursor)) {
            (Action::Inspect, Some(e)) => Reply::Ask(Request::OpenEndpoint(e.id.clone())),
            _ => Reply::Stay,
        }
    }
}

fn draw(pane: &Subscriptions, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
    // Folded (a narrow screen, or zoomed), the Delivery success pane lives in here, and so does
    // focus on it.
    let folded = data.zoomed || main_layout(frame.area(), data.endpoints.len()).rates.is_none();
    let focused = data.focus == Pane::Subscriptions || (data.focus == Pane::Rates && folded);
    let endpoints = data.endpoints;
    let title = format!("Subscriptions ({})", endpoints.len());
    let block = figures_block(&title, focused, data, theme);
    let inner = block.inner(area);
    // When not every row fits, the detail line gives way and the bottom border says which show.
    let detail_line = inner.height as usize > endpoints.len() + 1;
    let rows_shown = usize::from(inner.height.saturating_sub(1));
    let first = first_shown(pane.cursor, rows_shown);
    let block = match scroll_note(first, rows_shown, endpoints.len()) {
        Some(note) => block.title_bottom(Line::styled(note, theme.dim()).right_aligned()),
        None => block,
    };
    frame.render_widget(block, area);
    if endpoints.is_empty() {
        let text = match (data.refused, data.stats) {
            (Some(reason), _) => format!("Not connected: {reason}"),
            (None, None) if !data.connected => format!("Not connected yet: {}", data.connection_detail),
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
    let rows = endpoints.iter().map(|e| Row::new(columns.iter().map(|c| c.cell(e, wide, folded, data.now, theme))));
    let widths = columns.iter().map(|c| c.width(wide, folded));
    // The sorted column says so, and which way (▲ ascending, ▼ descending).
    let header = columns.iter().map(|c| match *c == pane.sort.0 {
        true => format!("{}{}", c.header(), if pane.sort.1 { "▼" } else { "▲" }),
        false => c.header().to_string(),
    });
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.bold())).row_highlight_style(if focused {
        theme.selected()
    } else {
        theme.bold()
    });
    let mut state = TableState::default().with_offset(first).with_selected(Some(pane.cursor));
    frame.render_stateful_widget(table, table_area, &mut state);

    if detail_line && let Some(e) = data.selected {
        let sub = data.subscriptions.iter().find(|s| s.id == e.id);
        let revealed = pane.revealed_secret.as_ref().filter(|(id, _)| sub.is_some_and(|s| s.id == *id));
        let secret = match (sub, revealed) {
            (Some(_), Some((_, key))) => clean(key).into_owned(),
            (Some(_), None) if data.read_only => "whsec_•••••••• (hidden: read-only)".to_string(),
            (Some(_), None) => "whsec_•••••••• (S reveals)".to_string(),
            (None, _) => String::new(),
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
