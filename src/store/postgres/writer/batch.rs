//! Group commit for a store whose writes travel over connections: concurrent callers' items are
//! gathered into one statement, so many share one round trip and one commit. While a few batches
//! are being written, the next one fills up, so batches grow with the load.

use crate::domain::error::{Error, Result};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

type Pending<T, R> = (T, oneshot::Sender<Result<R>>);

pub(super) struct Batcher<T, R = ()> {
    items: mpsc::UnboundedSender<Pending<T, R>>,
}

impl<T: Send + 'static, R: Clone + Send + 'static> Batcher<T, R> {
    /// Starts the gathering task: batches of at most `max` items, at most `parallel` written at once.
    /// `write` answers one outcome per item, in order.
    pub(super) fn start<F, Fut>(max: usize, parallel: usize, write: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<R>>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Pending<T, R>>();
        let write = Arc::new(write);
        let slots = Arc::new(Semaphore::new(parallel));
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else { return };
                let mut batch = vec![first];
                while batch.len() < max {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let write = write.clone();
                tokio::spawn(async move {
                    let (items, answers): (Vec<T>, Vec<_>) = batch.into_iter().unzip();
                    match write(items).await {
                        Ok(outcomes) => {
                            for (answer, outcome) in answers.into_iter().zip(outcomes) {
                                let _ = answer.send(Ok(outcome));
                            }
                        }
                        Err(e) => {
                            let reason = e.into_reason();
                            for answer in answers {
                                let _ = answer.send(Err(Error::Storage(reason.clone())));
                            }
                        }
                    }
                    drop(slot);
                });
            }
        });
        Batcher { items: tx }
    }

    /// Resolves once the batch holding `item` has committed, with the item's outcome.
    pub(super) async fn submit(&self, item: T) -> Result<R> {
        let (done, answer) = oneshot::channel();
        self.items.send((item, done)).map_err(|_| Error::Storage("the database writer has stopped".into()))?;
        answer.await.map_err(|_| Error::Storage("the database writer has stopped".into()))?
    }
}
