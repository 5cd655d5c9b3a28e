//! Group commit: the single writer task that owns the write connection.
//!
//! Callers queue a [`Write`] and wait on a oneshot for exactly its output type. The writer takes every queued operation (up to
//! the batch limit), opens one `BEGIN IMMEDIATE` transaction, runs each operation in its own
//! `SAVEPOINT` (a failing operation rolls back only its savepoint and gets its error), applies
//! change-feed retention once per room touched, commits — one fsync for the whole batch — and
//! only then answers each caller. An operation whose failure its savepoint cannot undo is taken
//! out and the batch runs again without it, so one caller's bad write never fails another's. If
//! the commit fails, every caller of the batch gets the error: an operation is acknowledged only
//! once it is durable.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool, Transaction};
use taskcore::{Error, Result, RoomCode, WriteStats};
use tokio::sync::{mpsc, oneshot};

use crate::error::db_shared;
use crate::savepoint::{Name, Prefix};
use crate::write::Write;

/// How many operations may wait in the queue before callers wait to enqueue.
const QUEUE_DEPTH: usize = 4096;

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
#[async_trait]
trait Queued: Send + std::fmt::Debug {
    /// The room whose change feed the write may append to.
    fn feed(&self) -> Option<&RoomCode>;

    /// Runs the write; its output is kept for [`answer`](Self::answer). An error is returned
    /// for the writer to judge (confined to the savepoint or not) and is not kept.
    async fn run(&mut self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<()>;

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

#[async_trait]
impl<W: Write> Queued for Pending<W> {
    fn feed(&self) -> Option<&RoomCode> {
        self.write.feed()
    }

    async fn run(&mut self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<()> {
        let output = self.write.apply(conn, prefix).await?;
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

impl Writer {
    /// Starts the writer task on the current tokio runtime, writing through `pool` (which it
    /// uses alone for writes) with `retention` changes kept per room.
    pub(crate) fn spawn(pool: SqlitePool, retention: u64, max_batch: usize) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        let counters = Arc::new(Counters::default());
        tokio::spawn(run(pool, jobs, retention, max_batch.max(1), counters.clone()));
        Self { queue, counters }
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

async fn run(
    pool: SqlitePool,
    mut jobs: mpsc::Receiver<Job>,
    retention: u64,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    let mut queued = Vec::with_capacity(max_batch);
    while jobs.recv_many(&mut queued, max_batch).await > 0 {
        let mut batch = Vec::with_capacity(queued.len());
        let mut close = None;
        for job in queued.drain(..) {
            match job {
                Job::Write(queued) if close.is_none() => batch.push(queued),
                Job::Write(queued) => queued.fail(stopped()),
                Job::Close(reply) => close = Some(reply),
            }
        }
        if !batch.is_empty() {
            commit(&pool, batch, retention, &counters).await;
        }
        if let Some(reply) = close {
            jobs.close();
            while let Some(job) = jobs.recv().await {
                if let Job::Write(queued) = job {
                    queued.fail(stopped());
                }
            }
            pool.close().await;
            let _gone = reply.send(());
            return;
        }
    }
    pool.close().await;
}

/// Runs one batch and answers its callers.
///
/// An operation that fails is answered with its own error and the others go on. When its failure
/// cannot be confined to its savepoint (the savepoint never came to exist, or the transaction
/// ended under it), the transaction is abandoned and the batch runs again without it — so
/// whatever one operation does, the others of its batch commit. Only a failure of the batch
/// itself (beginning, retention, the commit) answers every caller with the error. A committed batch is counted before its callers hear of
/// it, so a caller that reads [`Counters`] after its answer sees its own write counted.
async fn commit(pool: &SqlitePool, mut batch: Vec<Box<dyn Queued>>, retention: u64, counters: &Counters) {
    loop {
        match run_batch(pool, &mut batch, retention).await {
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
                    queued.fail(db_shared(&failure));
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
    Batch(sqlx::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Self::Batch(error)
    }
}

/// The transaction of one batch: each operation's own outcome kept in it, or why nothing of
/// it committed.
///
/// Savepoint bookkeeping costs no round trip of its own on the happy path: releasing the
/// previous operation's savepoint and opening the next one's travel in front of the next
/// operation's first statement (see [`Prefix`]), and the commit releases the last one. An
/// operation's savepoint is never named like the one still open (see [`Name`]), so a rollback
/// reaches that operation's writes only.
async fn run_batch(pool: &SqlitePool, batch: &mut [Box<dyn Queued>], retention: u64) -> Result<(), Failure> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    // The rooms whose feeds this batch appended to, for retention.
    let mut feeds: HashSet<RoomCode> = HashSet::new();
    // The savepoint that is open: the last successful operation's, unless a rollback came since.
    let mut open: Option<Name> = None;
    for (i, queued) in batch.iter_mut().enumerate() {
        let own = Name::next(open);
        let mut prefix = Prefix::new(open, own);
        match queued.run(&mut tx, &mut prefix).await {
            Ok(()) => {
                open = Some(own);
                feeds.extend(queued.feed().cloned());
            }
            // Nothing of it reached SQLite: the open savepoint stays open.
            Err(error) if !prefix.taken() => queued.refuse(error),
            Err(error) => {
                let undone = sqlx::query(own.rollback_sql()).execute(&mut *tx).await;
                if undone.is_err() {
                    // Its savepoint does not exist: it failed before the savepoint was made, or
                    // the transaction ended. Start over without it.
                    abandon(tx).await;
                    return Err(Failure::Op { index: i, error });
                }
                // The prefix released the previous savepoint; this one is gone too.
                open = None;
                queued.refuse(error);
            }
        }
    }
    for code in feeds {
        // Keep the newest `retention` changes: drop seq <= latest - retention.
        sqlx::query(
            "DELETE FROM changes WHERE room_id = (SELECT id FROM rooms WHERE code = ?1) \
             AND seq <= (SELECT last_seq FROM rooms WHERE code = ?1) - ?2",
        )
        .bind(code.as_str())
        .bind(i64::try_from(retention).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Ends the transaction of an abandoned batch, whatever state SQLite is in. A `SAVEPOINT` nests
/// in a live transaction or, when an error already ended it, starts one; either way the
/// `ROLLBACK` that follows has a transaction to end. (A `ROLLBACK` that fails would leave sqlx
/// counting a transaction that does not exist, and refusing every later `BEGIN IMMEDIATE`.)
async fn abandon(mut tx: Transaction<'_, Sqlite>) {
    let _nested = sqlx::query("SAVEPOINT abandoned").execute(&mut *tx).await;
    let _ended = tx.rollback().await;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::future::Future;
    use std::pin::Pin;

    use taskcore::store::TaskDraft;
    use taskcore::{MemberName, NewTask, Room};
    use time::macros::datetime;

    use super::*;
    use crate::write::{Fault, InsertRoom, InsertTask};

    const CODE: &str = "ABCD23";

    /// A caller's answer, awaited after the batch: the number of the task it created, if any.
    type Answer = Pin<Box<dyn Future<Output = Result<Option<u64>>>>>;

    /// A fresh database file with one room, and the writer's pool on it.
    async fn database() -> (tempfile::TempDir, SqlitePool) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        crate::schema::migrate(&mut pool.acquire().await.unwrap()).await.unwrap();
        let owner = MemberName::parse("alice").unwrap();
        let room = Room::new(RoomCode::parse(CODE).unwrap(), owner, datetime!(2026-03-10 12:00 UTC));
        let (queued, answer) = Pending::queued(InsertRoom(room));
        commit(&pool, vec![queued], 100).await;
        answer.await.unwrap().unwrap();
        (dir, pool)
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
    async fn run(pool: &SqlitePool, writes: Vec<(Box<dyn Queued>, Answer)>) -> Vec<Result<Option<u64>>> {
        let (batch, answers): (Vec<_>, Vec<_>) = writes.into_iter().unzip();
        commit(pool, batch, 100).await;
        let mut out = Vec::new();
        for answer in answers {
            out.push(answer.await);
        }
        out
    }

    async fn count(pool: &SqlitePool, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
    }

    /// Every kind of failure, first, last, twice in a row and between successes, fails alone:
    /// the other operations of its batch commit, numbered densely in batch order, and the
    /// writer's connection serves the next batch.
    #[tokio::test]
    async fn every_kind_of_failure_fails_alone() {
        for kind in [Fault::BeforeSql, Fault::BeforeSavepoint, Fault::Constraint, Fault::EndsTransaction] {
            let (_dir, pool) = database().await;
            let writes =
                vec![fault(kind), create("a"), create("b"), fault(kind), fault(kind), create("c"), fault(kind)];
            let answers = run(&pool, writes).await;
            let numbers: Vec<Option<u64>> =
                answers.iter().map(|answer| answer.as_ref().ok().copied().flatten()).collect();
            assert_eq!(numbers, [None, Some(1), Some(2), None, None, Some(3), None], "{kind:?}");
            assert!(answers.iter().enumerate().all(|(i, a)| a.is_err() == [0, 3, 4, 6].contains(&i)), "{kind:?}");
            assert_eq!(count(&pool, "SELECT COUNT(*) FROM tasks").await, 3, "{kind:?}");
            assert_eq!(count(&pool, "SELECT COUNT(*) FROM changes").await, 3, "{kind:?}");
            assert_eq!(count(&pool, "SELECT COUNT(*) FROM rooms").await, 1, "{kind:?}");
            let next = run(&pool, vec![create("d")]).await;
            assert!(matches!(&next[..], [Ok(Some(4))]), "{kind:?}: {next:?}");
        }
    }

    /// An operation that fails inside its savepoint (here: a room that does not exist) is rolled
    /// back alone without abandoning the transaction.
    #[tokio::test]
    async fn a_refused_operation_leaves_its_neighbours() {
        let (_dir, pool) = database().await;
        let answers = run(&pool, vec![create("a"), create_in("ZZZZ99", "lost"), create("b")]).await;
        assert!(matches!(answers[1], Err(Error::NotFound(taskcore::Missing::Room(_)))), "{answers:?}");
        assert!(matches!((&answers[0], &answers[2]), (Ok(Some(1)), Ok(Some(2)))), "{answers:?}");
        assert_eq!(count(&pool, "SELECT COUNT(*) FROM tasks").await, 2);
    }
}
