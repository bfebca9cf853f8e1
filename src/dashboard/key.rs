//! A key as the dashboard binds it, and its text: how `keys.toml` writes it (`j`, `ctrl-d`,
//! `PageUp`, `Space`) and how the hint line and help show it (`↑` for `Up`).

use crossterm::event::{KeyCode, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(pub KeyCode, pub KeyModifiers);

/// Keys with a name, as `keys.toml` writes them, and their symbol on screen where it has one.
const NAMED: &[(KeyCode, &str, Option<&str>)] = &[
    (KeyCode::Enter, "Enter", None),
    (KeyCode::Esc, "Esc", None),
    (KeyCode::Tab, "Tab", None),
    (KeyCode::BackTab, "BackTab", Some("S-Tab")),
    (KeyCode::Backspace, "Backspace", None),
    (KeyCode::Delete, "Delete", Some("Del")),
    (KeyCode::Insert, "Insert", None),
    (KeyCode::Home, "Home", None),
    (KeyCode::End, "End", None),
    (KeyCode::PageUp, "PageUp", Some("PgUp")),
    (KeyCode::PageDown, "PageDown", Some("PgDn")),
    (KeyCode::Up, "Up", Some("↑")),
    (KeyCode::Down, "Down", Some("↓")),
    (KeyCode::Left, "Left", Some("←")),
    (KeyCode::Right, "Right", Some("→")),
    (KeyCode::Char(' '), "Space", None),
];

impl Key {
    /// The key as `keys.toml` writes it (`on_screen`: as the hint line shows it).
    pub fn written(&self, on_screen: bool) -> String {
        let named = NAMED.iter().find(|(code, _, _)| *code == self.0);
        let name = match (named, self.0) {
            (Some((_, name, symbol)), _) => match (on_screen, symbol) {
                (true, Some(symbol)) => symbol.to_string(),
                _ => name.to_string(),
            },
            (None, KeyCode::F(n)) => format!("F{n}"),
            (None, KeyCode::Char(c)) => c.to_string(),
            (None, other) => format!("{other:?}"),
        };
        let mut prefix = String::new();
        if self.1.contains(KeyModifiers::CONTROL) {
            prefix.push_str(if on_screen { "^" } else { "ctrl-" });
        }
        if self.1.contains(KeyModifiers::ALT) {
            prefix.push_str(if on_screen { "M-" } else { "alt-" });
        }
        prefix + &name
    }

    /// A key from its text: a character (`j`, `G`, `?`), a name (`Enter`, `PageUp`, `F5`,
    /// `Space`), either after `ctrl-` or `alt-`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            if let Some(after) = rest.strip_prefix("ctrl-").filter(|r| !r.is_empty()) {
                modifiers |= KeyModifiers::CONTROL;
                rest = after;
            } else if let Some(after) = rest.strip_prefix("alt-").filter(|r| !r.is_empty()) {
                modifiers |= KeyModifiers::ALT;
                rest = after;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() && c != ' ' => KeyCode::Char(c),
            _ => match NAMED.iter().find(|(_, name, _)| name.eq_ignore_ascii_case(rest)) {
                Some((code, _, _)) => *code,
                None => match rest.strip_prefix(['F', 'f']).and_then(|n| n.parse::<u8>().ok()) {
                    Some(n @ 1..=12) => KeyCode::F(n),
                    _ => {
                        return Err(format!(
                            "{text:?} is not a key: write one character (j, G, ?), a name ({}, F1 to F12), \
                             either after ctrl- or alt-",
                            NAMED.iter().map(|(_, name, _)| *name).collect::<Vec<_>>().join(", ")
                        ));
                    }
                },
            },
        };
        // A terminal sends ctrl with a letter the same in either case (`key_matches` reads it so).
        let code = match code {
            KeyCode::Char(c) if modifiers.contains(KeyModifiers::CONTROL) => KeyCode::Char(c.to_ascii_lowercase()),
            other => other,
        };
        Ok(Key(code, modifiers))
    }

    /// What a text field uses for typing or editing: a character, alone or with ctrl or alt (the
    /// editor's word and line moves), and the keys that move in or delete from the line.
    pub fn edits_text(&self) -> bool {
        matches!(
            self.0,
            KeyCode::Char(_)
                | KeyCode::Backspace
                | KeyCode::Delete
                | KeyCode::Left
                | KeyCode::Right
                | KeyCode::Home
                | KeyCode::End
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_reads_back_as_it_is_written() {
        for text in ["j", "G", "?", "ctrl-d", "alt-x", "PageUp", "Space", "F5", "Enter", "BackTab", "ctrl-alt-k"] {
            let key = Key::parse(text).unwrap();
            assert_eq!(key.written(false), text, "{key:?}");
        }
        assert_eq!(Key::parse("pageup").unwrap(), Key(KeyCode::PageUp, KeyModifiers::NONE));
        assert_eq!(Key::parse("Up").unwrap().written(true), "↑");
        assert_eq!(Key::parse("ctrl-u").unwrap().written(true), "^u");
        assert_eq!(Key::parse("ctrl-D").unwrap(), Key::parse("ctrl-d").unwrap(), "ctrl with a letter is one key");
    }

    #[test]
    fn what_is_not_a_key_is_refused_with_how_to_write_one() {
        for text in ["", "jk", "ctrl-", "F13", "Hyper-x", " "] {
            let error = Key::parse(text).unwrap_err();
            assert!(error.contains("is not a key: write one character"), "{text:?}: {error}");
        }
    }
}
