//! The dashboard's state (a view-model) and how input and updates change it. Nothing here draws;
//! work for the engine leaves as `Effect`s and comes back as `Outcome`s.

use super::columns::Column;
use super::component::Component;
use super::data::{Data, Status};
use super::filter::{Filter, Sieve};
use super::keymap::{Context, Keymap};
use super::panes::footer::FilterLine;
use super::views_file::Views;
// The panes' types, part of the app's face for the binary and the tests.
pub use super::layout::Pane;
use super::palette::Palette;
pub use super::panes::stream::{EventRow, FilterResults, STREAM_CAPACITY, Stream};
pub use super::panes::subscriptions::Subscriptions;
use super::popups::alerts::Alerts;
use super::popups::audit::Audit;
use super::popups::confirm::Confirm;
use super::popups::copy_menu::CopyMenu;
use super::popups::endpoint::EndpointPage;
use super::popups::help::Help;
use super::popups::inspector::Inspector;
use super::popups::nodes::Nodes;
use super::popups::replay::ReplayDraft;
use super::popups::send_form::SendForm;
use super::popups::subscription_form::SubscriptionForm;
// Part of the app's face for the binary and the tests, which drive it with effects and outcomes.
pub use super::effect::{Effect, Outcome};
use super::source::Update;
use super::text::counted;
use crate::domain::catalog::Catalog;
use crate::domain::model::{Alert, AuditEntry, Millis, Replay, ReplayState, Subscription};
use crate::domain::model::{SubscriptionChange, SubscriptionState};
use crate::domain::query::EventQuery;
use crate::wire::FeedEvent;
use crate::wire::{EndpointReport, StatsReport};
use std::collections::VecDeque;

const STATUS_FOR_MS: Millis = 6000;
const ALERT_LOG: usize = 500;
/// How often the replays are read: often while one runs (its progress is in the header), else
/// enough to notice one started elsewhere.
const REPLAYS_EVERY_RUNNING: Millis = 1000;
const REPLAYS_EVERY: Millis = 5000;
/// How long the source may say nothing before everything it showed is marked STALE: three of the
/// stream's heartbeats (or the in-process source's stats), every 2 s, missed.
pub const SILENCE_STALE_MS: Millis = 6000;

pub enum Popup {
    Inspector(Box<Inspector>),
    /// One subscription's page: its history over a span, its failures.
    Endpoint(Box<EndpointPage>),
    Help(Box<Help>),
    Alerts(Alerts),
    /// The audit log as read when it was opened.
    Audit(Audit),
    Nodes(Nodes),
    Subscription(Box<SubscriptionForm>),
    Send(Box<SendForm>),
    /// A replay of what the stream filter selects: its preview, the rate, then yes or no.
    Replay(Box<ReplayDraft>),
    /// What `y` in the inspector can copy.
    CopyMenu(CopyMenu),
    /// Asks before a bulk or destructive action.
    Confirm(Confirm),
}

impl Popup {
    /// The popup as the component it holds: its state, keys and drawing are there.
    pub fn component(&self) -> &dyn Component {
        match self {
            Popup::Inspector(c) => c.as_ref(),
            Popup::Endpoint(c) => c.as_ref(),
            Popup::Help(c) => c.as_ref(),
            Popup::Alerts(c) => c,
            Popup::Audit(c) => c,
            Popup::Nodes(c) => c,
            Popup::Subscription(c) => c.as_ref(),
            Popup::Send(c) => c.as_ref(),
            Popup::Replay(c) => c.as_ref(),
            Popup::CopyMenu(c) => c,
            Popup::Confirm(c) => c,
        }
    }

    pub fn component_mut(&mut self) -> &mut dyn Component {
        match self {
            Popup::Inspector(c) => c.as_mut(),
            Popup::Endpoint(c) => c.as_mut(),
            Popup::Help(c) => c.as_mut(),
            Popup::Alerts(c) => c,
            Popup::Audit(c) => c,
            Popup::Nodes(c) => c,
            Popup::Subscription(c) => c.as_mut(),
            Popup::Send(c) => c.as_mut(),
            Popup::Replay(c) => c.as_mut(),
            Popup::CopyMenu(c) => c,
            Popup::Confirm(c) => c,
        }
    }
}

pub struct App {
    pub location: String,
    pub now: Millis,
    pub stats: Option<StatsReport>,
    pub subscriptions: Vec<Subscription>,
    pub catalog: Catalog,
    /// The Event stream pane: its rows, its cursor, whether it follows.
    pub stream: Stream,
    /// The Subscriptions pane: its cursor, the column it is ordered by, the secret revealed.
    pub table: Subscriptions,
    pub focus: Pane,
    pub filter: Filter,
    pub filter_text: String,
    /// The filter being typed, while it is.
    pub filter_input: Option<FilterLine>,
    /// The command palette, while open.
    pub palette: Option<Palette>,
    /// Command lines run since the dashboard started, oldest first.
    pub command_history: Vec<String>,
    /// The replays running as last read, newest first.
    pub replays: Vec<Replay>,
    /// When the replays were last read, and why the latest read failed (if it did).
    pub replays_read: Option<(Millis, Option<String>)>,
    replays_asked_at: Millis,
    pub alerts: VecDeque<Alert>,
    /// The audit log as last read (newest first) and when; `None` until first read.
    pub audit: Option<(Vec<AuditEntry>, Millis)>,
    /// Why the latest read of the audit log failed, until one succeeds.
    pub audit_unread: Option<String>,
    pub unseen_alerts: usize,
    pub popups: Vec<Popup>,
    pub status: Option<Status>,
    pub connected: bool,
    pub connection_detail: String,
    /// When the source last said anything (an update or a heartbeat): proof that it is alive.
    pub heard_at: Millis,
    /// Reconnected, and the stream's replay of what was missed has not ended yet (`resumed`):
    /// what is shown is not current until it has.
    resuming: bool,
    /// Set when the connection was lost or the source fell silent: the time everything shown
    /// from the source is as of.
    pub stale_since: Option<Millis>,
    /// The server refused the credentials; the source has stopped trying.
    pub refused: Option<String>,
    /// Nothing can be changed from here (a viewer token, or `--read-only`): only reading is offered.
    pub read_only: bool,
    /// The keys in force: the table, with the operator's `keys.toml` applied.
    pub keymap: std::sync::Arc<Keymap>,
    /// The saved views (`:view`), and where they are kept.
    pub views: Views,
    /// Whether the Delivery success pane has room of its own (Tab skips it when folded).
    pub wide: bool,
    /// The focused pane fills the screen (`z`).
    pub zoomed: bool,
    /// The terminal's size, for how far an overlay or the inspector scrolls.
    pub screen_width: u16,
    pub screen_height: u16,
    pub quit: bool,
}

impl App {
    pub fn new(location: String) -> Self {
        App {
            location,
            now: 0,
            stats: None,
            subscriptions: Vec::new(),
            catalog: Catalog::default(),
            stream: Stream::default(),
            table: Subscriptions::default(),
            focus: Pane::Stream,
            filter: Filter::default(),
            filter_text: String::new(),
            filter_input: None,
            palette: None,
            command_history: Vec::new(),
            replays: Vec::new(),
            replays_read: None,
            replays_asked_at: 0,
            alerts: VecDeque::new(),
            audit: None,
            audit_unread: None,
            unseen_alerts: 0,
            popups: Vec::new(),
            status: None,
            connected: true,
            connection_detail: String::new(),
            heard_at: 0,
            resuming: false,
            stale_since: None,
            refused: None,
            read_only: false,
            keymap: std::sync::Arc::default(),
            views: Views::default(),
            wide: true,
            zoomed: false,
            screen_width: 80,
            screen_height: 24,
            quit: false,
        }
    }

    /// The query that fills the stream itself, whatever the filter.
    pub fn stream_query() -> EventQuery {
        Stream::query()
    }

    /// The query that fills the stream for the current filter.
    pub fn events_query(&self) -> EventQuery {
        let subscription =
            self.filter.subscription.as_ref().and_then(|q| self.matching_subscription(q)).map(|s| s.id.to_string());
        EventQuery {
            action: self.filter.action.clone().filter(|a| !a.ends_with('*')),
            subscription,
            status: self.filter.status,
            card_id: self.filter.card.clone(),
            words: self.filter.text.clone(),
            fields: self.filter.fields.clone(),
            limit: 500,
            ..EventQuery::default()
        }
    }

    fn matching_subscription(&self, query: &str) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.id == query || s.name.to_lowercase().contains(query))
    }

    pub fn subscription_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.data().subscription_name(id)
    }

    /// What decides which stream rows show (a filter's `sub:` reads the subscriptions).
    pub fn sieve(&self) -> Sieve<'_> {
        Sieve { filter: &self.filter, subscriptions: &self.subscriptions }
    }

    /// The stream rows that pass the filter, newest first.
    pub fn visible_events(&self) -> impl Iterator<Item = &EventRow> {
        self.stream.visible(self.sieve())
    }

    pub fn visible_count(&self) -> usize {
        self.stream.visible_count(self.sieve())
    }

    pub fn selected_event(&self) -> Option<&EventRow> {
        self.stream.selected(self.sieve())
    }

    /// Endpoints in the table's order: put in it once, when the stats or the order change.
    pub fn endpoints(&self) -> &[EndpointReport] {
        self.stats.as_ref().map_or(&[], |s| s.subscriptions.as_slice())
    }

    /// New stats: their endpoints are put in the table's order here, once per update.
    pub fn set_stats(&mut self, mut report: StatsReport) {
        let (column, reversed) = self.table.sort;
        column.sort(reversed, &mut report.subscriptions);
        self.stats = Some(report);
    }

    /// Orders the table by `column` (reversed if asked).
    pub fn set_sort(&mut self, column: Column, reversed: bool) {
        self.table.sort = (column, reversed);
        if let Some(stats) = self.stats.as_mut() {
            column.sort(reversed, &mut stats.subscriptions);
        }
    }

    /// What a redelivery to these subscriptions will do, for the status line.
    pub fn redelivery_note(&self, subscription_ids: &[&str]) -> String {
        let held: Vec<String> = subscription_ids
            .iter()
            .filter_map(|id| Some(format!("{}: {}", self.subscription_name(id), self.data().held_reason(id)?)))
            .collect();
        let what = match subscription_ids {
            [one] => format!("redelivering to {}", self.subscription_name(one)),
            many => format!("redelivering to {}", counted(many.len() as u64, "subscription")),
        };
        if held.is_empty() { format!("{what}: sending now") } else { format!("{what}; {}", held.join("; ")) }
    }

    /// The endpoint keys act on: an open endpoint page's, else the subscriptions cursor's (a page
    /// opened from the alert log or the palette need not be the cursor's).
    pub fn selected_endpoint(&self) -> Option<&EndpointReport> {
        if let Some(Popup::Endpoint(page)) = self.popups.last() {
            return self.endpoints().iter().find(|e| e.id == page.id);
        }
        self.endpoints().get(self.table.cursor)
    }

    pub fn context(&self) -> Context {
        if let Some(popup) = self.popups.last() {
            return popup.component().context();
        }
        match self.focus {
            _ if self.palette.is_some() => Context::Palette,
            _ if self.filter_input.is_some() => Context::FilterInput,
            Pane::Subscriptions => Context::Subscriptions,
            Pane::Rates => Context::Rates,
            Pane::Stream => Context::Stream,
        }
    }

    /// What the components see of the app: its data, read-only.
    pub fn data(&self) -> Data<'_> {
        Data {
            now: self.now,
            location: &self.location,
            connected: self.connected,
            connection_detail: &self.connection_detail,
            refused: self.refused.as_deref(),
            read_only: self.read_only,
            keymap: &self.keymap,
            views: &self.views.saved,
            screen: ratatui::layout::Rect::new(0, 0, self.screen_width, self.screen_height),
            context: self.context(),
            selected: self.selected_endpoint(),
            table_cursor: self.table.cursor,
            status: self.status.as_ref(),
            focus: self.focus,
            zoomed: self.zoomed,
            stale_since: self.stale_since,
            stats: self.stats.as_ref(),
            endpoints: self.endpoints(),
            subscriptions: &self.subscriptions,
            catalog: &self.catalog,
            filter: &self.filter,
            filter_text: &self.filter_text,
            replays: &self.replays,
            replays_read: self.replays_read.as_ref(),
            frozen: (!self.stream.follow).then_some(self.stream.held.len()),
            history: &self.command_history,
            alerts: &self.alerts,
            unseen_alerts: self.unseen_alerts,
            audit: self.audit.as_ref(),
            audit_unread: self.audit_unread.as_deref(),
        }
    }

    fn sort_subscriptions(&mut self) {
        self.subscriptions.sort_by_key(|s| s.name.to_lowercase());
    }

    pub fn set_status(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(Status { text: text.into(), error, at: self.now });
    }

    /// Time passing: marks everything stale once the source has been silent too long (socket open
    /// or not), drops an expired status message. Returns whether anything changed.
    pub fn tick(&mut self, now: Millis) -> bool {
        self.now = now;
        if self.stale_since.is_none() && now - self.heard_at >= SILENCE_STALE_MS {
            self.stale_since = Some(self.heard_at);
        }
        if self.status.as_ref().is_some_and(|s| now - s.at > STATUS_FOR_MS) {
            self.status = None;
            return true;
        }
        // While stale, the screen counts the time since the last update.
        self.stale_since.is_some()
    }

    /// The source said something: it is alive; once it is also connected and caught up, what it
    /// shows is current again.
    fn heard(&mut self) {
        self.heard_at = self.now;
        if self.connected && !self.resuming {
            self.stale_since = None;
        }
    }

    /// Reads that are due by now (called on the clock's tick).
    pub fn due_reads(&mut self, now: Millis) -> Vec<Effect> {
        let mut due = self.due_histories(now);
        let every = if self.replays.is_empty() { REPLAYS_EVERY } else { REPLAYS_EVERY_RUNNING };
        if now.saturating_sub(self.replays_asked_at) >= every {
            self.replays_asked_at = now;
            due.push(Effect::LoadReplays);
        }
        due
    }

    /// Takes a fresh read of the replays; says how those that were under way here have ended.
    fn read_replays(&mut self, all: Vec<Replay>, at: Millis) {
        for gone in self.replays.iter().filter(|r| !all.iter().any(|a| a.id == r.id && a.state.is_live())) {
            let Some(last) = all.iter().find(|a| a.id == gone.id) else { continue };
            let mut text = format!(
                "replay {} {}: {} sent, {} delivered, {} failed",
                last.id,
                last.state.as_str(),
                counted(last.sent, "delivery"),
                last.delivered,
                last.failed
            );
            if last.skipped > 0 {
                text += &format!(", {} skipped (pruned or taken over meanwhile)", last.skipped);
            }
            if last.state == ReplayState::Done && last.sent + last.skipped < last.total {
                text += &format!(" of the {} selected at its start (the others no longer matched)", last.total);
            }
            self.status = Some(Status { text, error: last.failed + last.skipped > 0, at: self.now });
        }
        self.replays = all.into_iter().filter(|r| r.state.is_live()).collect();
        self.replays_read = Some((at, None));
    }

    // ----- updates from the source -----

    pub fn apply_update(&mut self, update: Update) -> Vec<Effect> {
        if !matches!(update, Update::Connection { connected: false, .. } | Update::Refused(_)) {
            self.heard();
        }
        match update {
            Update::Stats(report) => self.set_stats(report),
            Update::Heartbeat => {}
            Update::Connection { connected, detail } => {
                // Back again: the stream replays what was missed, then says `resumed`.
                self.resuming |= connected && !self.connected;
                if !connected && self.connected {
                    self.stale_since.get_or_insert(self.heard_at);
                }
                self.connected = connected;
                self.connection_detail = detail;
            }
            Update::Resumed { replayed, gaps } => {
                self.resuming = false;
                self.stale_since = None;
                // Subscription changes are not replayed: read them again.
                let mut effects = vec![Effect::LoadSubscriptions];
                if gaps.is_empty() {
                    self.set_status(format!("reconnected: resumed the stream, {replayed} updates replayed"), false);
                } else {
                    self.set_status(format!("reconnected with a gap: {}; reloaded the stream", gaps.join("; ")), true);
                    effects.extend(self.reload_events());
                }
                return effects;
            }
            Update::Refused(reason) => {
                self.connected = false;
                self.stale_since.get_or_insert(self.heard_at);
                self.set_status(reason.clone(), true);
                self.refused = Some(reason);
            }
            Update::Lagged => return self.reload_events(),
            Update::Feed(event) => return self.apply_feed(event),
        }
        Vec::new()
    }

    fn apply_feed(&mut self, event: FeedEvent) -> Vec<Effect> {
        match event {
            FeedEvent::EventReceived { event } => {
                let sieve = Sieve { filter: &self.filter, subscriptions: &self.subscriptions };
                self.stream.receive(event, self.now, sieve);
            }
            FeedEvent::DeliveryAttempted(n) => {
                self.stream.attempted(&n, self.now);
                if let Some(Popup::Inspector(ins)) = self.popups.last()
                    && ins.event_id == n.event_id
                {
                    // Keep an open inspector current.
                    return vec![Effect::LoadEvent(n.event_id)];
                }
            }
            FeedEvent::SubscriptionChanged { change, subscription } => {
                // A secret read before the change may be rotated out: `S` reads it again.
                if self.table.revealed_secret.as_ref().is_some_and(|(id, _)| *id == subscription.id) {
                    self.table.revealed_secret = None;
                }
                self.subscriptions.retain(|s| s.id != subscription.id);
                if change != SubscriptionChange::Deleted {
                    self.subscriptions.push(*subscription);
                }
                self.sort_subscriptions();
            }
            FeedEvent::Alert(alert) => self.push_alert(alert),
        }
        Vec::new()
    }

    /// Asks the store for the filter's rows (again); no filter, the stream's own rows show.
    pub(super) fn search(&mut self) -> Vec<Effect> {
        let query = self.events_query();
        let sieve = Sieve { filter: &self.filter, subscriptions: &self.subscriptions };
        self.stream.search(query, self.now, sieve)
    }

    /// Reads the stream again after updates were missed, and the filter's rows with it.
    fn reload_events(&mut self) -> Vec<Effect> {
        let mut effects = vec![Effect::LoadEvents(Self::stream_query())];
        if self.stream.results.is_some() {
            effects.extend(self.search());
        }
        effects
    }

    fn push_alert(&mut self, alert: Alert) {
        if self.alerts.len() >= ALERT_LOG {
            self.alerts.pop_front();
        }
        self.alerts.push_back(alert);
        if !matches!(self.popups.last(), Some(Popup::Alerts(_))) {
            self.unseen_alerts += 1;
        }
    }

    pub fn apply_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Events { query, list } => {
                let sieve = Sieve { filter: &self.filter, subscriptions: &self.subscriptions };
                self.stream.read(query, list, sieve);
            }
            Outcome::EventsUnread { query, error } => {
                self.stream.unread(&query, &error);
                self.set_status(format!("cannot read the events: {error}"), true);
            }
            Outcome::Event(detail) => {
                if let Some(Popup::Inspector(ins)) = self.popups.last_mut()
                    && ins.event_id == detail.id
                {
                    let (section, scroll, cursor) = (ins.section, ins.payload_scroll, ins.attempt_cursor);
                    let reloading = ins.detail.is_some();
                    ins.load(*detail);
                    if reloading {
                        ins.section = section;
                        ins.payload_scroll = scroll;
                        ins.attempt_cursor = cursor.max(ins.attempt_cursor.min(cursor));
                    }
                }
            }
            Outcome::EventFailed { id, error } => {
                if let Some(Popup::Inspector(ins)) = self.popups.last_mut()
                    && ins.event_id == id
                {
                    ins.error = Some(error);
                }
            }
            Outcome::Subscriptions(subs) => {
                self.subscriptions = subs;
                self.sort_subscriptions();
            }
            Outcome::Alerts(alerts) => self.alerts = alerts.into_iter().collect(),
            Outcome::Audit(entries, at) => {
                self.audit = Some((entries, at));
                self.audit_unread = None;
            }
            Outcome::AuditUnread(error) => self.audit_unread = Some(error),
            Outcome::Catalog(names) => {
                let extra: Vec<String> =
                    names.into_iter().filter(|n| crate::domain::catalog::find(n).is_none()).collect();
                self.catalog = Catalog::new(&extra);
            }
            Outcome::Stats(report) => self.set_stats(*report),
            Outcome::SubscriptionSaved(sub) => {
                if matches!(self.popups.last(), Some(Popup::Subscription(_))) {
                    self.popups.pop();
                }
                let paused = if sub.state == SubscriptionState::Paused { ", paused: p resumes it" } else { "" };
                self.set_status(format!("saved subscription {}{paused}", sub.name), false);
                self.subscriptions.retain(|s| s.id != sub.id);
                self.subscriptions.push(*sub);
                self.sort_subscriptions();
            }
            Outcome::ChangedMeanwhile { message, subscriptions } => {
                if let Some(subscriptions) = subscriptions {
                    self.subscriptions = subscriptions;
                    self.sort_subscriptions();
                }
                match self.popups.last_mut() {
                    Some(Popup::Subscription(form)) => {
                        form.conflict = false;
                        form.server_error = Some(message);
                    }
                    _ => self.set_status(message, true),
                }
            }
            Outcome::SaveFailed(error) => match self.popups.last_mut() {
                Some(Popup::Subscription(form)) => {
                    // An overlap is the engine's `conflict`: the form offers to save replacing it.
                    form.conflict = error.code() == Some("conflict");
                    form.server_error = Some(error.to_string());
                }
                _ => self.set_status(error.to_string(), true),
            },
            Outcome::Sent(id) => {
                if matches!(self.popups.last(), Some(Popup::Send(_))) {
                    self.popups.pop();
                }
                self.set_status(format!("sent test event {id}"), false);
            }
            Outcome::SendFailed(error) => match self.popups.last_mut() {
                Some(Popup::Send(form)) => form.server_error = Some(error),
                _ => self.set_status(error, true),
            },
            Outcome::ReplayPreview(preview) => {
                if let Some(Popup::Replay(draft)) = self.popups.last_mut() {
                    draft.preview = Some(preview);
                }
            }
            Outcome::ReplayStarted(replay) => {
                if matches!(self.popups.last(), Some(Popup::Replay(_))) {
                    self.popups.pop();
                }
                self.set_status(
                    format!(
                        "replay {} started: {} at {}/s; X cancels it",
                        replay.id,
                        counted(replay.total, "delivery"),
                        replay.rate_per_s
                    ),
                    false,
                );
                if replay.state.is_live() {
                    self.replays.insert(0, *replay);
                }
            }
            Outcome::ReplayRefused(error) => match self.popups.last_mut() {
                Some(Popup::Replay(draft)) => draft.server_error = Some(error),
                _ => self.set_status(error, true),
            },
            Outcome::Replays(all, at) => self.read_replays(all, at),
            Outcome::History { id, span, read } => self.read_history(&id, span, read.map(|h| *h)),
            Outcome::ReplaysUnread(error) => {
                let at = self.replays_read.as_ref().map_or(0, |(at, _)| *at);
                self.replays_read = Some((at, Some(error)));
            }
            Outcome::ReplayCancelled(replay) => {
                self.replays.retain(|r| r.id != replay.id);
                self.set_status(
                    format!(
                        "cancelled replay {} after {} of {} sent",
                        replay.id,
                        replay.sent,
                        counted(replay.total, "delivery")
                    ),
                    false,
                );
            }
            Outcome::SecretRead { subscription_id, key } => {
                self.table.revealed_secret = Some((subscription_id, key));
            }
            // The event loop copies it and never hands it here; the app has no terminal to copy with.
            Outcome::Copy { what, .. } => self.set_status(format!("{what} was not copied"), true),
            Outcome::Done(text) => self.set_status(text, false),
            Outcome::Failed(text) => self.set_status(text, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::screenshots::demo_app;
    use crate::domain::model::{EventSummary, ReplayPreview};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn help(app: &App) -> &Help {
        match app.popups.last() {
            Some(Popup::Help(help)) => help,
            _ => panic!("the help is not open"),
        }
    }

    fn typed(app: &mut App, text: &str) {
        for c in text.chars() {
            press(app, KeyCode::Char(c));
        }
    }

    /// Silence marks everything stale, socket open or not, and anything the source says clears
    /// it; a lost connection stays stale until the stream has caught up again.
    #[test]
    fn silence_marks_the_figures_stale_until_the_source_speaks_again() {
        let mut app = demo_app();
        let t0 = app.now;
        app.apply_update(Update::Heartbeat);
        app.tick(t0 + SILENCE_STALE_MS - 1);
        assert_eq!(app.stale_since, None);
        assert!(app.tick(t0 + SILENCE_STALE_MS), "redrawn each tick: the age counts up");
        assert_eq!(app.stale_since, Some(t0), "as of the last thing heard");
        app.apply_update(Update::Heartbeat);
        assert_eq!(app.stale_since, None, "connected and caught up: live again");

        let t1 = app.now;
        app.apply_update(Update::Connection { connected: false, detail: "gone".into() });
        assert_eq!(app.stale_since, Some(t1));
        app.tick(t1 + 20_000);
        app.apply_update(Update::Connection { connected: true, detail: String::new() });
        app.apply_update(Update::Heartbeat);
        assert_eq!(app.stale_since, Some(t1), "not before the missed updates are replayed");
        app.apply_update(Update::Resumed { replayed: 0, gaps: Vec::new() });
        assert_eq!(app.stale_since, None);
    }

    #[test]
    fn enter_inspects_the_selected_event_and_esc_returns() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Down);
        let id = app.selected_event().unwrap().event.id.clone();
        assert_eq!(press(&mut app, KeyCode::Enter), vec![Effect::LoadEvent(id)]);
        assert_eq!(app.context(), Context::Inspector);
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.context(), Context::Stream);
    }

    /// An event held while frozen that a store's answer also lists is listed once on follow, in
    /// the stream and in the filter's rows.
    #[test]
    fn a_held_event_in_an_answer_joins_once() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Char('/'));
        typed(&mut app, "action:card.move");
        let effects = press(&mut app, KeyCode::Enter);
        let [Effect::LoadEvents(query)] = &effects[..] else { panic!("{effects:?}") };
        press(&mut app, KeyCode::Char('j'));
        let mut newer = app.stream.events[0].event.clone();
        (newer.id, newer.action) = ("evt_ZZZ_HELD".into(), "card.move".into());
        app.apply_update(Update::Feed(FeedEvent::EventReceived { event: newer.clone() }));
        for query in [App::stream_query(), query.clone()] {
            app.apply_outcome(Outcome::Events { query, list: vec![newer.clone()] });
        }
        press(&mut app, KeyCode::Char(' '));
        assert_eq!(app.stream.events.iter().filter(|r| r.event.id == newer.id).count(), 1);
        assert_eq!(app.visible_events().filter(|r| r.event.id == newer.id).count(), 1);

        app.apply_outcome(Outcome::EventsUnread { query: app.events_query(), error: "503: busy".into() });
        assert_eq!(app.stream.results.as_ref().and_then(|r| r.unread.as_deref()), Some("503: busy"));
    }

    #[test]
    fn moving_down_freezes_and_space_follows_with_held_events() {
        let mut app = demo_app();
        let first = app.stream.events[0].event.clone();
        press(&mut app, KeyCode::Char('j'));
        assert!(!app.stream.follow);
        let mut newer = first.clone();
        newer.id = "evt_NEWEST".into();
        app.apply_update(Update::Feed(FeedEvent::EventReceived { event: newer }));
        assert_eq!(app.stream.held.len(), 1);
        assert_eq!(app.stream.events[0].event.id, first.id, "a frozen stream does not move");
        press(&mut app, KeyCode::Char(' '));
        assert!(app.stream.follow);
        assert_eq!(app.stream.events[0].event.id, "evt_NEWEST");
        assert_eq!(app.stream.cursor, 0);
    }

    #[test]
    fn the_filter_is_validated_as_typed_and_applied_on_enter() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Char('/'));
        assert_eq!(app.context(), Context::FilterInput);
        typed(&mut app, "status:burnt");
        assert!(app.filter_input.as_ref().is_some_and(|l| l.error.is_some()));
        for _ in 0.."burnt".len() {
            press(&mut app, KeyCode::Backspace);
        }
        typed(&mut app, "failed sub:billing");
        assert!(app.filter_input.as_ref().is_some_and(|l| l.error.is_none()));
        let effects = press(&mut app, KeyCode::Enter);
        let Some(Effect::LoadEvents(q)) = effects.first() else { panic!("{effects:?}") };
        assert_eq!(q.subscription.as_deref(), Some("sub_01KQBIL0000000000000000003"));
        assert!(app.visible_events().all(|r| {
            r.event.deliveries.iter().any(|d| {
                d.status == crate::domain::model::DeliveryStatus::Dead
                    || d.status == crate::domain::model::DeliveryStatus::Retrying
            })
        }));
        assert_eq!(app.context(), Context::Stream);
    }

    #[test]
    fn capital_a_opens_the_audit_log_and_reads_it() {
        let mut app = demo_app();
        assert_eq!(press(&mut app, KeyCode::Char('A')), vec![Effect::LoadAudit]);
        assert!(matches!(app.popups.last(), Some(Popup::Audit { .. })));
        assert_eq!(app.context(), Context::Overlay);
    }

    #[test]
    fn b_probes_only_an_open_breaker() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        let effects = press(&mut app, KeyCode::Char('b'));
        assert_eq!(
            effects,
            vec![Effect::Probe { subscription_id: "sub_01KQBIL0000000000000000003".into(), name: "billing".into() }]
        );
        press(&mut app, KeyCode::Char('j'));
        assert!(press(&mut app, KeyCode::Char('b')).is_empty(), "crm-sync's breaker is closed");
        let said = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(said.contains("not open"), "{said}");
    }

    /// `S` reads the secret from the source (the list holds it masked) and shows what came back;
    /// `S` again hides it, and so does a change to the subscription (a rotation may retire it).
    #[test]
    fn capital_s_reads_the_secret_then_hides_it() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Tab);
        let id = app.endpoints()[app.table.cursor].id.clone();
        let name = app.endpoints()[app.table.cursor].name.clone();
        let effects = press(&mut app, KeyCode::Char('S'));
        assert_eq!(effects, vec![Effect::RevealSecret { subscription_id: id.clone(), name }]);
        assert_eq!(app.table.revealed_secret, None, "nothing shows before the source answers");
        app.apply_outcome(Outcome::SecretRead { subscription_id: id.clone(), key: "whsec_read".into() });
        assert_eq!(app.table.revealed_secret, Some((id.clone(), "whsec_read".into())));
        assert!(press(&mut app, KeyCode::Char('S')).is_empty(), "hiding reads nothing");
        assert_eq!(app.table.revealed_secret, None);

        app.apply_outcome(Outcome::SecretRead { subscription_id: id.clone(), key: "whsec_read".into() });
        let sub = app.subscriptions.iter().find(|s| s.id == id).unwrap().clone();
        let change =
            FeedEvent::SubscriptionChanged { change: SubscriptionChange::Updated, subscription: Box::new(sub) };
        app.apply_update(Update::Feed(change));
        assert_eq!(app.table.revealed_secret, None, "a changed subscription's secret is read again");
    }

    #[test]
    fn pane_keys_pause_and_edit_the_selected_endpoint() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Pane::Subscriptions);
        press(&mut app, KeyCode::Char('j'));
        let effects = press(&mut app, KeyCode::Char('p'));
        assert_eq!(
            effects,
            vec![Effect::SetPaused {
                subscription_id: "sub_01KQBIL0000000000000000003".into(),
                name: "billing".into(),
                paused: true,
                version: app.subscriptions.iter().find(|s| s.name == "billing").unwrap().etag(),
            }]
        );
        press(&mut app, KeyCode::Char('e'));
        assert_eq!(app.context(), Context::Form);
        typed(&mut app, "q"); // letters are text in a form, not quit
        assert!(!app.quit);
        press(&mut app, KeyCode::Esc);
        press(&mut app, KeyCode::Char('q'));
        assert!(app.quit);
    }

    #[test]
    fn capital_g_scrolls_an_overlay_to_its_last_page_and_k_moves_back_at_once() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Char('?'));
        press(&mut app, KeyCode::Char('G'));
        let rows = crate::dashboard::layout::HELP_BOX.rows(app.screen_height);
        let last = help(&app).len(&app.data()) - rows;
        let scroll = |app: &App| match app.popups.last() {
            Some(Popup::Help(help)) => help.scroll,
            _ => usize::MAX,
        };
        assert_eq!(scroll(&app), last);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(scroll(&app), last, "no scrolling past the end");
        press(&mut app, KeyCode::Char('k'));
        assert_eq!(scroll(&app), last - 1);
    }

    #[test]
    fn a_409_in_the_form_offers_to_save_replacing_the_overlap() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('e'));
        assert!(ctrl(&mut app, 'o').is_empty(), "nothing to replace before the server says so");
        let effects = press(&mut app, KeyCode::Enter);
        assert!(matches!(&effects[..], [Effect::SaveSubscription { input, .. }] if !input.override_previous));
        app.apply_outcome(Outcome::SaveFailed(crate::dashboard::source::SourceError::Refused {
            status: Some(409),
            code: Some("conflict".into()),
            message: "subscription sub_x already sends an overlapping action to this URL".into(),
        }));
        let effects = ctrl(&mut app, 'o');
        assert!(
            matches!(&effects[..], [Effect::SaveSubscription { input, .. }] if input.override_previous),
            "{effects:?}"
        );
    }

    #[test]
    fn inputs_edit_like_a_shell_line_and_esc_clears_an_applied_filter() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Char('/'));
        typed(&mut app, "status:failed card");
        ctrl(&mut app, 'w');
        let line = |app: &App| app.filter_input.as_ref().map(|i| i.input.lines().join("")).unwrap_or_default();
        assert_eq!(line(&app), "status:failed ", "C-w deletes the word before the cursor");
        ctrl(&mut app, 'a');
        typed(&mut app, "sub:billing ");
        assert_eq!(line(&app), "sub:billing status:failed ", "C-a goes to the start");
        ctrl(&mut app, 'e');
        ctrl(&mut app, 'u');
        assert_eq!(line(&app), "", "C-u deletes to the start");
        typed(&mut app, "status:dead");
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.filter_text, "status:dead");
        let effects = press(&mut app, KeyCode::Esc);
        assert!(app.filter_text.is_empty() && app.filter.is_empty());
        assert!(effects.is_empty(), "the stream's own rows show again, read from nowhere: {effects:?}");
        assert_eq!(app.visible_count(), app.stream.events.len());
    }

    /// A store's answer that was read before a live event came in takes nothing away: not that
    /// event, not the rows it has no room for.
    #[test]
    fn a_late_answer_merges_into_the_rows_and_keeps_the_newer_state() {
        let mut app = demo_app();
        let before = app.stream.events.len();
        let mut newest = app.stream.events[0].event.clone();
        newest.id = "evt_ZZZ_NEWEST".into();
        newest.deliveries[0].attempt_count = 9;
        let stale = {
            let mut e = newest.clone();
            e.deliveries[0].attempt_count = 1;
            e
        };
        let read_earlier: Vec<EventSummary> = app.stream.events.iter().skip(1).map(|r| r.event.clone()).collect();
        app.apply_update(Update::Feed(FeedEvent::EventReceived { event: newest.clone() }));
        app.apply_outcome(Outcome::Events { query: App::stream_query(), list: read_earlier });
        assert_eq!(app.stream.events.len(), before + 1);
        assert_eq!(app.stream.events[0].event.id, newest.id);
        app.apply_outcome(Outcome::Events { query: App::stream_query(), list: vec![stale] });
        assert_eq!(app.stream.events[0].event.deliveries[0].attempt_count, 9, "the live state is newer");
    }

    #[test]
    fn o_orders_the_table_by_each_column_keeping_the_selection_and_z_zooms() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.selected_endpoint().unwrap().name, "billing");
        for _ in 0..4 {
            press(&mut app, KeyCode::Char('o'));
        }
        assert_eq!(app.table.sort, (Column::Backlog, false));
        let names: Vec<&str> = app.endpoints().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["crm-sync", "analytics", "billing"], "fewest waiting first");
        assert_eq!(app.selected_endpoint().unwrap().name, "billing", "the selection moved with its row");
        press(&mut app, KeyCode::Char('O'));
        assert_eq!(app.endpoints()[0].name, "billing", "reversed: most waiting first");
        assert_eq!(app.table.cursor, 0);
        press(&mut app, KeyCode::Char('z'));
        assert!(app.zoomed);
        press(&mut app, KeyCode::Char('z'));
        assert!(!app.zoomed);
    }

    #[test]
    fn slash_in_the_help_narrows_it_to_what_mentions_a_word() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Char('?'));
        press(&mut app, KeyCode::Char('/'));
        assert_eq!(app.context(), Context::HelpSearch);
        typed(&mut app, "replay");
        let shown = help(&app).len(&app.data());
        let all = Help::default().len(&app.data());
        assert!(shown > 3 && shown < all / 4, "{shown} lines");
        press(&mut app, KeyCode::Enter);
        assert_eq!(app.context(), Context::Overlay, "Enter keeps it narrowed and scrolls it");
        press(&mut app, KeyCode::Char('/'));
        press(&mut app, KeyCode::Esc);
        assert!(help(&app).search.is_none(), "Esc while typing shows the whole help");
        press(&mut app, KeyCode::Esc);
        assert!(app.popups.is_empty());
    }

    #[test]
    fn tab_skips_the_folded_rates_pane() {
        let mut app = demo_app();
        app.wide = false;
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.focus, Pane::Stream);
    }

    #[test]
    fn attempts_update_rows_and_alerts_count_as_unseen() {
        let mut app = demo_app();
        let row = app.stream.events[0].event.clone();
        let d = &row.deliveries[0];
        app.apply_update(Update::Feed(FeedEvent::DeliveryAttempted(crate::domain::model::AttemptNotice {
            event_id: row.id.clone(),
            delivery_id: d.id.clone(),
            subscription_id: d.subscription_id.clone(),
            attempt: 1,
            started_at: 0,
            duration_ms: 5,
            status_code: Some(200),
            error_kind: None,
            error: None,
            status: crate::domain::model::DeliveryStatus::Succeeded,
            next_attempt_at: None,
        })));
        assert_eq!(app.stream.events[0].event.deliveries[0].status, crate::domain::model::DeliveryStatus::Succeeded);
        let before = app.unseen_alerts;
        app.apply_update(Update::Feed(FeedEvent::Alert(app.alerts[0].clone())));
        assert_eq!(app.unseen_alerts, before + 1);
        press(&mut app, KeyCode::Char('a'));
        assert_eq!(app.unseen_alerts, 0);
    }

    #[test]
    fn r_redelivers_what_failed_and_capital_r_asks_before_sending_to_all() {
        use crate::domain::model::DeliveryStatus::{Dead, Succeeded};
        let mut app = demo_app();
        let row = &mut app.stream.events[0].event;
        row.deliveries.truncate(2);
        (row.deliveries[0].status, row.deliveries[1].status) = (Succeeded, Dead);
        let (event_id, dead_sub) = (row.id.clone(), row.deliveries[1].subscription_id.clone());
        let effects = press(&mut app, KeyCode::Char('r'));
        let [Effect::Redeliver { event_id: e, subscription_id: None, failed_only: true, note }] = &effects[..] else {
            panic!("{effects:?}")
        };
        assert_eq!(e, &event_id);
        assert!(note.contains(app.subscription_name(&dead_sub)), "{note}");

        assert!(press(&mut app, KeyCode::Char('R')).is_empty(), "nothing is sent before the answer");
        let Some(Popup::Confirm(Confirm { question, .. })) = app.popups.last() else { panic!("no question asked") };
        assert!(question.contains("1 already succeeded"), "{question}");
        assert!(press(&mut app, KeyCode::Char('n')).is_empty());
        assert!(app.popups.is_empty());
        press(&mut app, KeyCode::Char('R'));
        let effects = press(&mut app, KeyCode::Char('y'));
        assert!(matches!(&effects[..], [Effect::Redeliver { failed_only: false, .. }]), "{effects:?}");

        // Nothing failed: nothing is sent, and the screen says how to send anyway.
        app.stream.events[0].event.deliveries[1].status = Succeeded;
        assert!(press(&mut app, KeyCode::Char('r')).is_empty());
        assert!(app.status.as_ref().unwrap().text.contains("R redelivers to all 2"));
    }

    fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
        app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    #[test]
    fn colon_runs_commands_by_name_with_completion_and_history() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Char(':'));
        assert_eq!(app.context(), Context::Palette);
        typed(&mut app, "pau");
        press(&mut app, KeyCode::Tab);
        typed(&mut app, "bil");
        press(&mut app, KeyCode::Tab);
        assert_eq!(app.palette.as_ref().unwrap().line(), "pause billing");
        let effects = press(&mut app, KeyCode::Enter);
        assert_eq!(
            effects,
            vec![Effect::SetPaused {
                subscription_id: "sub_01KQBIL0000000000000000003".into(),
                name: "billing".into(),
                paused: true,
                version: app.subscriptions.iter().find(|s| s.name == "billing").unwrap().etag(),
            }]
        );
        assert!(app.palette.is_none());

        press(&mut app, KeyCode::Char(':'));
        press(&mut app, KeyCode::Up);
        assert_eq!(app.palette.as_ref().unwrap().line(), "pause billing", "↑ recalls the last line");
        press(&mut app, KeyCode::Esc);

        press(&mut app, KeyCode::Char(':'));
        typed(&mut app, "probe nowhere");
        assert!(press(&mut app, KeyCode::Enter).is_empty());
        assert!(app.status.as_ref().unwrap().text.contains("no subscription is named"));

        press(&mut app, KeyCode::Char(':'));
        typed(&mut app, "launch");
        press(&mut app, KeyCode::Enter);
        let error = app.palette.as_ref().and_then(|p| p.error.clone()).unwrap_or_default();
        assert!(error.contains("no command"), "a bad line stays open with its error: {error}");
        press(&mut app, KeyCode::Esc);

        app.read_only = true;
        press(&mut app, KeyCode::Char(':'));
        typed(&mut app, "delete billing");
        assert!(press(&mut app, KeyCode::Enter).is_empty());
        assert!(app.palette.as_ref().and_then(|p| p.error.as_deref()).unwrap_or_default().contains("read-only"));
    }

    /// Runs `line` in the palette.
    fn command(app: &mut App, line: &str) -> Vec<Effect> {
        press(app, KeyCode::Char(':'));
        typed(app, line);
        press(app, KeyCode::Enter)
    }

    #[test]
    fn a_saved_view_brings_back_the_filter_order_zoom_and_pane() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("views.toml");
        let mut app = demo_app();
        app.views = Views::load(Some(path.clone()));
        command(&mut app, "filter action:card.move");
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('O'));
        press(&mut app, KeyCode::Char('z'));
        command(&mut app, "view save moves");
        assert!(app.status.as_ref().unwrap().text.contains("view moves saved"), "{:?}", app.status);

        command(&mut app, "filter");
        press(&mut app, KeyCode::Char('z'));
        press(&mut app, KeyCode::Tab);
        app.set_sort(Column::Backlog, false);
        let mut later = demo_app();
        later.views = Views::load(Some(path));
        for app in [&mut app, &mut later] {
            command(app, "view moves");
            assert_eq!(app.filter_text, "action:card.move");
            assert_eq!((app.table.sort, app.zoomed, app.focus), ((Column::Name, true), true, Pane::Subscriptions));
        }
        command(&mut later, "view nowhere");
        assert!(later.status.as_ref().unwrap().text.contains("no view \"nowhere\"; saved: moves"));
    }

    #[test]
    fn a_filter_run_from_the_palette_that_cannot_be_read_says_why() {
        let mut app = demo_app();
        command(&mut app, "filter status:sideways");
        assert!(app.status.as_ref().is_some_and(|s| s.text.starts_with("filter not applied:")), "{:?}", app.status);
    }

    #[test]
    fn ctrl_r_previews_the_filtered_replay_and_starts_it_only_on_yes() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Char('/'));
        typed(&mut app, "status:failed sub:billing");
        press(&mut app, KeyCode::Enter);
        let effects = ctrl(&mut app, 'r');
        let [Effect::PreviewReplay(filter)] = &effects[..] else { panic!("{effects:?}") };
        assert_eq!(filter.subscription.as_deref(), Some("sub_01KQBIL0000000000000000003"));
        assert_eq!(filter.status.as_deref(), Some("failed"));
        assert_eq!(app.context(), Context::Replay);
        assert!(press(&mut app, KeyCode::Char('y')).is_empty(), "nothing starts before the count is in");

        let preview = ReplayPreview { total: 5, events: 5, rate_per_s: 10, subscriptions: Vec::new() };
        app.apply_outcome(Outcome::ReplayPreview(Ok(preview)));
        press(&mut app, KeyCode::Backspace);
        press(&mut app, KeyCode::Backspace);
        typed(&mut app, "x20"); // letters are not a rate
        let effects = press(&mut app, KeyCode::Char('y'));
        assert!(matches!(&effects[..], [Effect::StartReplay { rate_per_s: 20, .. }]), "{effects:?}");

        let replay = Replay {
            id: "rpl_1".into(),
            filter: filter.clone(),
            rate_per_s: 20,
            state: ReplayState::Running,
            total: 5,
            sent: 0,
            delivered: 0,
            failed: 0,
            skipped: 0,
            held: None,
            created_at: 0,
            updated_at: 0,
            cursor: None,
            node: "n".into(),
        };
        app.apply_outcome(Outcome::ReplayStarted(Box::new(replay.clone())));
        assert!(app.popups.is_empty());
        assert_eq!(app.replays.len(), 1);
        assert_eq!(press(&mut app, KeyCode::Char('X')), vec![Effect::CancelReplay("rpl_1".into())]);
        let finished = Replay { state: ReplayState::Done, sent: 4, delivered: 3, failed: 1, ..replay };
        app.apply_outcome(Outcome::Replays(vec![finished], 0));
        assert!(app.replays.is_empty());
        let said = &app.status.as_ref().unwrap().text;
        assert!(
            said.contains("rpl_1 done: 4 deliveries sent, 3 delivered, 1 failed") && said.contains("of the 5 selected"),
            "{said}"
        );
        assert!(press(&mut app, KeyCode::Char('X')).is_empty(), "nothing left to cancel");
    }

    #[test]
    fn a_filter_a_replay_cannot_take_is_refused_with_why() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Char('/'));
        typed(&mut app, "pipe:301");
        press(&mut app, KeyCode::Enter);
        assert!(ctrl(&mut app, 'r').is_empty());
        assert!(app.popups.is_empty());
        assert!(app.status.as_ref().unwrap().text.contains("take pipe:"));
    }

    #[test]
    fn capital_d_asks_before_deleting_and_says_what_it_cancels() {
        let mut app = demo_app();
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        assert!(press(&mut app, KeyCode::Char('D')).is_empty());
        let Some(Popup::Confirm(Confirm { question, .. })) = app.popups.last() else { panic!("no question asked") };
        let backlog = app.selected_endpoint().unwrap().backlog;
        assert!(question.contains("billing") && question.contains(&format!("its {backlog} deliveries")), "{question}");
        let effects = press(&mut app, KeyCode::Char('y'));
        assert_eq!(
            effects,
            vec![Effect::DeleteSubscription {
                id: "sub_01KQBIL0000000000000000003".into(),
                name: "billing".into(),
                version: app.subscriptions.iter().find(|s| s.name == "billing").unwrap().etag(),
            }]
        );
    }
}
