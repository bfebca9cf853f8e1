//! PostgreSQL's reads. Deliveries all have rows here (a node leases them), so an event's are read
//! from `deliveries`, for a whole page of events in one query.

use crate::domain::error::Result;
use crate::domain::ids::EventId;
use crate::domain::model::{
    Alert, Attempt, AuditEntry, DeliveryDetail, DeliverySummary, EventDetail, EventSummary, Millis, Replay,
    Subscription,
};
use crate::domain::page::Window;
use crate::domain::query::EventQuery;
use crate::store::query;
use crate::store::rows::{self, ATTEMPT_COLUMNS, DELIVERY_COLUMNS, EVENT_TO_SEND_COLUMNS};
use crate::store::{
    Activity, ActivityCursor, AttemptCount, EventToSend, LONGEST_ATTEMPT_MS, PendingDelivery, first_event_id_at,
};
use deadpool_postgres::{Client, Pool};
use tokio_postgres::types::ToSql;

/// PostgreSQL's parts of an events query: a scan of the bodies (narrowed by the query's other
/// conditions), words as substrings and fields through `jsonb`, case-insensitively; every delivery
/// has a row. A body with a `\u0000` escape (stored before ingest refused them) cannot become
/// `jsonb`: it is left out of field matches rather than failing the whole search (CASE keeps the
/// cast from running on it).
struct PostgresEvents;

impl query::EventListSql for PostgresEvents {
    fn unrowed_pending(&self, _: Option<&str>) -> Option<String> {
        None
    }

    fn word(&self, indexed: &str, raw: &str) -> String {
        format!(
            "(strpos(lower(convert_from(e.body, 'UTF8')), lower({indexed})) > 0 OR strpos(lower(e.id), lower({raw})) > 0)"
        )
    }

    fn word_arg(&self, word: &str) -> String {
        word.to_string()
    }

    fn field(&self, path: &str, value: &str) -> String {
        format!(
            "CASE WHEN strpos(convert_from(e.body, 'UTF8'), '\\u0000') > 0 THEN false \
             ELSE strpos(lower(convert_from(e.body, 'UTF8')::jsonb #>> CAST(CAST({path} AS TEXT) AS TEXT[])), lower({value})) > 0 END"
        )
    }

    fn path_arg(&self, segments: &[String]) -> String {
        format!("{{{}}}", segments.join(","))
    }
}

/// Every row's mapping by `map`.
pub(super) fn mapped<T>(rows: &[tokio_postgres::Row], map: fn(&tokio_postgres::Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(map).collect()
}

async fn deliveries_of(client: &Client, event_ids: &[EventId]) -> Result<Vec<(EventId, DeliverySummary)>> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS}, event_id FROM deliveries WHERE event_id = ANY($1) ORDER BY subscription_id"
        ))
        .await?;
    let found = client.query(&stmt, &[&event_ids]).await?;
    found.iter().map(|r| Ok((r.try_get(7)?, rows::delivery_summary(r)?))).collect()
}

/// Attaches each event's deliveries (one query for the whole page).
pub(super) async fn with_deliveries(client: &Client, mut events: Vec<EventSummary>) -> Result<Vec<EventSummary>> {
    let ids: Vec<EventId> = events.iter().map(|e| e.id.clone()).collect();
    let mut by_event: std::collections::HashMap<EventId, Vec<DeliverySummary>> = Default::default();
    for (event_id, d) in deliveries_of(client, &ids).await? {
        by_event.entry(event_id).or_default().push(d);
    }
    for e in &mut events {
        e.deliveries = by_event.remove(&e.id).unwrap_or_default();
    }
    Ok(events)
}

pub(super) async fn subscriptions_version(pool: &Pool) -> Result<i64> {
    let client = pool.get().await?;
    Ok(client.query_one(query::SUBSCRIPTIONS_VERSION, &[]).await?.try_get(0)?)
}

pub(super) async fn subscriptions(pool: &Pool) -> Result<Vec<Subscription>> {
    let client = pool.get().await?;
    let found = client.query(query::SUBSCRIPTIONS, &[]).await?;
    found.iter().map(|r| rows::stored(r.try_get(0)?, "subscription")).collect()
}

pub(super) async fn pending_deliveries(pool: &Pool) -> Result<Vec<PendingDelivery>> {
    let client = pool.get().await?;
    mapped(&client.query(&query::pending("deliveries"), &[]).await?, rows::pending_delivery)
}

pub(super) async fn event_bodies(pool: &Pool, event_ids: Vec<EventId>) -> Result<Vec<EventToSend>> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(&format!("SELECT {EVENT_TO_SEND_COLUMNS} FROM events WHERE id = ANY($1)")).await?;
    mapped(&client.query(&stmt, &[&event_ids]).await?, rows::event_to_send)
}

pub(super) async fn list_events(pool: &Pool, q: EventQuery) -> Result<Vec<EventSummary>> {
    let list = query::event_list(&q, &PostgresEvents);
    let client = pool.get().await?;
    let stmt = client.prepare_cached(&list.sql).await?;
    let params: Vec<&(dyn ToSql + Sync)> = list.args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
    let events = mapped(&client.query(&stmt, &params).await?, rows::event_summary)?;
    with_deliveries(&client, events).await
}

pub(super) async fn event_detail(pool: &Pool, event_id: &EventId) -> Result<Option<EventDetail>> {
    let client = pool.get().await?;
    let Some(row) = client.query_opt(&query::event_detail(), &[&event_id]).await? else { return Ok(None) };
    let mut detail = rows::event_detail(&row)?;
    let attempts = client
        .query(
            &format!(
                "SELECT {ATTEMPT_COLUMNS} FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
                 WHERE d.event_id = $1 ORDER BY a.id"
            ),
            &[&event_id],
        )
        .await?;
    let mut attempts = mapped(&attempts, rows::attempt)?;
    for (_, summary) in deliveries_of(&client, std::slice::from_ref(event_id)).await? {
        let (mine, rest): (Vec<Attempt>, Vec<Attempt>) =
            attempts.into_iter().partition(|a| a.delivery_id == summary.id);
        attempts = rest;
        detail.deliveries.push(DeliveryDetail { summary, attempts: mine });
    }
    Ok(Some(detail))
}

pub(super) async fn count_events(pool: &Pool) -> Result<u64> {
    let client = pool.get().await?;
    Ok(u64::try_from(client.query_one(query::COUNT_EVENTS, &[]).await?.try_get::<_, i64>(0)?).unwrap_or(0))
}

pub(super) async fn activity_since(pool: &Pool, since: Millis, limit: u32) -> Result<Activity> {
    let client = pool.get().await?;
    let fetch = limit as i64 + 1;
    let events = client.query(&query::events_since(), &[&first_event_id_at(since - 1), &since, &fetch]).await?;
    let mut more = events.len() > limit as usize;
    let events = events.iter().take(limit as usize).map(rows::event_summary).collect::<Result<Vec<_>>>()?;
    let events = with_deliveries(&client, events).await?;
    let attempts = client.query(&query::attempts_since(), &[&(since - LONGEST_ATTEMPT_MS), &since, &fetch]).await?;
    more |= attempts.len() > limit as usize;
    let attempts = attempts.iter().take(limit as usize).map(rows::attempt_notice).collect::<Result<_>>()?;
    let alerts = client.query(query::ALERTS_SINCE, &[&since, &fetch]).await?;
    more |= alerts.len() > limit as usize;
    let alerts =
        alerts.iter().take(limit as usize).filter_map(|r| serde_json::from_str(r.try_get(0).ok()?).ok()).collect();
    Ok(Activity { events, attempts, alerts, cursor: ActivityCursor::default(), more })
}

pub(super) async fn recent_alerts(pool: &Pool, limit: u32) -> Result<Vec<Alert>> {
    let client = pool.get().await?;
    let found = client.query(query::RECENT_ALERTS, &[&i64::from(limit)]).await?;
    Ok(found.iter().rev().filter_map(|r| serde_json::from_str(r.try_get(0).ok()?).ok()).collect())
}

pub(super) async fn replays(pool: &Pool) -> Result<Vec<Replay>> {
    let client = pool.get().await?;
    let found = client.query(query::REPLAYS, &[]).await?;
    found.iter().map(|r| rows::stored(r.try_get(0)?, "replay")).collect()
}

pub(super) async fn replays_window(pool: &Pool, window: &Window<String>) -> Result<Vec<Replay>> {
    let client = pool.get().await?;
    let sql = query::newest_first_window("body", "replays", "TEXT", window.backward);
    let found = client.query(&sql, &[&window.from, &i64::from(window.take)]).await?;
    found.iter().map(|r| rows::stored(r.try_get(0)?, "replay")).collect()
}

pub(super) async fn audit_window(pool: &Pool, window: &Window<i64>) -> Result<Vec<(i64, AuditEntry)>> {
    let client = pool.get().await?;
    let sql = query::newest_first_window("id, body", "audit", "BIGINT", window.backward);
    let found = client.query(&sql, &[&window.from, &i64::from(window.take)]).await?;
    Ok(found
        .iter()
        .filter_map(|r| Some((r.try_get(0).ok()?, serde_json::from_str(r.try_get(1).ok()?).ok()?)))
        .collect())
}

pub(super) async fn attempt_counts(pool: &Pool, since: Millis, by_second_from: Millis) -> Result<Vec<AttemptCount>> {
    let client = pool.get().await?;
    mapped(&client.query(rows::ATTEMPT_COUNTS, &[&since, &by_second_from]).await?, rows::attempt_count)
}
