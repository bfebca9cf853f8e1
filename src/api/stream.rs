//! `GET /v1/stream`: Server-Sent Events of every feed update plus periodic `stats`, and a
//! `heartbeat` every 2 s that says the server is alive even when nothing happens.
//!
//! Every update carries its own `id:` (`FeedEvent::stream_id`: its time, then what it is), the
//! same from every node. A client that reconnects with `Last-Event-ID` (or `?since=`) first gets
//! what it missed, replayed from the store — so a resume works across restarts and cluster nodes —
//! then `resumed`, then the live updates. On the node that sent the client's last update, nothing
//! it was sent comes again (the feed remembers what it sent, in order, across a graceful restart on
//! SQLite too); elsewhere (another node, after a crash) the replay looks back a little and may
//! repeat updates, each with its id. When the store cannot give everything that was missed, a `gap`
//! event says so.

use super::extract::Query;
use super::{ApiError, AppState};
use crate::domain::model::{Actor, Millis, now_ms};
use crate::observe::feed::Sent;
use crate::wire::{FeedEvent, Heartbeat, StreamGap, StreamResumed};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use std::collections::HashSet;
use std::convert::Infallible;
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
/// happened just before the client's last update may have been sent after it left. Of those, the
/// ones this process sent the client are left out; the others come again with their ids.
const RESUME_SLACK_MS: Millis = 10_000;
/// Most updates of each kind one resume replays; beyond it the client is told to reload.
const REPLAY_LIMIT: u32 = 5_000;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Resume after this stream id (what `Last-Event-ID` says, for clients that cannot set it).
    #[param(pattern = r"^\s*([0-9]{1,18}(-.*)?)?\s*$")]
    since: Option<String>,
}

impl super::extract::Usage for StreamParams {
    const USAGE: &'static str = "?since=<a stream id>";
}

/// Where a client resumes: the time of the last update it received and, when its id names it
/// (`<ms>-<identity>`; a bare `<ms>` does not), which update that was.
struct Resume {
    at: Millis,
    last: Option<String>,
}

/// Where the client asks to resume: `Last-Event-ID`, else `?since=`.
fn resume_point(headers: &HeaderMap, params: &StreamParams) -> Result<Option<Resume>, ApiError> {
    let header = match headers.get("last-event-id").map(|v| v.to_str()) {
        Some(Err(_)) => return Err(invalid_since("a Last-Event-ID that is not ASCII text")),
        Some(Ok(text)) => Some(text),
        None => None,
    };
    // An empty header says nothing: `since` is read then, as when there is no header.
    let given = header.filter(|t| !t.trim().is_empty()).or(params.since.as_deref());
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    let (at, last) = match text.split_once('-') {
        Some((at, identity)) => (at, Some(identity.to_string()).filter(|i| !i.is_empty())),
        None => (text, None),
    };
    let at = at.parse::<Millis>().ok().filter(|t| *t >= 0).ok_or_else(|| invalid_since(&format!("{text:?}")))?;
    Ok(Some(Resume { at, last }))
}

fn invalid_since(given: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_since",
        format!(
            "Last-Event-ID / since must be a stream id as sent in `id:` (milliseconds, then `-` and the update), not {given}"
        ),
    )
}

/// What an update's `id:` says: the update (`<ms>-<identity>`), or only its time (`<ms>`).
#[derive(Clone, Copy)]
enum IdKind {
    Identity,
    Time,
}

/// An update as it leaves for a client: secrets masked, and for the viewer token every
/// credential a subscription change could show.
fn update_event(update: &FeedEvent, viewer: bool, ids: IdKind) -> Event {
    let sent = if viewer { update.for_viewers() } else { update.for_watchers() };
    let id = match ids {
        IdKind::Identity => update.stream_id(),
        IdKind::Time => update.time().to_string(),
    };
    Event::default()
        .id(id)
        .event(update.name())
        .json_data(&*sent)
        .unwrap_or_else(|_| Event::default().comment("unserialisable update"))
}

/// One of the stream's own frames (`gap`, `resumed`, `heartbeat`): a name and its JSON, no id.
fn frame(name: &'static str, data: &impl serde::Serialize) -> Event {
    Event::default().event(name).json_data(data).unwrap_or_else(|_| Event::default().comment("unserialisable frame"))
}

/// The updates after `since` that the client was not sent, in the order this process sent them
/// (those it did not send first, by time), and the gaps the store could not fill. Sent in that
/// order, whatever prefix of them a client receives is again "everything up to its last". Those
/// sent from place `live_from` on are left out: the live receiver brings them, in their order,
/// after the opening (sent early, one could reach the client ahead of an update it comes after).
async fn replay(
    app: &AppState,
    since: Millis,
    sent: &Sent,
    live_from: u64,
) -> Result<(Vec<FeedEvent>, Vec<String>), ApiError> {
    let mut gaps = Vec::new();
    let retention = *app.engine.config().retention;
    let horizon = now_ms() - crate::domain::model::millis(retention);
    if since < horizon {
        gaps.push(format!(
            "updates before {} may have been pruned (retention {}); reload to see the current state",
            crate::domain::model::rfc3339(horizon),
            humantime::format_duration(retention)
        ));
    }
    let activity = app.engine.activity_since(since - RESUME_SLACK_MS, REPLAY_LIMIT).await?;
    if activity.more {
        gaps.push(format!("more than {REPLAY_LIMIT} updates of a kind were missed; reload to see the rest"));
    }
    let mut updates: Vec<(Option<u64>, FeedEvent)> = activity
        .events
        .into_iter()
        .map(|event| FeedEvent::EventReceived { event })
        .chain(activity.attempts.into_iter().map(FeedEvent::DeliveryAttempted))
        .chain(activity.alerts.into_iter().map(FeedEvent::Alert))
        .filter(|update| !sent.had(update) && sent.place(update).is_none_or(|place| place < live_from))
        .map(|update| (sent.place(&update), update))
        .collect();
    updates.sort_by_key(|(place, update)| (*place, update.time()));
    Ok((updates.into_iter().map(|(_, update)| update).collect(), gaps))
}

/// Server-Sent Events: every update (events, attempts, subscription changes, alerts), `stats` and
/// `heartbeat` every 2 s; resumes from `Last-Event-ID`. Browsers may pass the token as `?access_token=`.
/// One event of the stream, as an SSE client reads it: its name, its data (JSON, but for the
/// opening `hello`, the server's version) and its id, where to resume.
pub struct StreamEvent;

impl utoipa::PartialSchema for StreamEvent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ObjectBuilder, Type};
        let text = || ObjectBuilder::new().schema_type(Type::String);
        let event = ObjectBuilder::new()
            .property("event", text().description(Some("`hello`, `stats`, `event`, `attempt`, `alert`…")))
            .property("data", text())
            .property("id", text())
            .required("data");
        utoipa::openapi::RefOr::T(event.into())
    }
}

impl utoipa::ToSchema for StreamEvent {}

#[utoipa::path(get, path = "/v1/stream", operation_id = "stream", tag = "observe",
    params(StreamParams, ("Last-Event-ID" = Option<String>, Header, pattern = r"^[ \t]*([0-9]{1,18}(-[\x20-\x7e]*)?)?[ \t]*$",
        description = "the last `id:` received: milliseconds, then `-` and the update")),
    responses((status = 200, description = "an event stream: `event:` names the update, `data:` is its JSON", content_type = "text/event-stream", body = StreamEvent),
        (status = 400, body = super::ErrorBody)))]
pub async fn stream(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    Query(params): Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = resume_point(&headers, &params)?;
    let viewer = actor != Actor::Admin;
    // Listen before reading the store: an update is then either replayed, or live, or both.
    let (live, live_from) = app.engine.feed().subscribe_from();
    let live = BroadcastStream::new(live);
    let hello = Event::default().event("hello").data(env!("CARGO_PKG_VERSION"));
    // Only updates carry ids (a client keeps the last one it saw), but a new client that has
    // received none yet can still resume from when it connected.
    let mut opening = vec![if resume.is_some() { hello } else { hello.id(now_ms().to_string()) }];
    let mut replayed = HashSet::new();
    if let Some(Resume { at, last }) = resume {
        let sent = app.engine.feed().sent_since(at - RESUME_SLACK_MS, last.as_deref());
        let (updates, gaps) = replay(&app, at, &sent, live_from).await?;
        for reason in gaps {
            opening.push(frame("gap", &StreamGap { since: at, reason }));
        }
        for update in &updates {
            replayed.insert(update.identity());
            opening.push(update_event(update, viewer, IdKind::Identity));
        }
        opening.push(frame("resumed", &StreamResumed { since: at, replayed: updates.len() }));
    }
    // After a lag the client lacks updates sent before the ones it gets next: from then on its
    // ids carry only their time, so a resume replays by time rather than taking it to have them.
    let mut ids = IdKind::Identity;
    let updates = live.filter_map(move |update| {
        let event = match update {
            // Already sent from the store.
            Ok(ev) if !replayed.is_empty() && replayed.remove(&ev.identity()) => None,
            Ok(ev) => Some(update_event(&ev, viewer, ids)),
            // A slow client missed updates: say so, so it can refetch instead of showing stale data.
            Err(BroadcastStreamRecvError::Lagged(n)) => {
                ids = IdKind::Time;
                Some(Event::default().event("lagged").data(n.to_string()))
            }
        };
        std::future::ready(event.map(Ok))
    });
    let engine = app.engine.clone();
    let stats = every(STATS_EVERY).map(move |_| {
        let report = engine.stats();
        let report = if viewer { report.for_viewer() } else { report };
        Ok(Event::default()
            .event("stats")
            .json_data(report)
            .unwrap_or_else(|_| Event::default().comment("stats unavailable")))
    });
    // A named event, not a comment: a client's SSE parser hands it over, so it can count it as
    // proof of life; a standard client without a listener for it ignores it. No id: only updates
    // move a client's resume point.
    let heartbeats = every(HEARTBEAT_EVERY).map(move |_| Ok(frame("heartbeat", &Heartbeat { at: now_ms() })));
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
