//! The command palette: the line being typed, above the hint line, with what may follow it.

use crate::dashboard::app::App;
use crate::dashboard::palette::Palette;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// Candidates listed at most; Tab narrows them.
const SHOWN: usize = 10;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, palette: &Palette, theme: &Theme) {
    let candidates = app.palette_candidates(&palette.line());
    let listed =
        candidates.len().min(SHOWN) + usize::from(candidates.len() > SHOWN) + usize::from(palette.error.is_some());
    // Bottom-anchored over the stream, leaving the header and the hint line visible.
    let height = (listed as u16 + 3).min(area.height.saturating_sub(2));
    let rect = Rect { x: area.x, y: area.bottom().saturating_sub(height + 1), width: area.width, height };
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(" Command · Tab completes · ↑ earlier · Enter runs · Esc closes ", theme.bold()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [input_row, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let [prompt, input] = Layout::horizontal([Constraint::Length(1), Constraint::Min(0)]).areas(input_row);
    frame.render_widget(Paragraph::new(":").style(theme.accent()), prompt);
    frame.render_widget(&palette.input, input);

    let mut lines = Vec::new();
    if let Some(e) = &palette.error {
        lines.push(Line::styled(format!("✗ {}", clean(e)), theme.bad()));
    }
    for (text, about) in candidates.iter().take(SHOWN) {
        let name = text.split_once(' ').map_or(text.as_str(), |(_, arg)| arg);
        let shown = if about.is_empty() { clean(name).into_owned() } else { clean(about).into_owned() };
        lines.push(Line::from(vec![Span::raw("  "), Span::styled(shown, theme.dim())]));
    }
    if candidates.len() > SHOWN {
        lines.push(Line::styled(format!("  … {} more: type to narrow", candidates.len() - SHOWN), theme.dim()));
    }
    frame.render_widget(Paragraph::new(lines), list);
}
