//! [`guarded`]: a store that owns a clean-up guard, so that a backend's factory can hand the
//! suite a store whose schema, key prefix or temporary directory disappears when the behaviour
//! drops the store — without each backend writing its own delegating wrapper.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::changes::{ChangeBatch, TaskWrite};
use crate::error::Result;
use crate::input::IdempotencyKey;
use crate::query::{TaskPage, TaskQuery};
use crate::room::{MemberName, Room, RoomCode};
use crate::snapshot::{Imported, OnConflict, RoomSnapshot};
use crate::stats::TaskCounts;
use crate::store::{Inserted, TaskStore, TaskUpdate, Updated};
use crate::task::{Task, TaskDraft};

/// `store`, keeping `guard` alive until the last handle of the returned store is dropped; the
/// guard's `Drop` does the clean-up.
///
/// ```
/// # use std::sync::Arc;
/// #[derive(Debug)]
/// struct DropSchema(String);
/// impl Drop for DropSchema {
///     fn drop(&mut self) { /* DROP SCHEMA … */ }
/// }
/// let store = taskcore::conformance::guarded(Arc::new(taskcore::MemoryStore::new()), DropSchema("t1".into()));
/// assert_eq!(store.backend(), "memory");
/// ```
pub fn guarded<G: Send + Sync + Debug + 'static>(store: Arc<dyn TaskStore>, guard: G) -> Arc<dyn TaskStore> {
    Arc::new(Guarded { store, _guard: guard })
}

#[derive(Debug)]
struct Guarded<G> {
    store: Arc<dyn TaskStore>,
    _guard: G,
}

#[async_trait]
impl<G: Send + Sync + Debug> TaskStore for Guarded<G> {
    fn backend(&self) -> &'static str {
        self.store.backend()
    }
    async fn ping(&self) -> Result<()> {
        self.store.ping().await
    }
    async fn insert_room(&self, room: &Room) -> Result<()> {
        self.store.insert_room(room).await
    }
    async fn room(&self, code: &RoomCode) -> Result<Room> {
        self.store.room(code).await
    }
    async fn add_member(&self, code: &RoomCode, member: &MemberName, at: OffsetDateTime) -> Result<Room> {
        self.store.add_member(code, member, at).await
    }
    async fn insert_task(&self, code: &RoomCode, draft: TaskDraft, key: Option<&IdempotencyKey>) -> Result<Inserted> {
        self.store.insert_task(code, draft, key).await
    }
    async fn task(&self, code: &RoomCode, number: u64) -> Result<Task> {
        self.store.task(code, number).await
    }
    async fn update_task(&self, code: &RoomCode, task: &Task, expected: u64, write: TaskWrite) -> Result<Task> {
        self.store.update_task(code, task, expected, write).await
    }
    async fn update_task_with(&self, code: &RoomCode, number: u64, update: &TaskUpdate) -> Result<Updated> {
        self.store.update_task_with(code, number, update).await
    }
    async fn delete_task(
        &self,
        code: &RoomCode,
        number: u64,
        expected: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<Task> {
        self.store.delete_task(code, number, expected, at).await
    }
    async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<TaskPage> {
        self.store.list_tasks(code, query, now).await
    }
    async fn counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<TaskCounts> {
        self.store.counts(code, now).await
    }
    async fn changes(&self, code: &RoomCode, since: u64, limit: u32) -> Result<ChangeBatch> {
        self.store.changes(code, since, limit).await
    }
    async fn latest_seq(&self, code: &RoomCode) -> Result<u64> {
        self.store.latest_seq(code).await
    }

    async fn room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
        self.store.room_codes(after, limit).await
    }

    async fn snapshot_room(&self, code: &RoomCode) -> Result<RoomSnapshot> {
        self.store.snapshot_room(code).await
    }

    async fn import_room(&self, snapshot: RoomSnapshot, on_conflict: OnConflict) -> Result<Imported> {
        self.store.import_room(snapshot, on_conflict).await
    }
}
