//! Drawing: pure functions from `&App` to a frame. One file per screen region.

mod endpoint;
mod footer;
mod header;
mod inspector;
mod palette;
mod rates;
mod stream;
mod subscriptions;

use super::app::{App, Pane, Popup};
use super::layout::{MIN_HEIGHT, MIN_WIDTH, main_layout};
use super::text::span;
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

/// the screen as it is: what PgUp and PgDn move by. At least one.
pub fn pane_rows(app: &App) -> usize {
    let layout = main_layout(Rect::new(0, 0, app.screen_width, app.screen_height), app.endpoints().len());
    let pane = match app.focus {
        _ if app.zoomed => layout.body,
        Pane::Stream => layout.stream,
        Pane::Subscriptions | Pane::Rates => layout.subscriptions,
    };
    usize::from(pane.height.saturating_sub(3)).max(1)
}

pub fn pane_block(title: &str, focused: bool, theme: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Line::styled(format!(" {title} "), theme.border(focused)))
}

/// A pane showing figures from the source: marked stale while the source is out of reach or
/// silent, with how old its figures are.
pub fn figures_block(title: &str, focused: bool, app: &App, theme: &Theme) -> Block<'static> {
    let block = pane_block(title, focused, theme);
    match app.stale_since {
        Some(since) => block.title(Line::styled(format!(" STALE · {} ", last_update(app, since)), theme.bad())),
        None => block,
    }
}

/// "last update 12s ago": how old what the source last said is.
pub fn last_update(app: &App, since: crate::domain::model::Millis) -> String {
    format!("last update {} ago", span(app.now.saturating_sub(since)))
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small: {}x{}\nhookwatch needs at least {MIN_WIDTH}x{MIN_HEIGHT}\n\nresize, or press q to quit",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).style(theme.bold()), area);
        return;
    }
    let layout = main_layout(area, app.endpoints().len());
    header::draw(frame, layout.header, app, theme);
    footer::draw(frame, layout.footer, app, theme);
    if app.zoomed {
        // The focused pane alone, between the header and the hint line.
        let body = layout.body;
        match app.focus {
            Pane::Stream => stream::draw(frame, body, app, theme, true),
            Pane::Rates if layout.rates.is_some() => rates::draw(frame, body, app, theme, true),
            Pane::Subscriptions | Pane::Rates => subscriptions::draw(frame, body, app, theme, true, true),
        }
        draw_popups(frame, area, app, theme);
        return;
    }
    let rates_visible = layout.rates.is_some();
    // A folded rates pane lives inside Subscriptions, so focus on it shows there.
    let subs_focused = app.focus == Pane::Subscriptions || (app.focus == Pane::Rates && !rates_visible);
    subscriptions::draw(frame, layout.subscriptions, app, theme, subs_focused, !rates_visible);
    if let Some(r) = layout.rates {
        rates::draw(frame, r, app, theme, app.focus == Pane::Rates);
    }
    stream::draw(frame, layout.stream, app, theme, app.focus == Pane::Stream);
    draw_popups(frame, area, app, theme);
}

fn draw_popups(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let data = app.data();
    for popup in &app.popups {
        match popup {
            Popup::Inspector(ins) => inspector::draw(frame, area, app, ins, theme),
            Popup::Endpoint(page) => endpoint::draw(frame, area, app, page, theme),
            _ => {}
        }
        if let Some(component) = popup.component() {
            component.draw(frame, area, &data, theme);
        }
    }
    if let Some(p) = &app.palette {
        palette::draw(frame, area, app, p, theme);
    }
}

pub use endpoint::failure_rows;
pub use inspector::{scroll_limits, section_rows};
