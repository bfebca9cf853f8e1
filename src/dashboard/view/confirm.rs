//! The question asked before a bulk or destructive action.

use super::popup_area;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

pub fn draw(frame: &mut Frame, area: Rect, question: &str, theme: &Theme) {
    let rect = popup_area(frame, area, 60, 30, (40, 7));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.warn())
        .title(Line::styled(" Confirm ", theme.warn()));
    let text = vec![
        Line::raw(clean(question).into_owned()),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", theme.bold()),
            Span::raw(" yes   "),
            Span::styled("n", theme.bold()),
            Span::raw(" / Esc no"),
        ]),
    ];
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).block(block), rect);
}
