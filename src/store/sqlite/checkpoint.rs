//! SQLite checkpoints off the writer's thread.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 frames: it
//! copies those pages into the database file and fsyncs it while no other write can commit (8 to
//! 40 ms on this project's machine), one of the two things that held the ingest → first attempt
//! p99 at 1,000 events/s (`hookwatch bench`, 2026-12-02). Here a thread with its own connection
//! copies the pages beside the writer (a PASSIVE checkpoint takes no writer lock); the writer then
//! copies only the frames committed meanwhile, so that the WAL is wholly in the database file and
//! SQLite's next write starts it over from its beginning instead of letting it grow.

use crate::domain::error::{Error, Result};
use rusqlite::Connection;
use rusqlite::wal::CheckpointMode;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

/// WAL frames after which a checkpoint starts (SQLite's own default threshold).
const CHECKPOINT_FRAMES: i32 = 1000;
/// A WAL this long is checkpointed by the writer itself, whatever the other thread is doing.
const WAL_LIMIT_FRAMES: i32 = 10 * CHECKPOINT_FRAMES;

const IDLE: u8 = 0;
const COPYING: u8 = 1;
/// The other thread has copied what it saw: the writer copies the rest.
const FINISHING: u8 = 2;

/// The writer's side: it reports each commit's WAL length and finishes what the thread copied.
pub(super) struct Checkpoints {
    state: Arc<AtomicU8>,
    wal_frames: Arc<AtomicI32>,
    wake: SyncSender<()>,
}

impl Checkpoints {
    /// Starts the checkpointing thread on `background` and takes over `writer`'s checkpoints
    /// (a WAL hook replaces SQLite's automatic checkpoint).
    pub(super) fn start(writer: &mut Connection, background: Connection) -> Result<Self> {
        let wal_frames = Arc::new(AtomicI32::new(0));
        let reported = wal_frames.clone();
        writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames: i32| {
            reported.store(frames, Ordering::Relaxed);
            Ok(())
        }))?;
        let state = Arc::new(AtomicU8::new(IDLE));
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        let copied = state.clone();
        std::thread::Builder::new()
            .name("hookwatch-sqlite-checkpoint".into())
            .spawn(move || copy_when_woken(&background, &woken, &copied))
            .map_err(|e| Error::Storage(format!("cannot start the database's checkpoint thread: {e}")))?;
        Ok(Checkpoints { state, wal_frames, wake })
    }

    /// After a group has committed and been answered.
    pub(super) fn after_commit(&self, writer: &Connection) {
        let frames = self.wal_frames.load(Ordering::Relaxed);
        match self.state.load(Ordering::Acquire) {
            FINISHING => {
                checkpoint(writer, "the writer");
                self.state.store(IDLE, Ordering::Release);
            }
            IDLE if frames >= CHECKPOINT_FRAMES => {
                self.state.store(COPYING, Ordering::Release);
                if let Err(TrySendError::Disconnected(())) = self.wake.try_send(()) {
                    // The thread is gone: checkpoint here, as SQLite would have.
                    checkpoint(writer, "the writer");
                    self.state.store(IDLE, Ordering::Release);
                }
            }
            // Past the limit while the thread copies: the writer tries too (busy if the thread is
            // still at it; the thread's pass then lets the writer finish).
            COPYING if frames >= WAL_LIMIT_FRAMES => checkpoint(writer, "the writer"),
            _ => {}
        }
    }
}

fn copy_when_woken(conn: &Connection, woken: &Receiver<()>, state: &AtomicU8) {
    while woken.recv().is_ok() {
        checkpoint(conn, "the checkpoint thread");
        state.store(FINISHING, Ordering::Release);
    }
}

/// A PASSIVE checkpoint: it copies what no reader still needs and never waits. It is busy while
/// the other connection checkpoints; any other failure is logged. The WAL keeps every committed
/// frame, so nothing is lost and the next try copies it.
fn checkpoint(conn: &Connection, by: &str) {
    match conn.wal_checkpoint_v2(rusqlite::DEFAULT_NAME, CheckpointMode::PASSIVE) {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {}
        Err(e) => tracing::warn!("SQLite checkpoint by {by} failed ({e}); the WAL grows until one succeeds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under writes that never pause, with SQLite's automatic checkpoint replaced, the WAL is
    /// still copied into the database and started over: it stays below its limit instead of
    /// growing with every commit, and every row is in the database.
    #[test]
    fn the_wal_stays_bounded_under_constant_writes() {
        let (dir, open) = database();
        let mut writer = open();
        let checkpoints = Checkpoints::start(&mut writer, open()).unwrap();
        let page_size =
            u64::try_from(writer.query_row("PRAGMA page_size", [], |r| r.get::<_, i64>(0)).unwrap()).unwrap();
        let commits = 3 * WAL_LIMIT_FRAMES / 8;
        let wal = dir.path().join("wal.db-wal");
        let mut largest = 0;
        for _ in 0..commits {
            write_pages(&writer, 8);
            checkpoints.after_commit(&writer);
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        }
        let frame = page_size + 24;
        let bound = (WAL_LIMIT_FRAMES as u64 + 2 * 10) * frame;
        assert!(largest <= bound, "the WAL reached {largest} bytes; its limit is {bound}");
        assert!(largest >= CHECKPOINT_FRAMES as u64 * frame, "the writes went past a checkpoint's threshold");
        let rows: i64 = open().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, i64::from(commits));
    }

    /// The thread copies the WAL once it passes the threshold; the writer then copies the rest,
    /// and its next write starts the WAL over.
    #[test]
    fn the_thread_copies_and_the_writer_finishes() {
        let (_dir, open) = database();
        let mut writer = open();
        let checkpoints = Checkpoints::start(&mut writer, open()).unwrap();
        while checkpoints.wal_frames.load(Ordering::Relaxed) < CHECKPOINT_FRAMES {
            write_pages(&writer, 8);
        }
        checkpoints.after_commit(&writer);
        let waited = std::time::Instant::now();
        while checkpoints.state.load(Ordering::Acquire) != FINISHING {
            assert!(waited.elapsed().as_secs() < 30, "the thread never copied the WAL");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        write_pages(&writer, 8);
        checkpoints.after_commit(&writer);
        assert_eq!(checkpoints.state.load(Ordering::Acquire), IDLE);
        write_pages(&writer, 8);
        let frames = checkpoints.wal_frames.load(Ordering::Relaxed);
        assert!(frames < 100, "the WAL started over ({frames} frames)");
    }

    type Open = Box<dyn Fn() -> Connection>;

    fn database() -> (tempfile::TempDir, Open) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let open = move || {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;").unwrap();
            conn.execute_batch("CREATE TABLE IF NOT EXISTS t (body BLOB NOT NULL)").unwrap();
            conn
        };
        (dir, Box::new(open))
    }

    /// One commit of about `pages` pages.
    fn write_pages(conn: &Connection, pages: usize) {
        conn.execute("INSERT INTO t (body) VALUES (?1)", [vec![7u8; pages * 4096]]).unwrap();
    }
}
