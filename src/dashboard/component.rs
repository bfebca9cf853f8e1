//! What a popup or a pane is: one type holding its state, its keys and its drawing (gitui's
//! component trait). The app keeps a stack of popups, the topmost taking the keys, and gives
//! the focused pane the keys when no popup is open; all of them are drawn.

use super::data::Data;
use super::effect::Effect;
use super::keymap::{Action, Context};
use super::theme::Theme;
use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{EventSummary, Millis};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

pub trait Component {
    /// Where its keys are looked up in the key table (which also drives the hint line and help).
    fn context(&self) -> Context;
    /// Draws it over `area` (a popup: the whole screen; a pane: its own): a pure function of its state and the app's data.
    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme);
    /// A key, as the key table reads it in `context()` (`None`: not a bound key, e.g. typing).
    fn on_key(&mut self, action: Option<Action>, key: KeyEvent, data: &Data) -> Reply;
}

/// What a component's key asks of the app.
#[derive(Debug)]
pub enum Reply {
    /// Nothing more: handled (or ignored) in place.
    Stay,
    /// The component closes; `note` goes to the status line.
    Close { note: Option<String> },
    /// Work for the source, the component staying open.
    Effects(Vec<Effect>),
    /// The component closes and `effect` runs (a question answered yes).
    CloseAndRun(Effect),
    /// A line for the status bar, the component staying open.
    Say(String),
    /// Something only the app can do, needing more than the component sees.
    Ask(Request),
}

impl Reply {
    pub fn close() -> Reply {
        Reply::Close { note: None }
    }
}

/// What a component asks the app to do for it.
#[derive(Debug)]
pub enum Request {
    /// Close the copy menu and put this part of the inspected event on the clipboard.
    Copy(super::copy::Copyable),
    /// Open the copy menu over the inspector.
    CopyMenu,
    /// Redeliver `event`: to the subscription picked, else what failed.
    Redeliver { event: EventSummary, subscription: Option<SubscriptionId> },
    /// Ask, then redeliver `event` to every subscription.
    RedeliverAll(EventSummary),
    /// Inspect event `id`.
    InspectEvent(EventId),
    /// Inspect an event, at the attempt to `subscription` at `at`.
    Inspect { event_id: EventId, subscription: SubscriptionId, at: Millis },
    /// Open subscription `id`'s page.
    OpenEndpoint(SubscriptionId),
    /// Close, and filter the stream to subscription `id`'s events.
    FilterTo(SubscriptionId),
    /// An action on subscription `id` (pause, probe, edit, copy its id or URL).
    OnEndpoint(Action, SubscriptionId),
    /// Apply this stream filter (the filter line's).
    Filter(String),
    /// Run a command line (the palette's).
    Run(String),
}

impl Request {
    /// Whether the component that asked closes (else it stays under what the app does).
    pub fn closes(&self) -> bool {
        matches!(self, Request::Copy(_) | Request::FilterTo(_))
    }
}

/// The keys of a list that scrolls inside a popup of `rows` lines, over `len` lines: the movement
/// keys scroll (stopping where the last line shows at the bottom, so `k` after `G` moves at once),
/// Esc closes.
pub fn scroll_key(scroll: &mut usize, action: Option<Action>, len: usize, rows: usize) -> Reply {
    match action {
        Some(Action::Back) => Reply::close(),
        Some(action) => {
            *scroll = super::layout::moved(*scroll, action, len.saturating_sub(rows), rows).unwrap_or(*scroll);
            Reply::Stay
        }
        None => Reply::Stay,
    }
}
