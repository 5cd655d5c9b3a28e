//! [`AnnouncingStore`]: a [`TaskStore`] decorator that announces every successful write to a
//! room on a broadcast channel. Live event streams (`routes/events.rs`) wait on it, so a write
//! through this server reaches its followers at once instead of at their next poll.

use std::sync::Arc;

use async_trait::async_trait;
use taskcore::store::{TaskCounts, TaskDraft, TaskUpdate, TaskWrite, Updated};
use taskcore::{
    ChangeBatch, IdempotencyKey, Imported, Inserted, MemberName, OnConflict, Result, Room, RoomCode, RoomSnapshot,
    Task, TaskPage, TaskQuery, TaskStore,
};
use time::OffsetDateTime;
use tokio::sync::broadcast;

/// How many room announcements may queue for a slow listener before it skips ahead.
const ANNOUNCE_CAPACITY: usize = 1024;

/// Wraps a store and announces the room of every successful write.
#[derive(Debug, Clone)]
pub struct AnnouncingStore {
    inner: Arc<dyn TaskStore>,
    writes: broadcast::Sender<RoomCode>,
}

impl AnnouncingStore {
    /// Announces the writes to `inner`.
    pub fn new(inner: Arc<dyn TaskStore>) -> Self {
        Self { inner, writes: broadcast::channel(ANNOUNCE_CAPACITY).0 }
    }

    /// A receiver of the codes of rooms written to from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RoomCode> {
        self.writes.subscribe()
    }

    fn announce<T>(&self, code: &RoomCode, result: Result<T>) -> Result<T> {
        if result.is_ok() {
            // No receiver is fine: nobody is watching the room.
            let _ = self.writes.send(code.clone());
        }
        result
    }
}

#[async_trait]
impl TaskStore for AnnouncingStore {
    fn write_notices(&self) -> Option<tokio::sync::broadcast::Receiver<RoomCode>> {
        self.inner.write_notices()
    }

    fn write_stats(&self) -> Option<taskcore::WriteStats> {
        self.inner.write_stats()
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    async fn insert_room(&self, room: &Room) -> Result<()> {
        self.inner.insert_room(room).await
    }

    async fn room(&self, code: &RoomCode) -> Result<Room> {
        self.inner.room(code).await
    }

    async fn add_member(&self, code: &RoomCode, member: &MemberName, at: OffsetDateTime) -> Result<Room> {
        let result = self.inner.add_member(code, member, at).await;
        self.announce(code, result)
    }

    async fn insert_task(&self, code: &RoomCode, draft: TaskDraft, key: Option<&IdempotencyKey>) -> Result<Inserted> {
        let result = self.inner.insert_task(code, draft, key).await;
        self.announce(code, result)
    }

    async fn task(&self, code: &RoomCode, number: u64) -> Result<Task> {
        self.inner.task(code, number).await
    }

    async fn update_task(&self, code: &RoomCode, task: &Task, expected_version: u64, write: TaskWrite) -> Result<Task> {
        let result = self.inner.update_task(code, task, expected_version, write).await;
        self.announce(code, result)
    }

    async fn update_task_with(&self, code: &RoomCode, number: u64, update: &TaskUpdate) -> Result<Updated> {
        let result = self.inner.update_task_with(code, number, update).await;
        match result {
            Ok(Updated { write: None, .. }) => result,
            other => self.announce(code, other),
        }
    }

    async fn delete_task(
        &self,
        code: &RoomCode,
        number: u64,
        expected_version: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<Task> {
        let result = self.inner.delete_task(code, number, expected_version, at).await;
        self.announce(code, result)
    }

    async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<TaskPage> {
        self.inner.list_tasks(code, query, now).await
    }

    async fn counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<TaskCounts> {
        self.inner.counts(code, now).await
    }

    async fn changes(&self, code: &RoomCode, since: u64, limit: u32) -> Result<ChangeBatch> {
        self.inner.changes(code, since, limit).await
    }

    async fn latest_seq(&self, code: &RoomCode) -> Result<u64> {
        self.inner.latest_seq(code).await
    }

    async fn room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
        self.inner.room_codes(after, limit).await
    }

    async fn snapshot_room(&self, code: &RoomCode) -> Result<RoomSnapshot> {
        self.inner.snapshot_room(code).await
    }

    async fn import_room(&self, snapshot: RoomSnapshot, on_conflict: OnConflict) -> Result<Imported> {
        let code = snapshot.room.code.clone();
        let result = self.inner.import_room(snapshot, on_conflict).await;
        self.announce(&code, result)
    }
}
