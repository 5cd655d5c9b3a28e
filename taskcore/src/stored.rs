//! [`StoredColumns`]: the values a backend keeps beside a task so that it can filter, sort and
//! count natively — each computed once, here, by the same definitions the domain's reference
//! semantics use ([`Task::sort_value`]'s keys, [`search_text_of`], [`MemberName::key`]), so
//! that no backend can drift from them.

use crate::clock::unix_micros;
use crate::room::MemberName;
use crate::task::{Task, search_text_of};

/// The derived values of one task, as every backend stores them (SQL columns, Redis hash
/// fields and index members).
///
/// ```
/// use taskcore::store::{NO_DUE_DATE, StoredColumns};
/// let task = taskcore::NewTask::titled("Ship IT").priority("high").assignee("Bob")
///     .validate(time::macros::datetime!(2026-03-10 12:00 UTC))?.into_task(1);
/// let columns = StoredColumns::of(&task);
/// assert_eq!((columns.title_key.as_str(), columns.priority_rank, columns.due), ("ship it", 2, NO_DUE_DATE));
/// assert_eq!(columns.assignee_key.as_deref(), Some("bob"));
/// # Ok::<(), taskcore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredColumns {
    /// The priority's rank (low 0, medium 1, high 2): the
    /// [`SortKey::Priority`](crate::SortKey::Priority) value.
    pub priority_rank: i64,
    /// The due instant in microseconds, [`NO_DUE_DATE`](crate::store::NO_DUE_DATE) when none:
    /// the [`SortKey::Due`](crate::SortKey::Due) value ([`Task::due_key`]).
    pub due: i64,
    /// The case-folded title: the [`SortKey::Title`](crate::SortKey::Title) value
    /// ([`Task::title_key`]).
    pub title_key: String,
    /// The creation instant in microseconds: the [`SortKey::Created`](crate::SortKey::Created)
    /// value.
    pub created_at: i64,
    /// The last change's instant in microseconds.
    pub updated_at: i64,
    /// The completion instant in microseconds, while completed.
    pub completed_at: Option<i64>,
    /// The assignee's case-folded name ([`MemberName::key`]), which the assignee filter matches.
    pub assignee_key: Option<String>,
    /// The case-folded title and description that text search looks in ([`search_text_of`]).
    pub search: String,
}

impl StoredColumns {
    /// The derived values of `task`.
    pub fn of(task: &Task) -> Self {
        Self {
            priority_rank: i64::from(task.priority.rank()),
            due: task.due_key(),
            title_key: task.title_key(),
            created_at: unix_micros(task.created_at),
            updated_at: unix_micros(task.updated_at),
            completed_at: task.completed_at.map(unix_micros),
            assignee_key: task.assignee.as_ref().map(MemberName::key),
            search: search_text_of(&task.title, &task.description),
        }
    }
}
