//! What the app shares with its components: the data as prepared once per update, read-only.
//! Components see this, never the `App`, so they import nothing of it.

use crate::domain::catalog::Catalog;
use crate::domain::model::{Alert, AuditEntry, Millis, Subscription};
use crate::engine::report::{EndpointReport, StatsReport};
use ratatui::layout::Rect;
use std::collections::VecDeque;

pub struct Data<'a> {
    pub now: Millis,
    /// Nothing can be changed from here: only reading is offered.
    pub read_only: bool,
    /// The terminal: how far a popup scrolls depends on its size.
    pub screen: Rect,
    pub stats: Option<&'a StatsReport>,
    /// The endpoints in the table's order.
    pub endpoints: &'a [EndpointReport],
    /// The subscriptions by name.
    pub subscriptions: &'a [Subscription],
    /// Every accepted action name.
    pub catalog: &'a Catalog,
    pub alerts: &'a VecDeque<Alert>,
    /// The audit log as last read (newest first) and when; why the latest read failed.
    pub audit: Option<&'a (Vec<AuditEntry>, Millis)>,
    pub audit_unread: Option<&'a str>,
}
