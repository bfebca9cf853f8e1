//! The alert log: endpoints failing, recovering, tripping their breaker, being disabled; a run of
//! the same alert about the same endpoint shows as one line.

use crate::dashboard::component::{Component, Reply, scroll_key};
use crate::dashboard::data::Data;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::{LOG_BOX, popup_area};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::clock;
use crate::dashboard::theme::Theme;
use crate::domain::model::{Alert, AlertKind, Millis};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use std::collections::VecDeque;

/// An alert kind's glyph, style and name.
pub fn mark(kind: AlertKind, theme: &Theme) -> (&'static str, Style, &'static str) {
    match kind {
        AlertKind::EndpointFailing => ("▲", theme.warn(), "failing"),
        AlertKind::EndpointRecovered => ("✓", theme.ok(), "recovered"),
        AlertKind::EndpointFlapping => ("↯", theme.warn(), "flapping"),
        AlertKind::BreakerOpen => ("⚡", theme.bad(), "breaker open"),
        AlertKind::Disabled => ("✗", theme.bad(), "disabled"),
        AlertKind::BacklogHigh => ("≋", theme.warn(), "backlog high"),
    }
}

#[derive(Default)]
pub struct Alerts {
    pub scroll: usize,
}

/// Alerts of one kind about one endpoint, raised one after another.
pub struct AlertGroup<'a> {
    pub newest: &'a Alert,
    pub count: usize,
    /// When the first of them was raised.
    pub first_at: Millis,
}

/// The alert log newest first, a run of the same alert about the same endpoint as one group.
pub fn groups(alerts: &VecDeque<Alert>) -> Vec<AlertGroup<'_>> {
    let mut groups: Vec<AlertGroup> = Vec::new();
    for alert in alerts.iter().rev() {
        match groups.last_mut() {
            Some(g) if g.newest.kind == alert.kind && g.newest.subscription_id == alert.subscription_id => {
                g.count += 1;
                g.first_at = alert.at;
            }
            _ => groups.push(AlertGroup { newest: alert, count: 1, first_at: alert.at }),
        }
    }
    groups
}

impl Component for Alerts {
    fn context(&self) -> Context {
        Context::Overlay
    }

    fn on_key(&mut self, action: Option<Action>, _: KeyEvent, data: &Data) -> Reply {
        scroll_key(&mut self.scroll, action, groups(data.alerts).len(), LOG_BOX.rows(data.screen.height))
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(frame, area, data.alerts, self.scroll, theme)
    }
}

fn draw(frame: &mut Frame, area: Rect, alerts: &VecDeque<Alert>, scroll: usize, theme: &Theme) {
    let rect = popup_area(frame, area, LOG_BOX.width, LOG_BOX.height, LOG_BOX.min);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(format!(" Alert log ({}) · newest first · Esc closes ", alerts.len()));
    if alerts.is_empty() {
        frame.render_widget(Paragraph::new("No alerts. Endpoints are healthy.").style(theme.ok()).block(block), rect);
        return;
    }
    let lines: Vec<Line> = groups(alerts)
        .iter()
        .skip(scroll)
        .map(|g| {
            let a = g.newest;
            let (glyph, style, label) = mark(a.kind, theme);
            let mut line = vec![
                Span::styled(format!("{} ", clock(a.at)), theme.dim()),
                Span::styled(format!("{glyph} {label:<12} "), style),
                Span::styled(format!("{} ", clean(&a.subscription_name)), theme.bold()),
            ];
            if g.count > 1 {
                line.push(Span::styled(format!("×{} since {} · ", g.count, clock(g.first_at)), style));
            }
            line.push(Span::raw(clean(&a.message).into_owned()));
            Line::from(line)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
}
