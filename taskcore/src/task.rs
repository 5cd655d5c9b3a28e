//! The task record as stored and returned, and the draft a store turns into one by giving it a
//! number.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::priority::Priority;
use crate::room::MemberName;
use crate::tag::Tag;

/// The longest title accepted, in characters (after trimming).
pub const MAX_TITLE_CHARS: usize = 200;

/// The longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// A task of a room.
///
/// `number` is what people and the compatible HTTP API call the task's id: 1, 2, 3… within a room,
/// never reused, also after a delete. `id` is a globally unique UUID v7 that never changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Globally unique, stable id (UUID v7, so ids sort by creation time).
    pub id: Uuid,
    /// The per-room number, allocated by the store at insert.
    pub number: u64,
    /// What to do: trimmed, 1 to [`MAX_TITLE_CHARS`] characters.
    pub title: String,
    /// Details, up to [`MAX_DESCRIPTION_CHARS`] characters; empty when none.
    pub description: String,
    /// How urgent it is.
    pub priority: Priority,
    /// When it is due, in UTC.
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_date: Option<OffsetDateTime>,
    /// Labels, sorted, each once.
    pub tags: Vec<Tag>,
    /// The member it is assigned to, spelled as in the room's member list.
    pub assignee: Option<MemberName>,
    /// Whether it is done.
    pub completed: bool,
    /// When it was last completed; `None` while pending.
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// 1 at creation, bumped by every change; the basis of conditional writes and ETags.
    pub version: u64,
}

impl Task {
    /// Whether the task is pending and its due date is before `now`.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        !self.completed && self.due_date.is_some_and(|due| due < now)
    }

    /// The text that text search looks in: title and description, case-folded. Backends that
    /// keep a search column store exactly this, and match a query's
    /// [`SearchText`](crate::SearchText) as a substring of it.
    pub fn search_text(&self) -> String {
        search_text_of(&self.title, &self.description)
    }
}

/// The case-folded search text of a title and a description (see [`Task::search_text`]).
pub fn search_text_of(title: &str, description: &str) -> String {
    let mut text = title.to_lowercase();
    text.push('\n');
    text.push_str(&description.to_lowercase());
    text
}

/// A validated task that has not been stored yet: everything but its number.
///
/// Made by the [`TaskManager`](crate::TaskManager); a store allocates the next number of the room
/// and calls [`TaskDraft::into_task`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDraft {
    /// See [`Task::id`].
    pub id: Uuid,
    /// See [`Task::title`].
    pub title: String,
    /// See [`Task::description`].
    pub description: String,
    /// See [`Task::priority`].
    pub priority: Priority,
    /// See [`Task::due_date`].
    pub due_date: Option<OffsetDateTime>,
    /// See [`Task::tags`].
    pub tags: Vec<Tag>,
    /// See [`Task::assignee`].
    pub assignee: Option<MemberName>,
    /// See [`Task::created_at`]; also the first `updated_at`.
    pub created_at: OffsetDateTime,
}

impl TaskDraft {
    /// The stored task, numbered `number`, at version 1.
    pub fn into_task(self, number: u64) -> Task {
        Task {
            id: self.id,
            number,
            title: self.title,
            description: self.description,
            priority: self.priority,
            due_date: self.due_date,
            tags: self.tags,
            assignee: self.assignee,
            completed: false,
            completed_at: None,
            created_at: self.created_at,
            updated_at: self.created_at,
            version: 1,
        }
    }
}
