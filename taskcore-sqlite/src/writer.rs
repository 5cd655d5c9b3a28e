//! Group commit: the single writer task that owns the write connection.
//!
//! Callers queue an [`Op`] and wait on a oneshot. The writer takes every queued operation (up to
//! the batch limit), opens one `BEGIN IMMEDIATE` transaction, runs each operation in its own
//! `SAVEPOINT` (a failing operation rolls back only its savepoint and gets its error), applies
//! change-feed retention once per room touched, commits — one fsync for the whole batch — and
//! only then answers each caller. If the commit fails, every caller of the batch gets the error:
//! an operation is acknowledged only once it is durable.

use std::collections::HashSet;

use sqlx::{Connection, SqlitePool};
use taskcore::{Error, Result, RoomCode};
use tokio::sync::{mpsc, oneshot};

use crate::error::db_shared;
use crate::ops::{self, Done, Op};

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

/// Runs one batch in one transaction and answers its callers.
async fn commit(pool: &SqlitePool, batch: Vec<(Op, oneshot::Sender<Result<Done>>)>, retention: u64) {
    let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().unzip();
    match run_batch(pool, &ops, retention).await {
        Ok(results) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _gone = reply.send(result);
            }
        }
        Err(failure) => {
            for reply in replies {
                let _gone = reply.send(Err(db_shared(&failure)));
            }
        }
    }
}

/// The savepoint statements that open operation `i`'s savepoint, after the previous one if it
/// is still open. Operations alternate between two savepoint names, so an operation that fails
/// before its prefix was sent cannot roll back its predecessor: its own savepoint does not exist,
/// the rollback fails and so does the whole batch (nothing acknowledged).
fn prefix(i: usize, previous_open: bool) -> &'static str {
    match (i % 2, previous_open && i > 0) {
        (0, false) => "SAVEPOINT op_a; ",
        (0, true) => "RELEASE op_b; SAVEPOINT op_a; ",
        (_, false) => "SAVEPOINT op_b; ",
        (_, true) => "RELEASE op_a; SAVEPOINT op_b; ",
    }
}

/// The transaction of one batch: each operation's own outcome, or the error that failed the
/// whole transaction (nothing of it committed).
///
/// Savepoint bookkeeping costs no round trip of its own on the happy path: releasing the
/// previous operation's savepoint and opening the next one's travel in front of the next
/// operation's first statement (see [`prefix`]), and the commit releases the last one.
async fn run_batch(pool: &SqlitePool, ops: &[Op], retention: u64) -> Result<Vec<Result<Done>>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut results = Vec::with_capacity(ops.len());
    // The rooms whose feeds this batch appended to, for retention.
    let mut feeds: HashSet<&RoomCode> = HashSet::new();
    let mut previous_open = false;
    for (i, op) in ops.iter().enumerate() {
        let result = ops::apply(&mut tx, op, prefix(i, previous_open)).await;
        previous_open = result.is_ok();
        if result.is_ok() {
            feeds.extend(op.feed());
        } else {
            let name = if i % 2 == 0 { "op_a" } else { "op_b" };
            sqlx::query(&format!("ROLLBACK TO {name}; RELEASE {name}")).execute(&mut *tx).await?;
        }
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
