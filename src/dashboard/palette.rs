//! The command palette (`:`, as in k9s): every action by name, with completion and history.
//! Parsing and completion are pure; the palette's keys and drawing are here, and `input` carries
//! out what a line names.

use super::component::{Component, Reply, Request};
use super::data::Data;
use super::forms::edit;
use super::keymap::{Action, Context};
use super::sanitize::clean;
use super::theme::Theme;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui_textarea::TextArea;

/// What a command takes after its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    None,
    /// A subscription's name (or id); completed from the subscriptions.
    Subscription,
    /// A running replay's id, optional; completed from the running replays.
    Replay,
    /// Filter text, optional (`:filter` alone clears the filter).
    Filter,
    /// A saved view's name, or `save` and a name; completed from the saved views.
    View,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Replay,
    Cancel,
    Pause,
    Resume,
    Probe,
    Edit,
    Delete,
    New,
    Send,
    Filter,
    View,
    Alerts,
    Audit,
    Nodes,
    Help,
    Quit,
}

impl Verb {
    pub fn name(self) -> &'static str {
        COMMANDS.iter().find(|c| c.verb == self).map_or("", |c| c.name)
    }
}

pub struct Command {
    pub verb: Verb,
    pub name: &'static str,
    pub usage: &'static str,
    pub help: &'static str,
    pub arg: Arg,
    /// Changes something on the server: a read-only dashboard neither lists nor runs it.
    pub changes: bool,
}

const fn command(verb: Verb, name: &'static str, usage: &'static str, help: &'static str, arg: Arg) -> Command {
    let changes =
        !matches!(verb, Verb::Filter | Verb::View | Verb::Alerts | Verb::Audit | Verb::Nodes | Verb::Help | Verb::Quit);
    Command { verb, name, usage, help, arg, changes }
}

pub const COMMANDS: &[Command] = &[
    command(Verb::Replay, "replay", "replay", "replay what the stream filter selects (preview first)", Arg::None),
    command(Verb::Cancel, "cancel", "cancel [ID]", "cancel a running replay (the newest without an id)", Arg::Replay),
    command(Verb::Pause, "pause", "pause NAME", "pause a subscription: deliveries wait", Arg::Subscription),
    command(Verb::Resume, "resume", "resume NAME", "resume (or re-enable) a subscription", Arg::Subscription),
    command(Verb::Probe, "probe", "probe NAME", "probe an open breaker now", Arg::Subscription),
    command(Verb::Edit, "edit", "edit NAME", "edit a subscription", Arg::Subscription),
    command(Verb::Delete, "delete", "delete NAME", "delete a subscription (asks first)", Arg::Subscription),
    command(Verb::New, "new", "new", "new subscription", Arg::None),
    command(Verb::Send, "send", "send", "send a test event", Arg::None),
    command(Verb::Filter, "filter", "filter [TEXT]", "filter the stream; alone, clears the filter", Arg::Filter),
    command(Verb::View, "view", "view [save] NAME", "bring back a saved view; with save, keep this one", Arg::View),
    command(Verb::Alerts, "alerts", "alerts", "alert log", Arg::None),
    command(Verb::Audit, "audit", "audit", "audit log: who changed what", Arg::None),
    command(Verb::Nodes, "nodes", "nodes", "this node and the cluster's others", Arg::None),
    command(Verb::Help, "help", "help", "every key", Arg::None),
    command(Verb::Quit, "quit", "quit", "quit hookwatch", Arg::None),
];

/// The commands a dashboard offers: all, or (read-only) those that change nothing.
pub fn offered(read_only: bool) -> impl Iterator<Item = &'static Command> {
    COMMANDS.iter().filter(move |c| !(read_only && c.changes))
}

/// A command line, read: the command and what followed its name (trimmed, maybe empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub verb: Verb,
    pub arg: String,
}

/// The command a (perhaps shortened) name means, while it stays unambiguous (`:pa billing`).
fn find(word: &str) -> Result<&'static Command, String> {
    let word = word.to_ascii_lowercase();
    if let Some(exact) = COMMANDS.iter().find(|c| c.name == word) {
        return Ok(exact);
    }
    match COMMANDS.iter().filter(|c| c.name.starts_with(&word)).collect::<Vec<_>>()[..] {
        [one] => Ok(one),
        [] => Err(format!("no command {word:?}; Tab lists them")),
        ref many => {
            let names: Vec<&str> = many.iter().map(|c| c.name).collect();
            Err(format!("{word:?} could be {}; type more of it", names.join(", ")))
        }
    }
}

/// Reads a command line.
pub fn parse(line: &str, read_only: bool) -> Result<Invocation, String> {
    let line = line.trim().trim_start_matches(':');
    let (word, arg) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if word.is_empty() {
        return Err("type a command; Tab lists them".into());
    }
    let command = find(word)?;
    if read_only && command.changes {
        return Err(format!(":{} changes things, and this dashboard is read-only", command.name));
    }
    let arg = arg.trim().to_string();
    let named = match command.arg {
        Arg::Subscription => !arg.is_empty(),
        Arg::View => !arg.is_empty() && arg != "save",
        Arg::None | Arg::Replay | Arg::Filter => true,
    };
    if !named {
        return Err(format!("usage: :{}; Tab completes the name", command.usage));
    }
    if command.arg == Arg::None && !arg.is_empty() {
        return Err(format!(":{} takes nothing after it", command.name));
    }
    Ok(Invocation { verb: command.verb, arg })
}

/// The names completion offers after a command's name.
#[derive(Default)]
pub struct Known<'a> {
    pub subscriptions: Vec<&'a str>,
    pub replays: Vec<&'a str>,
    pub views: Vec<&'a str>,
}

/// What could follow what has been typed: (text to put in, what it is).
pub fn candidates(line: &str, known: &Known, read_only: bool) -> Vec<(String, String)> {
    let Some((word, partial)) = line.split_once(char::is_whitespace) else {
        let word = line.to_ascii_lowercase();
        return offered(read_only)
            .filter(|c| c.name.starts_with(&word))
            .map(|c| (c.name.to_string(), format!("{:<14}{}", c.usage, c.help)))
            .collect();
    };
    let Some(command) = find(word).ok().filter(|c| !(read_only && c.changes)) else { return Vec::new() };
    let with_save: Vec<&str>;
    let names: &[&str] = match command.arg {
        Arg::Subscription => &known.subscriptions,
        Arg::Replay => &known.replays,
        Arg::View => {
            with_save = std::iter::once("save").chain(known.views.iter().copied()).collect();
            &with_save
        }
        Arg::None | Arg::Filter => return Vec::new(),
    };
    let partial = partial.trim_start().to_lowercase();
    let starting: Vec<&str> = names.iter().copied().filter(|n| n.to_lowercase().starts_with(&partial)).collect();
    let chosen = if starting.is_empty() {
        names.iter().copied().filter(|n| n.to_lowercase().contains(&partial)).collect()
    } else {
        starting
    };
    chosen.into_iter().map(|n| (format!("{} {n}", command.name), String::new())).collect()
}

/// Tab: the line completed as far as the candidates agree (a single one in full).
pub fn complete(line: &str, candidates: &[(String, String)]) -> String {
    match candidates {
        [] => line.to_string(),
        [(only, _)] => {
            // A command that takes more gets its space, ready for the argument.
            let takes_more = !only.contains(' ') && COMMANDS.iter().any(|c| c.name == only && c.arg != Arg::None);
            if takes_more { format!("{only} ") } else { only.clone() }
        }
        [(first, _), rest @ ..] => {
            let mut common = first.clone();
            for (other, _) in rest {
                let shared = common
                    .char_indices()
                    .zip(other.chars())
                    .find(|((_, a), b)| !a.eq_ignore_ascii_case(b))
                    .map_or(common.len().min(other.len()), |((i, _), _)| i);
                common.truncate(shared);
            }
            if common.chars().count() > line.chars().count() { common } else { line.to_string() }
        }
    }
}

/// The palette while it is open.
#[derive(Default)]
pub struct Palette {
    pub input: TextArea<'static>,
    pub error: Option<String>,
    /// Which history entry is shown (counted back from the newest), while browsing with ↑/↓.
    pub recalled: Option<usize>,
}

impl Palette {
    pub fn line(&self) -> String {
        self.input.lines().join(" ")
    }

    pub fn set_line(&mut self, line: &str) {
        self.input = TextArea::new(vec![line.to_string()]);
        self.input.move_cursor(ratatui_textarea::CursorMove::End);
    }

    /// ↑ (`back`) or ↓ through `history` (oldest first); past the newest, an empty line.
    pub fn recall(&mut self, history: &[String], back: bool) {
        let next = match (self.recalled, back) {
            (None, true) if !history.is_empty() => Some(0),
            (Some(i), true) => Some((i + 1).min(history.len().saturating_sub(1))),
            (Some(0), false) | (None, _) => None,
            (Some(i), false) => Some(i - 1),
        };
        self.recalled = next;
        let line = next.and_then(|i| history.get(history.len() - 1 - i)).map_or("", String::as_str);
        self.set_line(line);
    }
}

/// How many command lines the palette remembers.
pub const HISTORY: usize = 100;

/// Keeps `line` as the newest entry (once: an older copy moves up).
pub fn remember(history: &mut Vec<String>, line: &str) {
    let line = line.trim().to_string();
    if line.is_empty() {
        return;
    }
    history.retain(|l| *l != line);
    history.push(line);
    if history.len() > HISTORY {
        history.remove(0);
    }
}

impl Palette {
    /// What may follow its line, from the subscriptions and replays known now.
    pub fn candidates(&self, data: &Data) -> Vec<(String, String)> {
        let known = Known {
            subscriptions: data.subscriptions.iter().map(|s| s.name.as_str()).collect(),
            replays: data.replays.iter().map(|r| r.id.as_str()).collect(),
            views: data.views.keys().map(String::as_str).collect(),
        };
        candidates(&self.line(), &known, data.read_only)
    }
}

impl Component for Palette {
    fn context(&self) -> Context {
        Context::Palette
    }

    fn on_key(&mut self, action: Option<Action>, key: KeyEvent, data: &Data) -> Reply {
        match action {
            // The app parses and runs it: a line that does not parse comes back as an error here.
            Some(Action::Submit) => return Reply::Ask(Request::Run(self.line())),
            Some(Action::Back) => return Reply::close(),
            Some(Action::Complete) => {
                let completed = complete(&self.line(), &self.candidates(data));
                self.set_line(&completed);
                self.error = None;
            }
            Some(Action::Up) => self.recall(data.history, true),
            Some(Action::Down) => self.recall(data.history, false),
            _ => {
                edit(&mut self.input, key);
                self.error = None;
                self.recalled = None;
            }
        }
        Reply::Stay
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(frame, area, data, self, theme)
    }
}

/// Candidates listed at most; Tab narrows them.
const SHOWN: usize = 10;

fn draw(frame: &mut Frame, area: Rect, data: &Data, palette: &Palette, theme: &Theme) {
    let candidates = palette.candidates(data);
    let listed =
        candidates.len().min(SHOWN) + usize::from(candidates.len() > SHOWN) + usize::from(palette.error.is_some());
    // Bottom-anchored over the stream, leaving the header and the hint line visible.
    let height = crate::dashboard::layout::cells(listed).saturating_add(3).min(area.height.saturating_sub(2));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_to_commands_with_short_names() {
        assert_eq!(parse(":pause billing eu", false), Ok(Invocation { verb: Verb::Pause, arg: "billing eu".into() }));
        assert_eq!(parse("pa billing", false).map(|i| i.verb), Ok(Verb::Pause));
        assert_eq!(parse("q", false).map(|i| i.verb), Ok(Verb::Quit));
        assert_eq!(parse("filter", false), Ok(Invocation { verb: Verb::Filter, arg: String::new() }));
        assert!(parse("re", false).unwrap_err().contains("replay, resume"), "ambiguous names say what they could be");
        assert!(parse("pause", false).unwrap_err().contains("usage: :pause NAME"));
        assert!(parse("alerts now", false).unwrap_err().contains("takes nothing"));
        assert!(parse("launch", false).unwrap_err().contains("no command"));
        assert!(parse("pause billing", true).unwrap_err().contains("read-only"));
        assert_eq!(parse("audit", true).map(|i| i.verb), Ok(Verb::Audit), "reading works read-only");
    }

    fn known<'a>(subscriptions: &[&'a str]) -> Known<'a> {
        Known { subscriptions: subscriptions.to_vec(), ..Known::default() }
    }

    #[test]
    fn view_completes_save_and_the_saved_names_and_needs_a_name() {
        let known = Known { views: vec!["incident", "moves"], ..Known::default() };
        let names: Vec<String> = candidates("view ", &known, true).into_iter().map(|(line, _)| line).collect();
        assert_eq!(names, ["view save", "view incident", "view moves"], "read-only dashboards keep views too");
        assert_eq!(complete("view i", &candidates("view i", &known, false)), "view incident");
        assert!(parse("view", false).unwrap_err().contains("usage: :view [save] NAME"));
        assert!(parse("view save", false).unwrap_err().contains("usage: :view [save] NAME"));
        assert_eq!(parse("view save incident", true).map(|i| i.arg), Ok("save incident".to_string()));
    }

    #[test]
    fn tab_completes_commands_then_names() {
        let subs = ["billing", "billing-eu", "crm-sync"];
        let c = candidates("pr", &known(&subs), false);
        assert_eq!(complete("pr", &c), "probe ");
        let c = candidates("pause bi", &known(&subs), false);
        assert_eq!(c.len(), 2);
        assert_eq!(complete("pause bi", &c), "pause billing", "as far as both names agree");
        let c = candidates("pause sync", &known(&subs), false);
        assert_eq!(complete("pause sync", &c), "pause crm-sync", "a fragment inside a name matches too");
        assert_eq!(complete("r", &candidates("r", &known(&subs), false)), "re");
        assert!(
            candidates("", &known(&subs), true)
                .iter()
                .all(|(name, _)| !["pause", "delete", "replay"].contains(&name.as_str()))
        );
    }

    #[test]
    fn history_recalls_newest_first_and_keeps_one_copy() {
        let mut history = Vec::new();
        for line in ["pause a", "audit", "pause a"] {
            remember(&mut history, line);
        }
        assert_eq!(history, ["audit", "pause a"]);
        let mut p = Palette::default();
        p.recall(&history, true);
        assert_eq!(p.line(), "pause a");
        p.recall(&history, true);
        p.recall(&history, true);
        assert_eq!(p.line(), "audit", "stops at the oldest");
        p.recall(&history, false);
        p.recall(&history, false);
        assert_eq!(p.line(), "", "past the newest: an empty line");
    }
}
