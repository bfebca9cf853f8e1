//! Keys become actions (through the key table), actions change the `App` and may ask for effects.

use super::app::{App, Effect, Pane, Popup};
use super::filter::Filter;
use super::forms::{SendForm, SubscriptionForm};
use super::inspector::Inspector;
use super::keymap::{self, Action, Context};
use crate::catalog::ACTIONS;
use crate::dispatch::BreakerState;
use crate::model::{DeliveryStatus, SubscriptionState};
use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

const PAGE: isize = 10;

impl App {
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctx = self.context();
        let action = keymap::lookup(ctx, &key, self.read_only);
        if action == Some(Action::Quit) {
            self.quit = true;
            return vec![Effect::Quit];
        }
        match ctx {
            Context::FilterInput => self.filter_key(action, key),
            Context::Form => self.form_key(action, key),
            Context::SendForm => self.send_key(action, key),
            Context::Inspector => self.inspector_action(action),
            Context::Confirm => self.confirm_action(action),
            Context::Overlay => {
                self.overlay_action(action);
                Vec::new()
            }
            _ => action.map(|a| self.main_action(a)).unwrap_or_default(),
        }
    }

    fn main_action(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::NextPane | Action::PrevPane => {
                let order: &[Pane] = if self.wide {
                    &[Pane::Subscriptions, Pane::Rates, Pane::Stream]
                } else {
                    &[Pane::Subscriptions, Pane::Stream]
                };
                let i = order.iter().position(|p| *p == self.focus).unwrap_or(0);
                let step = if action == Action::NextPane { 1 } else { order.len() - 1 };
                self.focus = order[(i + step) % order.len()];
            }
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp => self.move_cursor(-PAGE),
            Action::PageDown => self.move_cursor(PAGE),
            Action::Top => self.move_to(false),
            Action::Bottom => self.move_to(true),
            Action::ToggleFollow => self.set_follow(!self.follow),
            Action::Filter => {
                let mut input = TextArea::new(vec![self.filter_text.clone()]);
                input.move_cursor(ratatui_textarea::CursorMove::End);
                self.filter_input = Some(input);
                self.filter_error = None;
            }
            Action::Help => self.popups.push(Popup::Help { scroll: 0 }),
            Action::Alerts => {
                self.unseen_alerts = 0;
                self.popups.push(Popup::Alerts { scroll: 0 });
            }
            Action::Nodes => self.popups.push(Popup::Nodes { scroll: 0 }),
            Action::Audit => {
                self.popups.push(Popup::Audit { scroll: 0 });
                return vec![Effect::LoadAudit];
            }
            Action::NewSubscription => self.popups.push(Popup::Subscription(Box::new(SubscriptionForm::new(None)))),
            Action::SendTestEvent => self.popups.push(Popup::Send(Box::new(SendForm::new(4)))),
            Action::EditSubscription => {
                let sub =
                    self.selected_endpoint().and_then(|e| self.subscriptions.iter().find(|s| s.id == e.id)).cloned();
                match sub {
                    Some(sub) => self.popups.push(Popup::Subscription(Box::new(SubscriptionForm::new(Some(&sub))))),
                    None => self.set_status("no subscription selected", true),
                }
            }
            Action::TogglePause => {
                if let Some(e) = self.selected_endpoint() {
                    let paused = e.state == SubscriptionState::Active;
                    return vec![Effect::SetPaused { subscription_id: e.id.clone(), paused }];
                }
            }
            Action::Probe => match self.selected_endpoint() {
                Some(e) if e.breaker == BreakerState::Open => {
                    return vec![Effect::Probe { subscription_id: e.id.clone(), name: e.name.clone() }];
                }
                Some(e) => self.set_status(format!("{}'s breaker is not open: nothing to probe", e.name), true),
                None => self.set_status("no subscription selected", true),
            },
            Action::RevealSecret => {
                let id = self.selected_endpoint().map(|e| e.id.clone());
                self.revealed_secret = if self.revealed_secret == id { None } else { id };
            }
            Action::Inspect => match self.focus {
                Pane::Stream => {
                    if let Some(row) = self.selected_event() {
                        let id = row.event.id.clone();
                        self.popups.push(Popup::Inspector(Box::new(Inspector::loading(id.clone()))));
                        return vec![Effect::LoadEvent(id)];
                    }
                }
                Pane::Subscriptions | Pane::Rates => {
                    if let Some(e) = self.selected_endpoint() {
                        let text = format!("sub:{}", e.name.split_whitespace().next().unwrap_or(&e.id));
                        self.focus = Pane::Stream;
                        return self.apply_filter(&text);
                    }
                }
            },
            Action::Redeliver => {
                if let Some(row) = self.selected_event() {
                    let event = row.event.clone();
                    return self.redeliver_failed(&event);
                }
            }
            Action::RedeliverAll => {
                if let Some(row) = self.selected_event() {
                    let event = row.event.clone();
                    self.ask_redeliver_all(&event);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn move_cursor(&mut self, delta: isize) {
        match self.focus {
            Pane::Stream => {
                let max = self.visible_count().saturating_sub(1);
                self.stream_cursor = self.stream_cursor.saturating_add_signed(delta).min(max);
                // Reading older rows freezes the stream so they stay put; space or g follows again.
                if self.stream_cursor > 0 && self.follow {
                    self.follow = false;
                }
            }
            Pane::Subscriptions | Pane::Rates => {
                let max = self.endpoints().len().saturating_sub(1);
                self.sub_cursor = self.sub_cursor.saturating_add_signed(delta).min(max);
            }
        }
    }

    fn move_to(&mut self, bottom: bool) {
        match self.focus {
            Pane::Stream if !bottom => {
                self.stream_cursor = 0;
                self.set_follow(true);
            }
            Pane::Stream => self.move_cursor(isize::MAX / 2),
            _ => self.sub_cursor = if bottom { self.endpoints().len().saturating_sub(1) } else { 0 },
        }
    }

    pub fn set_follow(&mut self, follow: bool) {
        self.follow = follow;
        if follow {
            // Held rows join the stream in arrival order (they are newest first already).
            let held: Vec<_> = self.held.drain(..).collect();
            for row in held.into_iter().rev() {
                self.events.push_front(row);
            }
            self.events.truncate(super::app::STREAM_CAPACITY);
            self.stream_cursor = 0;
        }
    }

    fn apply_filter(&mut self, text: &str) -> Vec<Effect> {
        match Filter::parse(text) {
            Ok(filter) => {
                self.filter = filter;
                self.filter_text = text.trim().to_string();
                self.filter_error = None;
                self.filter_input = None;
                self.stream_cursor = 0;
                vec![Effect::LoadEvents(self.events_query())]
            }
            Err(e) => {
                self.filter_error = Some(e);
                Vec::new()
            }
        }
    }

    fn filter_key(&mut self, action: Option<Action>, key: KeyEvent) -> Vec<Effect> {
        match action {
            Some(Action::Submit) => {
                let text = self.filter_input.as_ref().map(|t| t.lines().join(" ")).unwrap_or_default();
                self.apply_filter(&text)
            }
            Some(Action::Back) => {
                self.filter_input = None;
                self.filter_error = None;
                Vec::new()
            }
            _ => {
                if let Some(input) = &mut self.filter_input {
                    input.input(key);
                    let text = input.lines().join(" ");
                    // Validate as the operator types; apply on Enter.
                    self.filter_error = Filter::parse(&text).err();
                }
                Vec::new()
            }
        }
    }

    fn form_key(&mut self, action: Option<Action>, key: KeyEvent) -> Vec<Effect> {
        let catalog = &self.catalog;
        let Some(Popup::Subscription(form)) = self.popups.last_mut() else { return Vec::new() };
        match action {
            Some(Action::Back) => {
                self.popups.pop();
            }
            Some(Action::NextField) => form.focus = (form.focus + 1) % form.fields.len(),
            Some(Action::PrevField) => form.focus = (form.focus + form.fields.len() - 1) % form.fields.len(),
            Some(Action::Submit) => {
                if let Some(input) = form.validate(catalog) {
                    form.server_error = None;
                    return vec![Effect::SaveSubscription { id: form.editing.clone(), input: Box::new(input) }];
                }
            }
            _ => {
                let field = &mut form.fields[form.focus];
                field.input.input(key);
                form.validate(catalog);
            }
        }
        Vec::new()
    }

    fn send_key(&mut self, action: Option<Action>, key: KeyEvent) -> Vec<Effect> {
        let catalog = &self.catalog;
        let Some(Popup::Send(form)) = self.popups.last_mut() else { return Vec::new() };
        match action {
            Some(Action::Back) => {
                self.popups.pop();
            }
            Some(Action::NextSample) => **form = SendForm::new((form.action + 1) % ACTIONS.len()),
            Some(Action::Submit) => {
                if form.verdict.is_ok() {
                    form.server_error = None;
                    return vec![Effect::SendEvent(form.text())];
                }
            }
            _ => {
                form.editor.input(key);
                form.revalidate(catalog);
            }
        }
        Vec::new()
    }

    fn inspector_action(&mut self, action: Option<Action>) -> Vec<Effect> {
        let Some(Popup::Inspector(ins)) = self.popups.last_mut() else { return Vec::new() };
        match action {
            Some(Action::Back) => {
                self.popups.pop();
            }
            Some(Action::NextSection) => ins.section = ins.section.next(),
            Some(Action::Up) => ins.scroll(-1, None),
            Some(Action::Down) => ins.scroll(1, None),
            Some(Action::PageUp) => ins.scroll(-PAGE, None),
            Some(Action::PageDown) => ins.scroll(PAGE, None),
            Some(Action::Top) => ins.scroll(0, Some(false)),
            Some(Action::Bottom) => ins.scroll(0, Some(true)),
            Some(Action::Redeliver) => {
                let (event_id, chosen) = (ins.event_id.clone(), ins.selected_subscription());
                let summary = ins.detail.as_ref().map(|d| d.summary());
                return match (chosen, summary) {
                    // A delivery the operator picked: sent again whatever its state.
                    (Some(sub), _) => {
                        let note = self.redelivery_note(&[sub.as_str()]);
                        vec![Effect::Redeliver { event_id, subscription_id: Some(sub), failed_only: false, note }]
                    }
                    (None, Some(event)) => self.redeliver_failed(&event),
                    (None, None) => Vec::new(),
                };
            }
            Some(Action::RedeliverAll) => {
                if let Some(event) = ins.detail.as_ref().map(|d| d.summary()) {
                    self.ask_redeliver_all(&event);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// `r`: only the deliveries that failed; the others went through and would get a duplicate.
    fn redeliver_failed(&mut self, event: &crate::model::EventSummary) -> Vec<Effect> {
        let failed: Vec<&str> = event
            .deliveries
            .iter()
            .filter(|d| matches!(d.status, DeliveryStatus::Retrying | DeliveryStatus::Dead))
            .map(|d| d.subscription_id.as_str())
            .collect();
        if failed.is_empty() {
            let n = event.deliveries.len();
            self.set_status(
                format!("nothing has failed in {}; R redelivers to all {n} subscriptions", event.id),
                false,
            );
            return Vec::new();
        }
        let note = self.redelivery_note(&failed);
        vec![Effect::Redeliver { event_id: event.id.clone(), subscription_id: None, failed_only: true, note }]
    }

    /// `R`: every delivery, after saying which would receive the event again.
    fn ask_redeliver_all(&mut self, event: &crate::model::EventSummary) {
        let all: Vec<&str> = event.deliveries.iter().map(|d| d.subscription_id.as_str()).collect();
        let succeeded = event.deliveries.iter().filter(|d| d.status == DeliveryStatus::Succeeded).count();
        let mut question = format!("Redeliver {} to all {} of its subscriptions?", event.id, all.len());
        if succeeded > 0 {
            question += &format!(" {succeeded} already succeeded and will receive it again.");
        }
        let note = self.redelivery_note(&all);
        let effect = Effect::Redeliver { event_id: event.id.clone(), subscription_id: None, failed_only: false, note };
        self.popups.push(Popup::Confirm { question, effect: Box::new(effect) });
    }

    fn confirm_action(&mut self, action: Option<Action>) -> Vec<Effect> {
        match action {
            Some(Action::Submit) => match self.popups.pop() {
                Some(Popup::Confirm { effect, .. }) => vec![*effect],
                _ => Vec::new(),
            },
            Some(Action::Back) => {
                self.popups.pop();
                self.set_status("cancelled", false);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn overlay_action(&mut self, action: Option<Action>) {
        let Some(Popup::Help { scroll } | Popup::Alerts { scroll } | Popup::Audit { scroll } | Popup::Nodes { scroll }) =
            self.popups.last_mut()
        else {
            return;
        };
        match action {
            Some(Action::Back) => {
                self.popups.pop();
            }
            Some(Action::Up) => *scroll = scroll.saturating_sub(1),
            Some(Action::Down) => *scroll += 1,
            Some(Action::PageUp) => *scroll = scroll.saturating_sub(PAGE as usize),
            Some(Action::PageDown) => *scroll += PAGE as usize,
            Some(Action::Top) => *scroll = 0,
            _ => {}
        }
    }
}
