//! The bottom line: the filter being typed, a status message, or the keys that apply here.

use crate::dashboard::app::App;
use crate::dashboard::keymap;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    if let Some(input) = &app.filter_input {
        let [label, field, error] =
            Layout::horizontal([Constraint::Length(2), Constraint::Percentage(55), Constraint::Min(0)]).areas(area);
        frame.render_widget(Paragraph::new("/").style(theme.bold()), label);
        frame.render_widget(input, field);
        let note = match &app.filter_error {
            Some(e) => Span::styled(format!(" ✗ {}", clean(e)), theme.bad()),
            None => Span::styled(" Enter applies · Esc cancels · action: sub: status: card: pipe: text", theme.dim()),
        };
        frame.render_widget(Paragraph::new(Line::from(note)), error);
        return;
    }
    if let Some(status) = &app.status {
        let style = if status.error { theme.bad() } else { theme.ok() };
        let glyph = if status.error { "✗" } else { "✓" };
        frame.render_widget(Paragraph::new(format!("{glyph} {}", clean(&status.text))).style(style), area);
        return;
    }
    frame.render_widget(Paragraph::new(hint_line(app, theme, area.width as usize)), area);
}

/// The keys that apply here, as many as fit in `width`: the way out (Esc, or help and quit)
/// always ends the line, and the last of the others give way first.
pub fn hint_line(app: &App, theme: &Theme, width: usize) -> Line<'static> {
    // `b` only means something while the selected endpoint's breaker is open: then it leads.
    let open = app.selected_endpoint().is_some_and(|e| e.breaker == crate::dispatch::BreakerState::Open);
    let urgent: &[keymap::Action] = if open { &[keymap::Action::Probe] } else { &[] };
    let hints = keymap::hints(app.context(), app.read_only, urgent);
    let (mut hints, tail): (Vec<_>, Vec<_>) =
        hints.into_iter().partition(|(key, _)| !matches!(*key, "?" | "q" | "Esc"));
    let cost = |(key, help): &(&str, &str)| key.width() + help.width() + 3;
    let mut used: usize = tail.iter().map(cost).sum();
    let fitting = hints.iter().take_while(|h| {
        used += cost(h);
        used <= width
    });
    hints.truncate(fitting.count());
    let mut spans = Vec::new();
    for (key, help) in hints.into_iter().chain(tail) {
        spans.push(Span::styled(key.to_string(), theme.accent().add_modifier(ratatui::style::Modifier::BOLD)));
        spans.push(Span::styled(format!(" {help}  "), theme.dim()));
    }
    Line::from(spans)
}
