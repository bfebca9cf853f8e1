//! The Delivery success pane: a rate bar and a sparkline per endpoint. It shares the
//! subscriptions table's cursor and keys (they go to the table when it is focused), so it has
//! no state of its own: a pure function of the app's `Data`.

use crate::dashboard::columns::{bar, hold_texts};
use crate::dashboard::data::Data;
use crate::dashboard::layout::Pane;
use crate::dashboard::panes::figures_block;
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{pad, percent};
use crate::dashboard::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One character per 10 s slot: height is the success rate, `·` marks a slot without attempts.
pub fn sparkline(history: &[Option<f64>]) -> String {
    history.iter().map(|r| r.map_or('·', |r| LEVELS[crate::dashboard::layout::share(r, LEVELS.len() - 1)])).collect()
}

pub fn draw(frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
    let focused = data.focus == Pane::Rates;
    let block = figures_block("Delivery success · 5m · last 2 min", focused, data, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let name_w = (width / 4).clamp(6, 18);
    // The selected row stays in view, as in the Subscriptions table.
    let first = crate::dashboard::layout::first_shown(data.table_cursor, usize::from(inner.height));
    let lines: Vec<Line> = data
        .endpoints
        .iter()
        .enumerate()
        .skip(first)
        .map(|(i, e)| {
            let rate = e.success_rate.get("5m").copied().flatten();
            let style = theme.rate(rate);
            let spark = sparkline(&e.history);
            let bar_w = width.saturating_sub(name_w + spark.chars().count() + 10).max(4);
            let name = pad(&clean(&e.name), name_w);
            let selected = i == data.table_cursor;
            let name_style = if selected && focused {
                theme.selected()
            } else if selected {
                theme.bold()
            } else {
                Default::default()
            };
            // While deliveries are held the rate is history: the hold is said in its place.
            let figure = match hold_texts(e, data.now).into_iter().find(|t| t.chars().count() < bar_w + 8) {
                Some(hold) => {
                    Span::styled(format!("{hold:<w$} ", w = bar_w + 7), theme.bad().add_modifier(Modifier::BOLD))
                }
                None => Span::styled(format!("{} {:>6} ", bar(rate, bar_w), percent(rate)), style),
            };
            Line::from(vec![Span::styled(name, name_style), Span::raw(" "), figure, Span::styled(spark, style)])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
