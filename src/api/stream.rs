//! `GET /v1/stream`: Server-Sent Events of every feed update plus periodic `stats`, and a
//! `heartbeat` every 2 s that says the server is alive even when nothing happens.
//!
//! Every update carries an `id:`, the time of the newest update sent so far (milliseconds). A
//! client that reconnects with `Last-Event-ID` (or `?since=`) first gets what it missed, replayed
//! from the store — so a resume works across restarts and cluster nodes — then `resumed`, then
//! the live updates. When the store cannot give everything that was missed, a `gap` event says so.

use super::{ApiError, AppState};
use crate::feed::FeedEvent;
use crate::model::{Millis, now_ms};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::time::MissedTickBehavior;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, IntervalStream};

const STATS_EVERY: Duration = Duration::from_secs(2);
/// How often the stream proves the server alive: a client that hears nothing for a few of these
/// (`attach` waits 6 s) knows its figures are stale even while the socket stays open.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// How far before the resume point the replay starts: an update is stored and sent shortly after
/// the time it carries (a commit, an attempt record, another node's settle time), so one that
/// happened just before the client's last id may have been sent after it left. Updates the client
/// already had come again; it tells them apart by id (events) or applies them again (attempts).
const RESUME_SLACK_MS: Millis = 10_000;
/// Most updates of each kind one resume replays; beyond it the client is told to reload.
const REPLAY_LIMIT: u32 = 5_000;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Resume after this stream id (what `Last-Event-ID` says, for clients that cannot set it).
    since: Option<String>,
}

/// Where the client asks to resume: `Last-Event-ID`, else `?since=`.
fn resume_point(headers: &HeaderMap, params: &StreamParams) -> Result<Option<Millis>, ApiError> {
    let given = headers.get("last-event-id").and_then(|v| v.to_str().ok()).or(params.since.as_deref());
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    text.parse::<Millis>().ok().filter(|t| *t >= 0).map(Some).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_since",
            format!("Last-Event-ID / since must be a stream id as sent in `id:` (milliseconds), not {text:?}"),
        )
    })
}

fn update_event(update: &FeedEvent, id: Millis) -> Event {
    Event::default()
        .id(id.to_string())
        .event(update.name())
        .json_data(&*update.for_watchers())
        .unwrap_or_else(|_| Event::default().comment("unserialisable update"))
}

/// The updates after `since`, oldest first, and the gaps the store could not fill.
async fn replay(app: &AppState, since: Millis) -> Result<(Vec<FeedEvent>, Vec<String>), ApiError> {
    let mut gaps = Vec::new();
    let retention = app.engine.config().retention;
    let horizon = now_ms() - retention.as_millis() as Millis;
    if since < horizon {
        gaps.push(format!(
            "updates before {} may have been pruned (retention {}); reload to see the current state",
            crate::model::rfc3339(horizon),
            humantime::format_duration(retention)
        ));
    }
    let activity = app.engine.activity_since(since - RESUME_SLACK_MS, REPLAY_LIMIT).await?;
    if activity.more {
        gaps.push(format!("more than {REPLAY_LIMIT} updates of a kind were missed; reload to see the rest"));
    }
    let mut updates: Vec<FeedEvent> = activity
        .events
        .into_iter()
        .map(|event| FeedEvent::EventReceived { event })
        .chain(activity.attempts.into_iter().map(FeedEvent::DeliveryAttempted))
        .chain(activity.alerts.into_iter().map(FeedEvent::Alert))
        .collect();
    updates.sort_by_key(FeedEvent::time);
    Ok((updates, gaps))
}

/// Server-Sent Events: every update (events, attempts, subscription changes, alerts), `stats` and
/// `heartbeat` every 2 s; resumes from `Last-Event-ID`. Browsers may pass the token as `?access_token=`.
#[utoipa::path(get, path = "/v1/stream", operation_id = "stream", tag = "observe",
    params(StreamParams, ("Last-Event-ID" = Option<String>, Header, description = "the last `id:` received")),
    responses((status = 200, description = "an event stream: `event:` names the update, `data:` is its JSON", content_type = "text/event-stream", body = String),
        (status = 400, body = super::ErrorBody)))]
pub async fn stream(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = resume_point(&headers, &params)?;
    // Listen before reading the store: an update is then either replayed, or live, or both.
    let live = BroadcastStream::new(app.engine.feed().subscribe());
    let mut newest = resume.unwrap_or_else(now_ms);
    let mut opening = vec![Event::default().id(newest.to_string()).event("hello").data(env!("CARGO_PKG_VERSION"))];
    let mut replayed = HashSet::new();
    if let Some(since) = resume {
        let (updates, gaps) = replay(&app, since).await?;
        for reason in gaps {
            let gap = json!({"since": since, "reason": reason}).to_string();
            opening.push(Event::default().id(newest.to_string()).event("gap").data(gap));
        }
        for update in &updates {
            replayed.extend(update.identity());
            newest = newest.max(update.time());
            opening.push(update_event(update, newest));
        }
        let summary = json!({"since": since, "replayed": updates.len()});
        opening.push(Event::default().id(newest.to_string()).event("resumed").data(summary.to_string()));
    }
    // Every frame carries the resume point as of that frame.
    let newest = Arc::new(AtomicI64::new(newest));
    let cursor = newest.clone();
    let updates = live.filter_map(move |update| {
        let event = match update {
            // Already sent from the store.
            Ok(ev) if ev.identity().is_some_and(|id| replayed.remove(&id)) => None,
            Ok(ev) => {
                let at = cursor.fetch_max(ev.time(), Ordering::Relaxed).max(ev.time());
                Some(update_event(&ev, at))
            }
            // A slow client missed updates: say so, so it can refetch instead of showing stale data.
            Err(BroadcastStreamRecvError::Lagged(n)) => Some(
                Event::default().id(cursor.load(Ordering::Relaxed).to_string()).event("lagged").data(n.to_string()),
            ),
        };
        std::future::ready(event.map(Ok))
    });
    let engine = app.engine.clone();
    let stats_cursor = newest.clone();
    let stats = every(STATS_EVERY).map(move |_| {
        Ok(Event::default()
            .id(stats_cursor.load(Ordering::Relaxed).to_string())
            .event("stats")
            .json_data(engine.stats())
            .unwrap_or_else(|_| Event::default().comment("stats unavailable")))
    });
    // A named event, not a comment: a client's SSE parser hands it over, so it can count it as
    // proof of life; a standard client without a listener for it ignores it.
    let heartbeats = every(HEARTBEAT_EVERY).map(move |_| {
        let beat = json!({"at": now_ms()}).to_string();
        Ok(Event::default().id(newest.load(Ordering::Relaxed).to_string()).event("heartbeat").data(beat))
    });
    let mut stopping = app.stopping.clone();
    let stop = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let periodic = stream::select(stats, heartbeats);
    let events = stream::iter(opening.into_iter().map(Ok)).chain(stream::select(updates, periodic)).take_until(stop);
    Ok(Sse::new(events))
}

/// Ticks every `period`, the first at once. After the process was stopped (SIGSTOP) or starved,
/// one tick comes, not a burst of the ones missed: a client needs the present, once.
fn every(period: Duration) -> IntervalStream {
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    IntervalStream::new(interval)
}
