//! The alert log: endpoints failing, recovering, tripping their breaker, being disabled.

use crate::dashboard::app::App;
use crate::dashboard::layout::{LOG_BOX, popup_area};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::clock;
use crate::dashboard::theme::Theme;
use crate::domain::model::AlertKind;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

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

pub fn draw(frame: &mut Frame, area: Rect, app: &App, scroll: usize, theme: &Theme) {
    let rect = popup_area(frame, area, LOG_BOX.width, LOG_BOX.height, LOG_BOX.min);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(format!(" Alert log ({}) · newest first · Esc closes ", app.alerts.len()));
    if app.alerts.is_empty() {
        frame.render_widget(Paragraph::new("No alerts. Endpoints are healthy.").style(theme.ok()).block(block), rect);
        return;
    }
    let lines: Vec<Line> = app
        .alert_groups()
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
