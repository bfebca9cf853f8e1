//! Where things go on the screen: the main panes, a popup's share, how far a list scrolls.
//! Pure geometry that both state (how far a key scrolls) and drawing import.

use super::keymap::Action;
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear};

/// The main panes (the one focused takes the keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pane {
    Subscriptions,
    Rates,
    Stream,
}

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// From this width the Delivery success pane sits beside Subscriptions; below, it folds into it.
pub const WIDE: u16 = 120;

/// Where the main panes are for a given terminal size.
pub struct MainLayout {
    pub header: Rect,
    /// Everything between the header and the hint line: what a zoomed pane fills.
    pub body: Rect,
    pub subscriptions: Rect,
    pub rates: Option<Rect>,
    pub stream: Rect,
    pub footer: Rect,
}

/// A count of rows or columns as the terminal's `u16`, saturating: no terminal is 65,535 cells.
pub fn cells(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// `fraction` (clamped to 0..=1) of `whole`, rounded: a bar's filled cells, a sparkline's level.
pub fn share(fraction: f64, whole: usize) -> usize {
    let exact = (fraction.clamp(0.0, 1.0) * whole as f64).round();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to 0..=whole, which a usize holds"
    )]
    let cells = exact as usize;
    cells.min(whole)
}

pub fn main_layout(area: Rect, endpoints: usize) -> MainLayout {
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    // Subscriptions take what they need, up to 40% of the body, at least 4 rows.
    // A row each, the header row, the selected one's detail line and the border.
    let wanted = cells(endpoints).saturating_add(4);
    let top = wanted.clamp(4, (body.height * 2 / 5).max(4));
    let [top_area, stream] = Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(body);
    let (subscriptions, rates) = if area.width >= WIDE {
        let [s, r] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(top_area);
        (s, Some(r))
    } else {
        (top_area, None)
    };
    MainLayout { header, body, subscriptions, rates, stream, footer }
}

/// An overlay's share of the screen: width and height in percent, and the least it takes.
pub struct Share {
    pub width: u16,
    pub height: u16,
    pub min: (u16, u16),
}

impl Share {
    /// How many lines of a list fit in it over a screen `height` rows tall (inside its border):
    /// its drawing and its scrolling both use this, so `G` lands on the last page.
    pub fn rows(&self, height: u16) -> usize {
        usize::from(share_of(height, self.height, self.min.1).saturating_sub(2))
    }
}

/// The help overlay's share.
pub const HELP_BOX: Share = Share { width: 70, height: 85, min: (58, 14) };
/// The alert and audit logs' share.
pub const LOG_BOX: Share = Share { width: 80, height: 70, min: (58, 12) };

/// `percent` of `length` cells, at least `least`, at most all of them: a popup's width or height.
pub fn share_of(length: u16, percent: u16, least: u16) -> u16 {
    (length * percent / 100).max(least).min(length)
}

/// A centred rectangle of the given share of `area`, at least `min` cells.
pub fn centred(area: Rect, percent_x: u16, percent_y: u16, min: (u16, u16)) -> Rect {
    let (w, h) = (share_of(area.width, percent_x, min.0), share_of(area.height, percent_y, min.1));
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// `centred`, cleared for a popup.
pub fn popup_area(frame: &mut Frame, area: Rect, percent_x: u16, percent_y: u16, min: (u16, u16)) -> Rect {
    let rect = centred(area, percent_x, percent_y, min);
    frame.render_widget(Clear, rect);
    rect
}
/// The first row a list `rows` high shows so that row `cursor` is in view: the list scrolls just
/// far enough (as ratatui's tables do with a selection).
pub fn first_shown(cursor: usize, rows: usize) -> usize {
    cursor.saturating_sub(rows.saturating_sub(1))
}

/// Which rows of a list of `total` show, from `first`, `shown` at a time: " ↑↓ 4–8 of 12 ", the
/// arrows saying where more are; `None` when all of them show.
pub fn scroll_note(first: usize, shown: usize, total: usize) -> Option<String> {
    if total <= shown {
        return None;
    }
    let last = (first + shown).min(total);
    let up = if first > 0 { "↑" } else { "" };
    let down = if last < total { "↓" } else { "" };
    Some(format!(" {up}{down} {}–{last} of {total} ", first + 1))
}

/// Where a movement key takes a position in a list or view of `0..=last` of which `page` rows
/// show; `None` for any other action.
pub fn moved(position: usize, action: Action, last: usize, page: usize) -> Option<usize> {
    let by = |delta: isize| position.saturating_add_signed(delta).min(last);
    let page = isize::try_from(page.max(1)).unwrap_or(isize::MAX);
    Some(match action {
        Action::Up => by(-1),
        Action::Down => by(1),
        Action::PageUp => by(-page),
        Action::PageDown => by(page),
        Action::Top => 0,
        Action::Bottom => last,
        _ => return None,
    })
}

/// A pane's (or a popup part's) border and title, brighter when focused.
pub fn pane_block(title: &str, focused: bool, theme: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Line::styled(format!(" {title} "), theme.border(focused)))
}
