//! What the forms share: a text field on ratatui-textarea, with the shell's editing keys, and
//! the width of a field's label.

use ratatui_textarea::TextArea;

/// The width of a field's label, before its input.
pub const LABEL: u16 = 15;

/// A key typed into any text input, with the shell's editing keys: C-a and C-e go to the start and
/// end, C-w deletes the word before the cursor (the textarea's own), and C-u deletes to the start
/// of the line (the textarea would undo).
pub fn edit(input: &mut TextArea<'static>, key: crossterm::event::KeyEvent) {
    use crossterm::event::{KeyCode, KeyModifiers};
    if key.code == KeyCode::Char('u') && key.modifiers.contains(KeyModifiers::CONTROL) {
        input.delete_line_by_head();
    } else {
        input.input(key);
    }
}

pub struct Field {
    pub label: &'static str,
    pub hint: &'static str,
    pub input: TextArea<'static>,
    pub error: Option<String>,
}

impl Field {
    pub fn new(label: &'static str, hint: &'static str, value: String) -> Self {
        let mut input = TextArea::new(vec![value]);
        input.move_cursor(ratatui_textarea::CursorMove::End);
        Field { label, hint, input, error: None }
    }

    /// A field that starts empty, showing `example` (dim) until something is typed: nothing is
    /// prefilled that typing would append to.
    pub fn with_example(mut self, example: &'static str) -> Self {
        self.input.set_placeholder_text(example);
        self
    }

    /// What an empty field shows instead ("" when nothing).
    pub fn example(&self) -> String {
        self.input.placeholder().to_string()
    }

    pub fn value(&self) -> String {
        self.input.lines().join("").trim().to_string()
    }
}
