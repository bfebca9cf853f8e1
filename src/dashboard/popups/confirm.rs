//! The question asked before a bulk or destructive action: y runs what it asks about, n or Esc
//! cancels it.

use crate::dashboard::component::{Component, Reply};
use crate::dashboard::data::Data;
use crate::dashboard::effect::Effect;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::{popup_area, share_of};
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use unicode_width::UnicodeWidthStr;

/// `effect` runs on yes.
pub struct Confirm {
    pub question: String,
    pub effect: Effect,
}

impl Component for Confirm {
    fn context(&self) -> Context {
        Context::Confirm
    }

    fn on_key(&mut self, action: Option<Action>, _: KeyEvent, _: &Data) -> Reply {
        match action {
            Some(Action::Submit) => Reply::CloseAndRun(self.effect.clone()),
            Some(Action::Back) => Reply::Close { note: Some("cancelled".into()) },
            _ => Reply::Stay,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _: &Data, theme: &Theme) {
        draw(frame, area, &self.question, theme)
    }
}

fn draw(frame: &mut Frame, area: Rect, question: &str, theme: &Theme) {
    let question = clean(question);
    // Tall enough for the question as wrapped (a line spare for words pushed down), then y / n.
    let (percent, least) = (60, 50);
    let width = share_of(area.width, percent, least);
    let wrapped = question.width().div_ceil(usize::from(width.saturating_sub(2)).max(1)) + 1;
    let rect = popup_area(frame, area, percent, 0, (least, crate::dashboard::layout::cells(wrapped).saturating_add(4)));
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.warn())
        .title(Line::styled(" Confirm ", theme.warn()));
    let text = vec![
        Line::raw(question.into_owned()),
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
