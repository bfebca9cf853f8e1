//! The Subscriptions pane: one row per endpoint with its state, target and health.

use super::figures_block;
use crate::dashboard::app::{App, SortKey};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{clock, percent, span};
use crate::dashboard::theme::Theme;
use crate::dispatch::BreakerState;
use crate::domain::model::{Millis, SubscriptionState};
use crate::engine::report::EndpointReport;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

/// The breaker's state; an open one with the time left to its next probe ("OPEN 24s").
pub(super) fn breaker(e: &EndpointReport, now: Millis, theme: &Theme) -> Span<'static> {
    match (e.breaker, e.next_probe_at) {
        (BreakerState::Closed, _) => Span::styled("closed", theme.dim()),
        (BreakerState::Open, Some(at)) => Span::styled(format!("OPEN {}", span(at.saturating_sub(now))), theme.bad()),
        (BreakerState::Open, None) => Span::styled("OPEN", theme.bad()),
        (BreakerState::HalfOpen, _) => Span::styled("probe", theme.warn()),
    }
}

/// What keeps an endpoint's deliveries from being attempted, so its success rate is not the
/// present: an open breaker, one probing, or the subscription disabled. Said in place of the rate.
pub(super) fn held_by(e: &EndpointReport) -> Option<&'static str> {
    match (e.state, e.breaker) {
        (SubscriptionState::Disabled, _) => Some("off"),
        (_, BreakerState::Open) => Some("OPEN"),
        (_, BreakerState::HalfOpen) => Some("probe"),
        (_, BreakerState::Closed) => None,
    }
}

/// The hold said in full, longest first, for the caller to take the first that fits:
/// "OPEN since 18:22:04 · 186 held · probe in 24s".
pub(super) fn hold_texts(e: &EndpointReport, now: Millis) -> Vec<String> {
    let Some(what) = held_by(e) else { return Vec::new() };
    let since = e.breaker_since.map(|t| format!(" since {}", clock(t))).unwrap_or_default();
    let held = format!("{what}{since} · {} held", e.backlog);
    let mut texts = Vec::new();
    if let (BreakerState::Open, Some(at)) = (e.breaker, e.next_probe_at) {
        texts.push(format!("{held} · probe in {}", span(at.saturating_sub(now))));
    }
    texts.extend([held, format!("{what} {} held", e.backlog), what.to_string()]);
    texts
}

/// A success bar of `width` cells, for narrow layouts where the rates pane is folded in.
pub fn bar(rate: Option<f64>, width: usize) -> String {
    let filled = rate.map_or(0, |r| (r * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// The table's columns: each says its header, its width and its cell, so a column is one place.
#[derive(Debug, Clone, Copy)]
enum Column {
    State,
    Name,
    Target,
    Actions,
    Success,
    P99,
    Backlog,
    Limit,
    Breaker,
}

impl Column {
    const ALL: [Column; 9] = [
        Column::State,
        Column::Name,
        Column::Target,
        Column::Actions,
        Column::Success,
        Column::P99,
        Column::Backlog,
        Column::Limit,
        Column::Breaker,
    ];

    /// Which columns give way first when the pane is narrow: the highest rank goes first.
    fn rank(self) -> u8 {
        match self {
            Column::State => 0,
            Column::Name => 1,
            Column::Success => 2,
            Column::Breaker => 3,
            Column::Backlog => 4,
            Column::P99 => 5,
            Column::Target => 6,
            Column::Limit => 7,
            Column::Actions => 8,
        }
    }

    /// The columns that fit in `width` cells, in display order: whole columns give way, by rank,
    /// so no figure is ever cut.
    fn fitting(width: u16, wide: bool, folded: bool) -> Vec<Column> {
        let mut by_rank = Column::ALL;
        by_rank.sort_by_key(|c| c.rank());
        let mut used = 0u16;
        let kept: Vec<Column> = by_rank
            .into_iter()
            .take_while(|c| {
                used += c.least_width(wide, folded) + u16::from(used > 0);
                used <= width
            })
            .collect();
        Column::ALL.into_iter().filter(|c| kept.iter().any(|k| k.rank() == c.rank())).collect()
    }

    fn least_width(self, wide: bool, folded: bool) -> u16 {
        match self.width(wide, folded) {
            Constraint::Length(n) | Constraint::Min(n) => n,
            _ => 0,
        }
    }

    /// The order this column's values give the table, if it can sort it.
    fn sort_key(self) -> Option<SortKey> {
        match self {
            Column::Name => Some(SortKey::Name),
            Column::State => Some(SortKey::State),
            Column::Success => Some(SortKey::Success),
            Column::P99 => Some(SortKey::P99),
            Column::Backlog => Some(SortKey::Backlog),
            Column::Breaker => Some(SortKey::Breaker),
            Column::Target | Column::Actions | Column::Limit => None,
        }
    }

    fn header(self) -> &'static str {
        match self {
            Column::State => "state",
            Column::Name => "name",
            Column::Target => "target",
            Column::Actions => "actions",
            Column::Success => "ok 5m",
            Column::P99 => "p99",
            Column::Backlog => "backlog",
            Column::Limit => "limit",
            Column::Breaker => "breaker",
        }
    }

    fn width(self, wide: bool, folded: bool) -> Constraint {
        match self {
            Column::State => Constraint::Length(10),
            Column::Name => Constraint::Length(if wide { 18 } else { 14 }),
            Column::Target => Constraint::Min(if wide { 16 } else { 10 }),
            Column::Actions => Constraint::Length(16),
            Column::Success => Constraint::Length(if folded { 14 } else { 7 }),
            Column::P99 | Column::Limit => Constraint::Length(7),
            Column::Backlog => Constraint::Length(8),
            // "OPEN 10m00s", the longest cooldown, whole.
            Column::Breaker => Constraint::Length(11),
        }
    }

    fn cell(self, e: &EndpointReport, wide: bool, folded: bool, now: Millis, theme: &Theme) -> Cell<'static> {
        match self {
            Column::State => {
                let (glyph, style) = theme.subscription(e.state);
                Cell::from(Span::styled(format!("{glyph} {}", e.state.as_str()), style))
            }
            Column::Name => Cell::from(clean(&e.name).into_owned()),
            Column::Target => {
                // Narrow, the host matters more than the scheme.
                let url = if wide { &e.url } else { e.url.split_once("://").map_or(&e.url[..], |(_, rest)| rest) };
                Cell::from(Span::styled(clean(url).into_owned(), theme.dim()))
            }
            Column::Actions => Cell::from(clean(&e.actions.join(",")).into_owned()),
            Column::Success => {
                let width = self.least_width(wide, folded) as usize;
                if held_by(e).is_some() {
                    let fitting =
                        hold_texts(e, now).into_iter().find(|t| t.chars().count() <= width).unwrap_or_default();
                    return Cell::from(Span::styled(fitting, theme.bad().add_modifier(Modifier::BOLD)));
                }
                let rate = e.success_rate.get("5m").copied().flatten();
                let text = if folded { format!("{} {:>6}", bar(rate, 6), percent(rate)) } else { percent(rate) };
                Cell::from(Span::styled(text, theme.rate(rate)))
            }
            Column::P99 => Cell::from(e.latency_ms.p99_ms.map_or("—".into(), |v| format!("{v}ms"))),
            Column::Backlog => {
                let style = if e.backlog > 0 { theme.warn() } else { theme.dim() };
                Cell::from(Span::styled(e.backlog.to_string(), style))
            }
            Column::Limit => {
                Cell::from(Span::styled(e.rate_limit_per_s.map_or("—".into(), |n| format!("{n}/s")), theme.dim()))
            }
            Column::Breaker => Cell::from(breaker(e, now, theme)),
        }
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool, folded: bool) {
    let endpoints = app.endpoints();
    let title = format!("Subscriptions ({})", endpoints.len());
    let block = figures_block(&title, focused, app, theme);
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
    let header = columns.iter().map(|c| match c.sort_key() {
        Some(key) if key == app.sort.0 => format!("{}{}", c.header(), if app.sort.1 { "▼" } else { "▲" }),
        _ => c.header().to_string(),
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
