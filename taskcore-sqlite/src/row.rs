//! Between domain records and rows: the task columns in the order every `SELECT` names them,
//! decoding rows into [`Task`], [`Room`] and [`Change`] — from the read pool's sqlx rows and the
//! writer's rusqlite rows alike, through [`Columns`] — and the column values a write binds.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use taskcore::store::{NO_DUE_DATE, StoredColumns, from_unix_micros};
use taskcore::{Change, ChangeEvent, MemberName, Priority, Result, Room, RoomCode, Tag, Task};
use uuid::Uuid;

use crate::error::{corrupt, db, native};

/// The task columns every task read selects, in the order [`task`] decodes them.
pub(crate) const TASK_COLUMNS: &str = "t.number, t.id, t.title, t.description, t.priority, t.due, t.tags, \
     t.assignee, t.completed, t.completed_at, t.created_at, t.updated_at, t.version";

/// How many columns [`TASK_COLUMNS`] names.
pub(crate) const TASK_COLUMN_COUNT: usize = 13;

/// A row of either driver, read by column index: what the decoders below need of it.
pub(crate) trait Columns {
    /// An `INTEGER` column.
    fn int(&self, index: usize) -> Result<i64>;
    /// An `INTEGER` column that may be `NULL`.
    fn opt_int(&self, index: usize) -> Result<Option<i64>>;
    /// A `TEXT` column.
    fn text(&self, index: usize) -> Result<String>;
    /// A `TEXT` column that may be `NULL`.
    fn opt_text(&self, index: usize) -> Result<Option<String>>;
    /// A `BLOB` column.
    fn blob(&self, index: usize) -> Result<Vec<u8>>;
    /// A boolean stored as `INTEGER`.
    fn boolean(&self, index: usize) -> Result<bool> {
        Ok(self.int(index)? != 0)
    }
}

impl Columns for SqliteRow {
    fn int(&self, index: usize) -> Result<i64> {
        self.try_get(index).map_err(db)
    }
    fn opt_int(&self, index: usize) -> Result<Option<i64>> {
        self.try_get(index).map_err(db)
    }
    fn text(&self, index: usize) -> Result<String> {
        self.try_get(index).map_err(db)
    }
    fn opt_text(&self, index: usize) -> Result<Option<String>> {
        self.try_get(index).map_err(db)
    }
    fn blob(&self, index: usize) -> Result<Vec<u8>> {
        self.try_get(index).map_err(db)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn int(&self, index: usize) -> Result<i64> {
        self.get(index).map_err(native)
    }
    fn opt_int(&self, index: usize) -> Result<Option<i64>> {
        self.get(index).map_err(native)
    }
    fn text(&self, index: usize) -> Result<String> {
        self.get(index).map_err(native)
    }
    fn opt_text(&self, index: usize) -> Result<Option<String>> {
        self.get(index).map_err(native)
    }
    fn blob(&self, index: usize) -> Result<Vec<u8>> {
        self.get(index).map_err(native)
    }
}

/// A stored count or number (never negative) as `u64`.
pub(crate) fn unsigned(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|e| corrupt("count", e))
}

/// A task number as bound in SQL; numbers beyond `i64` cannot exist, so they become -1, which
/// matches nothing.
pub(crate) fn number_param(number: u64) -> i64 {
    i64::try_from(number).unwrap_or(-1)
}

/// Decodes the [`TASK_COLUMNS`] starting at column `at`.
pub(crate) fn task(row: &impl Columns, at: usize) -> Result<Task> {
    let id = row.blob(at + 1)?;
    let priority = row.int(at + 4)?;
    let due = row.int(at + 5)?;
    let tags = row.text(at + 6)?;
    let assignee = row.opt_text(at + 7)?;
    let completed_at = row.opt_int(at + 9)?;
    Ok(Task {
        number: unsigned(row.int(at)?)?,
        id: Uuid::from_slice(&id).map_err(|e| corrupt("task id", e))?,
        title: row.text(at + 2)?,
        description: row.text(at + 3)?,
        priority: u8::try_from(priority)
            .ok()
            .and_then(Priority::from_rank)
            .ok_or_else(|| corrupt("priority", format!("rank {priority}")))?,
        due_date: if due == NO_DUE_DATE { None } else { Some(from_unix_micros(due)?) },
        tags: serde_json::from_str::<Vec<Tag>>(&tags).map_err(|e| corrupt("tags", e))?,
        assignee: assignee.map(|name| MemberName::parse(&name)).transpose().map_err(|e| corrupt("assignee", e))?,
        completed: row.boolean(at + 8)?,
        completed_at: completed_at.map(from_unix_micros).transpose()?,
        created_at: from_unix_micros(row.int(at + 10)?)?,
        updated_at: from_unix_micros(row.int(at + 11)?)?,
        version: unsigned(row.int(at + 12)?)?,
    })
}

/// Decodes `code, owner, created_at, members` (members as a JSON array in joining order).
pub(crate) fn room(row: &impl Columns) -> Result<Room> {
    let code = row.text(0)?;
    let owner = row.text(1)?;
    let members = row.text(3)?;
    Ok(Room {
        code: RoomCode::parse(&code).map_err(|e| corrupt("room code", e))?,
        owner: MemberName::parse(&owner).map_err(|e| corrupt("room owner", e))?,
        created_at: from_unix_micros(row.int(2)?)?,
        members: serde_json::from_str(&members).map_err(|e| corrupt("members", e))?,
    })
}

/// The `SELECT` list [`room`] decodes, over `rooms AS r`.
pub(crate) const ROOM_COLUMNS: &str = "r.code, r.owner, r.created_at, \
     (SELECT json_group_array(name) FROM (SELECT name FROM members WHERE room_id = r.id ORDER BY position))";

/// Decodes `seq, at, event`.
pub(crate) fn change(row: &impl Columns) -> Result<Change> {
    let event = row.text(2)?;
    Ok(Change {
        seq: unsigned(row.int(0)?)?,
        at: from_unix_micros(row.int(1)?)?,
        event: serde_json::from_str::<ChangeEvent>(&event).map_err(|e| corrupt("change", e))?,
    })
}

/// The stored form of a change event.
pub(crate) fn event_json(event: &ChangeEvent) -> Result<String> {
    serde_json::to_string(event).map_err(|e| taskcore::Error::backend("a change event does not encode", e))
}

/// Every column value of a task as stored, precomputed ones included.
#[derive(Debug)]
pub(crate) struct TaskValues {
    pub(crate) number: i64,
    pub(crate) id: Vec<u8>,
    pub(crate) priority: i64,
    pub(crate) due: i64,
    pub(crate) tags: String,
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
    pub(crate) fn of(task: &Task) -> Result<Self> {
        let columns = StoredColumns::of(task);
        Ok(Self {
            number: number_param(task.number),
            id: task.id.as_bytes().to_vec(),
            priority: columns.priority_rank,
            due: columns.due,
            tags: serde_json::to_string(&task.tags).map_err(|e| taskcore::Error::backend("tags do not encode", e))?,
            assignee: task.assignee.as_ref().map(|name| name.as_str().to_owned()),
            assignee_key: columns.assignee_key,
            completed_at: columns.completed_at,
            created_at: columns.created_at,
            updated_at: columns.updated_at,
            version: i64::try_from(task.version).map_err(|e| taskcore::Error::backend("version out of range", e))?,
            title_key: columns.title_key,
            search: columns.search,
        })
    }
}
