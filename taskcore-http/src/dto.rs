//! The JSON shapes of the API: what responses look like (compatible with the original Flask
//! service, plus our additions) and what request bodies may carry. Conversions from the domain
//! types live here; no rule does.

use serde::{Deserialize, Serialize};
use taskcore::{Change, ChangeBatch, Room, RoomStats, Task, TaskPage, TimestampText, format_timestamp};
use utoipa::ToSchema;

/// A task as the API shows it. `id` is the per-room number (as in the original API).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TaskJson {
    /// The per-room number: 1, 2, 3…, never reused.
    pub id: u64,
    /// The globally unique, stable id (UUID v7).
    pub uuid: uuid::Uuid,
    /// The title.
    pub title: String,
    /// The description (empty when none).
    pub description: String,
    /// `low`, `medium` or `high`.
    pub priority: String,
    /// RFC 3339 in UTC, or null.
    pub due_date: Option<String>,
    /// Whether the task is done.
    pub completed: bool,
    /// When it was completed (RFC 3339), or null.
    pub completed_at: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// The member it is assigned to, or null.
    pub assignee: Option<String>,
    /// Bumped by every change; also the `ETag`.
    pub version: u64,
}

impl From<Task> for TaskJson {
    fn from(task: Task) -> Self {
        Self {
            id: task.number,
            uuid: task.id,
            title: task.title,
            description: task.description,
            priority: task.priority.as_str().to_owned(),
            due_date: task.due_date.map(format_timestamp),
            completed: task.completed,
            completed_at: task.completed_at.map(format_timestamp),
            created_at: format_timestamp(task.created_at),
            updated_at: format_timestamp(task.updated_at),
            tags: task.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            assignee: task.assignee.map(|a| a.as_str().to_owned()),
            version: task.version,
        }
    }
}

/// A task serialised exactly as [`TaskJson`], straight from the domain record: no copy of
/// its strings, timestamps written without allocating. Listings write thousands of these.
#[derive(Debug, Clone, Copy)]
pub struct TaskRef<'a>(pub &'a Task);

impl Serialize for TaskRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Tags<'a>(&'a [taskcore::Tag]);
        impl Serialize for Tags<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(taskcore::Tag::as_str))
            }
        }
        let stamp = |instant: time::OffsetDateTime| TimestampText::new(instant);
        let task = self.0;
        let mut out = serializer.serialize_struct("TaskJson", 13)?;
        out.serialize_field("id", &task.number)?;
        out.serialize_field("uuid", &task.id)?;
        out.serialize_field("title", &task.title)?;
        out.serialize_field("description", &task.description)?;
        out.serialize_field("priority", task.priority.as_str())?;
        out.serialize_field("due_date", &task.due_date.map(stamp).as_ref().map(TimestampText::as_str))?;
        out.serialize_field("completed", &task.completed)?;
        out.serialize_field("completed_at", &task.completed_at.map(stamp).as_ref().map(TimestampText::as_str))?;
        out.serialize_field("created_at", stamp(task.created_at).as_str())?;
        out.serialize_field("updated_at", stamp(task.updated_at).as_str())?;
        out.serialize_field("tags", &Tags(&task.tags))?;
        out.serialize_field("assignee", &task.assignee.as_ref().map(taskcore::MemberName::as_str))?;
        out.serialize_field("version", &task.version)?;
        out.end()
    }
}

/// A room with its tasks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoomJson {
    /// The room code.
    pub code: String,
    /// Who created it.
    pub owner: String,
    /// Members in joining order.
    pub members: Vec<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// The room's tasks by number.
    pub tasks: Vec<TaskJson>,
}

impl RoomJson {
    /// The room with these tasks.
    pub fn new(room: Room, tasks: Vec<Task>) -> Self {
        Self {
            code: room.code.to_string(),
            owner: room.owner.to_string(),
            members: room.members.iter().map(ToString::to_string).collect(),
            created_at: format_timestamp(room.created_at),
            tasks: tasks.into_iter().map(TaskJson::from).collect(),
        }
    }
}

/// `POST /rooms` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedRoom {
    /// The new room's code.
    pub room_code: String,
    /// The new room.
    pub room: RoomJson,
}

/// Answer of joins.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JoinedRoom {
    /// What happened.
    pub message: String,
    /// The room after the join.
    pub room: RoomJson,
}

/// `POST /rooms` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateRoomBody {
    /// The owner's name.
    pub username: Option<String>,
}

/// Body of joins; `room_code` only for `POST /rooms/join`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct JoinRoomBody {
    /// The room to join (only for `POST /rooms/join`).
    pub room_code: Option<String>,
    /// The member's name.
    pub username: Option<String>,
}

/// `POST /tasks` body: the keys of [`taskcore::NewTask::FIELDS`] plus `room_code`, which only
/// the HTTP layer reads (`tests/openapi_and_metrics.rs` checks that they stay the same).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateTaskBody {
    /// The room, when not given as `?room=`.
    pub room_code: Option<String>,
    /// Required; 1 to 200 characters.
    pub title: Option<String>,
    /// Up to 10,000 characters.
    pub description: Option<String>,
    /// `low`, `medium` (default) or `high`.
    pub priority: Option<String>,
    /// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (UTC) or RFC 3339.
    pub due_date: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// A member of the room.
    pub assignee: Option<String>,
}

impl CreateTaskBody {
    /// The domain input.
    pub fn into_new_task(self) -> taskcore::NewTask {
        taskcore::NewTask {
            title: self.title,
            description: self.description,
            priority: self.priority,
            due_date: self.due_date,
            tags: self.tags,
            assignee: self.assignee,
        }
    }
}

/// `PUT /tasks/{id}` body, for the API description: an absent field is unchanged, `null`
/// clears it. (Deserialised as [`taskcore::TaskPatch`]; its properties are
/// [`taskcore::TaskPatch::FIELDS`], which `tests/openapi_and_metrics.rs` checks.)
#[derive(Debug, Default, Deserialize, ToSchema)]
#[allow(dead_code)] // read by utoipa only
pub struct UpdateTaskBody {
    /// New title (cannot be null).
    title: Option<String>,
    /// New description; null empties it.
    description: Option<String>,
    /// New priority; null resets to medium.
    priority: Option<String>,
    /// New due date; null removes it.
    due_date: Option<String>,
    /// New tags; null removes all.
    tags: Option<Vec<String>>,
    /// New assignee; null unassigns.
    assignee: Option<String>,
    /// Completion.
    completed: Option<bool>,
    /// Apply only if the task is at this version (409 otherwise). `If-Match` does the same
    /// with 412.
    expected_version: Option<u64>,
}

/// A message with a task.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskMessage {
    /// What happened.
    pub message: String,
    /// The task.
    pub task: TaskJson,
}

/// `DELETE /tasks/{id}` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeletedTask {
    /// What happened.
    pub message: String,
    /// The task as it was.
    pub deleted_task: TaskJson,
}

/// `GET /tasks` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskList {
    /// The tasks of this page.
    pub tasks: Vec<TaskJson>,
    /// How many tasks pass the filters.
    pub total: u64,
    /// How many tasks the room has.
    pub total_all: u64,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<TaskPage> for TaskList {
    fn from(page: TaskPage) -> Self {
        Self {
            tasks: page.items.into_iter().map(TaskJson::from).collect(),
            total: page.matched,
            total_all: page.total,
            next_cursor: page.next_cursor.map(|c| c.encode()),
        }
    }
}

/// `GET /tasks/stats` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatsJson {
    /// All tasks.
    pub total_tasks: u64,
    /// Completed tasks.
    pub completed_tasks: u64,
    /// Pending tasks.
    pub pending_tasks: u64,
    /// Pending tasks past their due date.
    pub overdue_tasks: u64,
    /// Percentage completed, 2 decimals.
    pub completion_rate: f64,
    /// Tasks by priority.
    pub by_priority: PriorityCountsJson,
}

/// Tasks by priority.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PriorityCountsJson {
    /// Low.
    pub low: u64,
    /// Medium.
    pub medium: u64,
    /// High.
    pub high: u64,
}

impl From<RoomStats> for StatsJson {
    fn from(stats: RoomStats) -> Self {
        Self {
            total_tasks: stats.total,
            completed_tasks: stats.completed,
            pending_tasks: stats.pending,
            overdue_tasks: stats.overdue,
            completion_rate: stats.completion_rate,
            by_priority: PriorityCountsJson {
                low: stats.by_priority.low,
                medium: stats.by_priority.medium,
                high: stats.by_priority.high,
            },
        }
    }
}

/// One change of a room's feed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangeJson {
    /// The room's sequence number of the change.
    pub seq: u64,
    /// When (RFC 3339).
    pub at: String,
    /// `task_created`, `task_updated`, `task_completed`, `task_reopened`, `task_deleted`,
    /// `member_joined`.
    pub kind: String,
    /// The task after the change (not for deletes and joins).
    pub task: Option<TaskJson>,
    /// The task number (also for deletes).
    pub task_id: Option<u64>,
    /// The joining member.
    pub member: Option<String>,
}

impl From<Change> for ChangeJson {
    fn from(change: Change) -> Self {
        use taskcore::ChangeEvent as E;
        let task_id = change.event.task_number();
        let (kind, task, member) = match change.event {
            E::TaskCreated { task } => ("task_created", Some(task), None),
            E::TaskUpdated { task } => ("task_updated", Some(task), None),
            E::TaskCompleted { task } => ("task_completed", Some(task), None),
            E::TaskReopened { task } => ("task_reopened", Some(task), None),
            E::TaskDeleted { .. } => ("task_deleted", None, None),
            E::MemberJoined { member } => ("member_joined", None, Some(member.to_string())),
        };
        Self {
            seq: change.seq,
            at: format_timestamp(change.at),
            kind: kind.to_owned(),
            task: task.map(TaskJson::from),
            task_id,
            member,
        }
    }
}

/// `GET /rooms/{code}/changes` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangesJson {
    /// Changes after `since`, oldest first.
    pub changes: Vec<ChangeJson>,
    /// The room's newest sequence number.
    pub latest: u64,
}

impl From<ChangeBatch> for ChangesJson {
    fn from(batch: ChangeBatch) -> Self {
        Self { changes: batch.changes.into_iter().map(ChangeJson::from).collect(), latest: batch.latest }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_ref_serialises_exactly_as_task_json() {
        let store_draft = taskcore::NewTask::titled("Write \"it\" ✓")
            .description("line\nnext")
            .priority("high")
            .due_date("2026-12-01T10:30:00.123456+02:00")
            .tags(["b", "a"]);
        let at = time::macros::datetime!(2026-03-10 12:00:00.5 UTC);
        let mut task = store_draft.validate(at).unwrap().into_task(7);
        task.completed = true;
        task.completed_at = Some(at);
        task.assignee = Some("bob".parse().unwrap());
        let by_ref = serde_json::to_string(&TaskRef(&task)).unwrap();
        let by_value = serde_json::to_string(&TaskJson::from(task.clone())).unwrap();
        assert_eq!(by_ref, by_value);
        task.due_date = None;
        task.completed_at = None;
        task.assignee = None;
        task.tags.clear();
        assert_eq!(
            serde_json::to_string(&TaskRef(&task)).unwrap(),
            serde_json::to_string(&TaskJson::from(task)).unwrap()
        );
    }
}
