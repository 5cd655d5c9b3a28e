//! The storage contract, for backend authors: [`TaskStore`], the one trait every backend
//! implements, the [`StoreOptions`] every backend accepts, and the helpers a backend needs to
//! reproduce the domain's semantics exactly — the [`TaskDraft`] it numbers (and fingerprints for
//! idempotent creates, with the [`replay`] rule), the [`TaskWrite`] kind it records, the derived values it may index ([`StoredColumns`], [`SortValue`], [`unix_micros`],
//! [`NO_DUE_DATE`], [`search_text_of`]), the change-feed rules ([`check_since`],
//! [`first_kept_seq`]) and the raw [`TaskCounts`] it reports (from [`StateCounts`] where it keeps
//! counters); for SQL backends, the [`Migration`] list and the rule of which to apply
//! ([`pending_migrations`]); for backends that batch writes
//! into shared transactions, the [`Reply`] each caller is owed and the [`WriteStats`] to report.
//!
//! Applications use [`TaskManager`](crate::TaskManager) and never call a store directly; they only
//! need [`TaskStore`] to hold one (`Arc<dyn TaskStore>`), which the crate root re-exports.
//!
//! Backends only store and query. Validation, defaults, timestamps, ids and the decision of what
//! a change is are made by the [`TaskManager`](crate::TaskManager) before a store is called; a
//! store receives valid records and must keep them exactly (timestamps are at microsecond
//! precision, see [`to_storage_precision`]).

mod migrations;
mod reply;
mod state_counts;
mod task_update;
pub mod url_params;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::changes::{ChangeBatch, DEFAULT_CHANGE_RETENTION};
use crate::error::{Error, Result};
use crate::input::IdempotencyKey;
use crate::query::{TaskPage, TaskQuery};
use crate::room::{MemberName, Room, RoomCode};
use crate::snapshot::{Imported, OnConflict, RoomSnapshot};
use crate::task::Task;

pub use self::migrations::{MIGRATIONS_TABLE, Migration, SchemaVersion, pending_migrations};
pub use self::reply::Reply;
pub use self::state_counts::StateCounts;
pub use self::task_update::{TaskUpdate, Updated};
pub use crate::changes::{TaskWrite, check_since, first_kept_seq};
pub use crate::clock::{from_unix_micros, to_storage_precision, unix_micros};
pub use crate::error::BoxError;
pub use crate::fingerprint::replay;
pub use crate::query::{NO_DUE_DATE, SortValue};
pub use crate::stats::TaskCounts;
pub use crate::stored::StoredColumns;
pub use crate::task::{TaskDraft, search_text_of};

/// How many times [`TaskStore::update_task_with`]'s default reads and writes again when other
/// writes to the task keep winning the race.
pub const UPDATE_ATTEMPTS: usize = 32;

/// The most tasks a room may hold at once unless configured otherwise: far beyond any real
/// team's room (a room of a few hundred thousand tasks keeps working at speed), low enough that a
/// script cannot grow one room without bound.
pub const DEFAULT_MAX_TASKS_PER_ROOM: u64 = 500_000;

/// The most members a room may have unless configured otherwise; every join answers the whole
/// member list.
pub const DEFAULT_MAX_MEMBERS_PER_ROOM: u64 = 1_000;

/// Settings every backend honours. Build with [`StoreOptions::default`] and the builder methods,
/// so that every value is in range.
///
/// ```
/// use taskcore::StoreOptions;
/// let options = StoreOptions::default().change_retention(50_000).max_tasks_per_room(100_000);
/// assert_eq!(options.task_quota(), 100_000);
/// assert_eq!(options.member_quota(), taskcore::store::DEFAULT_MAX_MEMBERS_PER_ROOM);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    retention: u64,
    max_tasks_per_room: u64,
    max_members_per_room: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            retention: DEFAULT_CHANGE_RETENTION,
            max_tasks_per_room: DEFAULT_MAX_TASKS_PER_ROOM,
            max_members_per_room: DEFAULT_MAX_MEMBERS_PER_ROOM,
        }
    }
}

impl StoreOptions {
    /// With a task quota: the most tasks one room may hold at once (deleted tasks do not count),
    /// clamped to at least 1; default [`DEFAULT_MAX_TASKS_PER_ROOM`]. A create beyond it is
    /// [`Error::QuotaExceeded`] with
    /// [`Quota::TasksPerRoom`](crate::Quota::TasksPerRoom).
    pub fn max_tasks_per_room(mut self, tasks: u64) -> Self {
        self.max_tasks_per_room = tasks.max(1);
        self
    }

    /// With a member quota: the most members one room may have, owner included, clamped to at
    /// least 1; default [`DEFAULT_MAX_MEMBERS_PER_ROOM`]. A join beyond it is
    /// [`Error::QuotaExceeded`] with
    /// [`Quota::MembersPerRoom`](crate::Quota::MembersPerRoom).
    pub fn max_members_per_room(mut self, members: u64) -> Self {
        self.max_members_per_room = members.max(1);
        self
    }

    /// The most tasks a room may hold at once (at least 1).
    pub fn task_quota(&self) -> u64 {
        self.max_tasks_per_room
    }

    /// The most members a room may have (at least 1).
    pub fn member_quota(&self) -> u64 {
        self.max_members_per_room
    }

    /// With a change retention: how many of the newest changes a room's feed keeps, clamped to at
    /// least 1. Older ones are dropped as new ones are appended; reading from before them is
    /// [`Error::ResyncNeeded`].
    pub fn change_retention(mut self, changes: u64) -> Self {
        self.retention = changes.max(1);
        self
    }

    /// How many changes a room's feed keeps (at least 1).
    pub fn retention(&self) -> u64 {
        self.retention
    }
}

/// What [`TaskStore::insert_task`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// A new task was stored with the next number of the room.
    Created(Task),
    /// The idempotency key was already used in this room; this is the task that use created
    /// (as it is now). Nothing was written.
    Replayed(Task),
}

impl Inserted {
    /// The task, new or replayed.
    pub fn task(&self) -> &Task {
        match self {
            Self::Created(task) | Self::Replayed(task) => task,
        }
    }

    /// The task, new or replayed, by value.
    pub fn into_task(self) -> Task {
        match self {
            Self::Created(task) | Self::Replayed(task) => task,
        }
    }
}

/// What a store's group commit has done since it opened: how many transactions its writers
/// committed and how many writes those carried (for metrics and benchmarks: `operations /
/// batches` is the mean batch size). Only stores that batch writes report it
/// ([`TaskStore::write_stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteStats {
    /// Transactions committed by the group commit.
    pub batches: u64,
    /// Writes those transactions carried (each with its own outcome: a write refused inside
    /// its savepoint counts too).
    pub operations: u64,
}

impl WriteStats {
    /// Counters with these values.
    pub fn new(batches: u64, operations: u64) -> Self {
        Self { batches, operations }
    }
}

/// Durable storage of rooms, tasks and change feeds.
///
/// Object-safe: hold it as `Arc<dyn TaskStore>`. Every method is atomic — it either happens
/// completely or not at all — and safe to call concurrently from many tasks, threads or (for
/// shared backends) processes. Errors are [`crate::Error`] variants: a driver's transient
/// failure is `Unavailable`, anything else from the driver is `Backend`.
///
/// Every mutation of a room's tasks or members appends exactly one [`Change`](crate::Change) to
/// the room's feed *in the same atomic step*, with the next sequence number of the room
/// (1, 2, 3…, never reused), then drops changes beyond [`StoreOptions::change_retention`].
#[async_trait]
pub trait TaskStore: Send + Sync + std::fmt::Debug {
    /// A short, stable name of the backend (`"memory"`, `"sqlite"`, …) for health reports and
    /// metric labels.
    fn backend(&self) -> &'static str;

    /// Checks that the storage answers, cheaply (one round trip at most).
    async fn ping(&self) -> Result<()>;

    /// Stores a new room.
    ///
    /// - code already taken → `AlreadyExists(Existing::Room)`, nothing written.
    /// - appends no change: a room's feed starts empty (latest sequence 0).
    async fn insert_room(&self, room: &Room) -> Result<()>;

    /// The room with this code, members in joining order.
    ///
    /// - no such room → `NotFound(Missing::Room)`.
    async fn room(&self, code: &RoomCode) -> Result<Room>;

    /// Adds `member` to the room's members unless a member with the same
    /// [`key`](MemberName::key) is there already, and returns the room after it.
    ///
    /// - no such room → `NotFound(Missing::Room)`.
    /// - already a member → the room unchanged; no change appended (also in a full room).
    /// - the room has [`StoreOptions::member_quota`] members already →
    ///   `QuotaExceeded { quota: Quota::MembersPerRoom }`, nothing written. The count and the
    ///   insert are one atomic step: concurrent joins never take a room beyond the quota.
    /// - added → appended last, with a `MemberJoined` change at `at`.
    async fn add_member(&self, code: &RoomCode, member: &MemberName, at: OffsetDateTime) -> Result<Room>;

    /// Stores a new task with the room's next number, which is one more than the highest
    /// number the room ever allocated (deleted tasks included), starting at 1.
    ///
    /// With `key`: the store remembers the key, for as long as the room exists, with the task's
    /// number and the [fingerprint](TaskDraft::fingerprint) of `draft`. If a task of this room
    /// was already created with the same key, nothing is written and the answer is
    /// [`replay`]'s: the same fingerprint → that task as [`Inserted::Replayed`]; another
    /// fingerprint → `IdempotencyKeyReused`; the task deleted since → `IdempotentTaskDeleted`.
    /// Checking the key, allocating the number, storing the task, remembering the key and
    /// appending the `TaskCreated` change happen atomically, so concurrent creates with one key
    /// make exactly one task.
    ///
    /// - no such room → `NotFound(Missing::Room)`.
    /// - the room holds [`StoreOptions::task_quota`] tasks already (a replay is still answered) →
    ///   `QuotaExceeded { quota: Quota::TasksPerRoom }`, nothing written and no number used.
    ///   Counting and inserting are one atomic step: concurrent creates never take a room beyond
    ///   the quota.
    async fn insert_task(&self, code: &RoomCode, draft: TaskDraft, key: Option<&IdempotencyKey>) -> Result<Inserted>;

    /// The task with this number.
    ///
    /// - no such room → `NotFound(Missing::Room)`; no such task (never made or deleted) →
    ///   `NotFound(Missing::Task)`.
    async fn task(&self, code: &RoomCode, number: u64) -> Result<Task>;

    /// Replaces a task with `task` (same room and number) if the stored version is
    /// `expected_version`, appending a change of kind `write` at `task.updated_at`. The caller
    /// has set `task.version` to `expected_version + 1`.
    ///
    /// - no such room or task → `NotFound`.
    /// - stored version differs → `Conflict { expected, current }`, nothing written.
    async fn update_task(&self, code: &RoomCode, task: &Task, expected_version: u64, write: TaskWrite) -> Result<Task>;

    /// Applies `update` to task `number` as the task is when the write happens
    /// ([`TaskUpdate::apply`] decides: a conflict with its expected version, nothing to change —
    /// the task is returned as it is — or the next task and its kind of write, stored as
    /// [`update_task`](Self::update_task) stores it).
    ///
    /// The default reads the task, applies the update and writes it back conditionally on the
    /// version it read; when another write came between (and the update expects no version) it
    /// reads again, up to [`UPDATE_ATTEMPTS`] times. A backend that serialises a room's writes
    /// overrides it to do the read and the write in one operation of its write path: one trip
    /// instead of two, and no lost races.
    ///
    /// - no such room or task → `NotFound`; the expected version differs → `Conflict`; every
    ///   attempt lost its race → `Unavailable`.
    async fn update_task_with(&self, code: &RoomCode, number: u64, update: &TaskUpdate) -> Result<Updated> {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.task(code, number).await?;
            let Some((next, write)) = update.apply(&current)? else {
                return Ok(Updated { task: current, write: None });
            };
            match self.update_task(code, &next, current.version, write).await {
                Err(Error::Conflict { .. }) if update.expected_version().is_none() => continue,
                outcome => return outcome.map(|task| Updated { task, write: Some(write) }),
            }
        }
        Err(Error::Unavailable {
            message: format!("task {number} is changing too fast; {UPDATE_ATTEMPTS} attempts lost the race"),
            source: None,
        })
    }

    /// Deletes a task and returns it as it was, appending a `TaskDeleted` tombstone at `at`.
    /// The number stays allocated forever.
    ///
    /// - no such room or task → `NotFound`.
    /// - `expected_version` given and different from the stored one → `Conflict`, nothing
    ///   deleted.
    async fn delete_task(
        &self,
        code: &RoomCode,
        number: u64,
        expected_version: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<Task>;

    /// One page of the room's tasks that pass `query`'s filters (evaluated at `now`), come after
    /// its cursor and are in its order — the semantics of [`TaskQuery::matches`],
    /// [`TaskQuery::is_after_cursor`] and [`TaskQuery::compare`]; assemble the result with
    /// [`TaskPage::from_rows`]. `matched` counts every task passing the filters, `total` every
    /// task of the room. The query has passed [`TaskQuery::check`].
    ///
    /// Consistency: the items are a consistent snapshot; `matched` and `total` may be read in a
    /// separate step. Concurrent inserts never make a keyset page repeat or skip an existing task.
    ///
    /// - no such room → `NotFound(Missing::Room)`.
    async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<TaskPage>;

    /// Counts of the room's tasks, overdue meaning pending with a due date before `now`.
    ///
    /// - no such room → `NotFound(Missing::Room)`.
    async fn counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<TaskCounts>;

    /// The room's changes with a sequence number greater than `since`, oldest first, at most
    /// `limit` (1 to [`MAX_CHANGES_PER_READ`](crate::MAX_CHANGES_PER_READ), checked by the caller),
    /// and the room's latest sequence number.
    ///
    /// - no such room → `NotFound(Missing::Room)`.
    /// - `since` greater than the latest sequence → `Invalid { field: "since" }`.
    /// - changes after `since` were already dropped by retention → `ResyncNeeded`.
    async fn changes(&self, code: &RoomCode, since: u64, limit: u32) -> Result<ChangeBatch>;

    /// The room's latest change sequence number (0 before its first change): the cheapest read
    /// that tells whether anything in the room changed. Caches validate with it on every read, so
    /// a backend should answer it with one small read (a column, a hash field).
    ///
    /// The value is at least the sequence of every change whose write was acknowledged before
    /// this call started.
    ///
    /// - no such room → `NotFound(Missing::Room)`.
    ///
    /// The default reads one change through [`changes`](Self::changes).
    async fn latest_seq(&self, code: &RoomCode) -> Result<u64> {
        match self.changes(code, 0, 1).await {
            Ok(batch) => Ok(batch.latest),
            Err(crate::Error::ResyncNeeded { latest, .. }) => Ok(latest),
            Err(other) => Err(other),
        }
    }

    /// Codes of the store's rooms in code order (byte order of [`RoomCode::as_str`]), those
    /// after `after` when given, at most `limit` (at least 1 is asked for): how a dump walks
    /// every room in pages.
    async fn room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>>;

    /// Everything the room holds, read as of one instant while writes go on (a snapshot of the
    /// room never shows half of a write): members, live tasks, the last number, the latest
    /// sequence and the idempotency keys. Memory grows with the room (at most
    /// [`StoreOptions::task_quota`] tasks).
    ///
    /// - no such room → `NotFound(Missing::Room)`.
    async fn snapshot_room(&self, code: &RoomCode) -> Result<RoomSnapshot>;

    /// Writes a room exactly as `snapshot` has it — numbers, ids, versions, timestamps, the last
    /// number and the idempotency keys — in one atomic step: a failed import leaves nothing of
    /// the room behind (and a replaced room as it was). The snapshot has passed no check: the
    /// store calls [`RoomSnapshot::check`] with its options before writing.
    ///
    /// The room's change feed keeps no changes and its latest sequence is
    /// [`RoomSnapshot::imported_seq`] (of the replaced room's latest, when replacing), so a
    /// reader from before gets `ResyncNeeded`; the next write appends the sequence after it.
    ///
    /// - the code is taken → by `on_conflict`: `AlreadyExists(Existing::Room)`, nothing
    ///   written; [`Imported::Skipped`], nothing written; or the stored room replaced whole
    ///   ([`Imported::Replaced`]).
    async fn import_room(&self, snapshot: RoomSnapshot, on_conflict: OnConflict) -> Result<Imported>;

    /// Codes of rooms written to through *any* process sharing this store, pushed by the
    /// store as they happen — for live updates across replicas without polling. `None` when
    /// the backend has no such channel (then followers poll the change feed).
    ///
    /// A notice is a wake-up, not a record: notices may be lost (a dropped connection) or
    /// repeated, so a receiver reads the change feed to learn what happened, and keeps polling
    /// now and then as a fallback. Call it from within a tokio runtime: a backend may start its
    /// listener on the first call.
    ///
    /// The default is `None`. Stores that wrap another store forward it.
    fn write_notices(&self) -> Option<tokio::sync::broadcast::Receiver<RoomCode>> {
        None
    }

    /// The group commit's counters, for stores that batch writes into shared transactions
    /// (`None`, the default, for the others). Stores that wrap another store forward it.
    fn write_stats(&self) -> Option<WriteStats> {
        None
    }
}
