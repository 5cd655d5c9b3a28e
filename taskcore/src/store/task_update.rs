//! [`TaskUpdate`] and what it did, [`Updated`]: a validated partial update on its way to a store, with the version it is
//! conditional on and its instant — the domain's decision of what an update does to the task it
//! finds, carried into the store so that a backend which serialises a room's writes can read the
//! task and write it back in one operation ([`TaskStore::update_task_with`](super::TaskStore::update_task_with)).

use time::OffsetDateTime;

use crate::changes::TaskWrite;
use crate::error::{Error, Result};
use crate::input::ValidPatch;
use crate::task::Task;

/// A partial update of one task: its validated fields, the version the caller expects (if any)
/// and the instant it is made at.
///
/// ```
/// use taskcore::store::TaskUpdate;
/// use taskcore::{NewTask, TaskPatch, Patch};
/// let now = time::macros::datetime!(2026-03-10 12:00 UTC);
/// let task = NewTask::titled("Draft").validate(now)?.into_task(1);
/// let patch = TaskPatch { title: Patch::Set("Final".into()), ..TaskPatch::default() }.validate()?;
/// let (next, _write) = TaskUpdate::new(patch.clone(), None, now).apply(&task)?.expect("a change");
/// assert_eq!((next.title.as_str(), next.version), ("Final", 2));
/// assert!(TaskUpdate::new(patch, Some(7), now).apply(&task).is_err(), "version 1 is not 7");
/// # Ok::<(), taskcore::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskUpdate {
    patch: ValidPatch,
    expected: Option<u64>,
    at: OffsetDateTime,
}

impl TaskUpdate {
    /// `patch`, conditional on the task being at version `expected` when given, made at `at`.
    pub fn new(patch: ValidPatch, expected: Option<u64>, at: OffsetDateTime) -> Self {
        Self { patch, expected, at }
    }

    /// The version the update is conditional on, if any.
    pub fn expected_version(&self) -> Option<u64> {
        self.expected
    }

    /// What the update does to `current`, the task as stored now: the next task (version
    /// bumped) and the kind of write, or `None` when it changes nothing.
    ///
    /// - `current` is not at the expected version → `Conflict`.
    pub fn apply(&self, current: &Task) -> Result<Option<(Task, TaskWrite)>> {
        if let Some(expected) = self.expected
            && expected != current.version
        {
            return Err(Error::Conflict { expected, current: current.version });
        }
        Ok(self.patch.apply(current, self.at))
    }
}

/// What [`TaskStore::update_task_with`](super::TaskStore::update_task_with) did: the task as it
/// is now, and the kind of write recorded — `None` when the update changed nothing (and no
/// change was recorded).
#[derive(Debug, Clone)]
pub struct Updated {
    /// The task after the update.
    pub task: Task,
    /// The change recorded, if any.
    pub write: Option<TaskWrite>,
}
