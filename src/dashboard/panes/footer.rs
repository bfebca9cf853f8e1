//! The bottom line: the filter being typed (its state, keys and drawing, as a `Component`), else
//! a status message, else the keys that apply here.

use crate::dashboard::component::{Component, Reply, Request};
use crate::dashboard::data::Data;
use crate::dashboard::filter::Filter;
use crate::dashboard::forms::edit;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use crate::wire::BreakerState;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui_textarea::{CursorMove, TextArea};
use unicode_width::UnicodeWidthStr;

/// The stream filter being typed (`/`): checked as it is typed, applied on Enter.
pub struct FilterLine {
    pub input: TextArea<'static>,
    /// Why the text typed is not a filter.
    pub error: Option<String>,
}

impl FilterLine {
    /// Starts from the filter applied, the cursor at its end.
    pub fn new(text: &str) -> FilterLine {
        let mut input = TextArea::new(vec![text.to_string()]);
        input.move_cursor(CursorMove::End);
        FilterLine { input, error: None }
    }

    pub fn text(&self) -> String {
        self.input.lines().join(" ")
    }
}

impl Component for FilterLine {
    fn context(&self) -> Context {
        Context::FilterInput
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _data: &Data, theme: &Theme) {
        let [label, field, error] =
            Layout::horizontal([Constraint::Length(2), Constraint::Percentage(55), Constraint::Min(0)]).areas(area);
        frame.render_widget(Paragraph::new("/").style(theme.bold()), label);
        frame.render_widget(&self.input, field);
        let note = match &self.error {
            Some(e) => Span::styled(format!(" ✗ {}", clean(e)), theme.bad()),
            None => Span::styled(" Enter applies · Esc cancels · action: sub: status: card: pipe: text", theme.dim()),
        };
        frame.render_widget(Paragraph::new(Line::from(note)), error);
    }

    fn on_key(&mut self, action: Option<Action>, key: KeyEvent, data: &Data) -> Reply {
        match action {
            Some(Action::Submit) => Reply::Ask(Request::Filter(self.text())),
            Some(Action::Back) => Reply::close(),
            _ => {
                edit(&mut self.input, key);
                // Checked as the operator types; applied on Enter.
                self.error = Filter::parse_for(&self.text(), data.subscriptions).err();
                Reply::Stay
            }
        }
    }
}

/// The line when no filter is being typed: a status message, else the keys that apply here.
pub fn draw(frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
    if let Some(status) = data.status {
        let style = if status.error { theme.bad() } else { theme.ok() };
        let glyph = if status.error { "✗" } else { "✓" };
        frame.render_widget(Paragraph::new(format!("{glyph} {}", clean(&status.text))).style(style), area);
        return;
    }
    frame.render_widget(Paragraph::new(hint_line(data, theme, area.width as usize)), area);
}

/// The keys that apply here, as many as fit in `width`: the way out (Esc, or help and quit)
/// always ends the line, and the last of the others give way first.
fn hint_line(data: &Data, theme: &Theme, width: usize) -> Line<'static> {
    // `b` only means something while the selected endpoint's breaker is open: then it leads.
    let open = data.selected.is_some_and(|e| e.breaker == BreakerState::Open);
    let urgent: &[Action] = if open { &[Action::Probe] } else { &[] };
    let hints = data.keymap.hints(data.context, data.read_only, urgent);
    let (mut hints, tail): (Vec<_>, Vec<_>) =
        hints.into_iter().partition(|(action, _, _)| !matches!(action, Action::Help | Action::Quit | Action::Back));
    let cost = |(_, key, help): &(Action, &str, &str)| key.width() + help.width() + 3;
    let mut used: usize = tail.iter().map(cost).sum();
    let fitting = hints.iter().take_while(|h| {
        used += cost(h);
        used <= width
    });
    hints.truncate(fitting.count());
    let mut spans = Vec::new();
    for (_, key, help) in hints.into_iter().chain(tail) {
        spans.push(Span::styled(key.to_string(), theme.accent().add_modifier(ratatui::style::Modifier::BOLD)));
        spans.push(Span::styled(format!(" {help}  "), theme.dim()));
    }
    Line::from(spans)
}
