//! The operator's keys: `keys.toml` in the XDG config folder (`~/.config/hookwatch/keys.toml`)
//! gives any binding of the table its own keys, one or several. A file that would make one key
//! mean two things in one place, or take a character a text field needs, is refused at start with
//! both bindings named. `hookwatch keys` prints the table in force as that file.

use super::key::Key;
use super::keymap::{BINDINGS, Context, Keymap};
use std::path::PathBuf;

/// Where the file is: `$XDG_CONFIG_HOME/hookwatch/keys.toml`, else `~/.config/hookwatch/keys.toml`.
pub fn path() -> Option<PathBuf> {
    super::config_file("keys.toml")
}

/// The table with the operator's file applied; the defaults when there is none.
pub fn load() -> Result<Keymap, String> {
    let Some(path) = path() else { return Ok(Keymap::default()) };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Keymap::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// A binding's name in the file: its action in snake_case (`toggle_pause`); an action bound in
/// several places is that name in the first, and `<action>_in_<place>` in the others
/// (`down_in_palette`).
pub fn name(index: usize) -> String {
    let binding = &BINDINGS[index];
    let action = snake(&format!("{:?}", binding.action));
    let first = BINDINGS.iter().position(|b| b.action == binding.action);
    match (first == Some(index), binding.contexts.first()) {
        (false, Some(place)) => format!("{action}_in_{}", snake(&format!("{place:?}"))),
        _ => action,
    }
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The table with the bindings `text` names given its keys.
pub fn parse(text: &str) -> Result<Keymap, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| format!("not TOML: {}", e.message()))?;
    let mut keys: Vec<Vec<Key>> = BINDINGS.iter().map(|b| b.keys.to_vec()).collect();
    let mut given = Vec::new();
    for (name, value) in &table {
        let index = (0..BINDINGS.len()).find(|i| self::name(*i) == *name).ok_or_else(|| {
            format!("{name:?} is not a binding; `hookwatch keys` lists every one by the name this file gives it")
        })?;
        keys[index] = keys_of(name, value)?;
        given.push(index);
    }
    check(&keys, &given)?;
    Ok(Keymap::with_keys(keys, &given))
}

fn keys_of(name: &str, value: &toml::Value) -> Result<Vec<Key>, String> {
    let texts: Vec<&str> = match value {
        toml::Value::String(one) => vec![one.as_str()],
        toml::Value::Array(many) => many.iter().filter_map(toml::Value::as_str).collect(),
        _ => Vec::new(),
    };
    let count = value.as_array().map_or(1, Vec::len);
    if texts.is_empty() || texts.len() != count {
        return Err(format!("{name}: give a key or a list of keys, e.g. {name} = [\"x\", \"ctrl-x\"]"));
    }
    texts.into_iter().map(|text| Key::parse(text).map_err(|e| format!("{name}: {e}"))).collect()
}

/// Where a binding applies, with the main panes for `Main` (which applies in each).
fn places(contexts: &[Context]) -> Vec<Context> {
    let mut out = contexts.to_vec();
    if contexts.contains(&Context::Main) {
        out.extend(Context::PANES);
    }
    out
}

/// Where a character typed is text, not a command.
const TYPING: &[Context] =
    &[Context::Form, Context::SendForm, Context::FilterInput, Context::Palette, Context::HelpSearch];

/// Refuses keys that would mean two things in one place, or that a text field needs, naming the
/// bindings. Only the keys the file adds to a binding are checked: the table's own stand as they
/// are (a form's Space toggles a choice; which of two bindings a key means is the table's order).
fn check(keys: &[Vec<Key>], given: &[usize]) -> Result<(), String> {
    for &i in given {
        let here = places(BINDINGS[i].contexts);
        let added: Vec<&Key> = keys[i].iter().filter(|k| !BINDINGS[i].keys.contains(k)).collect();
        if let Some(key) = added.iter().find(|k| k.edits_text() && here.iter().any(|c| TYPING.contains(c))) {
            return Err(format!(
                "{} = {:?} would take a key a text field types or edits with; give it an F key, Enter, Esc, Tab, \
                 Up, Down, PageUp or PageDown",
                name(i),
                key.written(false)
            ));
        }
        for j in (0..BINDINGS.len()).filter(|j| *j != i) {
            let overlap = places(BINDINGS[j].contexts).iter().any(|c| here.contains(c));
            if let Some(key) = added.iter().find(|k| overlap && keys[j].contains(k)) {
                return Err(format!(
                    "{:?} is bound to both {} and {}, which apply in the same place; give one of them another key",
                    key.written(false),
                    name(i),
                    name(j)
                ));
            }
        }
    }
    Ok(())
}

/// The table in force as `keys.toml` writes it: each binding with what it does and where.
pub fn table(keymap: &Keymap) -> String {
    let mut out = String::from(
        "# hookwatch dashboard keys: copy to ~/.config/hookwatch/keys.toml and change any line.\n\
         # A key: one character (j, G, ?), a name (Enter, Esc, Tab, BackTab, Up, Down, Left, Right,\n\
         # PageUp, PageDown, Home, End, Backspace, Delete, Insert, Space, F1 to F12), either after\n\
         # ctrl- or alt-. Several keys: a list.\n",
    );
    for (i, bound) in keymap.offered(false).enumerate() {
        let keys: Vec<String> = bound.keys.iter().map(|k| format!("{:?}", k.written(false))).collect();
        let places: Vec<String> = bound.binding.contexts.iter().map(|c| snake(&format!("{c:?}"))).collect();
        out.push_str(&format!("\n# {} ({})\n{} = [{}]\n", bound.help(), places.join(", "), name(i), keys.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::keymap::Action;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn every_binding_has_a_name_of_its_own() {
        let names: std::collections::BTreeSet<String> = (0..BINDINGS.len()).map(name).collect();
        assert_eq!(names.len(), BINDINGS.len(), "{names:?}");
        assert!(names.contains("toggle_pause") && names.contains("down_in_palette"), "{names:?}");
    }

    #[test]
    fn the_printed_table_reads_back_as_the_table() {
        let printed = table(&Keymap::default());
        let read = parse(&printed).unwrap();
        for (a, b) in read.offered(false).zip(Keymap::default().offered(false)) {
            assert_eq!(a.keys, b.keys, "{}", b.help());
        }
    }

    #[test]
    fn a_rebound_action_takes_its_new_keys_and_shows_them() {
        let keymap = parse("toggle_pause = [\"x\", \"ctrl-p\"]\n").unwrap();
        assert_eq!(keymap.lookup(Context::Subscriptions, &press('x'), false), Some(Action::TogglePause));
        assert_eq!(keymap.lookup(Context::Subscriptions, &press('p'), false), None, "its old key is free");
        let hints = keymap.hints(Context::Subscriptions, false, &[]);
        assert!(hints.iter().any(|(_, key, _)| *key == "x/^p"), "{hints:?}");
    }

    #[test]
    fn a_key_meaning_two_things_in_one_place_is_refused_with_both_named() {
        let error = parse("toggle_pause = \"j\"\n").err().unwrap();
        assert!(error.contains("\"j\" is bound to both toggle_pause and down"), "{error}");
    }

    #[test]
    fn what_a_text_field_needs_is_not_taken() {
        for key in ["n", "ctrl-w", "alt-b", "Backspace", "Home"] {
            let error = parse(&format!("down_in_palette = {key:?}\n")).err().unwrap();
            assert!(error.contains("would take a key a text field types or edits with"), "{key}: {error}");
        }
        assert!(parse("down_in_palette = [\"Down\", \"F2\"]\n").is_ok());
    }

    #[test]
    fn ctrl_with_a_letter_conflicts_in_either_case() {
        let error = parse("sort = \"ctrl-D\"\n").err().unwrap();
        assert!(error.contains("\"ctrl-d\" is bound to both sort and page_down"), "{error}");
    }

    /// The names operators write in their files: renaming an action or a place renames a line of
    /// every keys.toml, which is then refused at start. A change here must be deliberate.
    #[test]
    fn the_binding_names_stay_what_operators_wrote() {
        let names: Vec<String> = (0..BINDINGS.len()).map(name).collect();
        insta::assert_snapshot!(names.join("\n"));
    }

    #[test]
    fn an_unknown_name_or_a_bad_key_says_what_to_write() {
        assert!(parse("pause = \"x\"").err().unwrap().contains("\"pause\" is not a binding"));
        assert!(parse("quit = \"ctrl-\"").err().unwrap().contains("quit: \"ctrl-\" is not a key"));
        assert!(parse("quit = []").err().unwrap().contains("give a key or a list of keys"));
        assert!(parse("quit = 3").err().unwrap().contains("give a key or a list of keys"));
    }
}
