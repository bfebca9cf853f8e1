//! The help overlay: every key, grouped by where it applies, straight from the key table.

use super::{HELP_BOX, popup_area};
use crate::dashboard::keymap::{Context, context_title, offered};
use crate::dashboard::palette;
use crate::dashboard::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

const ORDER: [Context; 12] = [
    Context::Main,
    Context::Stream,
    Context::Subscriptions,
    Context::Inspector,
    Context::CopyMenu,
    Context::Overlay,
    Context::FilterInput,
    Context::Palette,
    Context::Form,
    Context::SendForm,
    Context::Confirm,
    Context::Replay,
];

/// Every line of the help text (also what the docs test checks); read-only, only what it offers.
pub fn lines(theme: &Theme, read_only: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for ctx in ORDER {
        let bindings: Vec<_> = offered(read_only).filter(|b| b.contexts.contains(&ctx)).collect();
        if bindings.is_empty() {
            continue;
        }
        out.push(Line::styled(context_title(ctx), theme.accent().add_modifier(ratatui::style::Modifier::BOLD)));
        for b in bindings {
            out.push(Line::from(vec![Span::styled(format!("  {:<8}", b.label), theme.bold()), Span::raw(b.help)]));
        }
        out.push(Line::raw(""));
    }
    out.push(Line::styled(
        "Commands (: then a name; Tab completes)",
        theme.accent().add_modifier(ratatui::style::Modifier::BOLD),
    ));
    for c in palette::offered(read_only) {
        out.push(Line::from(vec![Span::styled(format!("  :{:<14}", c.usage), theme.bold()), Span::raw(c.help)]));
    }
    out
}

pub fn draw(frame: &mut Frame, area: Rect, scroll: usize, read_only: bool, theme: &Theme) {
    let rect = popup_area(frame, area, HELP_BOX.width, HELP_BOX.height, HELP_BOX.min);
    let all = lines(theme, read_only);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(" Help · j/k scroll · Esc closes ");
    let visible = block.inner(rect).height as usize;
    let scroll = scroll.min(all.len().saturating_sub(visible)) as u16;
    frame.render_widget(Paragraph::new(all).block(block).scroll((scroll, 0)), rect);
}
