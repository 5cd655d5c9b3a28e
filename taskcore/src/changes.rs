//! The change feed: what happened in a room, numbered by a per-room sequence so that readers
//! (live updates, webhooks, sync) can follow a room with `changes(room, since, limit)`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::room::MemberName;
use crate::task::Task;

/// How many changes a store keeps per room unless configured otherwise.
pub const DEFAULT_CHANGE_RETENTION: u64 = 10_000;

/// The most changes one read returns.
pub const MAX_CHANGES_PER_READ: u32 = 1_000;

/// One entry of a room's change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The room's sequence number of this change: 1 for its first change, then +1 per change,
    /// never reused.
    pub seq: u64,
    /// When the change was made.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What changed.
    #[serde(flatten)]
    pub event: ChangeEvent,
}

/// What a change did. Task events carry the task as it was after the change; a delete carries
/// a tombstone (number and id) only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeEvent {
    /// A task was created.
    TaskCreated {
        /// The new task.
        task: Task,
    },
    /// A task's fields changed (other than completion).
    TaskUpdated {
        /// The task after the change.
        task: Task,
    },
    /// A pending task was completed (possibly with other fields changed at the same time).
    TaskCompleted {
        /// The task after the change.
        task: Task,
    },
    /// A completed task was marked pending again.
    TaskReopened {
        /// The task after the change.
        task: Task,
    },
    /// A task was deleted. Its number is never given to another task.
    TaskDeleted {
        /// The deleted task's number.
        number: u64,
        /// The deleted task's id.
        id: Uuid,
    },
    /// Someone joined the room.
    MemberJoined {
        /// The new member.
        member: MemberName,
    },
}

impl ChangeEvent {
    /// The event of a task write of `kind`.
    pub fn of_task_write(kind: TaskWrite, task: Task) -> Self {
        match kind {
            TaskWrite::Updated => Self::TaskUpdated { task },
            TaskWrite::Completed => Self::TaskCompleted { task },
            TaskWrite::Reopened => Self::TaskReopened { task },
        }
    }

    /// The number of the task this event is about, if it is about a task.
    pub fn task_number(&self) -> Option<u64> {
        match self {
            Self::TaskCreated { task }
            | Self::TaskUpdated { task }
            | Self::TaskCompleted { task }
            | Self::TaskReopened { task } => Some(task.number),
            Self::TaskDeleted { number, .. } => Some(*number),
            Self::MemberJoined { .. } => None,
        }
    }
}

/// The kind of an update to an existing task, decided by the domain and recorded by the store
/// in the change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskWrite {
    /// Fields other than completion changed.
    Updated,
    /// The task went from pending to completed.
    Completed,
    /// The task went from completed to pending.
    Reopened,
}

/// One read of a room's change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeBatch {
    /// The changes after the requested sequence, oldest first, at most the requested limit.
    pub changes: Vec<Change>,
    /// The room's newest sequence number at the time of the read (0 before its first change).
    /// When the last returned change has this sequence, the reader is up to date.
    pub latest: u64,
}

/// The rule every store applies before reading a feed: `since` must not be beyond `latest`, and
/// the change right after `since` must still be kept. `oldest_kept` is the sequence number of
/// the oldest change the store still has (`None` when it has none).
pub fn check_since(since: u64, oldest_kept: Option<u64>, latest: u64) -> crate::Result<()> {
    if since > latest {
        return Err(crate::Error::invalid("since", format!("{since} is beyond the room's latest change {latest}")));
    }
    match oldest_kept {
        Some(oldest) if since.saturating_add(1) < oldest => Err(crate::Error::ResyncNeeded { since, oldest, latest }),
        None if since < latest => Err(crate::Error::ResyncNeeded { since, oldest: latest.saturating_add(1), latest }),
        _ => Ok(()),
    }
}

/// The sequence numbers a feed keeps after appending change `latest` with `retention`: changes
/// with a sequence number below the returned one are dropped.
pub fn first_kept_seq(latest: u64, retention: u64) -> u64 {
    latest.saturating_sub(retention.max(1)).saturating_add(1)
}
