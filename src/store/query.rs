//! SQL both stores run, written once with numbered placeholders (`$1`, `$2`…): PostgreSQL numbers
//! them so, and SQLite takes `$1` as a parameter's name, which its `reads::bind` binds to the value
//! of that number. Where the stores differ (SQLite's fan-out lists and JSON functions,
//! PostgreSQL's leases, arrays and node ids), the SQL is each store's own.

use super::rows::{ATTEMPT_NOTICE_COLUMNS, EVENT_COLUMNS, EVENT_DETAIL_COLUMNS, PENDING_COLUMNS};
use crate::domain::ids::{DeliveryId, EventId, SubscriptionId};
use crate::domain::model::DeliveryStatus;
use crate::domain::query::{EventQuery, StatusFilter, field_path};

/// An events query as SQL text and the text values its placeholders stand for, in order.
pub(super) struct EventList {
    pub sql: String,
    pub args: Vec<String>,
}

/// What an events query needs each store to write its own way: its payload search, and where it
/// keeps pending deliveries that have no row yet.
pub(super) trait EventListSql {
    /// The condition that event `e` has a pending delivery without a row (for the subscription
    /// placeholder `sub`, if any); `None` for a store whose every delivery has a row.
    fn unrowed_pending(&self, sub: Option<&str>) -> Option<String>;
    /// A word in the payload or the event id: `indexed` is the placeholder of the word as
    /// `word_arg` writes it, `raw` of the word as typed.
    fn word(&self, indexed: &str, raw: &str) -> String;
    fn word_arg(&self, word: &str) -> String;
    /// A payload field (its path's placeholder, as `path_arg` writes it) whose text holds `value`.
    fn field(&self, path: &str, value: &str) -> String;
    fn path_arg(&self, segments: &[String]) -> String;
}

/// The SQL that answers `q`, newest first, with `store`'s own parts.
pub(super) fn event_list(q: &EventQuery, store: &impl EventListSql) -> EventList {
    let mut args = Vec::new();
    let mut arg = |v: &str| {
        args.push(v.to_string());
        format!("${}", args.len())
    };
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events e WHERE true");
    if let Some(action) = &q.action {
        sql += &format!(" AND e.action = {}", arg(action));
    }
    if let Some(card) = &q.card_id {
        sql += &format!(" AND e.card_id = {}", arg(card));
    }
    if let Some(before) = &q.before {
        sql += &format!(" AND e.id < {}", arg(before));
    }
    if let Some(after) = &q.after {
        sql += &format!(" AND e.id > {}", arg(after));
    }
    for word in &q.words {
        let (indexed, raw) = (arg(&store.word_arg(word)), arg(word));
        sql += &format!(" AND {}", store.word(&indexed, &raw));
    }
    for (path, value) in &q.fields {
        // Paths are checked where they come in; one that is not is matched by nothing.
        let Ok(segments) = field_path(path) else {
            sql += " AND false";
            continue;
        };
        let (path, value) = (arg(&store.path_arg(&segments)), arg(value));
        sql += &format!(" AND {}", store.field(&path, &value));
    }
    if q.subscription.is_some() || q.status.is_some() {
        let statuses = q.status.map(StatusFilter::statuses);
        let sub = q.subscription.as_deref().map(&mut arg);
        sql += " AND (EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id";
        if let Some(sub) = &sub {
            sql += &format!(" AND d.subscription_id = {sub}");
        }
        if let Some(statuses) = &statuses {
            let list: Vec<String> = statuses.iter().map(|s| arg(s.as_str())).collect();
            sql += &format!(" AND d.status IN ({})", list.join(", "));
        }
        sql += ")";
        if let Some(unrowed) = store.unrowed_pending(sub.as_deref())
            && statuses.is_none_or(|s| s.contains(&DeliveryStatus::Pending))
        {
            sql += &format!(" OR {unrowed}");
        }
        sql += ")";
    }
    let order = if q.oldest_first { "ASC" } else { "DESC" };
    sql += &format!(" ORDER BY e.id {order} LIMIT {}", q.limit.max(1));
    EventList { sql, args }
}

/// The deliveries of event `$1` a redelivery starts again: every one that is not cancelled, or
/// only subscription `$2`'s (when `$2` is not NULL), or only the failed ones (when `$3`).
pub(super) fn redeliverable(deliveries: &str) -> String {
    format!(
        "SELECT id, event_id, subscription_id FROM {deliveries}
         WHERE event_id = $1 AND (CAST($2 AS TEXT) IS NULL OR subscription_id = $2) AND status != 'cancelled'
           AND (NOT $3 OR status IN ('retrying', 'dead'))"
    )
}

/// A subscription's failed deliveries (`$1`) of events received since `$2`, oldest event first:
/// what `recover` starts again.
pub(super) const RECOVERABLE: &str = "SELECT d.id, d.event_id, d.subscription_id
     FROM deliveries d JOIN events e ON e.id = d.event_id
     WHERE d.subscription_id = $1 AND d.status IN ('dead', 'retrying') AND e.received_at >= $2
     ORDER BY d.event_id";

/// The subscriptions version: a count of subscription changes.
pub(super) const SUBSCRIPTIONS_VERSION: &str = "SELECT version FROM subscription_version";
/// A subscription change's last step, in its transaction: the version it creates.
pub(super) const BUMP_SUBSCRIPTIONS_VERSION: &str =
    "UPDATE subscription_version SET version = version + 1 RETURNING version";
pub(super) const SUBSCRIPTIONS: &str = "SELECT body FROM subscriptions ORDER BY id";
/// Subscription `$1` saved as the JSON `$2`.
pub(super) const SAVE_SUBSCRIPTION: &str =
    "INSERT INTO subscriptions (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body";
pub(super) const DELETE_SUBSCRIPTION: &str = "DELETE FROM subscriptions WHERE id = $1";
/// Subscription `$1`'s unfinished delivery rows become `cancelled`.
pub(super) const CANCEL_DELIVERIES: &str = "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL
     WHERE subscription_id = $1 AND status IN ('pending', 'retrying')";
/// Replay `$1` saved as the JSON `$2`.
pub(super) const SAVE_REPLAY: &str =
    "INSERT INTO replays (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body";
pub(super) const REPLAYS: &str = "SELECT body FROM replays ORDER BY id DESC";
/// A window of `table`, a list newest first by its `id` (of SQL type `id_type`): the rows next to
/// `$1` (NULL: from the newest, or going back, from the oldest), nearest first, at most `$2`.
pub(super) fn newest_first_window(columns: &str, table: &str, id_type: &str, backward: bool) -> String {
    let (beyond, order) = if backward { (">", "ASC") } else { ("<", "DESC") };
    format!(
        "SELECT {columns} FROM {table} WHERE (CAST($1 AS {id_type}) IS NULL OR id {beyond} $1) ORDER BY id {order} LIMIT $2"
    )
}
/// The newest `$1` alerts, newest first.
pub(super) const RECENT_ALERTS: &str = "SELECT body FROM alerts ORDER BY id DESC LIMIT $1";
pub(super) const COUNT_EVENTS: &str = "SELECT COUNT(*) FROM events";
/// Whether event `$1` is stored.
pub(super) const EVENT_EXISTS: &str = "SELECT EXISTS(SELECT 1 FROM events WHERE id = $1)";
/// Retention of the logs: alerts and audit entries from before `$1`.
pub(super) const PRUNE_ALERTS: &str = "DELETE FROM alerts WHERE at < $1";
pub(super) const PRUNE_AUDIT: &str = "DELETE FROM audit WHERE at < $1";

/// Claims key `$2` of scope `$1` for a request (fingerprint `$3`, at `$4`, held until `$5`), unless
/// it is held: answered since `$6`, or claimed by a request whose claim has not lapsed. Returns a
/// row when it claimed the key.
pub(super) const CLAIM_KEY: &str =
    "INSERT INTO idempotency_keys (scope, client_key, fingerprint, created_at, claimed_until)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (scope, client_key) DO UPDATE SET fingerprint = excluded.fingerprint,
         created_at = excluded.created_at, claimed_until = excluded.claimed_until,
         status = NULL, headers = NULL, body = NULL
     WHERE idempotency_keys.created_at < $6
         OR (idempotency_keys.status IS NULL AND idempotency_keys.claimed_until < $4)
     RETURNING created_at";
/// Who holds key `$2` of scope `$1`: its fingerprint, and its answer (status, headers, body) once kept.
pub(super) const KEY_HOLDER: &str =
    "SELECT fingerprint, status, headers, body FROM idempotency_keys WHERE scope = $1 AND client_key = $2";
/// The answer (status `$4`, headers `$5` as JSON, body `$6`) of the request that claimed key `$2` of
/// scope `$1` with fingerprint `$3`.
pub(super) const KEEP_ANSWER: &str =
    "UPDATE idempotency_keys SET status = $4, headers = $5, body = $6, claimed_until = NULL
     WHERE scope = $1 AND client_key = $2 AND fingerprint = $3 AND status IS NULL";
/// Key `$2` of scope `$1`, claimed with fingerprint `$3` and not answered, let go.
pub(super) const RELEASE_KEY: &str =
    "DELETE FROM idempotency_keys WHERE scope = $1 AND client_key = $2 AND fingerprint = $3 AND status IS NULL";
/// Keys claimed before `$1`.
pub(super) const PRUNE_KEYS: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";

/// Event `$1`'s row as `rows::event_detail` reads it.
pub(super) fn event_detail() -> String {
    format!("SELECT {EVENT_DETAIL_COLUMNS} FROM events e WHERE e.id = $1")
}

/// Every unfinished delivery in `deliveries` (a table or view), oldest event first.
pub(super) fn pending(deliveries: &str) -> String {
    format!("SELECT {PENDING_COLUMNS} FROM {deliveries} WHERE status IN ('pending', 'retrying') ORDER BY event_id, id")
}

/// What a resuming stream client missed: events received after `$2` (by the id index from `$1`,
/// the first id of `$2`'s millisecond before: ids begin with their time), at most `$3`.
pub(super) fn events_since() -> String {
    format!("SELECT {EVENT_COLUMNS} FROM events e WHERE e.id >= $1 AND e.received_at > $2 ORDER BY e.id LIMIT $3")
}

/// Attempts finished after `$2` (started after `$1`, the longest an attempt takes before it), with
/// their delivery's current state, at most `$3`.
pub(super) fn attempts_since() -> String {
    format!(
        "SELECT {ATTEMPT_NOTICE_COLUMNS} FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE a.started_at > $1 AND a.started_at + a.duration_ms > $2
         ORDER BY a.started_at + a.duration_ms, a.id LIMIT $3"
    )
}

/// Alerts raised after `$1`, at most `$2`.
pub(super) const ALERTS_SINCE: &str = "SELECT body FROM alerts WHERE at > $1 ORDER BY at, id LIMIT $2";

/// A delivery a redelivery starts again: (delivery id, event id, subscription id).
pub(super) type Target = (DeliveryId, EventId, SubscriptionId);

/// A redelivery to one subscription of an event it never had (it was created later, or its
/// filters left the event out) creates that delivery: it is delivered now.
pub(super) fn with_missing_delivery(
    mut found: Vec<Target>,
    event_id: &EventId,
    subscription_id: Option<&SubscriptionId>,
    failed_only: bool,
) -> Vec<Target> {
    if let (Some(sub), true, false) = (subscription_id, found.is_empty(), failed_only) {
        found.push((DeliveryId::generate(), event_id.clone(), sub.clone()));
    }
    found
}

/// Most events one retention statement deletes: no store holds one long transaction that
/// stalls ingest.
pub(super) const PRUNE_SLICE: u32 = 2000;

/// Runs `slice` (one bounded delete) until it removes nothing; returns how many it removed.
pub(super) async fn in_slices<F, Fut>(mut slice: F) -> crate::domain::error::Result<u64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = crate::domain::error::Result<u64>>,
{
    let mut total = 0;
    loop {
        match slice().await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}
