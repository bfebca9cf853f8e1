//! Keys become actions (through the key table), actions change the `App` and may ask for effects.

use super::app::{App, Pane, Popup};
use super::component::{Component, Reply, Request};
use super::copy::Copyable;
use super::effect::Effect;
use super::filter::{Filter, Sieve, resolve_subscription};
use super::keymap::{Action, Context};
use super::palette::{self, Invocation, Palette, Verb};
use super::panes::footer::FilterLine;
use super::popups::endpoint::{EndpointPage, HISTORY_EVERY};
use super::popups::inspector::Inspector;
use super::popups::replay::{ReplayDraft, replay_filter};
use super::popups::{alerts::Alerts, audit::Audit, confirm::Confirm, copy_menu::CopyMenu};
use super::popups::{nodes::Nodes, send_form::SendForm, subscription_form::SubscriptionForm};
use super::text::counted;
use super::views_file::SavedView;
use crate::domain::model::{DeliveryStatus, Millis, SubscriptionState};
use crate::wire::BreakerState;
use crate::wire::{EndpointHistory, Span};
use crossterm::event::KeyEvent;

impl App {
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctx = self.context();
        let action = self.keymap.lookup(ctx, &key, self.read_only);
        if action == Some(Action::Quit) {
            self.quit = true;
            return vec![Effect::Quit];
        }
        // A pane's key pressed in another pane says where it works rather than nothing.
        let in_place = matches!(
            ctx,
            Context::Subscriptions | Context::Rates | Context::Stream | Context::Inspector | Context::Endpoint
        );
        if action.is_none()
            && in_place
            && let Some(note) = self.keymap.elsewhere(&key, self.read_only)
        {
            self.set_status(note, false);
        }
        if !self.popups.is_empty() {
            return self.component_key(action, key);
        }
        match ctx {
            Context::FilterInput => self.filter_key(action, key),
            Context::Palette => self.palette_key(action, key),
            _ => action.map(|a| self.main_action(a, key)).unwrap_or_default(),
        }
    }

    fn main_action(&mut self, action: Action, key: KeyEvent) -> Vec<Effect> {
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
            Action::ToggleFollow => self.set_follow(!self.stream.follow),
            Action::Filter => self.filter_input = Some(FilterLine::new(&self.filter_text)),
            Action::Help => self.popups.push(Popup::Help(Box::default())),
            Action::Alerts => {
                self.unseen_alerts = 0;
                self.popups.push(Popup::Alerts(Alerts::default()));
            }
            Action::Nodes => self.popups.push(Popup::Nodes(Nodes::default())),
            Action::Audit => {
                self.popups.push(Popup::Audit(Audit::default()));
                self.audit_unread = None;
                return vec![Effect::LoadAudit];
            }
            Action::NewSubscription => self.popups.push(Popup::Subscription(Box::new(SubscriptionForm::new(None)))),
            Action::SendTestEvent => {
                // A test goes to one endpoint unless the operator widens it: the selected one, or
                // the first.
                let mut form = SendForm::new(4);
                let selected = matches!(self.focus, Pane::Subscriptions | Pane::Rates)
                    .then(|| self.selected_endpoint().map(|e| e.id.clone()))
                    .flatten();
                form.target = self
                    .subscriptions
                    .iter()
                    .find(|s| selected.as_ref().is_none_or(|id| s.id == *id))
                    .map(|s| (s.id.clone(), s.name.clone()));
                self.popups.push(Popup::Send(Box::new(form)));
            }
            Action::Palette => self.palette = Some(Palette::default()),
            Action::Zoom => self.zoomed = !self.zoomed,
            Action::Sort | Action::ReverseSort => {
                // The selection stays on the same endpoint as the rows move.
                let selected = self.selected_endpoint().map(|e| e.id.clone());
                let (column, reversed) = match action {
                    Action::Sort => (self.table.sort.0.next(), false),
                    _ => (self.table.sort.0, !self.table.sort.1),
                };
                self.set_sort(column, reversed);
                if let Some(id) = selected {
                    self.table.cursor = self.endpoints().iter().position(|e| e.id == id).unwrap_or(0);
                }
            }
            Action::Back if !self.filter_text.is_empty() => {
                self.set_status(format!("cleared the filter {}", self.filter_text), false);
                return self.apply_filter("");
            }
            Action::Replay => return self.open_replay(),
            Action::CancelReplay => return self.cancel_replay(None),
            // The rest are the focused pane's keys.
            _ if self.focus == Pane::Stream => return self.pane_key(action, key),
            // On the selected subscription: the app does it (its page and the palette ask too).
            Action::EditSubscription
            | Action::TogglePause
            | Action::Probe
            | Action::DeleteSubscription
            | Action::RevealSecret
            | Action::Copy
            | Action::CopyUrl => {
                let Some(id) = self.selected_endpoint().map(|e| e.id.clone()) else {
                    self.set_status("no subscription selected", true);
                    return Vec::new();
                };
                return self.endpoint_action(action, &id);
            }
            _ => return self.pane_key(action, key),
        }
        Vec::new()
    }

    /// A key for the focused pane: it moves in place, or asks the app for what it needs.
    fn pane_key(&mut self, action: Action, key: KeyEvent) -> Vec<Effect> {
        // Out of the app while it takes the key, as a popup is off its stack.
        let reply = match self.focus {
            Pane::Stream => {
                let mut stream = std::mem::take(&mut self.stream);
                let reply = stream.on_key(Some(action), key, &self.data());
                self.stream = stream;
                reply
            }
            // The Delivery success pane shares the table's cursor, so its keys too.
            Pane::Subscriptions | Pane::Rates => {
                let mut table = std::mem::take(&mut self.table);
                let reply = table.on_key(Some(action), key, &self.data());
                self.table = table;
                reply
            }
        };
        match reply {
            Reply::Stay | Reply::Close { .. } => Vec::new(),
            Reply::Effects(effects) => effects,
            Reply::CloseAndRun(effect) => vec![effect],
            Reply::Say(text) => {
                self.set_status(text, false);
                Vec::new()
            }
            Reply::Ask(request) => self.request(request),
        }
    }

    /// The stream, focused and filtered to subscription `id`'s events.
    pub(super) fn filter_to_endpoint(&mut self, id: &str) -> Vec<Effect> {
        let Some(sub) = self.subscriptions.iter().find(|s| s.id == id) else { return Vec::new() };
        let text = format!("sub:{}", sub.name.split_whitespace().next().unwrap_or(&sub.id));
        self.focus = Pane::Stream;
        self.apply_filter(&text)
    }

    /// An action on one subscription, chosen in a pane or on its page, or named in the palette.
    pub(super) fn endpoint_action(&mut self, action: Action, id: &str) -> Vec<Effect> {
        let Some(sub) = self.subscriptions.iter().find(|s| s.id == id).cloned() else {
            self.set_status(format!("no subscription {id}"), true);
            return Vec::new();
        };
        match action {
            Action::EditSubscription => {
                self.popups.push(Popup::Subscription(Box::new(SubscriptionForm::new(Some(&sub)))))
            }
            Action::TogglePause => return self.set_paused(&sub, sub.state == SubscriptionState::Active),
            Action::Probe => match self.endpoints().iter().find(|e| e.id == id) {
                Some(e) if e.breaker == BreakerState::Open => {
                    return vec![Effect::Probe { subscription_id: sub.id, name: sub.name }];
                }
                _ => self.set_status(format!("{}'s breaker is not open: nothing to probe", sub.name), true),
            },
            Action::DeleteSubscription => self.ask_delete(&sub),
            Action::RevealSecret => match &self.table.revealed_secret {
                Some((shown, _)) if *shown == sub.id => self.table.revealed_secret = None,
                _ => return vec![Effect::RevealSecret { subscription_id: sub.id, name: sub.name }],
            },
            Action::Copy => {
                return vec![Effect::Copy { what: format!("{}'s id {}", sub.name, sub.id), text: sub.id.to_string() }];
            }
            Action::CopyUrl => {
                return vec![Effect::Copy { what: format!("{}'s URL {}", sub.name, sub.url), text: sub.url }];
            }
            _ => {}
        }
        Vec::new()
    }

    fn set_paused(&mut self, sub: &crate::domain::model::Subscription, paused: bool) -> Vec<Effect> {
        let already =
            if paused { sub.state == SubscriptionState::Paused } else { sub.state == SubscriptionState::Active };
        if already {
            self.set_status(format!("{} is already {}", sub.name, sub.state.as_str()), false);
            return Vec::new();
        }
        vec![Effect::SetPaused { subscription_id: sub.id.clone(), name: sub.name.clone(), paused, version: sub.etag() }]
    }

    /// `D`: deleting stops the endpoint's deliveries for good, so the question says how many.
    fn ask_delete(&mut self, sub: &crate::domain::model::Subscription) {
        let waiting = self.endpoints().iter().find(|e| e.id == sub.id).map_or(0, |e| e.backlog);
        let question = format!(
            "Delete subscription {} ({})? It gets no new events, and its {} not yet sent are \
             cancelled. Its delivery history stays readable.",
            sub.name,
            sub.url,
            counted(waiting, "delivery")
        );
        let effect = Effect::DeleteSubscription { id: sub.id.clone(), name: sub.name.clone(), version: sub.etag() };
        self.popups.push(Popup::Confirm(Confirm { question, effect }));
    }

    /// C-r or `:replay`: the preview of replaying what the stream filter selects.
    fn open_replay(&mut self) -> Vec<Effect> {
        match replay_filter(&self.filter, &self.subscriptions) {
            Ok(filter) => {
                self.popups.push(Popup::Replay(Box::new(ReplayDraft::new(filter.clone(), &self.filter_text))));
                vec![Effect::PreviewReplay(filter)]
            }
            Err(e) => {
                self.set_status(format!("cannot replay this filter: {e}"), true);
                Vec::new()
            }
        }
    }

    /// X or `:cancel [ID]`: the named running replay, else the newest.
    fn cancel_replay(&mut self, id: Option<&str>) -> Vec<Effect> {
        let found = match id {
            Some(id) => self.replays.iter().find(|r| r.id == id || r.id.ends_with(id)),
            None => self.replays.first(),
        };
        match found {
            Some(r) => vec![Effect::CancelReplay(r.id.clone())],
            None => {
                let what = id.map_or("no replay is running".to_string(), |id| format!("no running replay {id}"));
                self.set_status(what, true);
                Vec::new()
            }
        }
    }

    fn component_key(&mut self, action: Option<Action>, key: KeyEvent) -> Vec<Effect> {
        let Some(mut top) = self.popups.pop() else { return Vec::new() };
        let reply = top.component_mut().on_key(action, key, &self.data());
        match reply {
            Reply::Stay => self.popups.push(top),
            Reply::Effects(effects) => {
                self.popups.push(top);
                return effects;
            }
            Reply::Close { note } => {
                if let Some(note) = note {
                    self.set_status(note, false);
                }
            }
            Reply::CloseAndRun(effect) => return vec![effect],
            Reply::Say(text) => {
                self.popups.push(top);
                self.set_status(text, false);
            }
            Reply::Ask(request) => {
                if !request.closes() {
                    self.popups.push(top);
                }
                return self.request(request);
            }
        }
        Vec::new()
    }

    /// Does what a component asked for.
    fn request(&mut self, request: Request) -> Vec<Effect> {
        match request {
            Request::Copy(chosen) => match self.copied(chosen) {
                Ok(effect) => return vec![effect],
                Err(why) => self.set_status(why, true),
            },
            Request::CopyMenu => self.popups.push(Popup::CopyMenu(CopyMenu::default())),
            // A delivery the operator picked: sent again whatever its state.
            Request::Redeliver { event, subscription: Some(sub) } => {
                let note = self.redelivery_note(&[sub.as_str()]);
                return vec![Effect::Redeliver {
                    event_id: event.id,
                    subscription_id: Some(sub),
                    failed_only: false,
                    note,
                }];
            }
            Request::Redeliver { event, subscription: None } => return self.redeliver_failed(&event),
            Request::RedeliverAll(event) => self.ask_redeliver_all(&event),
            Request::InspectEvent(id) => {
                self.popups.push(Popup::Inspector(Box::new(Inspector::loading(id.clone()))));
                return vec![Effect::LoadEvent(id)];
            }
            Request::Inspect { event_id, subscription, at } => {
                let ins = Inspector::at_attempt(event_id.clone(), subscription, at);
                self.popups.push(Popup::Inspector(Box::new(ins)));
                return vec![Effect::LoadEvent(event_id)];
            }
            Request::OpenEndpoint(id) => return self.open_endpoint(id),
            Request::FilterTo(id) => return self.filter_to_endpoint(&id),
            Request::OnEndpoint(action, id) => return self.endpoint_action(action, &id),
            Request::Filter(text) => return self.apply_filter(&text),
            Request::Run(line) => match self.run_line(&line) {
                Ok(effects) => return effects,
                Err(e) => self.set_status(e, true),
            },
        }
        Vec::new()
    }

    /// What copying `chosen` takes: the text at once, or (the curl command) the signing secrets
    /// read from the source first.
    fn copied(&self, chosen: Copyable) -> Result<Effect, String> {
        let Some(Popup::Inspector(ins)) = self.popups.last() else { return Err("no event is open".into()) };
        let detail = ins.detail.as_ref().ok_or("the event is still loading")?;
        let attempt = ins.selected();
        let (text, what) = match chosen {
            Copyable::Id => (detail.id.to_string(), format!("the event id {}", detail.id)),
            Copyable::Payload => {
                (detail.body.clone(), format!("the payload of {} ({} bytes)", detail.id, detail.body.len()))
            }
            Copyable::Response => {
                let (delivery, attempt) = attempt.ok_or("no attempt is selected: Tab to Deliveries and pick one")?;
                let whose = self.subscription_name(&delivery.summary.subscription_id);
                (attempt.response_body.clone(), format!("{whose}'s response ({} bytes)", attempt.response_body.len()))
            }
            Copyable::Curl => {
                let sub_id = ins.selected_subscription().ok_or("select a delivery first (Tab to Deliveries)")?;
                let sub = self.subscriptions.iter().find(|s| s.id == sub_id).ok_or("that subscription is gone")?;
                return Ok(Effect::CopyCurl {
                    subscription: Box::new(sub.clone()),
                    event_id: detail.id.clone(),
                    body: detail.body.clone(),
                    signed: !self.read_only,
                });
            }
        };
        Ok(Effect::Copy { text, what })
    }

    /// A key for the palette: it edits its line; the app runs what it names.
    fn palette_key(&mut self, action: Option<Action>, key: KeyEvent) -> Vec<Effect> {
        let Some(mut palette) = self.palette.take() else { return Vec::new() };
        match palette.on_key(action, key, &self.data()) {
            Reply::Close { .. } => {}
            Reply::Ask(Request::Run(line)) => match self.run_line(&line) {
                Ok(effects) => return effects,
                Err(e) => {
                    palette.error = Some(e);
                    self.palette = Some(palette);
                }
            },
            _ => self.palette = Some(palette),
        }
        Vec::new()
    }

    /// Runs a command line, remembered for ↑; why it cannot run if it does not parse.
    fn run_line(&mut self, line: &str) -> Result<Vec<Effect>, String> {
        let invocation = palette::parse(line, self.read_only)?;
        palette::remember(&mut self.command_history, line);
        Ok(self.run_command(invocation))
    }

    fn run_command(&mut self, invocation: Invocation) -> Vec<Effect> {
        let Invocation { verb, arg } = invocation;
        let on_subscription = match verb {
            Verb::Pause | Verb::Resume => Some(Action::TogglePause),
            Verb::Probe => Some(Action::Probe),
            Verb::Edit => Some(Action::EditSubscription),
            Verb::Delete => Some(Action::DeleteSubscription),
            _ => None,
        };
        if let Some(action) = on_subscription {
            let sub = match resolve_subscription(&self.subscriptions, &arg) {
                Ok(sub) => sub.clone(),
                Err(e) => {
                    self.set_status(format!(":{} {arg}: {e}", verb.name()), true);
                    return Vec::new();
                }
            };
            return match verb {
                Verb::Pause | Verb::Resume => self.set_paused(&sub, verb == Verb::Pause),
                _ => self.endpoint_action(action, &sub.id),
            };
        }
        let action = match verb {
            Verb::Replay => return self.open_replay(),
            Verb::Cancel => return self.cancel_replay(Some(arg.as_str()).filter(|a| !a.is_empty())),
            Verb::Filter => return self.apply_filter(&arg),
            Verb::View => return self.view_command(&arg),
            Verb::Quit => {
                self.quit = true;
                return vec![Effect::Quit];
            }
            Verb::New => Action::NewSubscription,
            Verb::Send => Action::SendTestEvent,
            Verb::Alerts => Action::Alerts,
            Verb::Audit => Action::Audit,
            Verb::Nodes => Action::Nodes,
            Verb::Help => Action::Help,
            Verb::Pause | Verb::Resume | Verb::Probe | Verb::Edit | Verb::Delete => return Vec::new(),
        };
        // The palette's line was run by its Enter.
        self.main_action(action, KeyEvent::from(crossterm::event::KeyCode::Enter))
    }

    pub fn set_follow(&mut self, follow: bool) {
        let sieve = Sieve { filter: &self.filter, subscriptions: &self.subscriptions };
        self.stream.set_follow(follow, sieve);
    }

    /// `:view save NAME` keeps the filter, the table's order, the zoom and the focused pane;
    /// `:view NAME` brings them back.
    fn view_command(&mut self, arg: &str) -> Vec<Effect> {
        if let Some(name) = arg.strip_prefix("save").filter(|rest| rest.is_empty() || rest.starts_with(' ')) {
            let name = name.trim();
            let (sort, reversed) = self.table.sort;
            let view =
                SavedView { filter: self.filter_text.clone(), sort, reversed, zoomed: self.zoomed, focus: self.focus };
            match self.views.save(name, view) {
                Ok(()) => self.set_status(format!("view {name} saved: :view {name} brings it back"), false),
                Err(e) => self.set_status(format!(":view save: {e}"), true),
            }
            return Vec::new();
        }
        let Some(view) = self.views.saved.get(arg).cloned() else {
            let names: Vec<&str> = self.views.saved.keys().map(String::as_str).collect();
            let known = if names.is_empty() { "none yet (:view save NAME)".to_string() } else { names.join(", ") };
            self.set_status(format!("no view {arg:?}; saved: {known}"), true);
            return Vec::new();
        };
        // All of it or nothing: a filter that no longer reads (a subscription it names is gone)
        // leaves the screen as it was.
        let filter = match Filter::parse_for(&view.filter, &self.subscriptions) {
            Ok(filter) => filter,
            Err(e) => {
                self.set_status(format!("view {arg} not applied: its filter {:?}: {e}", view.filter), true);
                return Vec::new();
            }
        };
        self.set_sort(view.sort, view.reversed);
        self.zoomed = view.zoomed;
        self.focus = view.focus;
        let effects = self.set_filter(filter, &view.filter);
        self.set_status(format!("view {arg}"), false);
        effects
    }

    /// Shows the stream through `filter`, read from `text`.
    fn set_filter(&mut self, filter: Filter, text: &str) -> Vec<Effect> {
        self.filter = filter;
        self.filter_text = text.trim().to_string();
        self.filter_input = None;
        self.stream.cursor = 0;
        // Cleared: the stream's own rows show again, as they are (nothing to read).
        self.search()
    }

    fn apply_filter(&mut self, text: &str) -> Vec<Effect> {
        match Filter::parse_for(text, &self.subscriptions) {
            Ok(filter) => self.set_filter(filter, text),
            Err(e) => {
                // Typed: the line stays open with why; run from the palette or a view: the status line says it.
                match &mut self.filter_input {
                    Some(line) => line.error = Some(e),
                    None => self.set_status(format!("filter not applied: {e}"), true),
                }
                Vec::new()
            }
        }
    }

    /// A key for the filter line: it edits its text; the app applies what it submits.
    fn filter_key(&mut self, action: Option<Action>, key: KeyEvent) -> Vec<Effect> {
        let Some(mut line) = self.filter_input.take() else { return Vec::new() };
        match line.on_key(action, key, &self.data()) {
            Reply::Close { .. } => Vec::new(),
            Reply::Ask(Request::Filter(text)) => {
                self.filter_input = Some(line);
                self.apply_filter(&text)
            }
            _ => {
                self.filter_input = Some(line);
                Vec::new()
            }
        }
    }

    /// `r`: only the deliveries that failed; the others went through and would get a duplicate.
    fn redeliver_failed(&mut self, event: &crate::domain::model::EventSummary) -> Vec<Effect> {
        let failed: Vec<&str> =
            event.deliveries.iter().filter(|d| d.status.has_failed()).map(|d| d.subscription_id.as_str()).collect();
        if failed.is_empty() {
            let n = event.deliveries.len();
            self.set_status(
                format!(
                    "nothing has failed in {}; R redelivers to all {}",
                    event.id,
                    counted(n as u64, "subscription")
                ),
                false,
            );
            return Vec::new();
        }
        let note = self.redelivery_note(&failed);
        vec![Effect::Redeliver { event_id: event.id.clone(), subscription_id: None, failed_only: true, note }]
    }

    /// `R`: every delivery, after saying which would receive the event again.
    fn ask_redeliver_all(&mut self, event: &crate::domain::model::EventSummary) {
        let all: Vec<&str> = event.deliveries.iter().map(|d| d.subscription_id.as_str()).collect();
        let succeeded = event.deliveries.iter().filter(|d| d.status == DeliveryStatus::Succeeded).count();
        let mut question = format!("Redeliver {} to {}?", event.id, counted(all.len() as u64, "subscription"));
        if succeeded > 0 {
            question += &format!(" {succeeded} already succeeded and will receive it again.");
        }
        let note = self.redelivery_note(&all);
        let effect = Effect::Redeliver { event_id: event.id.clone(), subscription_id: None, failed_only: false, note };
        self.popups.push(Popup::Confirm(Confirm { question, effect }));
    }
}

/// The endpoint page's keys, and its reads while open.
impl App {
    /// Opens subscription `id`'s page and asks for its history.
    pub fn open_endpoint(&mut self, id: crate::domain::ids::SubscriptionId) -> Vec<Effect> {
        let page = EndpointPage::new(id, self.now);
        let load = page.load();
        self.popups.push(Popup::Endpoint(Box::new(page)));
        vec![load]
    }

    /// The open pages' next reads, each every `HISTORY_EVERY`.
    pub(super) fn due_histories(&mut self, now: Millis) -> Vec<Effect> {
        let mut due = Vec::new();
        for popup in &mut self.popups {
            if let Popup::Endpoint(page) = popup
                && now.saturating_sub(page.asked_at) >= HISTORY_EVERY
            {
                page.asked_at = now;
                due.push(page.load());
            }
        }
        due
    }

    /// A read of `id`'s history over `span`: kept by the page showing that span.
    pub(super) fn read_history(&mut self, id: &str, span: Span, read: Result<EndpointHistory, String>) {
        let now = self.now;
        for popup in &mut self.popups {
            let Popup::Endpoint(page) = popup else { continue };
            if page.id != id || page.span != span {
                continue;
            }
            match read {
                Ok(history) => {
                    page.cursor = page.cursor.min(history.failures.len().saturating_sub(1));
                    page.history = Some((history, now));
                    page.error = None;
                }
                Err(ref e) => page.error = Some(e.clone()),
            }
            return;
        }
    }
}
