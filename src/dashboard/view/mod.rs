//! Drawing: lays the panes out (each draws itself over the app's `Data`, see `panes/`), then the
//! popups over them.

use super::app::{App, Pane};
use super::component::Component;
use super::layout::{MIN_HEIGHT, MIN_WIDTH, main_layout};
use super::panes::{footer, header, rates};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};

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
    header::draw(frame, layout.header, &app.data(), theme);
    match &app.filter_input {
        Some(line) => line.draw(frame, layout.footer, &app.data(), theme),
        None => footer::draw(frame, layout.footer, &app.data(), theme),
    }
    if app.zoomed {
        // The focused pane alone, between the header and the hint line.
        let body = layout.body;
        match app.focus {
            Pane::Stream => app.stream.draw(frame, body, &app.data(), theme),
            Pane::Rates if layout.rates.is_some() => rates::draw(frame, body, &app.data(), theme),
            Pane::Subscriptions | Pane::Rates => app.table.draw(frame, body, &app.data(), theme),
        }
        draw_popups(frame, area, app, theme);
        return;
    }
    app.table.draw(frame, layout.subscriptions, &app.data(), theme);
    if let Some(r) = layout.rates {
        rates::draw(frame, r, &app.data(), theme);
    }
    app.stream.draw(frame, layout.stream, &app.data(), theme);
    draw_popups(frame, area, app, theme);
}

fn draw_popups(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let data = app.data();
    for popup in &app.popups {
        popup.component().draw(frame, area, &data, theme);
    }
    if let Some(palette) = &app.palette {
        palette.draw(frame, area, &data, theme);
    }
}
