//! The WAL checkpointer: a thread with its own connection that copies committed WAL frames into
//! the database file (`PRAGMA wal_checkpoint(PASSIVE)`) while the writer goes on.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 pages, on
//! the committing connection — here the writer thread, so every write queued behind that commit
//! waited for the checkpoint's copy and its fsync (the create benchmark's p99 latency). The
//! writer's connection has automatic checkpoints off and nudges this thread after each commit
//! instead; the thread checkpoints at most once per [`PAUSE`], which bounds the WAL to what the
//! writer commits in that time. A passive checkpoint never waits for readers or the writer.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use rusqlite::Connection;
use taskcore::{Error, Result};

use crate::error::native;

/// The shortest time between two checkpoints.
pub(crate) const PAUSE: Duration = Duration::from_millis(50);

/// The writer's handle: nudges the checkpointer after a commit. Dropping it ends the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    nudge: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the checkpointer on its own connection to the database at `path`, with the busy
    /// timeout for the moments another process holds the checkpoint lock.
    ///
    /// - the connection cannot be opened → `Unavailable` or `Backend`; the thread cannot be
    ///   started → `Unavailable`.
    pub(crate) fn start(path: &Path, busy_timeout: Duration) -> Result<Self> {
        let conn = Connection::open(path).map_err(native)?;
        conn.busy_timeout(busy_timeout).map_err(native)?;
        let (nudge, nudges) = sync_channel(1);
        std::thread::Builder::new()
            .name("taskcore-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &nudges))
            .map_err(|e| Error::unavailable("cannot start the sqlite checkpoint thread", e))?;
        Ok(Self { nudge })
    }

    /// Says that the WAL grew. Never blocks: a nudge already waiting covers this one.
    pub(crate) fn nudge(&self) {
        match self.nudge.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) | Err(TrySendError::Disconnected(())) => {}
        }
    }
}

/// Checkpoints after each nudge, pausing between checkpoints, until the writer is gone.
fn run(conn: &Connection, nudges: &Receiver<()>) {
    while nudges.recv().is_ok() {
        // A failed checkpoint (busy, I/O) leaves the frames in the WAL for the next one: the
        // WAL stays the durable copy until a checkpoint succeeds, so nothing is lost.
        let _done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        #[allow(clippy::disallowed_methods, reason = "the checkpointer's own thread, not an async worker")]
        std::thread::sleep(PAUSE);
    }
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
}
