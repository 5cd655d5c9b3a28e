//! The write operations of the store as SQL on the writer's connection. Each runs inside the
//! savepoint the [writer](crate::writer) opens for it, so an error leaves nothing behind; number
//! and sequence allocation happen in the same transaction as the write they number. Everything
//! that can fail without SQLite (encoding) happens before an operation takes its
//! [`Prefix`], so the writer knows whether a failed operation reached SQLite at all.

use async_trait::async_trait;
use sqlx::{Row, SqliteConnection};
use taskcore::store::{TaskDraft, TaskWrite, replay, unix_micros};
use taskcore::{
    ChangeEvent, Error, IdempotencyKey, Imported, Inserted, MemberName, OnConflict, Quota, Result, Room, RoomCode,
    RoomSnapshot, Task,
};
use time::OffsetDateTime;

use crate::error::db;
use crate::row::{self, ROOM_COLUMNS, TASK_COLUMNS, TaskValues, event_json, number_param};
use crate::savepoint::Prefix;
use crate::transfer;

/// A write the writer runs for a caller, and the type of its answer: the writer hands each
/// caller exactly its operation's output, with no answer of another kind to rule out.
#[async_trait]
pub(crate) trait Write: Send + Sync + std::fmt::Debug + 'static {
    /// What the caller gets once the transaction holding the write has committed.
    type Output: Send + 'static;

    /// The room whose change feed this write may append to (for retention).
    fn feed(&self) -> Option<&RoomCode>;

    /// Runs the write, sending the `prefix` (the writer's savepoint statements, which return no
    /// rows) in front of its first statement so that they cost no round trip of their own.
    async fn apply(&self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<Self::Output>;
}

/// [`taskcore::TaskStore::insert_room`].
#[derive(Debug)]
pub(crate) struct InsertRoom(pub(crate) Room);

#[async_trait]
impl Write for InsertRoom {
    type Output = ();

    fn feed(&self) -> Option<&RoomCode> {
        None
    }

    async fn apply(&self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<()> {
        insert_room(conn, &self.0, prefix).await
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

#[async_trait]
impl Write for AddMember {
    type Output = Room;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    async fn apply(&self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<Room> {
        add_member(conn, &self.code, &self.member, self.at, self.quota, prefix).await
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

#[async_trait]
impl Write for InsertTask {
    type Output = Inserted;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    async fn apply(&self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<Inserted> {
        insert_task(conn, &self.code, &self.draft, self.key.as_ref(), self.quota, prefix).await
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

#[async_trait]
impl Write for UpdateTask {
    type Output = Task;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    async fn apply(&self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<Task> {
        update_task(conn, &self.code, &self.task, self.expected, self.write, prefix).await
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

#[async_trait]
impl Write for DeleteTask {
    type Output = Task;

    fn feed(&self) -> Option<&RoomCode> {
        Some(&self.code)
    }

    async fn apply(&self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<Task> {
        delete_task(conn, &self.code, self.number, self.expected, self.at, prefix).await
    }
}

/// [`taskcore::TaskStore::import_room`], with a snapshot that passed [`RoomSnapshot::check`].
#[derive(Debug)]
pub(crate) struct ImportRoom {
    pub(crate) snapshot: RoomSnapshot,
    pub(crate) on_conflict: OnConflict,
}

#[async_trait]
impl Write for ImportRoom {
    type Output = Imported;

    /// An import appends no change: its feed starts empty at the imported sequence.
    fn feed(&self) -> Option<&RoomCode> {
        None
    }

    async fn apply(&self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<Imported> {
        transfer::import(conn, &self.snapshot, self.on_conflict, prefix).await
    }
}

/// A failure made to order, for the writer's isolation tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    /// Before sending anything, as an operation whose values do not encode.
    BeforeSql,
    /// After taking its prefix but before SQLite ran it: its savepoint never exists.
    BeforeSavepoint,
    /// Inside its savepoint, on a constraint.
    Constraint,
    /// Inside its savepoint, ending the whole transaction (as SQLite does on some I/O errors).
    EndsTransaction,
}

#[cfg(test)]
#[async_trait]
impl Write for Fault {
    type Output = ();

    fn feed(&self) -> Option<&RoomCode> {
        None
    }

    async fn apply(&self, conn: &mut SqliteConnection, prefix: &mut Prefix) -> Result<()> {
        let sql = match self {
            Fault::BeforeSql => return Err(Error::backend("a value does not encode", "made to order")),
            // A statement that does not compile stops the batch of statements before the prefix runs.
            Fault::BeforeSavepoint => format!("SELEC 1; {}", prefix.take()),
            Fault::Constraint => format!(
                "{}INSERT INTO rooms (id, code, owner, created_at) SELECT id, code, owner, 0 FROM rooms",
                prefix.take()
            ),
            Fault::EndsTransaction => format!("{}ROLLBACK", prefix.take()),
        };
        sqlx::query(&sql).execute(&mut *conn).await.map_err(db)?;
        Err(Error::backend("the transaction was ended", "made to order"))
    }
}

async fn insert_room(conn: &mut SqliteConnection, room: &Room, prefix: &mut Prefix) -> Result<()> {
    let sql = format!(
        "{}INSERT INTO rooms (code, owner, created_at) VALUES (?, ?, ?) ON CONFLICT (code) DO NOTHING RETURNING id",
        prefix.take()
    );
    let id: Option<i64> = sqlx::query_scalar(&sql)
        .bind(room.code.as_str())
        .bind(room.owner.as_str())
        .bind(unix_micros(room.created_at))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    let id = id.ok_or_else(|| Error::room_exists(&room.code))?;
    for (position, member) in (1_i64..).zip(&room.members) {
        sqlx::query("INSERT INTO members (room_id, position, name, name_key) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(position)
            .bind(member.as_str())
            .bind(member.key())
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

async fn room_id(conn: &mut SqliteConnection, code: &RoomCode, prefix: &mut Prefix) -> Result<i64> {
    sqlx::query_scalar(&format!("{}SELECT id FROM rooms WHERE code = ?", prefix.take()))
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| Error::room_not_found(code))
}

/// Allocates the room's next change sequence number: `(room id, seq)`.
async fn next_seq(conn: &mut SqliteConnection, code: &RoomCode) -> Result<(i64, i64)> {
    let row = sqlx::query("UPDATE rooms SET last_seq = last_seq + 1 WHERE code = ? RETURNING id, last_seq")
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .ok_or_else(|| Error::room_not_found(code))?;
    Ok((row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?))
}

async fn append(
    conn: &mut SqliteConnection,
    room: i64,
    seq: i64,
    at: OffsetDateTime,
    event: &ChangeEvent,
) -> Result<()> {
    sqlx::query("INSERT INTO changes (room_id, seq, at, event) VALUES (?, ?, ?, ?)")
        .bind(room)
        .bind(seq)
        .bind(unix_micros(at))
        .bind(event_json(event)?)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

async fn add_member(
    conn: &mut SqliteConnection,
    code: &RoomCode,
    member: &MemberName,
    at: OffsetDateTime,
    quota: u64,
    prefix: &mut Prefix,
) -> Result<Room> {
    let id = room_id(conn, code, prefix).await?;
    // Counting the members and adding one is a single statement: a full room adds nobody.
    let added = sqlx::query(
        "INSERT INTO members (room_id, position, name, name_key) \
         SELECT ?1, COALESCE(MAX(position), 0) + 1, ?2, ?3 FROM members WHERE room_id = ?1 \
         HAVING COUNT(*) < ?4 \
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(member.as_str())
    .bind(member.key())
    .bind(limit_param(quota))
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected()
        == 1;
    if !added {
        let known: Option<i64> = sqlx::query_scalar("SELECT 1 FROM members WHERE room_id = ? AND name_key = ?")
            .bind(id)
            .bind(member.key())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        if known.is_none() {
            return Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit: quota });
        }
    }
    if added {
        let (id, seq) = next_seq(conn, code).await?;
        append(conn, id, seq, at, &ChangeEvent::MemberJoined { member: member.clone() }).await?;
    }
    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms AS r WHERE r.id = ?");
    let row = sqlx::query(&sql).bind(id).fetch_one(&mut *conn).await.map_err(db)?;
    row::room(&row)
}

async fn load_task(conn: &mut SqliteConnection, room: i64, number: i64) -> Result<Option<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks AS t WHERE t.room_id = ? AND t.number = ?");
    let row = sqlx::query(&sql).bind(room).bind(number).fetch_optional(&mut *conn).await.map_err(db)?;
    row.map(|row| row::task(&row, 0)).transpose()
}

/// The columns a task write sets, in the order [`bind_task`] binds them.
pub(crate) const TASK_SET: &str = "id, title, description, priority, due, tags, assignee, assignee_key, completed, \
     completed_at, created_at, updated_at, version, title_key, search";

/// `?` for each of [`TASK_SET`].
pub(crate) const TASK_SET_PARAMS: &str = "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?";

pub(crate) type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds the [`TASK_SET`] values of `task`.
pub(crate) fn bind_task<'q>(query: Query<'q>, task: &'q Task, values: &'q TaskValues) -> Query<'q> {
    query
        .bind(&values.id)
        .bind(&task.title)
        .bind(&task.description)
        .bind(values.priority)
        .bind(values.due)
        .bind(&values.tags)
        .bind(task.assignee.as_ref().map(MemberName::as_str))
        .bind(&values.assignee_key)
        .bind(task.completed)
        .bind(values.completed_at)
        .bind(values.created_at)
        .bind(values.updated_at)
        .bind(values.version)
        .bind(&values.title_key)
        .bind(&values.search)
}

async fn insert_task(
    conn: &mut SqliteConnection,
    code: &RoomCode,
    draft: &TaskDraft,
    key: Option<&IdempotencyKey>,
    quota: u64,
    prefix: &mut Prefix,
) -> Result<Inserted> {
    if let Some(key) = key {
        let sql = format!(
            "{}SELECT r.id, k.number, k.fingerprint FROM rooms AS r \
             LEFT JOIN idempotency_keys AS k ON k.room_id = r.id AND k.key = ? WHERE r.code = ?",
            prefix.take()
        );
        let row = sqlx::query(&sql)
            .bind(key.as_str())
            .bind(code.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .ok_or_else(|| Error::room_not_found(code))?;
        let (room, used): (i64, Option<i64>) = (row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?);
        if let Some(number) = used {
            let fingerprint: Option<String> = row.try_get(2).map_err(db)?;
            let task = load_task(conn, room, number).await?;
            return replay(key, fingerprint.as_deref(), &draft.fingerprint(), task, row::unsigned(number)?);
        }
    }
    // One round trip: count the room's tasks against the quota, allocate the number and the
    // sequence, store the task (and its key), append the change, and read back what was
    // allocated. Each statement after the first runs only if the one before it wrote its row
    // (changes() = 1), so an unknown or full room writes nothing.
    // The event is encoded here with number 0; SQL puts the allocated number in.
    let mut task = draft.clone().into_task(0);
    let values = TaskValues::of(&task)?;
    let event = event_json(&ChangeEvent::TaskCreated { task: task.clone() })?;
    let fingerprint = key.map(|_| draft.fingerprint());
    let key_sql = if key.is_some() {
        "INSERT INTO idempotency_keys (room_id, key, number, fingerprint) \
         SELECT id, ?, last_number, ? FROM rooms WHERE code = ? AND changes() = 1;"
    } else {
        ""
    };
    let sql = format!(
        "{}UPDATE rooms SET last_number = last_number + 1, last_seq = last_seq + 1 \
         WHERE code = ? AND (SELECT SUM(n) FROM task_counts WHERE room_id = rooms.id) < ?;
         INSERT INTO tasks (room_id, number, {TASK_SET}) \
         SELECT id, last_number, {TASK_SET_PARAMS} FROM rooms WHERE code = ? AND changes() = 1;
         {key_sql}
         INSERT INTO changes (room_id, seq, at, event) \
         SELECT id, last_seq, ?, json_set(?, '$.task.number', last_number) FROM rooms WHERE code = ? AND changes() = 1;
         SELECT last_number FROM rooms WHERE code = ? AND changes() = 1;",
        prefix.take()
    );
    let first = sqlx::query(&sql).bind(code.as_str()).bind(limit_param(quota));
    let mut query = bind_task(first, &task, &values).bind(code.as_str());
    if let (Some(key), Some(fingerprint)) = (key, &fingerprint) {
        query = query.bind(key.as_str()).bind(fingerprint.as_str()).bind(code.as_str());
    }
    let query = query.bind(values.created_at).bind(&event).bind(code.as_str()).bind(code.as_str());
    let Some(row) = query.fetch_optional(&mut *conn).await.map_err(db)? else {
        // Nothing was written: the room does not exist, or it is full.
        let _room = room_id(conn, code, &mut Prefix::none()).await?;
        return Err(Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit: quota });
    };
    task.number = row::unsigned(row.try_get(0).map_err(db)?)?;
    Ok(Inserted::Created(task))
}

/// A quota as bound in SQL (quotas beyond `i64` are no limit).
fn limit_param(quota: u64) -> i64 {
    i64::try_from(quota).unwrap_or(i64::MAX)
}

/// Why a write to task `number` of the room touched no row: the room or the task is gone, or
/// the task moved on from `expected`.
async fn missed(conn: &mut SqliteConnection, code: &RoomCode, number: u64, expected: u64) -> Error {
    let found: Result<Option<Option<i64>>> = sqlx::query_scalar(
        "SELECT t.version FROM rooms AS r LEFT JOIN tasks AS t ON t.room_id = r.id AND t.number = ?2 \
         WHERE r.code = ?1",
    )
    .bind(code.as_str())
    .bind(number_param(number))
    .fetch_optional(&mut *conn)
    .await
    .map_err(db);
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

async fn update_task(
    conn: &mut SqliteConnection,
    code: &RoomCode,
    task: &Task,
    expected: u64,
    write: TaskWrite,
    prefix: &mut Prefix,
) -> Result<Task> {
    // One round trip: the conditional update, then — only if it wrote the row — the sequence
    // number and the change; the last statement tells whether the change was appended.
    let values = TaskValues::of(task)?;
    let event = event_json(&ChangeEvent::of_task_write(write, task.clone()))?;
    let sql = format!(
        "{}UPDATE tasks SET ({TASK_SET}) = ({TASK_SET_PARAMS}) \
         WHERE room_id = (SELECT id FROM rooms WHERE code = ?) AND number = ? AND version = ?;
         UPDATE rooms SET last_seq = last_seq + 1 WHERE code = ? AND changes() = 1;
         INSERT INTO changes (room_id, seq, at, event) \
         SELECT id, last_seq, ?, ? FROM rooms WHERE code = ? AND changes() = 1;
         SELECT changes();",
        prefix.take()
    );
    let appended = bind_task(sqlx::query(&sql), task, &values)
        .bind(code.as_str())
        .bind(values.number)
        .bind(i64::try_from(expected).unwrap_or(-1))
        .bind(code.as_str())
        .bind(values.updated_at)
        .bind(&event)
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?
        .map(|row| row.try_get::<i64, _>(0))
        .transpose()
        .map_err(db)?;
    match appended {
        Some(1) => Ok(task.clone()),
        _ => Err(missed(conn, code, task.number, expected).await),
    }
}

async fn delete_task(
    conn: &mut SqliteConnection,
    code: &RoomCode,
    number: u64,
    expected: Option<u64>,
    at: OffsetDateTime,
    prefix: &mut Prefix,
) -> Result<Task> {
    let sql = format!(
        "{}DELETE FROM tasks WHERE room_id = (SELECT id FROM rooms WHERE code = ?1) AND number = ?2 \
         AND (?3 IS NULL OR version = ?3) RETURNING {}",
        prefix.take(),
        TASK_COLUMNS.replace("t.", "")
    );
    let row = sqlx::query(&sql)
        .bind(code.as_str())
        .bind(number_param(number))
        .bind(expected.map(|v| i64::try_from(v).unwrap_or(-1)))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    let Some(row) = row else {
        return Err(missed(conn, code, number, expected.unwrap_or(0)).await);
    };
    let task = row::task(&row, 0)?;
    let (room, seq) = next_seq(conn, code).await?;
    append(conn, room, seq, at, &ChangeEvent::TaskDeleted { number, id: task.id }).await?;
    Ok(task)
}
