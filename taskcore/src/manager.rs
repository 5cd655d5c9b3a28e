//! [`TaskManager`]: the facade applications use. It validates and normalises input, applies
//! defaults, reads the [`Clock`], mints ids and room codes, decides what kind of change a write
//! is, and only then calls the [`TaskStore`]. Domain rules live here and in the input types,
//! once, so every backend behaves the same.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::cache::{CacheOptions, RoomCache};
use crate::changes::{ChangeBatch, MAX_CHANGES_PER_READ};
use crate::clock::{Clock, SystemClock, to_storage_precision};
use crate::error::{Error, Result};
use crate::input::{IdempotencyKey, NewTask, TaskPatch, ValidPatch};
use crate::listing::TaskListing;
use crate::patch::Patch;
use crate::query::{TaskPage, TaskQuery};
use crate::room::{MemberName, Room, RoomCode, RoomCodeGenerator};
use crate::stats::RoomStats;
use crate::store::{Inserted, TaskStore, TaskUpdate};
use crate::task::Task;

/// How many fresh room codes [`TaskManager::create_room`] tries before giving up.
const ROOM_CODE_ATTEMPTS: usize = 16;

/// The changes one [`TaskManager::changes`] call returns when no limit is given.
pub const DEFAULT_CHANGES_PER_READ: u32 = 100;

/// The entry point of the library: every operation on rooms and tasks.
///
/// Cheap to clone (two `Arc`s and a small config); clones share the store.
///
/// ```
/// # tokio_test_block_on(async {
/// use std::sync::Arc;
/// use taskcore::{MemoryStore, NewTask, TaskManager, TaskQuery};
///
/// let tasks = TaskManager::new(Arc::new(MemoryStore::new()));
/// let room = tasks.create_room("alice").await?;
/// let created = tasks.create_task(&room.code, &NewTask::titled("Ship it").priority("high"), None).await?;
/// assert_eq!(created.task().number, 1);
/// let page = tasks.list_tasks(&room.code, &TaskQuery::default()).await?;
/// assert_eq!(page.total, 1);
/// # Ok::<(), taskcore::Error>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TaskManager {
    store: Arc<dyn TaskStore>,
    clock: Arc<dyn Clock>,
    codes: RoomCodeGenerator,
    cache: Option<Arc<RoomCache>>,
}

impl TaskManager {
    /// A manager over `store`, with the system clock and 6-character room codes.
    pub fn new(store: Arc<dyn TaskStore>) -> Self {
        Self { store, clock: Arc::new(SystemClock), codes: RoomCodeGenerator::default(), cache: None }
    }

    /// With a read cache: listings, room reads and statistics are answered from memory after one
    /// small validating read of the store per request (see [`cache`](crate::cache)), never older
    /// than a write acknowledged before the call. Clones share the cache.
    pub fn with_cache(mut self, options: CacheOptions) -> Self {
        self.cache = Some(Arc::new(RoomCache::new(options)));
        self
    }

    /// The read cache, if there is one.
    pub fn cache(&self) -> Option<&Arc<RoomCache>> {
        self.cache.as_ref()
    }

    /// With another clock (tests use a [`ManualClock`](crate::ManualClock)).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// With room codes of `length` characters (4 to 16).
    pub fn with_room_code_length(mut self, length: usize) -> Result<Self> {
        self.codes = RoomCodeGenerator::new(length)?;
        Ok(self)
    }

    /// The same manager (clock, code length, cache) over another store — for wrapping the store in a
    /// decorator such as a metrics layer.
    pub fn with_store(mut self, store: Arc<dyn TaskStore>) -> Self {
        self.store = store;
        self
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn TaskStore> {
        &self.store
    }

    /// Now, at storage precision.
    pub fn now(&self) -> OffsetDateTime {
        to_storage_precision(self.clock.now())
    }

    /// Checks that the store answers.
    pub async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }

    /// Creates a room owned by `owner` (field `username`) under a fresh random code.
    pub async fn create_room(&self, owner: &str) -> Result<Room> {
        let owner = MemberName::parse(owner)?;
        let created_at = self.now();
        for _ in 0..ROOM_CODE_ATTEMPTS {
            let room = Room::new(self.codes.generate(), owner.clone(), created_at);
            match self.store.insert_room(&room).await {
                Ok(()) => return Ok(room),
                Err(Error::AlreadyExists(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(Error::Backend {
            message: format!("no free room code after {ROOM_CODE_ATTEMPTS} attempts; configure longer codes"),
            source: None,
        })
    }

    /// The room with this code.
    pub async fn room(&self, code: &RoomCode) -> Result<Room> {
        self.store.room(code).await
    }

    /// Adds `member` (field `username`) to the room; joining again changes nothing. A room at its
    /// member quota answers [`Error::QuotaExceeded`].
    pub async fn join_room(&self, code: &RoomCode, member: &str) -> Result<Room> {
        let member = MemberName::parse(member)?;
        self.store.add_member(code, &member, self.now()).await
    }

    /// Creates a task. With an idempotency `key`, repeating the call returns the first task
    /// ([`Inserted::Replayed`]) instead of making another; the key with a different request is
    /// [`Error::IdempotencyKeyReused`], and once its task is deleted
    /// [`Error::IdempotentTaskDeleted`]. A room at its task quota answers
    /// [`Error::QuotaExceeded`] (see [`TaskStore::insert_task`]).
    pub async fn create_task(
        &self,
        code: &RoomCode,
        input: &NewTask,
        key: Option<&IdempotencyKey>,
    ) -> Result<Inserted> {
        let mut draft = input.validate(self.now())?;
        if let Some(assignee) = &draft.assignee {
            let room = self.store.room(code).await?;
            draft.assignee = Some(room.resolve_member(assignee, "assignee")?);
        }
        self.store.insert_task(code, draft, key).await
    }

    /// The task with this number.
    pub async fn task(&self, code: &RoomCode, number: u64) -> Result<Task> {
        self.store.task(code, number).await
    }

    /// Applies a partial update. With `patch.expected_version` the write is conditional
    /// ([`Error::Conflict`] when the task moved on); without it, a write that races with another
    /// is retried on the newer version. A patch that changes nothing returns the task as it is.
    pub async fn update_task(&self, code: &RoomCode, number: u64, patch: &TaskPatch) -> Result<Task> {
        let mut valid = patch.validate()?;
        if let Some(Some(assignee)) = &valid.assignee {
            let room = self.store.room(code).await?;
            valid.assignee = Some(Some(room.resolve_member(assignee, "assignee")?));
        }
        self.write_task(code, number, &valid, patch.expected_version).await
    }

    /// Marks a task completed (setting `completed_at`); completing a completed task changes
    /// nothing.
    pub async fn complete_task(&self, code: &RoomCode, number: u64, expected_version: Option<u64>) -> Result<Task> {
        self.set_completed(code, number, true, expected_version).await
    }

    /// Marks a task pending again (clearing `completed_at`).
    pub async fn reopen_task(&self, code: &RoomCode, number: u64, expected_version: Option<u64>) -> Result<Task> {
        self.set_completed(code, number, false, expected_version).await
    }

    async fn set_completed(&self, code: &RoomCode, number: u64, done: bool, expected: Option<u64>) -> Result<Task> {
        let patch = TaskPatch { completed: Patch::Set(done), expected_version: expected, ..TaskPatch::default() };
        self.update_task(code, number, &patch).await
    }

    async fn write_task(
        &self,
        code: &RoomCode,
        number: u64,
        patch: &ValidPatch,
        expected: Option<u64>,
    ) -> Result<Task> {
        let update = TaskUpdate::new(patch.clone(), expected, self.now());
        Ok(self.store.update_task_with(code, number, &update).await?.task)
    }

    /// Deletes a task, conditionally when `expected_version` is given. Its number is never
    /// reused.
    pub async fn delete_task(&self, code: &RoomCode, number: u64, expected_version: Option<u64>) -> Result<Task> {
        self.store.delete_task(code, number, expected_version, self.now()).await
    }

    /// One page of a room's tasks.
    pub async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery) -> Result<TaskPage> {
        query.check()?;
        let now = self.now();
        if let Some(cache) = &self.cache {
            let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
            if let Some(read) = cache.select(&*self.store, code, query, now, limit).await? {
                let selection = read.value;
                return Ok(TaskPage {
                    items: selection.items.iter().map(|task| Task::clone(task)).collect(),
                    next_cursor: selection.next_cursor,
                    matched: selection.matched,
                    total: selection.total,
                });
            }
        }
        self.store.list_tasks(code, query, now).await
    }

    /// Every task `query` selects, up to `cap` (the query's `limit` is ignored), handed out in
    /// chunks: from the cache when the room is cached, otherwise from the store in pages of
    /// bounded size. Use it to stream a listing of any size in bounded memory.
    pub async fn listing(&self, code: &RoomCode, query: &TaskQuery, cap: usize) -> Result<TaskListing> {
        query.check()?;
        let now = self.now();
        if let Some(cache) = &self.cache
            && let Some(read) = cache.select(&*self.store, code, query, now, cap).await?
        {
            return Ok(TaskListing::from_memory(read.seq, read.value));
        }
        TaskListing::from_store(Arc::clone(&self.store), code.clone(), query.clone(), now, cap).await
    }

    /// The room with a listing of its tasks by number (up to `cap`), read together: from one
    /// snapshot when the room is cached.
    pub async fn room_with_tasks(&self, code: &RoomCode, cap: usize) -> Result<(Room, TaskListing)> {
        let query = TaskQuery::default();
        let now = self.now();
        if let Some(cache) = &self.cache
            && let Some(read) = cache.select(&*self.store, code, &query, now, cap).await?
        {
            return Ok((read.room, TaskListing::from_memory(read.seq, read.value)));
        }
        let listing = TaskListing::from_store(Arc::clone(&self.store), code.clone(), query, now, cap).await?;
        Ok((self.store.room(code).await?, listing))
    }

    /// Statistics of a room, overdue as of now.
    pub async fn stats(&self, code: &RoomCode) -> Result<RoomStats> {
        let now = self.now();
        if let Some(cache) = &self.cache
            && let Some(read) = cache.counts(&*self.store, code, now).await?
        {
            return Ok(RoomStats::from(read.value));
        }
        self.store.counts(code, now).await.map(RoomStats::from)
    }

    /// The room's changes after `since`, at most `limit` (default
    /// [`DEFAULT_CHANGES_PER_READ`], at most [`MAX_CHANGES_PER_READ`]).
    pub async fn changes(&self, code: &RoomCode, since: u64, limit: Option<u32>) -> Result<ChangeBatch> {
        let limit = limit.unwrap_or(DEFAULT_CHANGES_PER_READ);
        if !(1..=MAX_CHANGES_PER_READ).contains(&limit) {
            return Err(Error::invalid("limit", format!("must be between 1 and {MAX_CHANGES_PER_READ}")));
        }
        self.store.changes(code, since, limit).await
    }
}
