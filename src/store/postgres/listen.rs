//! Follows subscription changes other nodes announce with PostgreSQL's NOTIFY, so a node applies
//! them at once rather than at its next cluster tick. Correctness never depends on it (every
//! ingest checks the subscriptions version in its transaction); it only makes changes prompt.

use futures::StreamExt;
use std::time::Duration;
use tokio::sync::watch;
use tokio_postgres::{AsyncMessage, NoTls};

/// Counts announcements heard (and reconnects, which may have missed some): a change of the
/// count means "read the subscriptions again".
pub fn listen(config: tokio_postgres::Config, channel: &'static str) -> watch::Receiver<u64> {
    let (heard, receiver) = watch::channel(0u64);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = heard.closed() => return,
                ended = follow(&config, channel, &heard) => {
                    tracing::warn!("lost the subscription-change listener ({ended}); reconnecting");
                }
            }
            tokio::select! {
                _ = heard.closed() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
    receiver
}

/// Listens on one connection until it fails; returns why.
async fn follow(config: &tokio_postgres::Config, channel: &str, heard: &watch::Sender<u64>) -> String {
    let (client, mut connection) = match config.connect(NoTls).await {
        Ok(pair) => pair,
        Err(e) => return crate::domain::error::root_cause(&e),
    };
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("LISTEN {channel}");
    let listening = client.batch_execute(&statement);
    tokio::pin!(listening);
    // The connection must be driven while the LISTEN is answered.
    loop {
        tokio::select! {
            done = &mut listening => match done {
                Ok(()) => break,
                Err(e) => return crate::domain::error::root_cause(&e),
            },
            message = messages.next() => match message {
                Some(Ok(_)) => {}
                Some(Err(e)) => return crate::domain::error::root_cause(&e),
                None => return "the connection closed".into(),
            },
        }
    }
    // Anything announced while this node was not listening is read now.
    heard.send_modify(|n| *n += 1);
    while let Some(message) = messages.next().await {
        match message {
            Ok(AsyncMessage::Notification(_)) => heard.send_modify(|n| *n += 1),
            Ok(_) => {}
            Err(e) => return crate::domain::error::root_cause(&e),
        }
    }
    "the connection closed".into()
}
