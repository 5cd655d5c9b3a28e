//! [`ObservedStore`]: a [`TaskStore`] decorator that measures every storage call without the
//! backends knowing: it times each operation into
//! [`STORE_OPERATION_DURATION`](crate::metrics::STORE_OPERATION_DURATION) by backend, operation
//! and outcome, and counts tasks created and completed. (Waking live event streams on writes is
//! [`AnnouncingStore`](crate::AnnouncingStore)'s job.)

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use taskcore::store::{TaskCounts, TaskDraft, TaskUpdate, TaskWrite, Updated};
use taskcore::{
    ChangeBatch, IdempotencyKey, Imported, Inserted, MemberName, OnConflict, Result, Room, RoomCode, RoomSnapshot,
    Task, TaskPage, TaskQuery, TaskStore,
};
use time::OffsetDateTime;

use crate::metrics::{Metrics, STORE_OPERATION_DURATION, TASKS_COMPLETED_TOTAL, TASKS_CREATED_TOTAL};

/// Wraps a store and records the latency and outcome of each call into `metrics`.
#[derive(Debug, Clone)]
pub struct ObservedStore {
    inner: Arc<dyn TaskStore>,
    metrics: Metrics,
}

impl ObservedStore {
    /// Observes `inner`, recording into `metrics`.
    pub fn new(inner: Arc<dyn TaskStore>, metrics: Metrics) -> Self {
        Self { inner, metrics }
    }

    async fn timed<T>(&self, op: &'static str, call: impl Future<Output = Result<T>>) -> Result<T> {
        let started = Instant::now();
        let result = call.await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(taskcore::Error::NotFound(_)) => "not_found",
            Err(taskcore::Error::Invalid { .. }) => "invalid",
            Err(
                taskcore::Error::Conflict { .. }
                | taskcore::Error::AlreadyExists(_)
                | taskcore::Error::IdempotencyKeyReused { .. }
                | taskcore::Error::IdempotentTaskDeleted { .. },
            ) => "conflict",
            Err(taskcore::Error::QuotaExceeded { .. }) => "quota_exceeded",
            Err(taskcore::Error::Unavailable { .. }) => "unavailable",
            Err(taskcore::Error::StorageFull { .. }) => "storage_full",
            Err(_) => "error",
        };
        let elapsed = started.elapsed().as_secs_f64();
        self.metrics.record(|| {
            metrics::histogram!(STORE_OPERATION_DURATION, "backend" => self.inner.backend(), "op" => op, "outcome" => outcome)
                .record(elapsed);
        });
        result
    }
}

#[async_trait]
impl TaskStore for ObservedStore {
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
        self.timed("ping", self.inner.ping()).await
    }

    async fn insert_room(&self, room: &Room) -> Result<()> {
        self.timed("insert_room", self.inner.insert_room(room)).await
    }

    async fn room(&self, code: &RoomCode) -> Result<Room> {
        self.timed("room", self.inner.room(code)).await
    }

    async fn add_member(&self, code: &RoomCode, member: &MemberName, at: OffsetDateTime) -> Result<Room> {
        self.timed("add_member", self.inner.add_member(code, member, at)).await
    }

    async fn insert_task(&self, code: &RoomCode, draft: TaskDraft, key: Option<&IdempotencyKey>) -> Result<Inserted> {
        let inserted = self.timed("insert_task", self.inner.insert_task(code, draft, key)).await?;
        if matches!(inserted, Inserted::Created(_)) {
            self.metrics.record(|| metrics::counter!(TASKS_CREATED_TOTAL).increment(1));
        }
        Ok(inserted)
    }

    async fn task(&self, code: &RoomCode, number: u64) -> Result<Task> {
        self.timed("task", self.inner.task(code, number)).await
    }

    async fn update_task(&self, code: &RoomCode, task: &Task, expected_version: u64, write: TaskWrite) -> Result<Task> {
        let updated = self.timed("update_task", self.inner.update_task(code, task, expected_version, write)).await?;
        if write == TaskWrite::Completed {
            self.metrics.record(|| metrics::counter!(TASKS_COMPLETED_TOTAL).increment(1));
        }
        Ok(updated)
    }

    async fn update_task_with(&self, code: &RoomCode, number: u64, update: &TaskUpdate) -> Result<Updated> {
        let updated = self.timed("update_task", self.inner.update_task_with(code, number, update)).await?;
        if updated.write == Some(TaskWrite::Completed) {
            self.metrics.record(|| metrics::counter!(TASKS_COMPLETED_TOTAL).increment(1));
        }
        Ok(updated)
    }

    async fn delete_task(
        &self,
        code: &RoomCode,
        number: u64,
        expected_version: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<Task> {
        self.timed("delete_task", self.inner.delete_task(code, number, expected_version, at)).await
    }

    async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<TaskPage> {
        self.timed("list_tasks", self.inner.list_tasks(code, query, now)).await
    }

    async fn counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<TaskCounts> {
        self.timed("counts", self.inner.counts(code, now)).await
    }

    async fn changes(&self, code: &RoomCode, since: u64, limit: u32) -> Result<ChangeBatch> {
        self.timed("changes", self.inner.changes(code, since, limit)).await
    }

    async fn latest_seq(&self, code: &RoomCode) -> Result<u64> {
        self.timed("latest_seq", self.inner.latest_seq(code)).await
    }

    async fn room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
        self.timed("room_codes", self.inner.room_codes(after, limit)).await
    }

    async fn snapshot_room(&self, code: &RoomCode) -> Result<RoomSnapshot> {
        self.timed("snapshot_room", self.inner.snapshot_room(code)).await
    }

    async fn import_room(&self, snapshot: RoomSnapshot, on_conflict: OnConflict) -> Result<Imported> {
        self.timed("import_room", self.inner.import_room(snapshot, on_conflict)).await
    }
}
