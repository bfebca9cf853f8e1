//! The help overlay: every key, grouped by where it applies, straight from the key table; `/`
//! narrows it to what mentions a word.

use crate::dashboard::component::{Component, Reply, scroll_key};
use crate::dashboard::data::Data;
use crate::dashboard::forms::edit;
use crate::dashboard::keymap::{Action, Context, Keymap, context_title};
use crate::dashboard::layout::{HELP_BOX, popup_area};
use crate::dashboard::palette;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui_textarea::TextArea;

const ORDER: [Context; 13] = [
    Context::Main,
    Context::Stream,
    Context::Subscriptions,
    Context::Inspector,
    Context::CopyMenu,
    Context::Overlay,
    Context::HelpSearch,
    Context::FilterInput,
    Context::Palette,
    Context::Form,
    Context::SendForm,
    Context::Confirm,
    Context::Replay,
];

/// Every line of the help text (also what the docs test checks); read-only, only what it offers;
/// with a `query`, only the keys and commands that mention it (any case), under their headings.
pub fn lines(theme: &Theme, keymap: &Keymap, read_only: bool, query: &str) -> Vec<Line<'static>> {
    let query = query.trim().to_lowercase();
    let mentions = |texts: &[&str]| query.is_empty() || texts.iter().any(|t| t.to_lowercase().contains(&query));
    let heading =
        |title: &str| Line::styled(title.to_string(), theme.accent().add_modifier(ratatui::style::Modifier::BOLD));
    let mut out = Vec::new();
    for ctx in ORDER {
        let bindings: Vec<_> = keymap
            .offered(read_only)
            .filter(|b| b.binding.contexts.contains(&ctx) && mentions(&[&b.label, b.help(), context_title(ctx)]))
            .collect();
        if bindings.is_empty() {
            continue;
        }
        out.push(heading(context_title(ctx)));
        for b in bindings {
            out.push(Line::from(vec![Span::styled(format!("  {:<8}", b.label), theme.bold()), Span::raw(b.help())]));
        }
        out.push(Line::raw(""));
    }
    let commands: Vec<_> = palette::offered(read_only).filter(|c| mentions(&[c.usage, c.help])).collect();
    if !commands.is_empty() {
        out.push(heading("Commands (: then a name; Tab completes)"));
    }
    for c in commands {
        out.push(Line::from(vec![Span::styled(format!("  :{:<14}", c.usage), theme.bold()), Span::raw(c.help)]));
    }
    if out.is_empty() {
        out.push(Line::styled(format!("Nothing in the help mentions {query:?}. Esc shows it all."), theme.dim()));
    }
    out
}

/// The help's lines as drawn `width` columns wide: a key's text wraps under itself, past the key,
/// so nothing is cut on a narrow screen.
pub fn rows(theme: &Theme, keymap: &Keymap, read_only: bool, query: &str, width: usize) -> Vec<Line<'static>> {
    lines(theme, keymap, read_only, query)
        .into_iter()
        .flat_map(|line| match &line.spans[..] {
            [key, text] if line.width() > width => {
                let indent = key.width();
                let pieces = words_in_rows(&text.content, width.saturating_sub(indent).max(1));
                let rows: Vec<Line<'static>> = pieces
                    .into_iter()
                    .enumerate()
                    .map(|(i, piece)| {
                        let head = if i == 0 { key.clone() } else { Span::raw(" ".repeat(indent)) };
                        Line::from(vec![head, Span::styled(piece, text.style)])
                    })
                    .collect();
                rows
            }
            _ => crate::dashboard::text::wrapped(line, width.max(1)),
        })
        .collect()
}

/// `text` in rows of at most `width` columns, broken between words (a longer word has a row).
fn words_in_rows(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let mut rows = vec![String::new()];
    for word in text.split(' ') {
        let row = rows.last_mut().expect("a row is open");
        if !row.is_empty() && row.width() + 1 + word.width() > width {
            rows.push(word.to_string());
        } else {
            if !row.is_empty() {
                row.push(' ');
            }
            row.push_str(word);
        }
    }
    rows
}

/// How wide the help's text is on a screen `width` columns wide (inside its border).
pub fn text_width(width: u16) -> usize {
    usize::from(crate::dashboard::layout::share_of(width, HELP_BOX.width, HELP_BOX.min.0).saturating_sub(2))
}

#[derive(Default)]
pub struct Help {
    pub scroll: usize,
    /// What it is narrowed to (`/`), and whether that is being typed.
    pub search: Option<(TextArea<'static>, bool)>,
}

impl Help {
    /// What it is narrowed to ("" for all of it).
    pub fn query(&self) -> String {
        self.search.as_ref().map(|(input, _)| input.lines().join("")).unwrap_or_default()
    }

    /// How many rows it has as narrowed and wrapped on `data`'s screen (what `G` scrolls to).
    pub fn len(&self, data: &Data) -> usize {
        rows(&Theme::PLAIN, data.keymap, data.read_only, &self.query(), text_width(data.screen.width)).len()
    }

    fn typing(&self) -> bool {
        self.search.as_ref().is_some_and(|(_, typing)| *typing)
    }

    fn search_key(&mut self, action: Option<Action>, key: KeyEvent) {
        let Some((input, typing)) = self.search.as_mut() else { return };
        match action {
            Some(Action::Submit) => *typing = false,
            Some(Action::Back) => self.search = None,
            _ => edit(input, key),
        }
        // What is shown changed: from its top.
        self.scroll = 0;
    }
}

impl Component for Help {
    fn context(&self) -> Context {
        if self.typing() { Context::HelpSearch } else { Context::Overlay }
    }

    fn on_key(&mut self, action: Option<Action>, key: KeyEvent, data: &Data) -> Reply {
        if self.typing() {
            self.search_key(action, key);
            return Reply::Stay;
        }
        if action == Some(Action::Filter) {
            let mut input = self.search.take().map(|(input, _)| input).unwrap_or_default();
            input.move_cursor(ratatui_textarea::CursorMove::End);
            self.search = Some((input, true));
            return Reply::Stay;
        }
        let len = self.len(data);
        scroll_key(&mut self.scroll, action, len, HELP_BOX.rows(data.screen.height))
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        let rect = popup_area(frame, area, HELP_BOX.width, HELP_BOX.height, HELP_BOX.min);
        let query = self.query();
        let all = rows(theme, data.keymap, data.read_only, &query, text_width(area.width));
        let title = match &self.search {
            Some((_, true)) => format!(" Help · /{}▏ · Enter keeps it · Esc shows all ", clean(&query)),
            Some(_) => {
                format!(" Help · showing what mentions {:?} · / changes it · Esc closes ", clean(&query).into_owned())
            }
            None => " Help · / searches · j/k scroll · Esc closes ".to_string(),
        };
        let block = Block::default().borders(Borders::ALL).border_style(theme.border(true)).title(title);
        let visible = block.inner(rect).height as usize;
        let scroll = crate::dashboard::layout::cells(self.scroll.min(all.len().saturating_sub(visible)));
        frame.render_widget(Paragraph::new(all).block(block).scroll((scroll, 0)), rect);
    }
}
