//! SQLite's one writer: a thread that commits the jobs sent to it in groups, so that many
//! concurrent ingests share one fsync, while attempt records wait a few milliseconds for company.
//! A job answers its caller only once its group's commit is known.

use super::checkpoint::Checkpoints;
use crate::domain::error::{Error, Result};
use rusqlite::Connection;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Most jobs one commit gathers at once (besides the attempt records waiting for company): bounds
/// the latency a job waits behind others.
const MAX_GROUP: usize = 512;

/// How long an attempt record may wait to share a commit with later ones. Nobody waits on its
/// answer to go on (the lane freed its slot when the endpoint answered). Committed with each small
/// group of ingests, attempt records rewrote the last pages of the deliveries and attempts b-trees
/// at every commit: waiting, the WAL written per live event fell from 2.0 to 1.5 frames
/// (`docs/performance.md`, 2026-12-05).
const ATTEMPTS_WAIT: Duration = Duration::from_millis(10);
/// Waiting attempt records that commit at once, whatever their age.
const ATTEMPTS_BATCH: usize = 256;

/// What a write is answered once the writer thread is gone.
const WRITER_STOPPED: &str = "the database writer has stopped";

/// When a write may commit, relative to the writes sent before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Order {
    /// After every write sent before it: waiting attempt records go first, in its transaction.
    InTurn,
    /// Possibly before waiting attempt records: it only adds rows that no such record touches (an
    /// ingest), so committing it first changes nothing they write.
    Ahead,
    /// May wait up to `ATTEMPTS_WAIT` for a commit it shares with others (an attempt record).
    Batched,
}

/// A unit of work for the writer. It runs inside the group's transaction and answers its caller
/// only once the commit is known: that is what makes a 202 durable.
trait WriteJob: Send {
    /// Runs the work and keeps its outcome; `false` when it failed. May run again after a rollback.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller with the kept outcome, or with the commit's failure.
    fn finish(self: Box<Self>, committed: Result<(), String>);
    fn order(&self) -> Order;
}

/// `work` and what to do with its outcome once the commit is known (`reply`, on the writer thread).
struct TypedJob<T, F, R> {
    work: F,
    order: Order,
    outcome: Option<Result<T>>,
    reply: R,
}

impl<T, F, R> WriteJob for TypedJob<T, F, R>
where
    T: Send + 'static,
    F: Fn(&Connection) -> Result<T> + Send,
    R: FnOnce(Result<T>) + Send,
{
    fn order(&self) -> Order {
        self.order
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let outcome = (self.work)(conn);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let outcome = self.outcome.unwrap_or_else(|| Err(Error::Storage("the write never ran".into())));
        (self.reply)(committed.map_err(Error::Storage).and(outcome));
    }
}

/// The handle writes are sent through; the thread ends once every handle is gone, after
/// committing what still waits.
pub(super) struct Writer {
    jobs: mpsc::Sender<Box<dyn WriteJob>>,
}

impl Writer {
    /// Starts the writer thread on `conn`, with `checkpoints` run after each commit.
    pub(super) fn start(conn: Connection, checkpoints: Checkpoints) -> Result<Self> {
        let (jobs, received) = mpsc::channel::<Box<dyn WriteJob>>();
        std::thread::Builder::new()
            .name("hookwatch-sqlite-writer".into())
            .spawn(move || run_writer(conn, received, checkpoints))
            .map_err(|e| Error::Storage(format!("cannot start the database writer: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Runs `work` in the writer's next group as `order` allows and resolves once that group has
    /// committed. `work` may run twice (after a rollback caused by another job), so it only
    /// borrows its data.
    pub(super) async fn write<T: Send + 'static>(
        &self,
        order: Order,
        work: impl Fn(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (done, answer) = oneshot::channel();
        self.then(order, work, move |outcome| drop(done.send(outcome)));
        answer.await.map_err(|_| Error::Storage(WRITER_STOPPED.into()))?
    }

    /// Runs `work` like `write`, with nobody waiting: `reply` gets the outcome on the writer's
    /// thread. A job the writer can no longer take is answered at once.
    pub(super) fn then<T: Send + 'static>(
        &self,
        order: Order,
        work: impl Fn(&Connection) -> Result<T> + Send + 'static,
        reply: impl FnOnce(Result<T>) + Send + 'static,
    ) {
        let job = Box::new(TypedJob { work, order, outcome: None, reply });
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            job.finish(Err(WRITER_STOPPED.into()));
        }
    }
}

/// Attempt records waiting for a commit to share.
struct Waiting {
    jobs: Vec<Box<dyn WriteJob>>,
    since: Instant,
}

impl Waiting {
    fn due_at(&self) -> Option<Instant> {
        (!self.jobs.is_empty()).then_some(self.since + ATTEMPTS_WAIT)
    }

    fn is_due(&self) -> bool {
        self.jobs.len() >= ATTEMPTS_BATCH || self.due_at().is_some_and(|due| Instant::now() >= due)
    }
}

fn run_writer(conn: Connection, jobs: mpsc::Receiver<Box<dyn WriteJob>>, checkpoints: Checkpoints) {
    let mut waiting = Waiting { jobs: Vec::new(), since: Instant::now() };
    loop {
        let first = match waiting.due_at() {
            None => match jobs.recv() {
                Ok(job) => Some(job),
                Err(_) => return,
            },
            Some(due) => match jobs.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(job) => Some(job),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                // Nothing more will come: what waits commits before the writer ends.
                Err(mpsc::RecvTimeoutError::Disconnected) => return commit(&conn, std::mem::take(&mut waiting.jobs)),
            },
        };
        let mut group = Vec::new();
        let mut in_turn = false;
        for job in first.into_iter().chain(std::iter::from_fn(|| jobs.try_recv().ok())) {
            match job.order() {
                Order::Batched => {
                    if waiting.jobs.is_empty() {
                        waiting.since = Instant::now();
                    }
                    waiting.jobs.push(job);
                }
                order => {
                    in_turn |= order == Order::InTurn;
                    group.push(job);
                }
            }
            if group.len() >= MAX_GROUP || waiting.jobs.len() >= ATTEMPTS_BATCH {
                break;
            }
        }
        // Ahead of the group: a write in turn must find every record sent before it.
        if in_turn || waiting.is_due() {
            group.splice(0..0, waiting.jobs.drain(..));
        }
        if !group.is_empty() {
            commit(&conn, group);
            checkpoints.after_commit(&conn);
        }
    }
}

/// The whole group in one transaction. A failing job (rare: a constraint, a full disk) rolls the
/// group back and every job then runs in a transaction of its own, so one bad job never costs the
/// others. Savepoints per job would do the same but copy pages on every write.
fn commit(conn: &Connection, mut group: Vec<Box<dyn WriteJob>>) {
    match transaction(conn, &mut group) {
        Outcome::AllCommitted => group.into_iter().for_each(|job| job.finish(Ok(()))),
        Outcome::Failed(reason) => group.into_iter().for_each(|job| job.finish(Err(reason.clone()))),
        Outcome::SomeJobFailed => {
            for mut job in group {
                let result = match transaction(conn, std::slice::from_mut(&mut job)) {
                    // A job's own failure is its outcome; the caller gets that error.
                    Outcome::AllCommitted | Outcome::SomeJobFailed => Ok(()),
                    Outcome::Failed(reason) => Err(reason),
                };
                job.finish(result);
            }
        }
    }
}

enum Outcome {
    AllCommitted,
    /// At least one job's work failed; nothing was committed.
    SomeJobFailed,
    /// The transaction itself failed (cannot begin or commit): nothing was committed.
    Failed(String),
}

fn transaction(conn: &Connection, jobs: &mut [Box<dyn WriteJob>]) -> Outcome {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let reason = format!("the database cannot start a transaction ({e}); check that the file is writable");
        tracing::error!("{reason}");
        return Outcome::Failed(reason);
    }
    let mut all_ok = true;
    for job in jobs.iter_mut() {
        all_ok &= job.run(conn);
    }
    if !all_ok {
        let _ = conn.execute_batch("ROLLBACK");
        return Outcome::SomeJobFailed;
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => Outcome::AllCommitted,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            let reason =
                format!("the database could not commit ({e}); check free disk space and that the file is writable");
            tracing::error!("{reason}");
            Outcome::Failed(reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::domain::model::DeliveryStatus;
    use crate::store::{AttemptRecord, IngestOutcome, NewEvent, Store};
    use bytes::Bytes;

    /// An attempt record waits for company in the writer, but a write sent after it (here a
    /// redelivery of the same event) still commits after it: the delivery ends up pending again,
    /// not with the record's status written over the redelivery.
    #[tokio::test]
    async fn a_write_sent_after_a_waiting_attempt_record_commits_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db"), None).unwrap();
        let event = NewEvent {
            id: "evt_01JD0000000000000000000000".into(),
            action: "card.move".into(),
            received_at: 1_000,
            body: Bytes::from_static(b"{}"),
            idempotency_key: None,
            card_id: None,
            card_title: None,
            pipe_id: None,
            deliveries: vec![("dlv_1".into(), "sub_1".into())],
            subscriptions_version: 0,
            trace: None,
        };
        assert_eq!(store.ingest(event.clone(), 0).await.unwrap(), IngestOutcome::Created);
        let record = AttemptRecord {
            delivery_id: "dlv_1".into(),
            event_id: event.id.clone(),
            subscription_id: "sub_1".into(),
            started_at: 2_000,
            duration_ms: 3,
            status_code: Some(200),
            error_kind: None,
            error: None,
            response_body: Vec::new(),
            response_truncated: false,
            request_headers: Default::default(),
            next_retry_at: None,
            new_status: DeliveryStatus::Succeeded,
            attempts_in_series: 1,
            replay_id: None,
        };
        let mut recorded = store.record_attempt(record);
        // Its first poll hands the record to the writer, which holds it for company.
        assert!(futures::poll!(&mut recorded).is_pending());
        let requeued = store.requeue_event(&event.id, None, false, 3_000, None).await.unwrap();
        assert_eq!(requeued.len(), 1);
        recorded.await.unwrap();
        let detail = store.event_detail(&event.id).await.unwrap().unwrap();
        assert_eq!(detail.deliveries[0].summary.status, DeliveryStatus::Pending);
        assert_eq!(detail.deliveries[0].attempts.len(), 1, "the record is kept too");
        assert_eq!(store.pending_deliveries().await.unwrap().len(), 1);
    }
}
