//! Group commit: the single writer task that owns the write connection.
//!
//! Callers queue an [`Op`] and wait on a oneshot. The writer takes every queued operation (up to
//! the batch limit), opens one `BEGIN IMMEDIATE` transaction, runs each operation in its own
//! `SAVEPOINT` (a failing operation rolls back only its savepoint and gets its error), applies
//! change-feed retention once per room touched, commits — one fsync for the whole batch — and
//! only then answers each caller. An operation whose failure its savepoint cannot undo is taken
//! out and the batch runs again without it, so one caller's bad write never fails another's. If
//! the commit fails, every caller of the batch gets the error: an operation is acknowledged only
//! once it is durable.

use std::collections::HashSet;

use sqlx::{Connection, Sqlite, SqlitePool, Transaction};
use taskcore::{Error, Result, RoomCode};
use tokio::sync::{mpsc, oneshot};

use crate::error::db_shared;
use crate::ops::{self, Done, Op};
use crate::savepoint::{Name, Prefix};

/// How many operations may wait in the queue before callers wait to enqueue.
const QUEUE_DEPTH: usize = 4096;

/// A queued operation and where its answer goes.
#[derive(Debug)]
enum Job {
    /// Run an operation.
    Write(Box<Op>, oneshot::Sender<Result<Done>>),
    /// Finish what is queued before, then stop.
    Close(oneshot::Sender<()>),
}

/// The handle callers queue writes through. Clones share the writer.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
}

fn stopped() -> Error {
    Error::Unavailable { message: "the sqlite store is closed".into(), source: None }
}

impl Writer {
    /// Starts the writer task on the current tokio runtime, writing through `pool` (which it
    /// uses alone for writes) with `retention` changes kept per room.
    pub(crate) fn spawn(pool: SqlitePool, retention: u64, max_batch: usize) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(pool, jobs, retention, max_batch.max(1)));
        Self { queue }
    }

    /// Queues `op` and waits until the transaction holding it has committed (or failed).
    pub(crate) async fn write(&self, op: Op) -> Result<Done> {
        let (reply, answer) = oneshot::channel();
        self.queue.send(Job::Write(Box::new(op), reply)).await.map_err(|_| stopped())?;
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

async fn run(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>, retention: u64, max_batch: usize) {
    let mut queued = Vec::with_capacity(max_batch);
    while jobs.recv_many(&mut queued, max_batch).await > 0 {
        let mut batch = Vec::with_capacity(queued.len());
        let mut close = None;
        for job in queued.drain(..) {
            match job {
                Job::Write(op, reply) if close.is_none() => batch.push((*op, reply)),
                Job::Write(_, reply) => {
                    let _gone = reply.send(Err(stopped()));
                }
                Job::Close(reply) => close = Some(reply),
            }
        }
        if !batch.is_empty() {
            commit(&pool, batch, retention).await;
        }
        if let Some(reply) = close {
            jobs.close();
            while let Some(job) = jobs.recv().await {
                if let Job::Write(_, reply) = job {
                    let _gone = reply.send(Err(stopped()));
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
/// itself (beginning, retention, the commit) answers every caller with the error.
async fn commit(pool: &SqlitePool, batch: Vec<(Op, oneshot::Sender<Result<Done>>)>, retention: u64) {
    let (mut ops, mut replies): (Vec<Op>, Vec<_>) = batch.into_iter().unzip();
    loop {
        match run_batch(pool, &ops, retention).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    let _gone = reply.send(result);
                }
                return;
            }
            Err(Failure::Op { index, error }) => {
                ops.remove(index);
                let _gone = replies.remove(index).send(Err(error));
                if ops.is_empty() {
                    return;
                }
            }
            Err(Failure::Batch(failure)) => {
                for reply in replies {
                    let _gone = reply.send(Err(db_shared(&failure)));
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

/// The transaction of one batch: each operation's own outcome, or why nothing of it committed.
///
/// Savepoint bookkeeping costs no round trip of its own on the happy path: releasing the
/// previous operation's savepoint and opening the next one's travel in front of the next
/// operation's first statement (see [`Prefix`]), and the commit releases the last one. An
/// operation's savepoint is never named like the one still open (see [`Name`]), so a rollback
/// reaches that operation's writes only.
async fn run_batch(pool: &SqlitePool, ops: &[Op], retention: u64) -> Result<Vec<Result<Done>>, Failure> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut results = Vec::with_capacity(ops.len());
    // The rooms whose feeds this batch appended to, for retention.
    let mut feeds: HashSet<&RoomCode> = HashSet::new();
    // The savepoint that is open: the last successful operation's, unless a rollback came since.
    let mut open: Option<Name> = None;
    for (i, op) in ops.iter().enumerate() {
        let own = Name::next(open);
        let mut prefix = Prefix::new(open, own);
        let result = match ops::apply(&mut tx, op, &mut prefix).await {
            Ok(done) => {
                open = Some(own);
                feeds.extend(op.feed());
                Ok(done)
            }
            // Nothing of it reached SQLite: the open savepoint stays open.
            Err(error) if !prefix.taken() => Err(error),
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
                Err(error)
            }
        };
        results.push(result);
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
    Ok(results)
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

    use taskcore::store::TaskDraft;
    use taskcore::{MemberName, NewTask, Room};
    use time::macros::datetime;

    use super::*;
    use crate::ops::Fault;

    const CODE: &str = "ABCD23";

    /// A fresh database file with one room, and the writer's pool on it.
    async fn database() -> (tempfile::TempDir, SqlitePool) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        crate::schema::migrate(&mut pool.acquire().await.unwrap()).await.unwrap();
        let owner = MemberName::parse("alice").unwrap();
        let room = Room::new(RoomCode::parse(CODE).unwrap(), owner, datetime!(2026-03-10 12:00 UTC));
        assert!(matches!(run(&pool, vec![Op::InsertRoom(room)]).await[..], [Ok(Done::RoomInserted)]));
        (dir, pool)
    }

    fn create(title: &str) -> Op {
        let draft: TaskDraft = NewTask::titled(title).validate(datetime!(2026-03-10 12:00 UTC)).unwrap();
        Op::InsertTask(RoomCode::parse(CODE).unwrap(), draft, None, u64::MAX)
    }

    /// Commits `ops` as one batch and returns each caller's answer.
    async fn run(pool: &SqlitePool, ops: Vec<Op>) -> Vec<Result<Done>> {
        let (batch, answers): (Vec<_>, Vec<_>) = ops
            .into_iter()
            .map(|op| {
                let (reply, answer) = oneshot::channel();
                ((op, reply), answer)
            })
            .unzip();
        commit(pool, batch, 100).await;
        let mut out = Vec::new();
        for answer in answers {
            out.push(answer.await.unwrap());
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
        for fault in [Fault::BeforeSql, Fault::BeforeSavepoint, Fault::Constraint, Fault::EndsTransaction] {
            let (_dir, pool) = database().await;
            let ops = vec![
                Op::Fault(fault),
                create("a"),
                create("b"),
                Op::Fault(fault),
                Op::Fault(fault),
                create("c"),
                Op::Fault(fault),
            ];
            let answers = run(&pool, ops).await;
            let numbers: Vec<Option<u64>> = answers
                .iter()
                .map(|answer| match answer {
                    Ok(Done::Inserted(inserted)) => Some(inserted.task().number),
                    Ok(other) => panic!("{fault:?}: unexpected answer {other:?}"),
                    Err(_) => None,
                })
                .collect();
            assert_eq!(numbers, [None, Some(1), Some(2), None, None, Some(3), None], "{fault:?}");
            assert_eq!(count(&pool, "SELECT COUNT(*) FROM tasks").await, 3, "{fault:?}");
            assert_eq!(count(&pool, "SELECT COUNT(*) FROM changes").await, 3, "{fault:?}");
            assert_eq!(count(&pool, "SELECT COUNT(*) FROM rooms").await, 1, "{fault:?}");
            let next = run(&pool, vec![create("d")]).await;
            assert!(matches!(&next[..], [Ok(Done::Inserted(i))] if i.task().number == 4), "{fault:?}: {next:?}");
        }
    }

    /// An operation that fails inside its savepoint (here: a room that does not exist) is rolled
    /// back alone without abandoning the transaction.
    #[tokio::test]
    async fn a_refused_operation_leaves_its_neighbours() {
        let (_dir, pool) = database().await;
        let draft = NewTask::titled("lost").validate(datetime!(2026-03-10 12:00 UTC)).unwrap();
        let nowhere = Op::InsertTask(RoomCode::parse("ZZZZ99").unwrap(), draft, None, u64::MAX);
        let answers = run(&pool, vec![create("a"), nowhere, create("b")]).await;
        assert!(matches!(answers[1], Err(Error::NotFound(taskcore::Missing::Room(_)))), "{answers:?}");
        assert!(answers[0].is_ok() && answers[2].is_ok());
        assert_eq!(count(&pool, "SELECT COUNT(*) FROM tasks").await, 2);
    }
}
