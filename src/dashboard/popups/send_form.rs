//! The test-event editor: an action's sample as JSON, checked as the operator types, sent to one
//! subscription or to every one it matches.

use crate::dashboard::component::{Component, Reply};
use crate::dashboard::data::Data;
use crate::dashboard::effect::Effect;
use crate::dashboard::forms::edit;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::popup_area;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use crate::domain::catalog::{ACTIONS, Catalog};
use crate::domain::ids::SubscriptionId;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui_textarea::TextArea;

/// The JSON editor for a test event, pre-filled with an action's sample.
pub struct SendForm {
    pub action: usize,
    /// Where it goes: one subscription (id, name), or `None` for every subscription it matches.
    pub target: Option<(SubscriptionId, String)>,
    pub editor: TextArea<'static>,
    /// The verdict on the current text: `Ok(action)` or what is wrong.
    pub verdict: Result<String, String>,
    pub server_error: Option<String>,
}

impl SendForm {
    pub fn new(action: usize) -> Self {
        let action = action % ACTIONS.len();
        let sample = serde_json::to_string_pretty(&ACTIONS[action].sample()).unwrap_or_default();
        let editor = TextArea::new(sample.lines().map(str::to_string).collect());
        let mut form = SendForm { action, target: None, editor, verdict: Err(String::new()), server_error: None };
        form.revalidate(&Catalog::default());
        form
    }

    pub fn text(&self) -> String {
        self.editor.lines().join("\n")
    }

    /// The next place to send it: each subscription in turn (`subscriptions` as listed), then
    /// every matching one, then the first again.
    pub fn next_target(&mut self, subscriptions: &[(SubscriptionId, String)]) {
        let at = self.target.as_ref().and_then(|(id, _)| subscriptions.iter().position(|(s, _)| s == id));
        self.target = match at {
            None if self.target.is_none() => subscriptions.first().cloned(),
            None => None,
            Some(i) => subscriptions.get(i + 1).cloned(),
        };
    }

    pub fn revalidate(&mut self, catalog: &Catalog) {
        self.verdict = crate::validate::payload::inspect(self.text().as_bytes(), catalog)
            .map(|f| f.action)
            .map_err(|e| e.to_string());
    }
}

impl Component for SendForm {
    fn context(&self) -> Context {
        Context::SendForm
    }

    fn on_key(&mut self, action: Option<Action>, key: KeyEvent, data: &Data) -> Reply {
        match action {
            Some(Action::Back) => return Reply::close(),
            Some(Action::NextSample) => {
                let target = self.target.take();
                *self = SendForm::new((self.action + 1) % ACTIONS.len());
                self.target = target;
            }
            Some(Action::NextTarget) => {
                let subs: Vec<(SubscriptionId, String)> =
                    data.subscriptions.iter().map(|s| (s.id.clone(), s.name.clone())).collect();
                self.next_target(&subs);
            }
            Some(Action::Submit) if self.verdict.is_ok() => {
                self.server_error = None;
                let to = self.target.as_ref().map(|(id, _)| id.clone());
                return Reply::Effects(vec![Effect::SendEvent { body: self.text(), to }]);
            }
            Some(Action::Submit) => {}
            _ => {
                edit(&mut self.editor, key);
                self.revalidate(data.catalog);
            }
        }
        Reply::Stay
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _: &Data, theme: &Theme) {
        draw(frame, area, self, theme)
    }
}

fn draw(frame: &mut Frame, area: Rect, form: &SendForm, theme: &Theme) {
    let rect = popup_area(frame, area, 80, 85, (58, 14));
    let action = ACTIONS[form.action].name;
    let block = Block::default().borders(Borders::ALL).border_style(theme.border(true)).title(Line::styled(
        format!(" Send a test event · sample: {action} · C-n next sample · C-s sends · Esc cancels "),
        theme.bold(),
    ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [target, editor, verdict] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(2)]).areas(inner);
    let to = match &form.target {
        Some((_, name)) => Line::from(vec![
            Span::styled("To ", theme.bold()),
            Span::raw(format!("{} only", clean(name))),
            Span::styled("  (C-t: another, or every matching subscription)", theme.dim()),
        ]),
        None => Line::from(vec![
            Span::styled("To ", theme.bold()),
            Span::styled("⚠ every subscription it matches, production endpoints included", theme.warn()),
            Span::styled("  (C-t: one alone)", theme.dim()),
        ]),
    };
    frame.render_widget(Paragraph::new(to), target);
    frame.render_widget(&form.editor, editor);
    let line = match (&form.server_error, &form.verdict) {
        (Some(e), _) => Line::styled(format!("✗ the server refused: {}", clean(e)), theme.bad()),
        (None, Ok(action)) => {
            Line::from(vec![Span::styled("✓ valid ", theme.ok()), Span::raw(format!("{action} event · C-s sends it"))])
        }
        (None, Err(e)) => Line::styled(format!("✗ {}", clean(e)), theme.bad()),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), verdict);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_send_form_goes_to_each_subscription_then_to_all() {
        let subs = vec![("sub_a".into(), "a".to_string()), ("sub_b".into(), "b".to_string())];
        let mut form = SendForm::new(0);
        form.target = Some(subs[0].clone());
        form.next_target(&subs);
        assert_eq!(form.target.as_ref().map(|t| t.1.as_str()), Some("b"));
        form.next_target(&subs);
        assert_eq!(form.target, None, "then every matching one");
        form.next_target(&subs);
        assert_eq!(form.target.as_ref().map(|t| t.1.as_str()), Some("a"), "and round again");
    }

    #[test]
    fn the_send_form_starts_valid_and_notices_broken_json() {
        let mut form = SendForm::new(4);
        assert_eq!(form.verdict.as_deref(), Ok("card.move"));
        form.editor.insert_str("}");
        form.revalidate(&Catalog::default());
        assert!(form.verdict.is_err());
    }
}
