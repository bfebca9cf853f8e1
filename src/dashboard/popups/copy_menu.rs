//! The copy menu: what `y` in the inspector can put on the clipboard, each with its letter.

use crate::dashboard::component::{Component, Reply, Request};
use crate::dashboard::copy::Copyable;
use crate::dashboard::data::Data;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::popup_area;
use crate::dashboard::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// `cursor`: the highlighted choice.
#[derive(Default)]
pub struct CopyMenu {
    pub cursor: usize,
}

impl Component for CopyMenu {
    fn context(&self) -> Context {
        Context::CopyMenu
    }

    fn on_key(&mut self, action: Option<Action>, key: KeyEvent, _: &Data) -> Reply {
        let last = Copyable::ALL.len() - 1;
        let chosen = match (action, key.code) {
            (Some(Action::Up), _) => {
                self.cursor = self.cursor.saturating_sub(1);
                None
            }
            (Some(Action::Down), _) => {
                self.cursor = (self.cursor + 1).min(last);
                None
            }
            (Some(Action::Submit), _) => Some(Copyable::ALL[self.cursor.min(last)]),
            (Some(Action::Back), _) => return Reply::close(),
            (_, KeyCode::Char(c)) => Copyable::ALL.into_iter().find(|k| k.key() == c),
            _ => None,
        };
        chosen.map_or(Reply::Stay, |chosen| Reply::Ask(Request::Copy(chosen)))
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _: &Data, theme: &Theme) {
        draw(frame, area, self.cursor, theme)
    }
}

fn draw(frame: &mut Frame, area: Rect, cursor: usize, theme: &Theme) {
    let rect =
        popup_area(frame, area, 0, 0, (area.width.min(78), crate::dashboard::layout::cells(Copyable::ALL.len()) + 2));
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
