//! The remote source behind `hookwatch attach`: the same operations as in-process, over the real
//! HTTP API and SSE stream, and it notices a lost server and reconnects.

mod common;

use common::*;
use hookwatch::dashboard::source::{RemoteSource, Source, Update};
use hookwatch::feed::FeedEvent;
use hookwatch::store::EventQuery;
use hookwatch::subscriptions::SubscriptionInput;
use std::time::Duration;
use tokio::sync::mpsc;

async fn next_matching(rx: &mut mpsc::Receiver<Update>, what: impl Fn(&Update) -> bool) -> Update {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) if what(&u) => return u,
            Ok(Some(_)) => {}
            other => panic!("no matching update: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_remote_source_drives_a_real_server() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let remote = RemoteSource::new(&hw.base, ADMIN);
    let input = SubscriptionInput {
        name: Some("crm".into()),
        url: Some(sink.url.clone()),
        actions: Some(vec!["card.*".into()]),
        ..Default::default()
    };
    let sub = remote.save_subscription(None, input).await.unwrap();
    assert_eq!(remote.subscriptions().await.unwrap().len(), 1);
    assert!(remote.catalog().await.unwrap().contains(&"card.move".to_string()));

    let (tx, mut rx) = mpsc::channel(256);
    remote.watch(tx);
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: true, .. })).await;

    let id = remote.send_event(card_move("P", 2).to_string()).await.unwrap();
    next_matching(&mut rx, |u| matches!(u, Update::Feed(FeedEvent::EventReceived { event }) if event.id == id)).await;
    next_matching(&mut rx, |u| matches!(u, Update::Feed(FeedEvent::DeliveryAttempted(n)) if n.event_id == id)).await;
    next_matching(&mut rx, |u| matches!(u, Update::Stats(s) if s.events_ingested == 1)).await;

    let events = remote.events(EventQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(events[0].id, id);
    let detail = remote.event(&id).await.unwrap();
    assert_eq!(detail.deliveries.len(), 1);
    assert_eq!(remote.redeliver(&id, Some(&sub.id)).await.unwrap(), 1);
    remote.set_paused(&sub.id, true).await.unwrap();
    assert_eq!(hw.get(&format!("/v1/subscriptions/{}", sub.id)).await["state"], "paused");
    let err = remote.send_event("{\"data\":{\"action\":\"nope\"}}".into()).await.unwrap_err();
    assert!(err.contains("unknown action"), "{err}");

    // The server goes away: the source says so, then comes back when a server listens again.
    let addr = hw.server.addr;
    hw.server.shutdown().await.unwrap();
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: false, .. })).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.listen = addr;
    let _again = hookwatch::server::Server::start(config).await.unwrap();
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: true, .. })).await;
}
