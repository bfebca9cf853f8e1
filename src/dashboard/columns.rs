//! The subscriptions table's columns: each is one type saying its header, its width, its cell
//! and, for those that sort, how it orders the table (trippy's `columns.rs`, bottom's
//! `process_columns.rs`). Also the figures an endpoint's hold and breaker are said with.

use super::sanitize::clean;
use super::text::{clock, percent, span};
use super::theme::Theme;
use crate::domain::model::{Millis, SubscriptionState};
use crate::wire::BreakerState;
use crate::wire::EndpointReport;
use ratatui::layout::Constraint;
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::Cell;
use std::cmp::Ordering;

/// The breaker's state; an open one with the time left to its next probe ("OPEN 24s").
pub fn breaker(e: &EndpointReport, now: Millis, theme: &Theme) -> Span<'static> {
    match (e.breaker, e.next_probe_at) {
        (BreakerState::Closed, _) => Span::styled("closed", theme.dim()),
        (BreakerState::Open, Some(at)) => Span::styled(format!("OPEN {}", span(at.saturating_sub(now))), theme.bad()),
        (BreakerState::Open, None) => Span::styled("OPEN", theme.bad()),
        (BreakerState::HalfOpen, _) => Span::styled("probe", theme.warn()),
    }
}

/// What keeps an endpoint's deliveries from being attempted, so its success rate is not the
/// present: an open breaker, one probing, or the subscription disabled. Said in place of the rate.
pub fn held_by(e: &EndpointReport) -> Option<&'static str> {
    match (e.state, e.breaker) {
        (SubscriptionState::Disabled, _) => Some("off"),
        (_, BreakerState::Open) => Some("OPEN"),
        (_, BreakerState::HalfOpen) => Some("probe"),
        (_, BreakerState::Closed) => None,
    }
}

/// The hold said in full, longest first, for the caller to take the first that fits:
/// "OPEN since 18:22:04 · 186 held · probe in 24s".
pub fn hold_texts(e: &EndpointReport, now: Millis) -> Vec<String> {
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
    let filled = rate.map_or(0, |r| crate::dashboard::layout::share(r, width));
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// The table's columns: each says its header, its width and its cell, so a column is one place.
/// It is also what the table is sorted by (`o` cycles the sortable ones, `O` reverses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
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
    pub fn fitting(width: u16, wide: bool, folded: bool) -> Vec<Column> {
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

    pub fn least_width(self, wide: bool, folded: bool) -> u16 {
        match self.width(wide, folded) {
            Constraint::Length(n) | Constraint::Min(n) => n,
            _ => 0,
        }
    }

    /// The columns the table can be sorted by, in the order `o` goes through them.
    const SORTABLE: [Column; 6] =
        [Column::Name, Column::State, Column::Success, Column::P99, Column::Backlog, Column::Breaker];

    pub fn sorts(self) -> bool {
        Self::SORTABLE.contains(&self)
    }

    /// The sortable column after this one.
    pub fn next(self) -> Column {
        let i = Self::SORTABLE.iter().position(|c| *c == self).unwrap_or(0);
        Self::SORTABLE[(i + 1) % Self::SORTABLE.len()]
    }

    /// How this column's values order two endpoints (`Equal` for the name, which every order
    /// falls back on, and for a column that does not sort).
    pub fn compare(self, a: &EndpointReport, b: &EndpointReport) -> Ordering {
        let success = |e: &EndpointReport| e.success_rate.get("5m").copied().flatten().unwrap_or(-1.0);
        let breaker = |e: &EndpointReport| match e.breaker {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        };
        match self {
            Column::State => a.state.as_str().cmp(b.state.as_str()),
            Column::Success => success(a).total_cmp(&success(b)),
            Column::P99 => a.latency_ms.p99_ms.cmp(&b.latency_ms.p99_ms),
            Column::Backlog => a.backlog.cmp(&b.backlog),
            Column::Breaker => breaker(a).cmp(&breaker(b)),
            Column::Name | Column::Target | Column::Actions | Column::Limit => Ordering::Equal,
        }
    }

    /// Sorts `endpoints` by this column (reversed if asked), then by name and id: the table's order.
    pub fn sort(self, reversed: bool, endpoints: &mut [EndpointReport]) {
        endpoints.sort_by(|a, b| {
            let by_key = if reversed { self.compare(b, a) } else { self.compare(a, b) };
            by_key.then(a.name.to_lowercase().cmp(&b.name.to_lowercase())).then(a.id.cmp(&b.id))
        });
    }

    pub fn header(self) -> &'static str {
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

    pub fn width(self, wide: bool, folded: bool) -> Constraint {
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

    pub fn cell(self, e: &EndpointReport, wide: bool, folded: bool, now: Millis, theme: &Theme) -> Cell<'static> {
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
