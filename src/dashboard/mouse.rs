//! The mouse, behind `--mouse`: the wheel scrolls what the arrow keys would, a click focuses the
//! pane under it and selects the row there, and a click on the selected row opens it (Enter).

use super::app::{App, Pane};
use super::effect::Effect;
use super::layout;
use crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Margin, Position, Rect};

impl App {
    pub fn on_mouse(&mut self, event: MouseEvent) -> Vec<Effect> {
        match event.kind {
            MouseEventKind::ScrollUp => self.on_key(KeyEvent::from(KeyCode::Up)),
            MouseEventKind::ScrollDown => self.on_key(KeyEvent::from(KeyCode::Down)),
            // Over a popup or while typing, a click would act on what is hidden: it does nothing.
            MouseEventKind::Down(MouseButton::Left)
                if self.popups.is_empty() && self.palette.is_none() && self.filter_input.is_none() =>
            {
                self.click(Position::new(event.column, event.row))
            }
            _ => Vec::new(),
        }
    }

    /// The main panes where they are drawn now.
    fn pane_areas(&self) -> Vec<(Pane, Rect)> {
        let screen = Rect::new(0, 0, self.screen_width, self.screen_height);
        let layout = layout::main_layout(screen, self.endpoints().len());
        if self.zoomed {
            return vec![(self.focus, layout.body)];
        }
        let mut areas = vec![(Pane::Subscriptions, layout.subscriptions), (Pane::Stream, layout.stream)];
        areas.extend(layout.rates.map(|r| (Pane::Rates, r)));
        areas
    }

    fn click(&mut self, at: Position) -> Vec<Effect> {
        let Some((pane, area)) = self.pane_areas().into_iter().find(|(_, area)| area.contains(at)) else {
            return Vec::new();
        };
        self.focus = pane;
        let inner = area.inner(Margin::new(1, 1));
        // The tables have a header row; the rates pane has none.
        let first_row = inner.y + u16::from(pane != Pane::Rates);
        let Some(row) = at.y.checked_sub(first_row).map(usize::from) else { return Vec::new() };
        let (cursor, len, shown) = match pane {
            Pane::Stream => (self.stream.cursor, self.visible_count(), usize::from(inner.height.saturating_sub(1))),
            Pane::Subscriptions => {
                let endpoints = self.endpoints().len();
                // The selected one's detail line, when there is room for it, sits below the table.
                let detail = usize::from(usize::from(inner.height) > endpoints + 1);
                (self.table.cursor, endpoints, usize::from(inner.height).saturating_sub(1 + detail))
            }
            Pane::Rates => (self.table.cursor, self.endpoints().len(), usize::from(inner.height)),
        };
        // As the views scroll: just far enough that the cursor shows.
        let offset = if pane == Pane::Rates { 0 } else { layout::first_shown(cursor, shown) };
        let index = offset + row;
        if row >= shown || index >= len {
            return Vec::new();
        }
        if index == cursor {
            return self.on_key(KeyEvent::from(KeyCode::Enter));
        }
        match pane {
            // As with the keys: reading older rows freezes the stream.
            Pane::Stream => {
                let sieve = super::filter::Sieve { filter: &self.filter, subscriptions: &self.subscriptions };
                self.stream.select(index, sieve);
            }
            Pane::Subscriptions | Pane::Rates => self.table.cursor = index,
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::app::Popup;
    use crate::dashboard::keymap::Context;
    use crate::dashboard::screenshots::demo_app;
    use crossterm::event::KeyModifiers;

    fn mouse(kind: MouseEventKind, column: u16, row: u16) -> MouseEvent {
        MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE }
    }

    fn click(column: u16, row: u16) -> MouseEvent {
        mouse(MouseEventKind::Down(MouseButton::Left), column, row)
    }

    /// The row of `needle` on the rendered screen, so the test clicks where a person would.
    fn row_of(app: &App, needle: &str) -> u16 {
        let text = crate::dashboard::screenshots::to_text(&crate::dashboard::screenshots::render(
            app,
            app.screen_width,
            app.screen_height,
            &crate::dashboard::theme::Theme::PLAIN,
        ));
        let row = text
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} is not on screen:\n{text}"));
        crate::dashboard::layout::cells(row)
    }

    #[test]
    fn a_click_selects_the_row_under_it_and_a_second_one_opens_it() {
        let mut app = demo_app();
        (app.screen_width, app.screen_height) = (200, 50);
        let billing = row_of(&app, "● active   billing");
        assert!(app.on_mouse(click(20, billing)).is_empty());
        assert_eq!(
            (app.focus, app.selected_endpoint().map(|e| e.name.as_str())),
            (Pane::Subscriptions, Some("billing"))
        );
        let effects = app.on_mouse(click(20, billing));
        assert!(matches!(effects.as_slice(), [Effect::LoadHistory { .. }]), "{effects:?}");
        assert_eq!(app.context(), Context::Endpoint);
        // Over a popup a click does nothing; the wheel scrolls the popup.
        assert!(app.on_mouse(click(20, billing + 5)).is_empty());
        app.on_mouse(mouse(MouseEventKind::ScrollDown, 20, 30));
        assert!(matches!(app.popups.last(), Some(Popup::Endpoint(_))));
    }

    #[test]
    fn a_click_in_the_stream_selects_that_event_and_freezes_the_stream() {
        let mut app = demo_app();
        (app.screen_width, app.screen_height) = (80, 24);
        let third = app.visible_events().nth(2).map(|r| r.event.id.clone()).unwrap();
        let row = row_of(&app, &crate::dashboard::text::short_id(&third));
        app.on_mouse(click(5, row));
        assert_eq!(app.focus, Pane::Stream);
        assert_eq!(app.selected_event().map(|r| r.event.id.clone()), Some(third));
        assert!(!app.stream.follow, "reading an older row freezes the stream");
        app.on_mouse(mouse(MouseEventKind::ScrollUp, 5, row));
        assert_eq!(app.stream.cursor, 1, "the wheel moves as ↑ does");
    }
}
