//! What the app shares with its components: the data as prepared once per update, read-only.
//! Components see this, never the `App`, so they import nothing of it.

use super::filter::{Filter, Sieve};
use super::keymap::{Context, Keymap};
use super::layout::Pane;
use super::text::clock;
use crate::domain::catalog::Catalog;
use crate::domain::model::{Alert, AuditEntry, Millis, Replay, Subscription, SubscriptionState};
use crate::wire::BreakerState;
use crate::wire::{EndpointReport, StatsReport};
use ratatui::layout::Rect;
use std::collections::VecDeque;

pub struct Data<'a> {
    pub now: Millis,
    /// Where the dashboard looks (the server's address, or in process).
    pub location: &'a str,
    /// Whether the source is connected, what it says of its connection, why it refused ours.
    pub connected: bool,
    pub connection_detail: &'a str,
    pub refused: Option<&'a str>,
    /// Nothing can be changed from here: only reading is offered.
    pub read_only: bool,
    /// The keys in force (the operator's `keys.toml` over the table).
    pub keymap: &'a Keymap,
    /// The saved views, by name (`:view` completes them).
    pub views: &'a std::collections::BTreeMap<String, super::views_file::SavedView>,
    /// The terminal: how far a popup scrolls depends on its size.
    pub screen: Rect,
    /// Where the keys go now (the hint line says which apply).
    pub context: Context,
    /// The endpoint keys act on: an open endpoint page's, else the subscriptions cursor's.
    pub selected: Option<&'a EndpointReport>,
    /// The subscriptions table's cursor (the Delivery success pane shows the same row).
    pub table_cursor: usize,
    /// A message for the status line, until it expires.
    pub status: Option<&'a Status>,
    /// The pane that takes the keys, and whether it fills the screen (`z`).
    pub focus: Pane,
    pub zoomed: bool,
    /// Since when everything shown from the source is stale (out of reach or silent).
    pub stale_since: Option<Millis>,
    pub stats: Option<&'a StatsReport>,
    /// The endpoints in the table's order.
    pub endpoints: &'a [EndpointReport],
    /// The subscriptions by name.
    pub subscriptions: &'a [Subscription],
    /// Every accepted action name.
    pub catalog: &'a Catalog,
    /// What the stream is narrowed to (its search words are highlighted where they show).
    pub filter: &'a Filter,
    /// The filter as typed.
    pub filter_text: &'a str,
    /// The replays running as last read, newest first.
    pub replays: &'a [Replay],
    /// When the replays were last read, and why the latest read failed (if it did).
    pub replays_read: Option<&'a (Millis, Option<String>)>,
    /// The stream frozen: how many events arrived meanwhile (`None`: it follows).
    pub frozen: Option<usize>,
    /// Command lines run since the dashboard started, oldest first.
    pub history: &'a [String],
    pub alerts: &'a VecDeque<Alert>,
    pub unseen_alerts: usize,
    /// The audit log as last read (newest first) and when; why the latest read failed.
    pub audit: Option<&'a (Vec<AuditEntry>, Millis)>,
    pub audit_unread: Option<&'a str>,
}

/// A message on the status line, and when it was said (it goes after a few seconds).
#[derive(Debug, Clone)]
pub struct Status {
    pub text: String,
    pub error: bool,
    pub at: Millis,
}

impl<'a> Data<'a> {
    /// What decides which stream rows show.
    pub fn sieve(&self) -> Sieve<'a> {
        Sieve { filter: self.filter, subscriptions: self.subscriptions }
    }

    pub fn subscription_name<'b>(&self, id: &'b str) -> &'b str
    where
        'a: 'b,
    {
        self.subscriptions.iter().find(|s| s.id == id).map_or(id, |s| s.name.as_str())
    }

    /// Why a delivery to `subscription_id` that is not final waits on something other than its
    /// retry schedule, said as the operator needs it.
    pub fn held_reason(&self, subscription_id: &str) -> Option<String> {
        let endpoint = self.stats?.subscriptions.iter().find(|e| e.id == subscription_id)?;
        match (endpoint.state, endpoint.breaker) {
            (SubscriptionState::Paused, _) => Some("held: subscription paused (p resumes)".into()),
            (SubscriptionState::Disabled, _) => Some("held: subscription disabled (p re-enables)".into()),
            (_, BreakerState::Open) => Some(match endpoint.next_probe_at {
                Some(at) => format!("held: breaker open, next probe {}", clock(at)),
                None => "held: breaker open".into(),
            }),
            (_, BreakerState::HalfOpen) => Some("held: breaker probing the endpoint".into()),
            (_, BreakerState::Closed) => None,
        }
    }
}
