//! The WAL checkpointer: a thread with its own connection that copies committed WAL frames into
//! the database file (`PRAGMA wal_checkpoint(PASSIVE)`) while the writer goes on.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages, on
//! the committing connection — here the writer thread, so every write queued behind that commit
//! waited for the checkpoint's copy and its fsync (the create benchmark's p99 latency). The
//! writer's connection has automatic checkpoints off and nudges this thread after each commit
//! instead; the thread checkpoints at most once per [`PAUSE`]. A passive checkpoint never waits
//! for readers or the writer.
//!
//! A passive checkpoint alone does not bound the WAL: SQLite rewinds the WAL only when a write
//! transaction begins while every frame has been copied, and a writer that commits without pause
//! always has new frames by then. So the thread reports the WAL's size after each passive
//! checkpoint, and when it holds more than [`RESTART_FRAMES`] frames the writer itself, between
//! two batches, runs `wal_checkpoint(RESTART)` ([`Checkpointer::rewind_if_due`]): it copies the
//! few frames the passive checkpoints left, waits (at most [`REWIND_WAIT`]) for readers still on
//! the WAL, and makes the next write start the WAL from its beginning; `journal_size_limit` then
//! truncates the file. The writer pauses for that short copy once per [`RESTART_FRAMES`] frames,
//! instead of for a whole checkpoint every 1,000. (Run from this thread, the restart would wait
//! for the writer's lock, which a busy writer takes again at once: it starved.)

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use rusqlite::Connection;
use taskcore::{Error, Result};

use crate::error::native;

/// The shortest time between two checkpoints.
pub(crate) const PAUSE: Duration = Duration::from_millis(50);

/// The WAL frames (pages, 4 KiB each by default) past which the writer rewinds the WAL: 64 MiB
/// of WAL at most, plus what the writer commits between two checkpoints. Measured: with 4,096
/// frames the rewinds came often enough to put create p99 at 330 ms; with 16,384 the WAL peaked at
/// 67 MB and create p99 stayed at 9 ms.
pub(crate) const RESTART_FRAMES: i64 = 16_384;

/// The WAL size limit the writer's connection keeps after a rewind (`journal_size_limit`).
pub(crate) const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The longest a rewind waits for readers still reading the WAL; a rewind that cannot finish
/// in time is tried again after the next passive checkpoint.
pub(crate) const REWIND_WAIT: Duration = Duration::from_millis(10);

/// The writer's handle: nudges the checkpointer after a commit. [`stop`](Self::stop) (or
/// dropping it) ends the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    nudge: Option<SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The WAL's frames after the last passive checkpoint (0 once a rewind was tried).
    frames: Arc<AtomicI64>,
    restart_frames: i64,
    busy_timeout: Duration,
}

impl Checkpointer {
    /// Starts the checkpointer on its own connection to the database at `path`, with the busy
    /// timeout for the moments another process holds the checkpoint lock.
    ///
    /// - the connection cannot be opened → `Unavailable` or `Backend`; the thread cannot be
    ///   started → `Unavailable`.
    pub(crate) fn start(path: &Path, busy_timeout: Duration) -> Result<Self> {
        Self::start_with(path, busy_timeout, RESTART_FRAMES)
    }

    /// [`start`](Self::start) with the WAL rewound past `restart_frames` frames.
    pub(crate) fn start_with(path: &Path, busy_timeout: Duration, restart_frames: i64) -> Result<Self> {
        let conn = Connection::open(path).map_err(native)?;
        conn.busy_timeout(busy_timeout).map_err(native)?;
        let (nudge, nudges) = sync_channel(1);
        let frames = Arc::new(AtomicI64::new(0));
        let reported = Arc::clone(&frames);
        let thread = std::thread::Builder::new()
            .name("taskcore-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &nudges, &reported))
            .map_err(|e| Error::unavailable("cannot start the sqlite checkpoint thread", e))?;
        Ok(Self { nudge: Some(nudge), thread: Some(thread), frames, restart_frames, busy_timeout })
    }

    /// On the writer's connection `conn`, between batches: rewinds the WAL when the last passive
    /// checkpoint left it above the restart threshold (see the module docs). A rewind that
    /// fails (readers still on the WAL past [`REWIND_WAIT`], I/O) loses nothing and is tried again
    /// after the next passive checkpoint.
    pub(crate) fn rewind_if_due(&self, conn: &Connection) {
        if self.frames.swap(0, Ordering::Relaxed) <= self.restart_frames {
            return;
        }
        if conn.busy_timeout(REWIND_WAIT).is_ok() {
            let _rewound = checkpoint(conn, "RESTART");
            let _restored = conn.busy_timeout(self.busy_timeout);
        }
    }

    /// Says that the WAL grew. Never blocks: a nudge already waiting covers this one.
    pub(crate) fn nudge(&self) {
        if let Some(nudge) = &self.nudge {
            match nudge.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
            }
        }
    }

    /// Ends the thread once its checkpoint in progress (if any) is done, and closes its
    /// connection.
    pub(crate) fn stop(&mut self) {
        self.nudge = None;
        if let Some(thread) = self.thread.take() {
            let _ended = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Checkpoints after each nudge, pausing between checkpoints, until the writer is gone; reports
/// the WAL's size in `frames`.
fn run(conn: &Connection, nudges: &Receiver<()>, frames: &AtomicI64) {
    while nudges.recv().is_ok() {
        // A failed checkpoint (busy, I/O) leaves the frames in the WAL for the next one: the
        // WAL stays the durable copy until a checkpoint succeeds, so nothing is lost.
        if let Ok(log) = checkpoint(conn, "PASSIVE") {
            frames.store(log, Ordering::Relaxed);
        }
        #[allow(clippy::disallowed_methods, reason = "the checkpointer's own thread, not an async worker")]
        std::thread::sleep(PAUSE);
    }
}

/// Runs `wal_checkpoint(mode)`; the frames in the WAL when it ran.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| row.get(1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    #![allow(clippy::disallowed_methods, reason = "a plain test thread polls the file")]

    use super::*;

    /// With automatic checkpoints off, committed pages stay in the WAL — the database file keeps
    /// its size — until the checkpointer, nudged, copies them into the file.
    #[test]
    fn a_nudge_checkpoints_what_the_writer_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)).unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer
            .execute_batch(
                "CREATE TABLE t (x BLOB); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) \
                 INSERT INTO t SELECT randomblob(4000) FROM n",
            )
            .unwrap();
        let file_size = || std::fs::metadata(&path).unwrap().len();
        assert!(file_size() < 50 * 4000, "the rows are in the WAL only: {} bytes", file_size());
        let checkpointer = Checkpointer::start(&path, Duration::from_secs(1)).unwrap();
        checkpointer.nudge();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while file_size() < 50 * 4000 {
            assert!(std::time::Instant::now() < deadline, "not checkpointed: {} bytes", file_size());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A writer that commits without pause, 3,000 rows of a page each (two WAL frames a commit:
    /// the new leaf and its parent), rewinding when due as the store's writer does between
    /// batches: the WAL is rewound whenever a checkpoint finds it past the restart threshold (64
    /// frames here), so it holds about what one checkpoint interval writes — without the rewind
    /// it would hold all ~6,000 frames (24 MiB).
    #[test]
    fn a_writer_that_never_pauses_keeps_the_wal_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0)).unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer.pragma_update_and_check(None, "journal_size_limit", 0, |row| row.get::<_, i64>(0)).unwrap();
        writer.busy_timeout(Duration::from_secs(5)).unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let checkpointer = Checkpointer::start_with(&path, Duration::from_secs(5), 64).unwrap();
        let wal = dir.path().join("t.db-wal");
        let mut largest = 0;
        for _ in 0..3_000 {
            writer.execute_batch("INSERT INTO t VALUES (randomblob(3000))").unwrap();
            checkpointer.nudge();
            checkpointer.rewind_if_due(&writer);
            largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
        }
        assert!(largest < 3_000 * 4096, "the WAL grew to {largest} bytes");
        let rows: i64 = writer.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0)).unwrap();
        assert_eq!(rows, 3_000, "nothing lost to the rewinds");
    }
}
