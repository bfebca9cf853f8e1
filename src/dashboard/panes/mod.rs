//! The main panes, one file each: its state, its keys and its drawing over `Data`, as a
//! `Component` (the app gives the focused one its keys and lays them all out).

pub mod footer;
pub mod header;
pub mod rates;
pub mod stream;
pub mod subscriptions;

use super::data::Data;
use super::layout::pane_block;
use super::text::span;
use super::theme::Theme;
use crate::domain::model::Millis;
use ratatui::text::Line;
use ratatui::widgets::Block;

/// A pane showing figures from the source: marked stale while the source is out of reach or
/// silent, with how old its figures are.
pub fn figures_block(title: &str, focused: bool, data: &Data, theme: &Theme) -> Block<'static> {
    let block = pane_block(title, focused, theme);
    match data.stale_since {
        Some(since) => block.title(Line::styled(format!(" STALE · {} ", last_update(data.now, since)), theme.bad())),
        None => block,
    }
}

/// "last update 12s ago": how old what the source last said is.
pub fn last_update(now: Millis, since: Millis) -> String {
    format!("last update {} ago", span(now.saturating_sub(since)))
}
