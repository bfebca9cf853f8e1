//! The audit log: every change and who made it, newest first, as read when it was opened.

use crate::dashboard::component::{Component, Reply, scroll_key};
use crate::dashboard::data::Data;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::{LOG_BOX, popup_area};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::clock;
use crate::dashboard::theme::Theme;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

#[derive(Default)]
pub struct Audit {
    pub scroll: usize,
}

impl Component for Audit {
    fn context(&self) -> Context {
        Context::Overlay
    }

    fn on_key(&mut self, action: Option<Action>, _: KeyEvent, data: &Data) -> Reply {
        let len = data.audit.map_or(0, |(entries, _)| entries.len());
        scroll_key(&mut self.scroll, action, len, LOG_BOX.rows(data.screen.height))
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(frame, area, data, self.scroll, theme)
    }
}

fn draw(frame: &mut Frame, area: Rect, data: &Data, scroll: usize, theme: &Theme) {
    let rect = popup_area(frame, area, LOG_BOX.width, LOG_BOX.height, LOG_BOX.min);
    let Some((entries, read_at)) = data.audit else {
        let block = Block::default().borders(Borders::ALL).border_style(theme.border(true)).title(" Audit log ");
        let text = match data.audit_unread {
            Some(error) => Paragraph::new(unread(error)).style(theme.bad()).wrap(Wrap { trim: false }),
            None => Paragraph::new("Loading…").style(theme.dim()),
        };
        frame.render_widget(text.block(block), rect);
        return;
    };
    // Read once when opened: the title says as of when, so it is never taken for live.
    let mut title = format!(" Audit log ({}) · newest first · as of {} · Esc closes ", entries.len(), clock(*read_at));
    if let Some(error) = data.audit_unread {
        title = format!(" Audit log ({}) · as of {} · {} ", entries.len(), clock(*read_at), unread(error));
    }
    let block = Block::default().borders(Borders::ALL).border_style(theme.border(true)).title(title);
    if entries.is_empty() {
        frame.render_widget(Paragraph::new("No changes recorded yet.").style(theme.dim()).block(block), rect);
        return;
    }
    let lines: Vec<Line> = entries
        .iter()
        .skip(scroll)
        .map(|e| {
            Line::from(vec![
                Span::styled(format!("{} ", clock(e.at)), theme.dim()),
                // A named token's name says who; without one, the kind of token or part of hookwatch.
                Span::styled(format!("{:<9} ", clean(e.name.as_deref().unwrap_or(e.actor.as_str()))), theme.accent()),
                Span::styled(format!("{:<26} ", clean(&e.action)), theme.bold()),
                Span::raw(clean(&e.summary).into_owned()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), rect);
}

/// Why the audit log is not shown (or not current), and what to do.
fn unread(error: &str) -> String {
    format!("✗ cannot read the audit log: {} (Esc, then open it again to retry)", clean(error))
}
