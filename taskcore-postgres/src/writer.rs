//! Group commit: the writers that batch a store's writes into shared transactions.
//!
//! A store runs a few writers (`PgConfig::writers`); every room's writes go to the same one
//! (by a hash of the code), through a bounded queue. A writer takes whatever is waiting (up to
//! `PgConfig::max_batch` writes), begins one transaction, locks the rows of the batch's rooms
//! in code order with one `SELECT … FOR NO KEY UPDATE` (once per room per batch; the fixed
//! order keeps batches of different writers and processes from deadlocking) that also reads
//! each room's last number, last sequence and counters into a [`RoomState`], then runs each
//! write in a `SAVEPOINT` of its own: a write that fails — not found, conflict, quota, a
//! constraint — is rolled back to its savepoint and answered with its own error while its
//! neighbours go on. A write of one statement that changes nothing when it refuses (a create
//! without a key, an update: [`Write::one_statement`]) skips the savepoint's round trip: its
//! refusal leaves the transaction as it was, and if its statement fails instead, the
//! transaction is abandoned and the batch runs again without it.
//!
//! Writes do not update their room's row: each takes its number and sequence from the room's
//! state, checks the task quota against the state's counters, and says what it did (an
//! [`Advance`](crate::rooms::Advance)), which the writer applies to the state only once the
//! whole write succeeded — a write that fails or is rolled back to its savepoint leaves the
//! state as it was, and a batch that runs again reads the states afresh with its locks. Each
//! room's row is then written back with one `UPDATE` (instead of one per write: a hot room's
//! batch of 32 writes made a chain of 32 row versions, walked by every following update and
//! foreign-key check), the feeds of the rooms written to are trimmed to the change retention
//! (once per room, not per write), one `COMMIT` (one WAL flush, `synchronous_commit` as
//! configured), and only then does each caller get its answer and the rooms written to get
//! their write notices.
//!
//! A failed `COMMIT` answers every write of the batch `Unavailable`: never a success that may
//! not have been stored. A write whose failure its savepoint cannot undo (the connection died
//! under it) takes its own error and the batch runs again without it, on a fresh connection,
//! so that nothing one caller sends can fail another's write.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sqlx::{Connection, Executor, PgConnection, PgPool};
use taskcore::store::Reply;
use taskcore::{Error, Result, RoomCode, WriteStats};
use tokio::sync::mpsc;

use crate::error::{Attempt, Fault, db, is_retryable_race, is_transient};
use crate::notices::Notices;
use crate::rooms::{self, RoomState};
use crate::write::{Bounds, Locked, Retention, Write};

/// How many times a write runs again in its batch when PostgreSQL reports a serialization
/// failure or a deadlock for it (neither is expected under the room locks).
const ATTEMPTS: usize = 3;

/// How often (in batches of a store) the trim of the change feeds covers each room's whole
/// range below the retention line instead of what the batch pushed past it.
const FULL_TRIM_EVERY: u64 = 64;

/// How many times a batch starts again when taking its room locks ends in a deadlock or a
/// serialization failure.
const BATCH_ATTEMPTS: usize = 3;

/// A queued write, its output type hidden so that a batch holds any mix of writes, and its
/// caller's reply. Its outcome is kept until the batch has committed.
#[async_trait]
trait Queued: Send + Sync + std::fmt::Debug {
    /// The room it writes to.
    fn room(&self) -> &RoomCode;

    /// Runs the write in `room` and keeps its output, advancing the room's state by what the
    /// write did once all of it succeeded; an error is returned for the writer to judge, the
    /// state untouched.
    async fn run(&mut self, conn: &mut PgConnection, room: &mut RoomState, bounds: Bounds) -> Attempt<()>;

    /// Keeps `error` as the answer: the write failed alone.
    fn refuse(&mut self, error: Error);

    /// Whether the kept outcome changed its room.
    fn changed(&self) -> bool;

    /// Whether the write changes the database in one statement (see [`Write::one_statement`]).
    fn one_statement(&self) -> bool;

    /// Sends the kept outcome, once the batch committed.
    fn answer(self: Box<Self>);

    /// Sends `error` instead of any kept outcome.
    fn fail(self: Box<Self>, error: Error);
}

/// A [`Write`] and its caller's reply, which keeps the outcome until the batch is done.
#[derive(Debug)]
struct Pending<W: Write> {
    room: RoomCode,
    write: W,
    reply: Reply<W::Output>,
}

#[async_trait]
impl<W: Write> Queued for Pending<W> {
    fn room(&self) -> &RoomCode {
        &self.room
    }

    async fn run(&mut self, conn: &mut PgConnection, room: &mut RoomState, bounds: Bounds) -> Attempt<()> {
        let (output, advance) = self.write.apply(conn, Locked { code: &self.room, state: room }, bounds).await?;
        room.advance(advance);
        self.reply.keep(Ok(output));
        Ok(())
    }

    fn refuse(&mut self, error: Error) {
        self.reply.keep(Err(error));
    }

    fn changed(&self) -> bool {
        matches!(self.reply.kept(), Some(Ok(output)) if W::changed(output))
    }

    fn one_statement(&self) -> bool {
        self.write.one_statement()
    }

    fn answer(self: Box<Self>) {
        self.reply.answer("postgres");
    }

    fn fail(self: Box<Self>, error: Error) {
        self.reply.fail(error);
    }
}

/// What the writers share with the store: the pool, the bounds of every write, the notices to
/// send after a commit and the counters.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) pool: PgPool,
    pub(crate) bounds: Bounds,
    pub(crate) notices: Arc<Notices>,
    batches: AtomicU64,
    operations: AtomicU64,
}

impl Shared {
    /// What the writers of a store share.
    pub(crate) fn new(pool: PgPool, bounds: Bounds, notices: Arc<Notices>) -> Self {
        Self { pool, bounds, notices, batches: AtomicU64::new(0), operations: AtomicU64::new(0) }
    }
}

/// The handle callers queue writes through: one queue per writer.
#[derive(Debug)]
pub(crate) struct Writers {
    queues: Vec<mpsc::Sender<Box<dyn Queued>>>,
    shared: Arc<Shared>,
}

fn closed() -> Error {
    Error::Unavailable { message: "the postgres store's writers have stopped".into(), source: None }
}

impl Writers {
    /// Starts `count` writers (at least one) on the current tokio runtime, each with a queue of
    /// `depth` writes and batches of at most `max_batch`.
    pub(crate) fn spawn(shared: Shared, count: usize, depth: usize, max_batch: usize) -> Self {
        let shared = Arc::new(shared);
        let queues = (0..count.max(1))
            .map(|_| {
                let (queue, writes) = mpsc::channel(depth.max(1));
                tokio::spawn(run(Arc::clone(&shared), writes, max_batch.max(1)));
                queue
            })
            .collect();
        Self { queues, shared }
    }

    /// Queues `write` to room `code` with the room's writer — waiting for room in the queue
    /// when it is full — and waits until the transaction holding it has committed (or failed).
    pub(crate) async fn write<W: Write>(&self, code: &RoomCode, write: W) -> Result<W::Output> {
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(code.as_str());
        let index = usize::try_from(hash % self.queues.len() as u64).unwrap_or(0);
        let queue = self.queues.get(index).ok_or_else(closed)?;
        let (reply, answer) = Reply::channel();
        queue.send(Box::new(Pending { room: code.clone(), write, reply })).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// The batches committed so far and the writes they carried.
    pub(crate) fn stats(&self) -> WriteStats {
        WriteStats::new(self.shared.batches.load(Ordering::Relaxed), self.shared.operations.load(Ordering::Relaxed))
    }
}

/// One writer: takes what is waiting, writes it as a batch, until the store is gone.
async fn run(shared: Arc<Shared>, mut writes: mpsc::Receiver<Box<dyn Queued>>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while writes.recv_many(&mut batch, max_batch).await > 0 {
        commit(&shared, std::mem::take(&mut batch)).await;
    }
}

/// Why a batch's transaction did not commit; nothing of it did.
#[derive(Debug)]
enum Failure {
    /// Write `index` failed in a way its savepoint could not undo; the batch can run again
    /// without it.
    Write {
        /// Its position in the batch.
        index: usize,
        /// Its own error, for its caller.
        error: Error,
    },
    /// The batch's own statements failed: beginning the transaction, locking the rooms,
    /// writing their rows back or trimming their feeds.
    Batch(sqlx::Error),
    /// The `COMMIT` failed.
    Commit(sqlx::Error),
}

/// Writes one batch and answers its callers (see the module docs).
async fn commit(shared: &Shared, mut batch: Vec<Box<dyn Queued>>) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match write_batch(shared, &mut batch).await {
            Ok(()) => {
                shared.batches.fetch_add(1, Ordering::Relaxed);
                shared.operations.fetch_add(batch.len() as u64, Ordering::Relaxed);
                let mut changed: Vec<RoomCode> = Vec::new();
                for queued in batch {
                    if queued.changed() && !changed.contains(queued.room()) {
                        changed.push(queued.room().clone());
                    }
                    queued.answer();
                }
                for code in &changed {
                    shared.notices.publish(&shared.pool, code);
                }
                return;
            }
            Err(Failure::Write { index, error }) => {
                batch.remove(index).fail(error);
                if batch.is_empty() {
                    return;
                }
            }
            Err(Failure::Batch(error)) if attempts < BATCH_ATTEMPTS && is_retryable_race(&error) => {}
            Err(Failure::Batch(error)) => {
                for queued in batch {
                    queued.fail(not_begun(&error));
                }
                return;
            }
            Err(Failure::Commit(error)) => {
                let cause = error.to_string();
                for queued in batch {
                    queued.fail(Error::unavailable(
                        "postgres did not confirm the commit of the transaction holding this write",
                        cause.clone(),
                    ));
                }
                return;
            }
        }
    }
}

/// The error each write of a batch gets when its transaction could not begin, lock its rooms or
/// finish them (one error per caller: errors do not clone). Nothing was written.
fn not_begun(error: &sqlx::Error) -> Error {
    let cause = error.to_string();
    if is_transient(error) || is_retryable_race(error) {
        Error::unavailable("postgres is unreachable or overloaded; the write was not committed", cause)
    } else {
        Error::backend("postgres error; the write was not committed", cause)
    }
}

/// The transaction of one batch: each write's own outcome kept in it, or why nothing of it
/// committed.
async fn write_batch(shared: &Shared, batch: &mut [Box<dyn Queued>]) -> std::result::Result<(), Failure> {
    let mut conn = shared.pool.acquire().await.map_err(Failure::Batch)?;
    let mut tx = conn.begin().await.map_err(Failure::Batch)?;
    let mut rooms = rooms::lock(&mut tx, batch.iter().map(|queued| queued.room())).await.map_err(Failure::Batch)?;
    // Whether the savepoint `write` exists and holds nothing yet (after a rollback to it).
    let mut fresh = false;
    // Whether the savepoint `write` exists, holding the previous write's statements.
    let mut open = false;
    for (index, queued) in batch.iter_mut().enumerate() {
        let Some(room) = rooms.get_mut(queued.room()) else {
            queued.refuse(Error::room_not_found(queued.room()));
            continue;
        };
        let guarded = !queued.one_statement();
        let mut attempts = 0;
        loop {
            attempts += 1;
            if guarded && !fresh {
                let sql = if open { "RELEASE SAVEPOINT write; SAVEPOINT write" } else { "SAVEPOINT write" };
                simple(&mut tx, sql).await.map_err(|error| Failure::Write { index, error: db(error) })?;
            }
            match queued.run(&mut tx, room, shared.bounds).await {
                Ok(()) => {
                    if guarded || fresh {
                        (open, fresh) = (true, false);
                    }
                    break;
                }
                // One statement that wrote nothing and said why: the transaction goes on.
                Err(Fault::Domain(error)) if !guarded && is_refusal(&error) => {
                    queued.refuse(error);
                    break;
                }
                // The statement failed, which aborts the transaction, or wrote before failing.
                Err(fault) if !guarded => return Err(Failure::Write { index, error: fault.into() }),
                Err(fault) => {
                    if simple(&mut tx, "ROLLBACK TO SAVEPOINT write").await.is_err() {
                        // The transaction is gone (the connection died): start over without it.
                        return Err(Failure::Write { index, error: fault.into() });
                    }
                    (open, fresh) = (false, true);
                    match fault {
                        Fault::Db(error) if attempts < ATTEMPTS && is_retryable_race(&error) => {}
                        fault => {
                            queued.refuse(fault.into());
                            break;
                        }
                    }
                }
            }
        }
    }
    // Every FULL_TRIM_EVERY batches, each room's whole range below the retention line.
    let full = shared.batches.load(Ordering::Relaxed).is_multiple_of(FULL_TRIM_EVERY);
    for room in rooms.values().filter(|room| room.dirty()) {
        rooms::write_back(&mut tx, room).await.map_err(Failure::Batch)?;
        if room.appended() {
            let floor = if full { i64::MIN } else { room.seq_locked().saturating_sub(shared.bounds.retention.0) };
            trim(&mut tx, room, floor, shared.bounds.retention).await.map_err(Failure::Batch)?;
        }
    }
    tx.commit().await.map_err(Failure::Commit)
}

/// Drops the changes of `room` beyond `retention` below its newest sequence (after the batch)
/// and above sequence `floor`, once per batch.
///
/// The floor is the retention line before the batch: below it lie only changes already deleted
/// (dead rows until the next vacuum), which an unbounded range would walk every time — 2.4 ms a
/// write after 15,000 creates in a room, when each write trimmed. Every [`FULL_TRIM_EVERY`]
/// batches the floor is dropped, for changes left below the line by another store of the
/// schema with a longer retention.
async fn trim(
    conn: &mut PgConnection,
    room: &RoomState,
    floor: i64,
    retention: Retention,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM changes WHERE room_id = $1 AND seq > $2 AND seq <= $3")
        .bind(room.id())
        .bind(floor)
        .bind(room.last_seq().saturating_sub(retention.0))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Whether `error` is a write's refusal (not found, conflict, quota), which a write of one
/// statement only gives when that statement changed nothing.
fn is_refusal(error: &Error) -> bool {
    matches!(error, Error::NotFound(_) | Error::Conflict { .. } | Error::QuotaExceeded { .. })
}

/// Runs `sql` (one or more statements without parameters) in one round trip.
async fn simple(conn: &mut PgConnection, sql: &'static str) -> std::result::Result<(), sqlx::Error> {
    conn.execute(sql).await.map(|_| ())
}
