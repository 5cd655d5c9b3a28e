//! The write operations of the store as SQL on the writer's own connection (rusqlite, on the
//! writer's thread: a statement is a function call, not a hand-off to another thread). Each runs
//! inside the savepoint the [writer](crate::writer) opens for it, so an error leaves nothing
//! behind; number and sequence allocation happen in the same transaction as the write they
//! number. Every statement is prepared once and kept in the connection's statement cache.

use rusqlite::{Connection, OptionalExtension, ToSql, params};
use taskcore::store::{TaskDraft, TaskUpdate, TaskWrite, Updated, replay, unix_micros};
use taskcore::{
    ChangeEvent, Error, IdempotencyKey, Imported, Inserted, MemberName, OnConflict, Quota, Result, Room, RoomCode,
    RoomSnapshot, Task,
};
use time::OffsetDateTime;

use crate::error::native;
use crate::row::{self, ROOM_COLUMNS, TASK_COLUMNS, TaskValues, event_json, number_param};
use crate::transfer;

/// A write the writer runs for a caller, and the type of its answer: the writer hands each
/// caller exactly its operation's output, with no answer of another kind to rule out.
pub(crate) trait Write: Send + std::fmt::Debug + 'static {
    /// What the caller gets once the transaction holding the write has committed.
    type Output: Send + 'static;

    /// The room whose change feed this write may append to (for retention).
    fn feed(&self) -> Option<&RoomCode>;

    /// Runs the write on the writer's connection, inside its savepoint.
    fn apply(&self, conn: &Connection) -> Result<Self::Output>;
}

/// [`taskcore::TaskStore::insert_room`].
#[derive(Debug)]
pub(crate) struct InsertRoom(pub(crate) Room);

impl Write for InsertRoom {
    type Output = ();

    fn feed(&self) -> Option<&RoomCode> {
        None
    }

    fn apply(&self, conn: &Connection) -> Result<()> {
        insert_room(conn, &self.0)
    }
}

/// [`taskcore::TaskStore::add_member`], with the room's member quota.
#[derive(Debug)]
pub(crate) struct AddMember {
    pub(crate) code: RoomCode,
    pub(crate) member: MemberName,
    pub(crate) at: OffsetDateTime,
    pub(crate) quota: u64,
}

impl Write for AddMember {
    type Output = Room;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    fn apply(&self, conn: &Connection) -> Result<Room> {
        add_member(conn, &self.code, &self.member, self.at, self.quota)
    }
}

/// [`taskcore::TaskStore::insert_task`], with the room's task quota.
#[derive(Debug)]
pub(crate) struct InsertTask {
    pub(crate) code: RoomCode,
    pub(crate) draft: TaskDraft,
    pub(crate) key: Option<IdempotencyKey>,
    pub(crate) quota: u64,
}

impl Write for InsertTask {
    type Output = Inserted;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    fn apply(&self, conn: &Connection) -> Result<Inserted> {
        insert_task(conn, &self.code, &self.draft, self.key.as_ref(), self.quota)
    }
}

/// [`taskcore::TaskStore::update_task`].
#[derive(Debug)]
pub(crate) struct UpdateTask {
    pub(crate) code: RoomCode,
    pub(crate) task: Task,
    pub(crate) expected: u64,
    pub(crate) write: TaskWrite,
}

impl Write for UpdateTask {
    type Output = Task;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    fn apply(&self, conn: &Connection) -> Result<Task> {
        update_task(conn, &self.code, &self.task, self.expected, self.write)
    }
}

/// [`taskcore::TaskStore::update_task_with`]: the task is read and written back in the writer, in
/// one operation of the batch — nothing can come between, so there is no race to retry.
#[derive(Debug)]
pub(crate) struct PatchTask {
    pub(crate) code: RoomCode,
    pub(crate) number: u64,
    pub(crate) update: TaskUpdate,
}

impl Write for PatchTask {
    type Output = Updated;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    fn apply(&self, conn: &Connection) -> Result<Updated> {
        let room = room_id(conn, &self.code)?;
        let current = load_task(conn, room, number_param(self.number))?
            .ok_or_else(|| Error::task_not_found(&self.code, self.number))?;
        let Some((next, write)) = self.update.apply(&current)? else {
            return Ok(Updated { task: current, write: None });
        };
        let task = update_task(conn, &self.code, &next, current.version, write)?;
        Ok(Updated { task, write: Some(write) })
    }
}

/// [`taskcore::TaskStore::delete_task`].
#[derive(Debug)]
pub(crate) struct DeleteTask {
    pub(crate) code: RoomCode,
    pub(crate) number: u64,
    pub(crate) expected: Option<u64>,
    pub(crate) at: OffsetDateTime,
}

impl Write for DeleteTask {
    type Output = Task;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    fn apply(&self, conn: &Connection) -> Result<Task> {
        delete_task(conn, &self.code, self.number, self.expected, self.at)
    }
}

/// [`taskcore::TaskStore::import_room`], with a snapshot that passed [`RoomSnapshot::check`].
#[derive(Debug)]
pub(crate) struct ImportRoom {
    pub(crate) snapshot: RoomSnapshot,
    pub(crate) on_conflict: OnConflict,
}

impl Write for ImportRoom {
    type Output = Imported;

    /// An import appends no change: its feed starts empty at the imported sequence.
    fn feed(&self) -> Option<&RoomCode> {
        None
    }

    fn apply(&self, conn: &Connection) -> Result<Imported> {
        transfer::import(conn, &self.snapshot, self.on_conflict)
    }
}

/// A failure made to order, for the writer's isolation tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// Before any SQL, as an operation whose values do not encode.
    BeforeSql,
    /// On a statement that does not compile.
    BadStatement,
    /// Inside its savepoint, on a constraint, after a write of its own.
    Constraint,
    /// Inside its savepoint, ending the whole transaction (as SQLite does on some I/O errors).
    EndsTransaction,
    /// The same, with an error of the database's condition (full, I/O, busy): `Unavailable`.
    EndsTransactionOnACondition,
}

#[cfg(test)]
impl Write for Fault {
    type Output = ();

    fn feed(&self) -> Option<&RoomCode> {
        None
    }

    fn apply(&self, conn: &Connection) -> Result<()> {
        match self {
            Fault::BeforeSql => return Err(Error::backend("a value does not encode", "made to order")),
            Fault::BadStatement => conn.execute_batch("SELEC 1").map_err(native)?,
            Fault::Constraint => conn
                .execute_batch(
                    "UPDATE rooms SET last_seq = last_seq + 1000; \
                     INSERT INTO rooms (id, code, owner, created_at) SELECT id, code, owner, 0 FROM rooms",
                )
                .map_err(native)?,
            Fault::EndsTransaction => conn.execute_batch("ROLLBACK").map_err(native)?,
            Fault::EndsTransactionOnACondition => {
                conn.execute_batch("ROLLBACK").map_err(native)?;
                return Err(Error::unavailable("the disk is full", "made to order"));
            }
        }
        Err(Error::backend("the transaction was ended", "made to order"))
    }
}

fn insert_room(conn: &Connection, room: &Room) -> Result<()> {
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO rooms (code, owner, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (code) DO NOTHING RETURNING id",
        )
        .map_err(native)?
        .query_row(params![room.code.as_str(), room.owner.as_str(), unix_micros(room.created_at)], |row| row.get(0))
        .optional()
        .map_err(native)?;
    let id = id.ok_or_else(|| Error::room_exists(&room.code))?;
    let mut insert = conn
        .prepare_cached("INSERT INTO members (room_id, position, name, name_key) VALUES (?1, ?2, ?3, ?4)")
        .map_err(native)?;
    for (position, member) in (1_i64..).zip(&room.members) {
        insert.execute(params![id, position, member.as_str(), member.key()]).map_err(native)?;
    }
    Ok(())
}

fn room_id(conn: &Connection, code: &RoomCode) -> Result<i64> {
    conn.prepare_cached("SELECT id FROM rooms WHERE code = ?1")
        .map_err(native)?
        .query_row([code.as_str()], |row| row.get(0))
        .optional()
        .map_err(native)?
        .ok_or_else(|| Error::room_not_found(code))
}

/// Allocates the room's next change sequence number: `(room id, seq)`.
fn next_seq(conn: &Connection, code: &RoomCode) -> Result<(i64, i64)> {
    conn.prepare_cached("UPDATE rooms SET last_seq = last_seq + 1 WHERE code = ?1 RETURNING id, last_seq")
        .map_err(native)?
        .query_row([code.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(native)?
        .ok_or_else(|| Error::room_not_found(code))
}

fn append(conn: &Connection, room: i64, seq: i64, at: OffsetDateTime, event: &ChangeEvent) -> Result<()> {
    conn.prepare_cached("INSERT INTO changes (room_id, seq, at, event) VALUES (?1, ?2, ?3, ?4)")
        .map_err(native)?
        .execute(params![room, seq, unix_micros(at), event_json(event)?])
        .map_err(native)?;
    Ok(())
}

fn add_member(conn: &Connection, code: &RoomCode, member: &MemberName, at: OffsetDateTime, quota: u64) -> Result<Room> {
    let id = room_id(conn, code)?;
    // Counting the members and adding one is a single statement: a full room adds nobody.
    let added = conn
        .prepare_cached(
            "INSERT INTO members (room_id, position, name, name_key) \
             SELECT ?1, COALESCE(MAX(position), 0) + 1, ?2, ?3 FROM members WHERE room_id = ?1 \
             HAVING COUNT(*) < ?4 \
             ON CONFLICT DO NOTHING",
        )
        .map_err(native)?
        .execute(params![id, member.as_str(), member.key(), limit_param(quota)])
        .map_err(native)?
        == 1;
    if added {
        let (id, seq) = next_seq(conn, code)?;
        append(conn, id, seq, at, &ChangeEvent::MemberJoined { member: member.clone() })?;
    } else {
        let known = conn
            .prepare_cached("SELECT 1 FROM members WHERE room_id = ?1 AND name_key = ?2")
            .map_err(native)?
            .exists(params![id, member.key()])
            .map_err(native)?;
        if !known {
            return Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit: quota });
        }
    }
    conn.prepare_cached(&format!("SELECT {ROOM_COLUMNS} FROM rooms AS r WHERE r.id = ?1"))
        .map_err(native)?
        .query_row([id], |row| Ok(row::room(row)))
        .map_err(native)?
}

fn load_task(conn: &Connection, room: i64, number: i64) -> Result<Option<Task>> {
    conn.prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks AS t WHERE t.room_id = ?1 AND t.number = ?2"))
        .map_err(native)?
        .query_row([room, number], |row| Ok(row::task(row, 0)))
        .optional()
        .map_err(native)?
        .transpose()
}

/// The columns a task write sets, in the order [`task_params`] gives their values.
pub(crate) const TASK_SET: &str = "id, title, description, priority, due, tags, assignee, assignee_key, completed, \
     completed_at, created_at, updated_at, version, title_key, search";

/// `?` for each of [`TASK_SET`].
pub(crate) const TASK_SET_PARAMS: &str = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";

/// The [`TASK_SET`] values of `task`, in order.
pub(crate) fn task_params<'a>(task: &'a Task, values: &'a TaskValues) -> [&'a dyn ToSql; 15] {
    [
        &values.id,
        &task.title,
        &task.description,
        &values.priority,
        &values.due,
        &values.tags,
        &values.assignee,
        &values.assignee_key,
        &task.completed,
        &values.completed_at,
        &values.created_at,
        &values.updated_at,
        &values.version,
        &values.title_key,
        &values.search,
    ]
}

fn insert_task(
    conn: &Connection,
    code: &RoomCode,
    draft: &TaskDraft,
    key: Option<&IdempotencyKey>,
    quota: u64,
) -> Result<Inserted> {
    if let Some(key) = key {
        let used: Option<(i64, Option<i64>, Option<String>)> = conn
            .prepare_cached(
                "SELECT r.id, k.number, k.fingerprint FROM rooms AS r \
                 LEFT JOIN idempotency_keys AS k ON k.room_id = r.id AND k.key = ?1 WHERE r.code = ?2",
            )
            .map_err(native)?
            .query_row([key.as_str(), code.as_str()], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .optional()
            .map_err(native)?;
        let (room, used, fingerprint) = used.ok_or_else(|| Error::room_not_found(code))?;
        if let Some(number) = used {
            let task = load_task(conn, room, number)?;
            return replay(key, fingerprint.as_deref(), &draft.fingerprint(), task, row::unsigned(number)?);
        }
    }
    // Count the room's tasks against the quota and allocate the number and the sequence in one
    // statement: an unknown or full room updates nothing.
    let allocated: Option<(i64, i64, i64)> = conn
        .prepare_cached(
            "UPDATE rooms SET last_number = last_number + 1, last_seq = last_seq + 1 \
             WHERE code = ?1 AND (SELECT SUM(n) FROM task_counts WHERE room_id = rooms.id) < ?2 \
             RETURNING id, last_number, last_seq",
        )
        .map_err(native)?
        .query_row(params![code.as_str(), limit_param(quota)], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()
        .map_err(native)?;
    let Some((room, number, seq)) = allocated else {
        let _room = room_id(conn, code)?;
        return Err(Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit: quota });
    };
    let task = draft.clone().into_task(row::unsigned(number)?);
    let values = TaskValues::of(&task)?;
    let mut insert = conn
        .prepare_cached(&format!("INSERT INTO tasks (room_id, number, {TASK_SET}) VALUES (?, ?, {TASK_SET_PARAMS})"))
        .map_err(native)?;
    let head: [&dyn ToSql; 2] = [&room, &number];
    insert.execute(rusqlite::params_from_iter(head.into_iter().chain(task_params(&task, &values)))).map_err(native)?;
    if let Some(key) = key {
        conn.prepare_cached("INSERT INTO idempotency_keys (room_id, key, number, fingerprint) VALUES (?1, ?2, ?3, ?4)")
            .map_err(native)?
            .execute(params![room, key.as_str(), number, draft.fingerprint().as_str()])
            .map_err(native)?;
    }
    append(conn, room, seq, task.created_at, &ChangeEvent::TaskCreated { task: task.clone() })?;
    Ok(Inserted::Created(task))
}

/// A quota as bound in SQL (quotas beyond `i64` are no limit).
fn limit_param(quota: u64) -> i64 {
    i64::try_from(quota).unwrap_or(i64::MAX)
}

/// Why a write to task `number` of the room touched no row: the room or the task is gone, or
/// the task moved on from `expected`.
fn missed(conn: &Connection, code: &RoomCode, number: u64, expected: u64) -> Error {
    let found: Result<Option<Option<i64>>> = conn
        .prepare_cached(
            "SELECT t.version FROM rooms AS r LEFT JOIN tasks AS t ON t.room_id = r.id AND t.number = ?2 \
             WHERE r.code = ?1",
        )
        .and_then(|mut query| {
            query.query_row(params![code.as_str(), number_param(number)], |row| row.get(0)).optional()
        })
        .map_err(native);
    match found {
        Ok(None) => Error::room_not_found(code),
        Ok(Some(None)) => Error::task_not_found(code, number),
        Ok(Some(Some(current))) => match row::unsigned(current) {
            Ok(current) => Error::Conflict { expected, current },
            Err(e) => e,
        },
        Err(e) => e,
    }
}

fn update_task(conn: &Connection, code: &RoomCode, task: &Task, expected: u64, write: TaskWrite) -> Result<Task> {
    let values = TaskValues::of(task)?;
    let event = ChangeEvent::of_task_write(write, task.clone());
    let expected_param = i64::try_from(expected).unwrap_or(-1);
    let code_param = code.as_str();
    let tail: [&dyn ToSql; 3] = [&code_param, &values.number, &expected_param];
    let updated = conn
        .prepare_cached(&format!(
            "UPDATE tasks SET ({TASK_SET}) = ({TASK_SET_PARAMS}) \
             WHERE room_id = (SELECT id FROM rooms WHERE code = ?) AND number = ? AND version = ?"
        ))
        .map_err(native)?
        .execute(rusqlite::params_from_iter(task_params(task, &values).into_iter().chain(tail)))
        .map_err(native)?;
    if updated != 1 {
        return Err(missed(conn, code, task.number, expected));
    }
    let (room, seq) = next_seq(conn, code)?;
    append(conn, room, seq, task.updated_at, &event)?;
    Ok(task.clone())
}

fn delete_task(
    conn: &Connection,
    code: &RoomCode,
    number: u64,
    expected: Option<u64>,
    at: OffsetDateTime,
) -> Result<Task> {
    let deleted = conn
        .prepare_cached(&format!(
            "DELETE FROM tasks WHERE room_id = (SELECT id FROM rooms WHERE code = ?1) AND number = ?2 \
             AND (?3 IS NULL OR version = ?3) RETURNING {}",
            TASK_COLUMNS.replace("t.", "")
        ))
        .map_err(native)?
        .query_row(
            params![code.as_str(), number_param(number), expected.map(|v| i64::try_from(v).unwrap_or(-1))],
            |row| Ok(row::task(row, 0)),
        )
        .optional()
        .map_err(native)?;
    let Some(task) = deleted else {
        return Err(missed(conn, code, number, expected.unwrap_or(0)));
    };
    let task = task?;
    let (room, seq) = next_seq(conn, code)?;
    append(conn, room, seq, at, &ChangeEvent::TaskDeleted { number, id: task.id })?;
    Ok(task)
}
