//! `GET /v1/stream`: Server-Sent Events of every feed update plus periodic `stats`.

use super::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, IntervalStream};

const STATS_EVERY: Duration = Duration::from_secs(2);

pub async fn stream(State(app): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let updates = BroadcastStream::new(app.engine.feed().subscribe()).map(|update| {
        Ok(match update {
            Ok(ev) => Event::default()
                .event(ev.name())
                .json_data(&*ev.for_watchers())
                .unwrap_or_else(|_| Event::default().comment("unserialisable update")),
            // A slow client missed updates: say so, so it can refetch instead of showing stale data.
            Err(BroadcastStreamRecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
        })
    });
    let engine = app.engine.clone();
    let stats = IntervalStream::new(tokio::time::interval(STATS_EVERY)).map(move |_| {
        Ok(Event::default()
            .event("stats")
            .json_data(engine.stats())
            .unwrap_or_else(|_| Event::default().comment("stats unavailable")))
    });
    let hello = stream::once(async { Ok(Event::default().event("hello").data(env!("CARGO_PKG_VERSION"))) });
    let mut stopping = app.stopping.clone();
    let stop = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    let events = hello.chain(stream::select(updates, stats)).take_until(stop);
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
