//! The key table: the one source for input handling, the hint line and the help overlay.

use super::key::Key;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Inspect,
    Back,
    Filter,
    ToggleFollow,
    Redeliver,
    RedeliverAll,
    TogglePause,
    Probe,
    DeleteSubscription,
    Replay,
    CancelReplay,
    Palette,
    Complete,
    Toggle,
    SaveReplacing,
    NextTarget,
    Sort,
    ReverseSort,
    Zoom,
    LongerSpan,
    ShorterSpan,
    Wrap,
    Left,
    Right,
    Copy,
    /// `Y` on a subscription: its URL.
    CopyUrl,
    NewSubscription,
    EditSubscription,
    SendTestEvent,
    Alerts,
    Audit,
    Nodes,
    Help,
    NextSection,
    RevealSecret,
    Submit,
    NextField,
    PrevField,
    NextSample,
}

impl Action {
    /// Whether the action changes something on the server: a read-only dashboard (a viewer
    /// token, or `--read-only`) neither offers nor takes it.
    pub fn changes(self) -> bool {
        matches!(
            self,
            Action::Redeliver
                | Action::RedeliverAll
                | Action::TogglePause
                | Action::Probe
                | Action::DeleteSubscription
                | Action::Replay
                | Action::CancelReplay
                | Action::NewSubscription
                | Action::EditSubscription
                | Action::SendTestEvent
                | Action::RevealSecret
        )
    }
}

/// Where the cursor is; each binding says where it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Every main pane.
    Main,
    Subscriptions,
    Rates,
    Stream,
    Inspector,
    /// A subscription's page.
    Endpoint,
    /// Help and alert log.
    Overlay,
    Form,
    SendForm,
    FilterInput,
    /// A question before a bulk or destructive action.
    Confirm,
    /// The command palette (`:`).
    Palette,
    /// A replay's preview, before it starts.
    Replay,
    /// What the inspector can copy.
    CopyMenu,
    /// Typing what to look for in the help.
    HelpSearch,
}

impl Context {
    /// The main panes, where the `Main` bindings apply as well.
    pub const PANES: [Context; 3] = [Context::Subscriptions, Context::Rates, Context::Stream];

    pub fn is_pane(self) -> bool {
        Context::PANES.contains(&self)
    }
}

const fn k(c: char) -> Key {
    Key(KeyCode::Char(c), KeyModifiers::NONE)
}
const fn code(c: KeyCode) -> Key {
    Key(c, KeyModifiers::NONE)
}
const fn ctrl(c: char) -> Key {
    Key(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub struct Binding {
    pub action: Action,
    pub keys: &'static [Key],
    /// How the keys are written in the hint line and help.
    pub label: &'static str,
    pub help: &'static str,
    pub contexts: &'static [Context],
    /// Shown in the hint line (the rest only in help).
    pub hint: bool,
}

use Context::*;

const MAIN_PANES: &[Context] = &[Main];
const LISTS: &[Context] = &[Subscriptions, Rates, Stream, Inspector, Endpoint, Overlay];
const SUB_PANES: &[Context] = &[Subscriptions, Rates];
/// Where one subscription is chosen: its row, or its page.
const ON_ENDPOINT: &[Context] = &[Subscriptions, Rates, Endpoint];

pub const BINDINGS: &[Binding] = &[
    Binding {
        action: Action::Up,
        keys: &[k('k'), code(KeyCode::Up)],
        label: "k/↑",
        help: "move up",
        contexts: LISTS,
        hint: false,
    },
    Binding {
        action: Action::Down,
        keys: &[k('j'), code(KeyCode::Down)],
        label: "j/↓",
        help: "move down",
        contexts: LISTS,
        hint: true,
    },
    Binding {
        action: Action::PageUp,
        keys: &[code(KeyCode::PageUp), ctrl('u')],
        label: "PgUp",
        help: "page up",
        contexts: LISTS,
        hint: false,
    },
    Binding {
        action: Action::PageDown,
        keys: &[code(KeyCode::PageDown), ctrl('d')],
        label: "PgDn",
        help: "page down",
        contexts: LISTS,
        hint: false,
    },
    Binding {
        action: Action::Top,
        keys: &[k('g'), code(KeyCode::Home)],
        label: "g",
        help: "go to the top (newest)",
        contexts: LISTS,
        hint: false,
    },
    Binding {
        action: Action::Bottom,
        keys: &[k('G'), code(KeyCode::End)],
        label: "G",
        help: "go to the bottom",
        contexts: LISTS,
        hint: false,
    },
    Binding {
        action: Action::Inspect,
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        help: "inspect the event",
        contexts: &[Stream],
        hint: true,
    },
    Binding {
        action: Action::Inspect,
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        help: "open the endpoint's page",
        contexts: SUB_PANES,
        hint: true,
    },
    Binding {
        action: Action::Inspect,
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        help: "inspect the failure's event",
        contexts: &[Endpoint],
        hint: true,
    },
    Binding {
        action: Action::LongerSpan,
        keys: &[k('+'), k('=')],
        label: "+",
        help: "further back (2m, 1h, 24h)",
        contexts: &[Endpoint],
        hint: true,
    },
    Binding {
        action: Action::ShorterSpan,
        keys: &[k('-')],
        label: "-",
        help: "less far back",
        contexts: &[Endpoint],
        hint: true,
    },
    Binding {
        action: Action::Filter,
        keys: &[k('/')],
        label: "/",
        help: "its events in the stream",
        contexts: &[Endpoint],
        hint: true,
    },
    Binding {
        action: Action::Redeliver,
        keys: &[k('r')],
        label: "r",
        help: "redeliver what failed (retrying or dead)",
        contexts: &[Stream],
        hint: true,
    },
    Binding {
        action: Action::Copy,
        keys: &[k('y')],
        label: "y",
        help: "copy the event id (OSC 52: works over SSH and in tmux)",
        contexts: &[Stream],
        hint: false,
    },
    Binding {
        action: Action::Copy,
        keys: &[k('y')],
        label: "y",
        help: "copy: the payload, a signed curl command, the response or the id",
        contexts: &[Inspector],
        hint: true,
    },
    Binding {
        action: Action::Copy,
        keys: &[k('y')],
        label: "y",
        help: "copy the subscription's id",
        contexts: ON_ENDPOINT,
        hint: false,
    },
    Binding {
        action: Action::CopyUrl,
        keys: &[k('Y')],
        label: "Y",
        help: "copy the subscription's URL",
        contexts: ON_ENDPOINT,
        hint: false,
    },
    Binding {
        action: Action::Wrap,
        keys: &[k('w')],
        label: "w",
        help: "wrap or cut long lines (payload, response)",
        contexts: &[Inspector],
        hint: true,
    },
    Binding {
        action: Action::Up,
        keys: &[k('k'), code(KeyCode::Up)],
        label: "k/↑",
        help: "previous choice",
        contexts: &[CopyMenu],
        hint: false,
    },
    Binding {
        action: Action::Down,
        keys: &[k('j'), code(KeyCode::Down)],
        label: "j/↓",
        help: "next choice",
        contexts: &[CopyMenu],
        hint: false,
    },
    Binding {
        action: Action::Submit,
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        help: "copy the highlighted choice (or press its letter: p c r i)",
        contexts: &[CopyMenu],
        hint: true,
    },
    Binding {
        action: Action::Back,
        keys: &[code(KeyCode::Esc), k('q')],
        label: "Esc",
        help: "close without copying",
        contexts: &[CopyMenu],
        hint: true,
    },
    Binding {
        action: Action::RedeliverAll,
        keys: &[k('R')],
        label: "R",
        help: "redeliver to every subscription, those that succeeded too (asks first)",
        contexts: &[Stream, Inspector],
        hint: false,
    },
    Binding {
        action: Action::Replay,
        keys: &[ctrl('r')],
        label: "C-r",
        help: "replay what the filter selects, paced: a preview first, then yes or no",
        contexts: &[Stream],
        hint: false,
    },
    Binding {
        action: Action::Submit,
        keys: &[k('y'), code(KeyCode::Enter)],
        label: "y",
        help: "yes, start it (digits and Backspace change the rate)",
        contexts: &[Replay],
        hint: true,
    },
    Binding {
        action: Action::Submit,
        keys: &[k('y'), code(KeyCode::Enter)],
        label: "y",
        help: "yes, do it",
        contexts: &[Confirm],
        hint: true,
    },
    Binding {
        action: Action::Back,
        keys: &[k('n'), code(KeyCode::Esc)],
        label: "n",
        help: "no, cancel",
        contexts: &[Confirm, Replay],
        hint: true,
    },
    Binding {
        action: Action::Redeliver,
        keys: &[k('r')],
        label: "r",
        help: "redeliver to the selected delivery's subscription (else what failed)",
        contexts: &[Inspector],
        hint: true,
    },
    Binding {
        action: Action::TogglePause,
        keys: &[k('p')],
        label: "p",
        help: "pause / resume the endpoint",
        contexts: ON_ENDPOINT,
        hint: true,
    },
    Binding {
        action: Action::Probe,
        keys: &[k('b')],
        label: "b",
        help: "probe now: the open breaker lets the next held delivery go (hinted while it is open)",
        contexts: ON_ENDPOINT,
        hint: false,
    },
    Binding {
        action: Action::DeleteSubscription,
        keys: &[k('D')],
        label: "D",
        help: "delete the subscription (asks first, saying what it cancels)",
        contexts: SUB_PANES,
        hint: false,
    },
    Binding {
        action: Action::Sort,
        keys: &[k('o')],
        label: "o",
        help: "order by the next column (name, state, ok, p99, backlog, breaker)",
        contexts: SUB_PANES,
        hint: false,
    },
    Binding {
        action: Action::ReverseSort,
        keys: &[k('O')],
        label: "O",
        help: "reverse the order",
        contexts: SUB_PANES,
        hint: false,
    },
    Binding {
        action: Action::EditSubscription,
        keys: &[k('e')],
        label: "e",
        help: "edit the subscription",
        contexts: ON_ENDPOINT,
        hint: true,
    },
    Binding {
        action: Action::RevealSecret,
        keys: &[k('S')],
        label: "S",
        help: "reveal / hide the signing secret",
        contexts: SUB_PANES,
        hint: false,
    },
    Binding {
        action: Action::Left,
        keys: &[code(KeyCode::Left), k('h')],
        label: "←/h",
        help: "shift cut lines back",
        contexts: &[Inspector],
        hint: false,
    },
    Binding {
        action: Action::Right,
        keys: &[code(KeyCode::Right), k('l')],
        label: "→/l",
        help: "shift cut lines to read their end",
        contexts: &[Inspector],
        hint: false,
    },
    Binding {
        action: Action::NextSection,
        keys: &[code(KeyCode::Tab)],
        label: "Tab",
        help: "next section (payload, deliveries, response)",
        contexts: &[Inspector],
        hint: true,
    },
    Binding {
        action: Action::NextPane,
        keys: &[code(KeyCode::Tab)],
        label: "Tab",
        help: "next pane",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::PrevPane,
        keys: &[code(KeyCode::BackTab)],
        label: "S-Tab",
        help: "previous pane",
        contexts: MAIN_PANES,
        hint: false,
    },
    Binding {
        action: Action::Filter,
        keys: &[k('/')],
        label: "/",
        help: "filter the stream (action: sub: status: card: pipe: text)",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::Back,
        keys: &[code(KeyCode::Esc)],
        label: "Esc",
        help: "clear the applied filter",
        contexts: MAIN_PANES,
        hint: false,
    },
    Binding {
        action: Action::Zoom,
        keys: &[k('z')],
        label: "z",
        help: "zoom the focused pane to the whole screen, and back",
        contexts: MAIN_PANES,
        hint: false,
    },
    Binding {
        action: Action::ToggleFollow,
        keys: &[k(' ')],
        label: "space",
        help: "freeze / follow the live stream",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::NewSubscription,
        keys: &[k('n')],
        label: "n",
        help: "new subscription",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::SendTestEvent,
        keys: &[k('s')],
        label: "s",
        help: "send a test event",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::Palette,
        keys: &[k(':')],
        label: ":",
        help: "commands: every action by name (Tab completes, ↑ recalls)",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::CancelReplay,
        keys: &[k('X')],
        label: "X",
        help: "cancel the newest running replay (its progress is in the header)",
        contexts: MAIN_PANES,
        hint: false,
    },
    Binding {
        action: Action::Alerts,
        keys: &[k('a')],
        label: "a",
        help: "alert log",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::Audit,
        keys: &[k('A')],
        label: "A",
        help: "audit log: who changed what, newest first",
        contexts: MAIN_PANES,
        hint: false,
    },
    Binding {
        action: Action::Nodes,
        keys: &[k('N')],
        label: "N",
        help: "nodes: this node and the cluster's others",
        contexts: MAIN_PANES,
        hint: false,
    },
    Binding {
        action: Action::Help,
        keys: &[k('?')],
        label: "?",
        help: "help: every key",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::Quit,
        keys: &[k('q'), ctrl('c')],
        label: "q",
        help: "quit",
        contexts: MAIN_PANES,
        hint: true,
    },
    Binding {
        action: Action::Back,
        keys: &[code(KeyCode::Esc), k('q')],
        label: "Esc",
        help: "close",
        contexts: &[Inspector, Endpoint, Overlay],
        hint: true,
    },
    Binding {
        action: Action::Filter,
        keys: &[k('/')],
        label: "/",
        help: "in the help: show only the keys and commands that mention a word",
        contexts: &[Overlay],
        hint: true,
    },
    Binding {
        action: Action::Submit,
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        help: "keep the help narrowed and scroll it",
        contexts: &[HelpSearch],
        hint: true,
    },
    Binding {
        action: Action::Back,
        keys: &[code(KeyCode::Esc)],
        label: "Esc",
        help: "show the whole help again",
        contexts: &[HelpSearch],
        hint: true,
    },
    Binding {
        action: Action::Quit,
        keys: &[ctrl('c')],
        label: "C-c",
        help: "quit hookwatch",
        contexts: &[Inspector, Endpoint, Overlay, Form, SendForm, FilterInput, Palette, Replay, CopyMenu, HelpSearch],
        hint: false,
    },
    Binding {
        action: Action::NextField,
        keys: &[code(KeyCode::Tab), code(KeyCode::Down)],
        label: "Tab",
        help: "next field",
        contexts: &[Form],
        hint: true,
    },
    Binding {
        action: Action::PrevField,
        keys: &[code(KeyCode::BackTab), code(KeyCode::Up)],
        label: "S-Tab",
        help: "previous field",
        contexts: &[Form],
        hint: true,
    },
    Binding {
        action: Action::Submit,
        keys: &[ctrl('s'), code(KeyCode::Enter)],
        label: "Enter",
        help: "save",
        contexts: &[Form],
        hint: true,
    },
    Binding {
        action: Action::Toggle,
        keys: &[k(' ')],
        label: "space",
        help: "the next choice (on Ordered, Signing and Start; elsewhere a space)",
        contexts: &[Form],
        hint: false,
    },
    Binding {
        action: Action::RevealSecret,
        keys: &[ctrl('r')],
        label: "C-r",
        help: "show / hide the header values",
        contexts: &[Form],
        hint: false,
    },
    Binding {
        action: Action::SaveReplacing,
        keys: &[ctrl('o')],
        label: "C-o",
        help: "save, replacing the subscription it overlaps (after a 409)",
        contexts: &[Form],
        hint: false,
    },
    Binding {
        action: Action::NextSample,
        keys: &[ctrl('n')],
        label: "C-n",
        help: "next action's sample payload",
        contexts: &[SendForm],
        hint: true,
    },
    Binding {
        action: Action::NextTarget,
        keys: &[ctrl('t')],
        label: "C-t",
        help: "where it goes: each subscription alone, then every matching one",
        contexts: &[SendForm],
        hint: true,
    },
    Binding {
        action: Action::Submit,
        keys: &[ctrl('s')],
        label: "C-s",
        help: "send the event",
        contexts: &[SendForm],
        hint: true,
    },
    Binding {
        action: Action::Submit,
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        help: "apply the filter",
        contexts: &[FilterInput],
        hint: true,
    },
    Binding {
        action: Action::Submit,
        keys: &[code(KeyCode::Enter)],
        label: "Enter",
        help: "run the command",
        contexts: &[Palette],
        hint: true,
    },
    Binding {
        action: Action::Complete,
        keys: &[code(KeyCode::Tab)],
        label: "Tab",
        help: "complete the command or the name",
        contexts: &[Palette],
        hint: true,
    },
    Binding {
        action: Action::Up,
        keys: &[code(KeyCode::Up)],
        label: "↑",
        help: "the previous command line",
        contexts: &[Palette],
        hint: true,
    },
    Binding {
        action: Action::Down,
        keys: &[code(KeyCode::Down)],
        label: "↓",
        help: "the next command line",
        contexts: &[Palette],
        hint: false,
    },
    Binding {
        action: Action::Back,
        keys: &[code(KeyCode::Esc)],
        label: "Esc",
        help: "cancel",
        contexts: &[Form, SendForm, FilterInput, Palette],
        hint: true,
    },
];

fn key_matches(spec: &Key, ev: &KeyEvent) -> bool {
    let mods = ev.modifiers - KeyModifiers::SHIFT; // 'G' and BackTab arrive with SHIFT
    let want = spec.1 - KeyModifiers::SHIFT;
    let code_matches = match (spec.0, ev.code) {
        (KeyCode::Char(a), KeyCode::Char(b)) if want.contains(KeyModifiers::CONTROL) => a.eq_ignore_ascii_case(&b),
        (a, b) => a == b,
    };
    code_matches && mods == want
}

/// One binding as it is in force: the table's, with the keys the operator gave it.
pub struct Bound {
    pub binding: &'static Binding,
    pub keys: Vec<Key>,
    /// How the keys are written in the hint line and help.
    pub label: String,
}

impl Bound {
    pub fn help(&self) -> &'static str {
        self.binding.help
    }

    fn applies_in(&self, ctx: Context) -> bool {
        self.binding.contexts.contains(&ctx) || (ctx.is_pane() && self.binding.contexts.contains(&Main))
    }
}

/// The key table in force: `BINDINGS` with the operator's `keys.toml` applied (`dashboard::keys`).
pub struct Keymap {
    bound: Vec<Bound>,
    /// The hint line's one entry for moving: the first keys of down and up ("j/k").
    move_label: String,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::with_keys(BINDINGS.iter().map(|b| b.keys.to_vec()).collect(), &[])
    }
}

impl Keymap {
    /// The table with `keys[i]` for `BINDINGS[i]`; those in `relabel` are written from their keys.
    pub(super) fn with_keys(keys: Vec<Vec<Key>>, relabel: &[usize]) -> Keymap {
        let bound: Vec<Bound> = BINDINGS
            .iter()
            .zip(keys)
            .enumerate()
            .map(|(i, (binding, keys))| {
                let label = match relabel.contains(&i) {
                    true => keys.iter().map(|k| k.written(true)).collect::<Vec<_>>().join("/"),
                    false => binding.label.to_string(),
                };
                Bound { binding, keys, label }
            })
            .collect();
        let first_key = |action: Action| {
            let bound = bound.iter().find(|b| b.binding.action == action);
            bound.and_then(|b| b.keys.first()).map_or_else(String::new, |k| k.written(true))
        };
        let move_label = format!("{}/{}", first_key(Action::Down), first_key(Action::Up));
        Keymap { bound, move_label }
    }

    /// The bindings a dashboard offers: all of them, or (read-only) those that change nothing.
    pub fn offered(&self, read_only: bool) -> impl Iterator<Item = &Bound> {
        self.bound.iter().filter(move |b| !(read_only && b.binding.action.changes()))
    }

    /// The action a key means where the cursor is. Main panes also take the `Main` bindings.
    pub fn lookup(&self, ctx: Context, ev: &KeyEvent, read_only: bool) -> Option<Action> {
        self.offered(read_only)
            .filter(|b| b.applies_in(ctx))
            .find(|b| b.keys.iter().any(|spec| key_matches(spec, ev)))
            .map(|b| b.binding.action)
    }

    /// For a key that does nothing where the cursor is: what it does and where it works, or that a
    /// read-only dashboard does not take it; `None` for a key no pane or page binds.
    pub fn elsewhere(&self, ev: &KeyEvent, read_only: bool) -> Option<String> {
        let bound: Vec<&Bound> = self
            .bound
            .iter()
            .filter(|b| {
                b.keys.iter().any(|spec| key_matches(spec, ev))
                    && b.binding.contexts.iter().any(|c| place(*c).is_some())
            })
            .collect();
        let first = bound.first()?;
        if read_only && bound.iter().all(|b| b.binding.action.changes()) {
            return Some(format!(
                "{} ({}) is not taken: this dashboard is read-only (a viewer token, or --read-only)",
                first.label,
                short(first.help())
            ));
        }
        let mut places: Vec<&str> = Vec::new();
        for name in bound
            .iter()
            .filter(|b| !(read_only && b.binding.action.changes()))
            .flat_map(|b| b.binding.contexts.iter().filter_map(|c| place(*c)))
        {
            if !places.contains(&name) {
                places.push(name);
            }
        }
        Some(format!("{} ({}) works in {}", first.label, short(first.help()), places.join(", ")))
    }

    /// The hint line of `ctx`: pane-specific keys first, then the global ones; `urgent` are
    /// actions the state on screen calls for (an open breaker's probe), shown first though not
    /// hinted otherwise.
    pub fn hints(&self, ctx: Context, read_only: bool, urgent: &[Action]) -> Vec<(Action, &str, &'static str)> {
        let in_main = ctx.is_pane();
        let offered = || self.offered(read_only);
        let first = offered().filter(|b| !b.binding.hint && urgent.contains(&b.binding.action));
        let first = first.filter(|b| b.binding.contexts.contains(&ctx));
        let specific = offered().filter(|b| b.binding.hint && b.binding.contexts.contains(&ctx));
        let global = offered().filter(|b| b.binding.hint && in_main && b.binding.contexts.contains(&Main));
        // Up and down are one hint: "j/k move".
        first
            .chain(specific)
            .chain(global)
            .map(|b| match b.binding.action {
                Action::Down => (Action::Down, self.move_label.as_str(), "move"),
                action => (action, b.label.as_str(), short(b.help())),
            })
            .collect()
    }
}

/// A pane or page as the status line names it; `None` for popups and inputs.
fn place(ctx: Context) -> Option<&'static str> {
    Some(match ctx {
        Main => "every pane",
        Subscriptions => "Subscriptions",
        Rates => "Delivery success",
        Stream => "the Event stream",
        Inspector => "the inspector",
        Endpoint => "an endpoint's page",
        _ => return None,
    })
}

/// The first words of a help text, for the hint line.
fn short(help: &'static str) -> &'static str {
    help.split([':', '(']).next().unwrap_or(help).trim()
}

pub fn context_title(ctx: Context) -> &'static str {
    match ctx {
        Main => "Everywhere",
        Subscriptions => "Subscriptions / Delivery success",
        Rates => "Delivery success",
        Stream => "Event stream",
        Inspector => "Inspector",
        Endpoint => "Endpoint page (Enter on a subscription)",
        Overlay => "Help and alert log",
        Form => "Subscription form",
        SendForm => "Test event editor",
        FilterInput => "Filter input",
        Confirm => "Confirmation",
        Palette => "Command palette (:)",
        Replay => "Replay preview",
        CopyMenu => "Copy menu (y in the inspector)",
        HelpSearch => "Searching the help",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(c, m)
    }

    fn lookup(ctx: Context, ev: &KeyEvent, read_only: bool) -> Option<Action> {
        Keymap::default().lookup(ctx, ev, read_only)
    }

    /// The hint line as (key, what it does).
    fn hints(ctx: Context, read_only: bool, urgent: &[Action]) -> Vec<(String, &'static str)> {
        let keymap = Keymap::default();
        keymap.hints(ctx, read_only, urgent).into_iter().map(|(_, key, help)| (key.to_string(), help)).collect()
    }

    #[test]
    fn keys_resolve_by_context() {
        let enter = key(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(lookup(Stream, &enter, false), Some(Action::Inspect));
        assert_eq!(lookup(FilterInput, &enter, false), Some(Action::Submit));
        assert_eq!(lookup(Stream, &key(KeyCode::Char('G'), KeyModifiers::SHIFT), false), Some(Action::Bottom));
        assert_eq!(lookup(Stream, &key(KeyCode::BackTab, KeyModifiers::SHIFT), false), Some(Action::PrevPane));
        assert_eq!(
            lookup(Subscriptions, &key(KeyCode::Char('p'), KeyModifiers::NONE), false),
            Some(Action::TogglePause)
        );
        assert_eq!(
            lookup(Stream, &key(KeyCode::Char('p'), KeyModifiers::NONE), false),
            None,
            "p only where an endpoint is selected"
        );
        assert_eq!(lookup(Inspector, &key(KeyCode::Char('q'), KeyModifiers::NONE), false), Some(Action::Back));
        assert_eq!(lookup(Form, &key(KeyCode::Char('c'), KeyModifiers::CONTROL), false), Some(Action::Quit));
        assert_eq!(
            lookup(Form, &key(KeyCode::Char('q'), KeyModifiers::NONE), false),
            None,
            "forms take letters as text"
        );
    }

    #[test]
    fn every_spec_key_is_bound_and_documented() {
        // docs/dashboard.md lists these keys; each must do something in the main panes and appear in help.
        let spec = [
            ("Tab", Action::NextPane),
            ("S-Tab", Action::PrevPane),
            ("j/↓", Action::Down),
            ("k/↑", Action::Up),
            ("PgUp", Action::PageUp),
            ("PgDn", Action::PageDown),
            ("g", Action::Top),
            ("G", Action::Bottom),
            ("/", Action::Filter),
            ("space", Action::ToggleFollow),
            ("n", Action::NewSubscription),
            ("s", Action::SendTestEvent),
            ("a", Action::Alerts),
            ("?", Action::Help),
            ("q", Action::Quit),
        ];
        for (label, action) in spec {
            assert!(BINDINGS.iter().any(|b| b.label == label && b.action == action), "{label} → {action:?}");
        }
        for (ctx, action) in [
            (Stream, Action::Inspect),
            (Stream, Action::Redeliver),
            (Subscriptions, Action::TogglePause),
            (Subscriptions, Action::EditSubscription),
            (Inspector, Action::Back),
        ] {
            let b = BINDINGS.iter().find(|b| b.action == action && b.contexts.contains(&ctx)).unwrap();
            assert!(
                b.keys.iter().any(|spec| lookup(ctx, &KeyEvent::new(spec.0, spec.1), false) == Some(action)),
                "{action:?} reachable in {ctx:?}"
            );
        }
    }

    #[test]
    fn a_read_only_dashboard_neither_offers_nor_takes_a_change() {
        let p = KeyEvent::new(KeyCode::Char('p'), KeyModifiers::NONE);
        assert_eq!(lookup(Subscriptions, &p, false), Some(Action::TogglePause));
        assert_eq!(lookup(Subscriptions, &p, true), None);
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(lookup(Stream, &enter, true), Some(Action::Inspect), "reading still works");
        for ctx in [Main, Subscriptions, Rates, Stream, Inspector] {
            let offered: Vec<String> = hints(ctx, true, &[]).into_iter().map(|(k, _)| k).collect();
            for changing in ["r", "p", "e", "n", "s"] {
                assert!(!offered.iter().any(|k| k == changing), "{ctx:?} offers {changing} read-only: {offered:?}");
            }
        }
        let keymap = Keymap::default();
        assert!(keymap.offered(true).all(|b| !b.binding.action.changes()));
        assert!(keymap.offered(false).any(|b| b.binding.action.changes()));
    }

    #[test]
    fn hint_lines_come_from_the_table() {
        let stream = hints(Stream, false, &[]);
        assert_eq!(stream[0], ("j/k".to_string(), "move"));
        assert!(stream.iter().any(|(k, h)| *k == "Enter" && *h == "inspect the event"));
        assert!(stream.iter().any(|(k, _)| *k == "?"));
        assert!(!hints(Form, false, &[]).iter().any(|(k, _)| *k == "?"));
        assert_eq!(hints(Endpoint, false, &[Action::Probe])[0], ("b".to_string(), "probe now"));
        assert!(!hints(Endpoint, false, &[]).iter().any(|(k, _)| *k == "b"), "b is hinted only when it applies");
        assert!(!hints(Endpoint, true, &[Action::Probe]).iter().any(|(k, _)| *k == "b"), "a viewer cannot probe");
    }
}
