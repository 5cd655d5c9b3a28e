//! Group commit: the single writer thread that owns the write connection.
//!
//! Callers queue a [`Write`] and wait on a oneshot for exactly its output type. The writer takes
//! every queued operation (up to the batch limit), opens one `BEGIN IMMEDIATE` transaction, runs
//! each operation in its own `SAVEPOINT` (a failing operation rolls back only its savepoint and
//! gets its error), applies change-feed retention once per room touched, commits — one fsync for
//! the whole batch — and only then answers each caller. An operation whose failure its savepoint
//! cannot undo is taken out and the batch runs again without it, so one caller's bad write never
//! fails another's. If the commit fails, every caller of the batch gets the error: an operation is
//! acknowledged only once it is durable.
//!
//! The writer is an OS thread with its own rusqlite connection, not an async task driving an
//! sqlx connection: sqlx runs each SQLite connection on a worker thread and hands every
//! statement over to it and back, and with a handful of statements per write those hand-offs,
//! not SQLite, were the writer's cost (measured: 150 µs a write, 35 % of it in the scheduler).
//! Here a whole batch runs without leaving the thread; the thread wakes once per batch.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::Connection;
use taskcore::{Error, Result, RoomCode, WriteStats};
use tokio::sync::{mpsc, oneshot};

use crate::checkpoint::{Checkpointer, WAL_SIZE_LIMIT};
use crate::error::native_shared;
use crate::write::Write;

/// How many operations may wait in the queue before callers wait to enqueue.
const QUEUE_DEPTH: usize = 4096;

/// Statements the writer's connection keeps prepared: every write's statements and the
/// import's full-chunk inserts, with room to spare.
const STATEMENT_CACHE: usize = 64;

/// A queued operation and where its answer goes.
#[derive(Debug)]
enum Job {
    /// Run an operation.
    Write(Box<dyn Queued>),
    /// Finish what is queued before, then stop.
    Close(oneshot::Sender<()>),
}

/// A queued write with its caller's reply, its output type hidden so that one batch holds any
/// mix of writes. Its outcome is kept until the batch has committed.
trait Queued: Send + std::fmt::Debug {
    /// The room whose change feed the write may append to.
    fn feed(&self) -> Option<&RoomCode>;

    /// Runs the write; its output is kept for [`answer`](Self::answer). An error is returned
    /// for the writer to judge (confined to the savepoint or not) and is not kept.
    fn run(&mut self, conn: &Connection) -> Result<()>;

    /// Keeps `error` as the answer: the write failed alone, inside its savepoint.
    fn refuse(&mut self, error: Error);

    /// Sends the kept outcome, once the batch committed.
    fn answer(self: Box<Self>);

    /// Sends `error` instead of any kept outcome.
    fn fail(self: Box<Self>, error: Error);
}

/// A [`Write`], its caller's reply and its kept outcome.
struct Pending<W: Write> {
    write: W,
    reply: oneshot::Sender<Result<W::Output>>,
    outcome: Option<Result<W::Output>>,
}

impl<W: Write> std::fmt::Debug for Pending<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("write", &self.write).finish_non_exhaustive()
    }
}

impl<W: Write> Pending<W> {
    fn queued(write: W) -> (Box<dyn Queued>, oneshot::Receiver<Result<W::Output>>) {
        let (reply, answer) = oneshot::channel();
        (Box::new(Self { write, reply, outcome: None }), answer)
    }
}

impl<W: Write> Queued for Pending<W> {
    fn feed(&self) -> Option<&RoomCode> {
        self.write.feed()
    }

    fn run(&mut self, conn: &Connection) -> Result<()> {
        let output = self.write.apply(conn)?;
        self.outcome = Some(Ok(output));
        Ok(())
    }

    fn refuse(&mut self, error: Error) {
        self.outcome = Some(Err(error));
    }

    fn answer(self: Box<Self>) {
        // Every write of a committed batch ran to an outcome; none is a writer bug, said so.
        let outcome = self.outcome.unwrap_or_else(|| Err(Error::backend("the sqlite writer kept no outcome", "bug")));
        let _gone = self.reply.send(outcome);
    }

    fn fail(self: Box<Self>, error: Error) {
        let _gone = self.reply.send(Err(error));
    }
}

/// The handle callers queue writes through. Clones share the writer.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

/// What the writer has committed: transactions, and the writes they carried.
#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    operations: AtomicU64,
}

fn stopped() -> Error {
    Error::Unavailable { message: "the sqlite store is closed".into(), source: None }
}

/// Opens the writer's connection to the database file at `path` (which exists and is migrated)
/// with `synchronous` (`FULL`, `NORMAL` or `OFF`) and the busy timeout for other processes'
/// write locks.
pub(crate) fn connect(path: &Path, synchronous: &str, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(busy_timeout)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Checkpoints run on the checkpointer's thread, never inside one of this connection's commits.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // After the checkpointer rewinds the WAL, the file shrinks back to this size.
    conn.pragma_update_and_check(None, "journal_size_limit", WAL_SIZE_LIMIT, |row| row.get::<_, i64>(0))?;
    // Savepoint journals stay in memory: on disk (the default once one passes 64 KiB) every
    // page a write touches was first copied to a temporary file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl Writer {
    /// Starts the writer thread, writing through `conn` (which it uses alone for writes) with
    /// `retention` changes kept per room.
    ///
    /// - the thread cannot be started → `Unavailable`.
    pub(crate) fn spawn(
        conn: Connection,
        checkpointer: Checkpointer,
        retention: u64,
        max_batch: usize,
    ) -> Result<Self> {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        let counters = Arc::new(Counters::default());
        let shared = counters.clone();
        std::thread::Builder::new()
            .name("taskcore-sqlite-writer".into())
            .spawn(move || run(conn, checkpointer, jobs, retention, max_batch.max(1), &shared))
            .map_err(|e| Error::unavailable("cannot start the sqlite writer thread", e))?;
        Ok(Self { queue, counters })
    }

    /// The batches committed so far and the writes they carried.
    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats::new(self.counters.batches.load(Ordering::Relaxed), self.counters.operations.load(Ordering::Relaxed))
    }

    /// Queues `write` and waits until the transaction holding it has committed (or failed).
    pub(crate) async fn write<W: Write>(&self, write: W) -> Result<W::Output> {
        let (queued, answer) = Pending::queued(write);
        self.queue.send(Job::Write(queued)).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Waits until every write queued before has been answered, then stops the writer.
    pub(crate) async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self.queue.send(Job::Close(reply)).await.is_ok() {
            let _closed = done.await;
        }
    }
}

/// The writer thread: waits for a job, takes what else is queued (up to `max_batch`), commits
/// it as one batch, and again — until a close or every handle is gone. A close is answered once
/// the writer's and the checkpointer's connections are closed.
fn run(
    conn: Connection,
    mut checkpointer: Checkpointer,
    mut jobs: mpsc::Receiver<Job>,
    retention: u64,
    max_batch: usize,
    counters: &Counters,
) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut close = None;
    while let Some(first) = jobs.blocking_recv() {
        sort(first, &mut batch, &mut close);
        while batch.len() < max_batch && close.is_none() {
            match jobs.try_recv() {
                Ok(job) => sort(job, &mut batch, &mut close),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit(&conn, std::mem::take(&mut batch), retention, counters);
            checkpointer.nudge();
            checkpointer.rewind_if_due(&conn);
        }
        if let Some(reply) = close.take() {
            jobs.close();
            while let Some(job) = jobs.blocking_recv() {
                sort(job, &mut batch, &mut None);
            }
            for queued in batch.drain(..) {
                queued.fail(stopped());
            }
            drop(conn);
            checkpointer.stop();
            let _gone = reply.send(());
            return;
        }
    }
}

/// Puts a job where it belongs: a write into the batch unless a close came first.
fn sort(job: Job, batch: &mut Vec<Box<dyn Queued>>, close: &mut Option<oneshot::Sender<()>>) {
    match job {
        Job::Write(queued) if close.is_none() => batch.push(queued),
        Job::Write(queued) => queued.fail(stopped()),
        Job::Close(reply) => *close = Some(reply),
    }
}

/// Runs one batch and answers its callers.
///
/// An operation that fails is answered with its own error and the others go on. When its failure
/// cannot be confined to its savepoint (the transaction ended under it), the transaction is
/// abandoned and the batch runs again without it — so whatever one operation does, the others of
/// its batch commit. Only a failure of the batch itself (beginning, a savepoint, retention, the
/// commit, or a condition of the database — full, I/O, busy — that ended the transaction under
/// an operation) answers every caller with the error. A committed batch is counted before its callers
/// hear of it, so a caller that reads [`Counters`] after its answer sees its own write counted.
fn commit(conn: &Connection, mut batch: Vec<Box<dyn Queued>>, retention: u64, counters: &Counters) {
    loop {
        match run_batch(conn, &mut batch, retention) {
            Ok(()) => {
                counters.batches.fetch_add(1, Ordering::Relaxed);
                counters.operations.fetch_add(batch.len() as u64, Ordering::Relaxed);
                for queued in batch {
                    queued.answer();
                }
                return;
            }
            Err(Failure::Op { index, error }) => {
                batch.remove(index).fail(error);
                if batch.is_empty() {
                    return;
                }
            }
            Err(Failure::Batch(failure)) => {
                for queued in batch {
                    queued.fail(native_shared(&failure));
                }
                return;
            }
            Err(Failure::Condition(cause)) => {
                for queued in batch {
                    queued.fail(Error::unavailable(
                        "sqlite could not complete the transaction holding this write; it was not committed",
                        cause.clone(),
                    ));
                }
                return;
            }
        }
    }
}

/// Why a batch's transaction did not commit.
#[derive(Debug)]
enum Failure {
    /// Operation `index` failed in a way its savepoint could not undo; nothing was committed, and
    /// the batch can run again without it.
    Op {
        /// Its position in the batch.
        index: usize,
        /// Its own error, for its caller.
        error: Error,
    },
    /// The transaction itself failed; nothing was committed.
    Batch(rusqlite::Error),
    /// An operation met a condition of the database (full, I/O, busy) that ended the
    /// transaction; nothing was committed, and every operation would meet it.
    Condition(String),
}

/// Runs a statement that returns no rows, kept prepared.
fn execute(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// The transaction of one batch: each operation's own outcome kept in it, or why nothing of
/// it committed (and the transaction is rolled back).
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Queued>], retention: u64) -> Result<(), Failure> {
    if !conn.is_autocommit() {
        // A ROLLBACK that failed last time left a transaction open: end it, or no batch could
        // ever begin again.
        let _ended = conn.execute_batch("ROLLBACK");
    }
    execute(conn, "BEGIN IMMEDIATE").map_err(Failure::Batch)?;
    let outcome = run_operations(conn, batch, retention).and_then(|()| execute(conn, "COMMIT").map_err(Failure::Batch));
    if outcome.is_err() && !conn.is_autocommit() {
        // Whatever state SQLite is in, nothing of this batch stays.
        let _ended = conn.execute_batch("ROLLBACK");
    }
    outcome
}

/// Every operation in its savepoint, then the retention of the feeds they appended to.
fn run_operations(conn: &Connection, batch: &mut [Box<dyn Queued>], retention: u64) -> Result<(), Failure> {
    let mut feeds = HashSet::new();
    for (index, queued) in batch.iter_mut().enumerate() {
        execute(conn, "SAVEPOINT op").map_err(Failure::Batch)?;
        // A panic in a write (a bug) fails that write alone instead of ending the writer thread,
        // which would stop every later write of the store.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| queued.run(conn)))
            .unwrap_or_else(|_| Err(Error::backend("the sqlite writer's operation panicked", "bug")));
        match ran {
            Ok(()) => {
                execute(conn, "RELEASE op").map_err(Failure::Batch)?;
                feeds.extend(queued.feed().cloned());
            }
            Err(error) => {
                let undone = execute(conn, "ROLLBACK TO op").and_then(|()| execute(conn, "RELEASE op"));
                if undone.is_err() {
                    // The savepoint is gone: the transaction ended under the operation. When the
                    // cause is the database's condition (full, I/O, busy), every operation would
                    // meet it again: the batch fails as a whole rather than once per operation.
                    if error.is_retryable() {
                        return Err(Failure::Condition(error.to_string()));
                    }
                    return Err(Failure::Op { index, error });
                }
                queued.refuse(error);
            }
        }
    }
    let keep = i64::try_from(retention).unwrap_or(i64::MAX);
    for code in feeds {
        // Keep the newest `retention` changes: drop seq <= latest - retention.
        conn.prepare_cached(
            "DELETE FROM changes WHERE room_id = (SELECT id FROM rooms WHERE code = ?1) \
             AND seq <= (SELECT last_seq FROM rooms WHERE code = ?1) - ?2",
        )
        .and_then(|mut trim| trim.execute(rusqlite::params![code.as_str(), keep]))
        .map_err(Failure::Batch)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::future::Future;
    use std::pin::Pin;
    use std::time::Duration;

    use taskcore::store::TaskDraft;
    use taskcore::{MemberName, NewTask, Room};
    use time::macros::datetime;

    use super::*;
    use crate::write::{Fault, InsertRoom, InsertTask};

    const CODE: &str = "ABCD23";

    /// A caller's answer, awaited after the batch: the number of the task it created, if any.
    type Answer = Pin<Box<dyn Future<Output = Result<Option<u64>>>>>;

    /// A fresh database file with one room, and the writer's connection on it.
    async fn database() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut migrating = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await.unwrap();
        crate::schema::migrate(&mut migrating).await.unwrap();
        let conn = connect(&path, "FULL", Duration::from_secs(5)).unwrap();
        let owner = MemberName::parse("alice").unwrap();
        let room = Room::new(RoomCode::parse(CODE).unwrap(), owner, datetime!(2026-03-10 12:00 UTC));
        let (queued, answer) = Pending::queued(InsertRoom(room));
        commit(&conn, vec![queued], 100, &Counters::default());
        answer.await.unwrap().unwrap();
        (dir, conn)
    }

    fn queue<W: Write>(write: W, number: fn(W::Output) -> Option<u64>) -> (Box<dyn Queued>, Answer) {
        let (queued, answer) = Pending::queued(write);
        (queued, Box::pin(async move { answer.await.unwrap().map(number) }))
    }

    fn create_in(code: &str, title: &str) -> (Box<dyn Queued>, Answer) {
        let draft: TaskDraft = NewTask::titled(title).validate(datetime!(2026-03-10 12:00 UTC)).unwrap();
        let write = InsertTask { code: RoomCode::parse(code).unwrap(), draft, key: None, quota: u64::MAX };
        queue(write, |inserted| Some(inserted.task().number))
    }

    fn create(title: &str) -> (Box<dyn Queued>, Answer) {
        create_in(CODE, title)
    }

    fn fault(fault: Fault) -> (Box<dyn Queued>, Answer) {
        queue(fault, |()| None)
    }

    /// Commits the writes as one batch and returns each caller's answer.
    async fn run(conn: &Connection, writes: Vec<(Box<dyn Queued>, Answer)>) -> Vec<Result<Option<u64>>> {
        let (batch, answers): (Vec<_>, Vec<_>) = writes.into_iter().unzip();
        commit(conn, batch, 100, &Counters::default());
        let mut out = Vec::new();
        for answer in answers {
            out.push(answer.await);
        }
        out
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |row| row.get(0)).unwrap()
    }

    /// Every kind of failure, first, last, twice in a row and between successes, fails alone:
    /// the other operations of its batch commit, numbered densely in batch order, and the
    /// writer's connection serves the next batch.
    #[tokio::test]
    async fn every_kind_of_failure_fails_alone() {
        for kind in [Fault::BeforeSql, Fault::BadStatement, Fault::Constraint, Fault::EndsTransaction] {
            let (_dir, conn) = database().await;
            let writes =
                vec![fault(kind), create("a"), create("b"), fault(kind), fault(kind), create("c"), fault(kind)];
            let answers = run(&conn, writes).await;
            let numbers: Vec<Option<u64>> =
                answers.iter().map(|answer| answer.as_ref().ok().copied().flatten()).collect();
            assert_eq!(numbers, [None, Some(1), Some(2), None, None, Some(3), None], "{kind:?}");
            assert!(answers.iter().enumerate().all(|(i, a)| a.is_err() == [0, 3, 4, 6].contains(&i)), "{kind:?}");
            assert_eq!(count(&conn, "SELECT COUNT(*) FROM tasks"), 3, "{kind:?}");
            assert_eq!(count(&conn, "SELECT COUNT(*) FROM changes"), 3, "{kind:?}");
            assert_eq!(count(&conn, "SELECT COUNT(*) FROM rooms"), 1, "{kind:?}");
            assert_eq!(count(&conn, "SELECT last_seq FROM rooms"), 3, "{kind:?}: the fault's own writes undone");
            let next = run(&conn, vec![create("d")]).await;
            assert!(matches!(&next[..], [Ok(Some(4))]), "{kind:?}: {next:?}");
        }
    }

    /// A condition of the database (a full disk, I/O) that ends the transaction under one
    /// operation fails the whole batch `Unavailable` at once — every operation would meet it —
    /// with nothing committed; the next batch runs.
    #[tokio::test]
    async fn a_condition_that_ends_the_transaction_fails_the_batch_once() {
        let (_dir, conn) = database().await;
        let answers = run(&conn, vec![create("a"), fault(Fault::EndsTransactionOnACondition), create("b")]).await;
        assert!(answers.iter().all(|a| matches!(a, Err(Error::Unavailable { .. }))), "{answers:?}");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM tasks"), 0);
        let next = run(&conn, vec![create("c")]).await;
        assert!(matches!(&next[..], [Ok(Some(1))]), "{next:?}");
    }

    /// A transaction left open (a ROLLBACK that failed) is ended before the next batch begins.
    #[tokio::test]
    async fn a_transaction_left_open_does_not_stop_the_writer() {
        let (_dir, conn) = database().await;
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let next = run(&conn, vec![create("a")]).await;
        assert!(matches!(&next[..], [Ok(Some(1))]), "{next:?}");
    }

    /// An operation that fails inside its savepoint (here: a room that does not exist) is rolled
    /// back alone without abandoning the transaction.
    #[tokio::test]
    async fn a_refused_operation_leaves_its_neighbours() {
        let (_dir, conn) = database().await;
        let answers = run(&conn, vec![create("a"), create_in("ZZZZ99", "lost"), create("b")]).await;
        assert!(matches!(answers[1], Err(Error::NotFound(taskcore::Missing::Room(_)))), "{answers:?}");
        assert!(matches!((&answers[0], &answers[2]), (Ok(Some(1)), Ok(Some(2)))), "{answers:?}");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM tasks"), 2);
    }
}
