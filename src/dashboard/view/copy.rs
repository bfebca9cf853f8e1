//! The copy menu: what `y` in the inspector can put on the clipboard, each with its letter.

use crate::dashboard::copy::Copyable;
use crate::dashboard::layout::popup_area;
use crate::dashboard::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn draw(frame: &mut Frame, area: Rect, cursor: usize, theme: &Theme) {
    let rect = popup_area(frame, area, 0, 0, (area.width.min(78), Copyable::ALL.len() as u16 + 2));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(" Copy · Enter or its letter · Esc closes ");
    let lines: Vec<Line> = Copyable::ALL
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let line = Line::from(vec![Span::styled(format!(" {}  ", c.key()), theme.bold()), Span::raw(c.label())]);
            if i == cursor { line.style(theme.selected()) } else { line }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
