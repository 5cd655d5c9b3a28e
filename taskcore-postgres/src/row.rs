//! Between domain records and rows: the task columns in the order every `SELECT` names them,
//! decoding rows into [`Task`], [`Room`] and [`Change`], the column values a write binds
//! (precomputed sort and search columns included), and the per-room [`Counters`].

use sqlx::Row;
use sqlx::postgres::PgRow;
use taskcore::store::{NO_DUE_DATE, StateCounts, StoredColumns, from_unix_micros};
use taskcore::{Change, ChangeEvent, MemberName, Priority, Result, Room, RoomCode, Tag, Task};
use uuid::Uuid;

use crate::error::{corrupt, db};

/// The task columns every task read selects, in the order [`task`] decodes them.
pub(crate) const TASK_COLUMNS: &str = "t.number, t.id, t.title, t.description, t.priority, t.due, t.tags, \
     t.assignee, t.completed, t.completed_at, t.created_at, t.updated_at, t.version";

fn col<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    index: usize,
) -> Result<T> {
    row.try_get(index).map_err(db)
}

/// A stored count, number or version (never negative) as `u64`.
pub(crate) fn unsigned(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|e| corrupt("count", e))
}

/// A task number or version as bound in SQL; values beyond `i64` cannot be stored, so they
/// become -1, which matches nothing.
pub(crate) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(-1)
}

/// Decodes the [`TASK_COLUMNS`] starting at column `at`.
pub(crate) fn task(row: &PgRow, at: usize) -> Result<Task> {
    let priority: i64 = col(row, at + 4)?;
    let due: i64 = col(row, at + 5)?;
    let tags: Vec<String> = col(row, at + 6)?;
    let assignee: Option<String> = col(row, at + 7)?;
    let completed_at: Option<i64> = col(row, at + 9)?;
    Ok(Task {
        number: unsigned(col(row, at)?)?,
        id: col::<Uuid>(row, at + 1)?,
        title: col(row, at + 2)?,
        description: col(row, at + 3)?,
        priority: u8::try_from(priority)
            .ok()
            .and_then(Priority::from_rank)
            .ok_or_else(|| corrupt("priority", format!("rank {priority}")))?,
        due_date: if due == NO_DUE_DATE { None } else { Some(from_unix_micros(due)?) },
        tags: tags.iter().map(|tag| Tag::parse(tag)).collect::<Result<_>>().map_err(|e| corrupt("tags", e))?,
        assignee: assignee.map(|name| MemberName::parse(&name)).transpose().map_err(|e| corrupt("assignee", e))?,
        completed: col(row, at + 8)?,
        completed_at: completed_at.map(from_unix_micros).transpose()?,
        created_at: from_unix_micros(col(row, at + 10)?)?,
        updated_at: from_unix_micros(col(row, at + 11)?)?,
        version: unsigned(col(row, at + 12)?)?,
    })
}

/// The `SELECT` list [`room`] decodes, over `rooms AS r`.
pub(crate) const ROOM_COLUMNS: &str = "r.code, r.owner, r.created_at, \
     ARRAY(SELECT m.name FROM members AS m WHERE m.room_id = r.id ORDER BY m.position)";

/// Decodes the [`ROOM_COLUMNS`].
pub(crate) fn room(row: &PgRow) -> Result<Room> {
    let code: String = col(row, 0)?;
    let owner: String = col(row, 1)?;
    let members: Vec<String> = col(row, 3)?;
    Ok(Room {
        code: RoomCode::parse(&code).map_err(|e| corrupt("room code", e))?,
        owner: MemberName::parse(&owner).map_err(|e| corrupt("room owner", e))?,
        created_at: from_unix_micros(col(row, 2)?)?,
        members: members
            .iter()
            .map(|name| MemberName::parse(name))
            .collect::<Result<_>>()
            .map_err(|e| corrupt("members", e))?,
    })
}

/// Decodes `seq, at, event::text` starting at column `at`.
pub(crate) fn change(row: &PgRow, at: usize) -> Result<Change> {
    let event: String = col(row, at + 2)?;
    Ok(Change {
        seq: unsigned(col(row, at)?)?,
        at: from_unix_micros(col(row, at + 1)?)?,
        event: serde_json::from_str::<ChangeEvent>(&event).map_err(|e| corrupt("change", e))?,
    })
}

/// The stored form of a change event (bound as text, cast to `jsonb`).
pub(crate) fn event_json(event: &ChangeEvent) -> Result<String> {
    serde_json::to_string(event).map_err(|e| taskcore::Error::backend("a change event does not encode", e))
}

/// Every column value of a task as stored, precomputed ones included.
#[derive(Debug)]
pub(crate) struct TaskValues {
    pub(crate) number: i64,
    pub(crate) priority: i64,
    pub(crate) due: i64,
    pub(crate) tags: Vec<String>,
    pub(crate) assignee: Option<String>,
    pub(crate) assignee_key: Option<String>,
    pub(crate) completed_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) version: i64,
    pub(crate) title_key: String,
    pub(crate) search: String,
}

impl TaskValues {
    /// The column values of `task`.
    pub(crate) fn of(task: &Task) -> Self {
        let columns = StoredColumns::of(task);
        Self {
            number: signed(task.number),
            priority: columns.priority_rank,
            due: columns.due,
            tags: task.tags.iter().map(|tag| tag.as_str().to_owned()).collect(),
            assignee: task.assignee.as_ref().map(|name| name.as_str().to_owned()),
            assignee_key: columns.assignee_key,
            completed_at: columns.completed_at,
            created_at: columns.created_at,
            updated_at: columns.updated_at,
            version: signed(task.version),
            title_key: columns.title_key,
            search: columns.search,
        }
    }
}

/// The counter columns of `rooms`, in the order of [`Counters::cells`]: pending then completed,
/// each by priority rank.
pub(crate) const COUNTER_COLUMNS: [&str; 6] =
    ["pending_low", "pending_medium", "pending_high", "done_low", "done_medium", "done_high"];

/// The index in [`COUNTER_COLUMNS`] of tasks in this state: taskcore's [`StateCounts::cell`].
pub(crate) fn cell(completed: bool, priority: Priority) -> usize {
    StateCounts::cell(completed, priority)
}

/// A room's tasks by completion and priority, as maintained in its row, or a change to them
/// (cells may be negative in a change); read through [`Counters::state`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Indexed by [`cell`].
    pub(crate) cells: [i64; 6],
}

impl Counters {
    /// A change of one task entering (`+1`) or leaving (`-1`) a state.
    pub(crate) fn one(completed: bool, priority: Priority, by: i64) -> Self {
        let mut counters = Self::default();
        counters.cells[cell(completed, priority)] = by;
        counters
    }

    /// Adds `other` cell by cell.
    pub(crate) fn add(&mut self, other: &Self) {
        for (cell, by) in self.cells.iter_mut().zip(other.cells) {
            *cell += by;
        }
    }

    /// The counters of a room holding exactly `tasks`: each task counted once in its state, as
    /// the creates, updates and deletes that made the room would have left them.
    pub(crate) fn of<'a>(tasks: impl IntoIterator<Item = &'a Task>) -> Self {
        let mut counters = Self::default();
        for task in tasks {
            counters.cells[cell(task.completed, task.priority)] += 1;
        }
        counters
    }

    /// Decodes the six [`COUNTER_COLUMNS`] starting at column `at`.
    pub(crate) fn decode(row: &PgRow, at: usize) -> Result<Self> {
        let mut counters = Self::default();
        for (i, cell) in counters.cells.iter_mut().enumerate() {
            *cell = col(row, at + i)?;
        }
        Ok(counters)
    }

    /// The stored counters as taskcore's [`StateCounts`], from which every count is derived;
    /// a negative counter (a corrupt row) is `Backend`.
    pub(crate) fn state(&self) -> Result<StateCounts> {
        let mut cells = [0; StateCounts::CELLS];
        for (slot, value) in cells.iter_mut().zip(self.cells) {
            *slot = unsigned(value)?;
        }
        Ok(StateCounts::from_cells(cells))
    }
}

#[cfg(test)]
mod tests {
    use taskcore::store::TaskCounts;

    use super::*;

    #[test]
    fn counters_of_tasks_count_each_task_in_its_state() {
        let task = |completed, priority| Task {
            id: uuid::Uuid::nil(),
            number: 1,
            title: "t".into(),
            description: String::new(),
            priority,
            due_date: None,
            tags: vec![],
            assignee: None,
            completed,
            completed_at: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
            version: 1,
        };
        let tasks = [task(false, Priority::High), task(true, Priority::Low), task(false, Priority::High)];
        let counters = Counters::of(&tasks);
        assert_eq!(counters.cells, [0, 0, 2, 1, 0, 0]);
        let now = time::OffsetDateTime::UNIX_EPOCH;
        assert_eq!(counters.state().unwrap().task_counts(0), TaskCounts::of(&tasks, now), "as the domain counts them");
    }

    #[test]
    fn stored_counters_read_as_state_counts_in_column_order() {
        let counters = Counters { cells: [1, 2, 3, 4, 5, 6] };
        let counts = counters.state().unwrap().task_counts(7);
        assert_eq!((counts.total, counts.completed, counts.overdue), (21, 15, 7));
        assert_eq!((counts.by_priority.low, counts.by_priority.medium, counts.by_priority.high), (5, 7, 9));
        assert_eq!(counters.state().unwrap().matching(taskcore::StatusFilter::Pending, Some(Priority::High)), 3);
        assert!(Counters { cells: [0, -1, 0, 0, 0, 0] }.state().is_err(), "a negative counter is corrupt");
    }
}
