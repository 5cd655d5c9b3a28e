//! The writes: one [`Write`] per mutating [`TaskStore`](taskcore::TaskStore) operation, which
//! the [group commit](crate::writer) runs inside its batch's transaction, in a savepoint of its
//! own, after the batch locked the rows of the rooms it writes to (`SELECT … FOR NO KEY
//! UPDATE`). So the writers of one room, in any process, take turns: the number and sequence a
//! write reads from the room's row are the next ones, with no gaps, and everything it reads
//! (each statement with a fresh snapshot) is current. Writers of different rooms never wait for
//! each other. Inserting a room is one statement of its own, outside the batches.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use taskcore::store::{TaskDraft, TaskWrite, replay, unix_micros};
use taskcore::{ChangeEvent, Error, IdempotencyKey, Inserted, MemberName, Quota, Room, RoomCode, Task};
use time::OffsetDateTime;

use crate::error::{Attempt, Fault};
use crate::row::{self, COUNTER_COLUMNS, Counters, ROOM_COLUMNS, TASK_COLUMNS, TaskValues, cell, event_json, signed};

/// The change retention of the store (changes kept per room), as bound in SQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retention(pub(crate) i64);

/// A per-room quota of the store, as bound in SQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit(pub(crate) u64);

impl Limit {
    fn param(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

/// What every write of a store is bound by: its change retention and its per-room quotas.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    /// Changes kept per room.
    pub(crate) retention: Retention,
    /// Tasks one room may hold.
    pub(crate) tasks: Limit,
    /// Members one room may have.
    pub(crate) members: Limit,
}

/// The room a write runs in: its row locked by the batch, its id and its code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Locked<'a> {
    /// `rooms.id`.
    pub(crate) id: i64,
    /// The code the caller named it by.
    pub(crate) code: &'a RoomCode,
}

/// A write to one room that the group commit runs for a caller, and the type of its answer.
#[async_trait]
pub(crate) trait Write: Send + Sync + std::fmt::Debug + 'static {
    /// What the caller gets once the transaction holding the write has committed.
    type Output: Send + Sync + std::fmt::Debug + 'static;

    /// Runs the write on the batch's connection, in `room`.
    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, bounds: Bounds) -> Attempt<Self::Output>;

    /// Whether the write changes the database in one statement, and refuses (not found,
    /// conflict, quota) only when that statement changed nothing. Such a write needs no
    /// savepoint of its own: the statement is atomic, a refusal leaves the transaction as it
    /// was, and any other failure makes the batch run again without it.
    fn one_statement(&self) -> bool {
        false
    }

    /// Whether `output` changed the room (other processes get a write notice then).
    fn changed(output: &Self::Output) -> bool {
        let _ = output;
        true
    }
}

/// [`taskcore::TaskStore::add_member`]: the member and when they joined.
#[derive(Debug)]
pub(crate) struct AddMember(pub(crate) MemberName, pub(crate) OffsetDateTime);

#[async_trait]
impl Write for AddMember {
    type Output = Room;

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, bounds: Bounds) -> Attempt<Room> {
        add_member(conn, room.id, &self.0, self.1, bounds).await
    }
}

/// [`taskcore::TaskStore::insert_task`]: the draft and its idempotency key.
#[derive(Debug)]
pub(crate) struct InsertTask(pub(crate) TaskDraft, pub(crate) Option<IdempotencyKey>);

#[async_trait]
impl Write for InsertTask {
    type Output = Inserted;

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, bounds: Bounds) -> Attempt<Inserted> {
        insert_task(conn, room, &self.0, self.1.as_ref(), bounds).await
    }

    /// Without a key: [`INSERT_TASK_SQL`], which writes nothing when the room is full.
    fn one_statement(&self) -> bool {
        self.1.is_none()
    }

    fn changed(output: &Inserted) -> bool {
        matches!(output, Inserted::Created(_))
    }
}

/// [`taskcore::TaskStore::update_task`]: the task as it is to be, the version it must have
/// now, and the kind of write.
#[derive(Debug)]
pub(crate) struct UpdateTask(pub(crate) Task, pub(crate) u64, pub(crate) TaskWrite);

#[async_trait]
impl Write for UpdateTask {
    type Output = Task;

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, _bounds: Bounds) -> Attempt<Task> {
        update_task(conn, room, &self.0, self.1, self.2).await
    }

    /// [`UPDATE_TASK_SQL`], which writes nothing on a conflict or a missing task.
    fn one_statement(&self) -> bool {
        true
    }
}

/// [`taskcore::TaskStore::delete_task`]: the number, the version it must have (if any) and
/// when.
#[derive(Debug)]
pub(crate) struct DeleteTask(pub(crate) u64, pub(crate) Option<u64>, pub(crate) OffsetDateTime);

#[async_trait]
impl Write for DeleteTask {
    type Output = Task;

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, _bounds: Bounds) -> Attempt<Task> {
        delete_task(conn, room, self.0, self.1, self.2).await
    }
}

/// Stores a new room and its members (owner first); `AlreadyExists` when the code is taken.
pub(crate) async fn insert_room(pool: &PgPool, room: &Room) -> Attempt<()> {
    let names: Vec<&str> = room.members.iter().map(MemberName::as_str).collect();
    let keys: Vec<String> = room.members.iter().map(MemberName::key).collect();
    let inserted = sqlx::query(
        "WITH r AS (
             INSERT INTO rooms (code, owner, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (code) DO NOTHING RETURNING id
         )
         INSERT INTO members (room_id, position, name, name_key)
         SELECT r.id, m.position, m.name, m.name_key
         FROM r, unnest($4::text[], $5::text[]) WITH ORDINALITY AS m (name, name_key, position)
         RETURNING room_id",
    )
    .bind(room.code.as_str())
    .bind(room.owner.as_str())
    .bind(unix_micros(room.created_at))
    .bind(&names)
    .bind(&keys)
    .fetch_all(pool)
    .await?;
    if inserted.is_empty() {
        return Err(Error::room_exists(&room.code).into());
    }
    Ok(())
}

/// Appends `event` to the room's feed at `at` with the next sequence number, applies `counters`
/// to the room's counters, in one statement (the batch drops the changes beyond retention). The room
/// must be locked by the caller's transaction.
async fn append(
    conn: &mut PgConnection,
    room: i64,
    at: OffsetDateTime,
    event: &ChangeEvent,
    counters: Counters,
) -> Attempt<()> {
    let mut query = sqlx::query(APPEND_SQL).bind(room).bind(unix_micros(at)).bind(event_json(event)?);
    for delta in counters.cells {
        query = query.bind(delta);
    }
    query.execute(conn).await?;
    Ok(())
}

const APPEND_SQL: &str = "WITH r AS (
         UPDATE rooms SET last_seq = last_seq + 1,
             pending_low = pending_low + $4, pending_medium = pending_medium + $5, pending_high = pending_high + $6,
             done_low = done_low + $7, done_medium = done_medium + $8, done_high = done_high + $9
         WHERE id = $1 RETURNING id, last_seq
     )
     INSERT INTO changes (room_id, seq, at, event) SELECT r.id, r.last_seq, $2, $3::jsonb FROM r";

/// Adds a member unless one with the same key is there or the room is full (`QuotaExceeded`);
/// returns the room after it.
async fn add_member(
    conn: &mut PgConnection,
    room: i64,
    member: &MemberName,
    at: OffsetDateTime,
    bounds: Bounds,
) -> Attempt<Room> {
    let quota = bounds.members;
    // The room's row lock makes the count and the insert one step.
    let added = sqlx::query(
        "INSERT INTO members (room_id, position, name, name_key)
         SELECT $1, COALESCE(MAX(position), 0) + 1, $2, $3 FROM members WHERE room_id = $1
         HAVING count(*) < $4
         ON CONFLICT (room_id, name_key) DO NOTHING",
    )
    .bind(room)
    .bind(member.as_str())
    .bind(member.key())
    .bind(quota.param())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 0 {
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM members WHERE room_id = $1 AND name_key = $2")
            .bind(room)
            .bind(member.key())
            .fetch_optional(&mut *conn)
            .await?;
        if known.is_none() {
            return Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit: quota.0 }.into());
        }
    }
    if added > 0 {
        let event = ChangeEvent::MemberJoined { member: member.clone() };
        append(conn, room, at, &event, Counters::default()).await?;
    }
    let row = sqlx::query(&format!("SELECT {ROOM_COLUMNS} FROM rooms AS r WHERE r.id = $1"))
        .bind(room)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row::room(&row)?)
}

/// Allocates the room's next number, stores the task, remembers `key` with the request's
/// fingerprint, appends `TaskCreated` and bumps the counters — one statement,
/// so one round trip and atomic on its own. `UPDATE rooms … RETURNING` takes the room's row lock
/// first and checks the task quota against the room's counters; the other parts use only the
/// values it returns. No row back: no such room, or a full one.
const INSERT_TASK_SQL: &str = "WITH r AS (
         UPDATE rooms SET last_number = last_number + 1, last_seq = last_seq + 1, {counter} = {counter} + 1
         WHERE code = $1
             AND pending_low + pending_medium + pending_high + done_low + done_medium + done_high < $15
         RETURNING id, last_number, last_seq
     ), t AS (
         INSERT INTO tasks (room_id, number, id, title, description, priority, due, tags, assignee, assignee_key,
             title_key, search, completed, completed_at, created_at, updated_at, version)
         SELECT r.id, r.last_number, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, false, NULL, $12, $12, 1 FROM r
     ), k AS (
         INSERT INTO idempotency_keys (room_id, key, number, fingerprint)
         SELECT r.id, $13, r.last_number, $16 FROM r WHERE $13::text IS NOT NULL
     ), c AS (
         INSERT INTO changes (room_id, seq, at, event)
         SELECT r.id, r.last_seq, $12, jsonb_set($14::jsonb, '{task,number}', to_jsonb(r.last_number)) FROM r
     )
     SELECT last_number FROM r";

/// Stores a new task with the room's next number (see [`INSERT_TASK_SQL`]). With a key, the
/// key is looked up first (the room is locked): a used key is answered by [`replay`].
async fn insert_task(
    conn: &mut PgConnection,
    Locked { id: room, code }: Locked<'_>,
    draft: &TaskDraft,
    key: Option<&IdempotencyKey>,
    bounds: Bounds,
) -> Attempt<Inserted> {
    let quota = bounds.tasks;
    let mut task = draft.clone().into_task(0);
    let Some(key) = key else {
        task.number = insert_numbered(conn, code, &task, None, quota).await?;
        return Ok(Inserted::Created(task));
    };
    let used: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT number, fingerprint FROM idempotency_keys WHERE room_id = $1 AND key = $2")
            .bind(room)
            .bind(key.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((number, fingerprint)) = used {
        let number = row::unsigned(number)?;
        let created = task_in_room(conn, room, number).await?;
        return Ok(replay(key, fingerprint.as_deref(), &draft.fingerprint(), created, number)?);
    }
    let fingerprint = draft.fingerprint();
    task.number = insert_numbered(conn, code, &task, Some((key, fingerprint.as_str())), quota).await?;
    Ok(Inserted::Created(task))
}

async fn insert_numbered(
    conn: &mut PgConnection,
    code: &RoomCode,
    task: &Task,
    key: Option<(&IdempotencyKey, &str)>,
    quota: Limit,
) -> Attempt<u64> {
    let values = TaskValues::of(task);
    let sql = INSERT_TASK_SQL.replace("{counter}", COUNTER_COLUMNS[cell(false, task.priority)]);
    let row = bind_fields(sqlx::query(&sql).bind(code.as_str()), task, &values)
        .bind(values.created_at)
        .bind(key.map(|(key, _)| key.as_str()))
        .bind(event_json(&ChangeEvent::TaskCreated { task: task.clone() })?)
        .bind(quota.param())
        .bind(key.map(|(_, fingerprint)| fingerprint))
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        // Nothing was written: the room does not exist, or it is full.
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM rooms WHERE code = $1").bind(code.as_str()).fetch_optional(conn).await?;
        return Err(match exists {
            Some(_) => Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit: quota.0 },
            None => Error::room_not_found(code),
        }
        .into());
    };
    Ok(row::unsigned(row.try_get(0)?)?)
}

/// A query under construction.
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the fields a caller chooses, in the order `id, title, description, priority, due,
/// tags, assignee, assignee_key, title_key, search`.
fn bind_fields<'q>(query: PgQuery<'q>, task: &'q Task, values: &'q TaskValues) -> PgQuery<'q> {
    query
        .bind(task.id)
        .bind(&task.title)
        .bind(&task.description)
        .bind(values.priority)
        .bind(values.due)
        .bind(&values.tags)
        .bind(&values.assignee)
        .bind(&values.assignee_key)
        .bind(&values.title_key)
        .bind(&values.search)
}

/// The task of a room by room id, if it exists.
async fn task_in_room(conn: &mut PgConnection, room: i64, number: u64) -> Attempt<Option<Task>> {
    let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks AS t WHERE t.room_id = $1 AND t.number = $2"))
        .bind(room)
        .bind(signed(number))
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|row| row::task(&row, 0)).transpose()?)
}

/// Why a conditional write found nothing to change: no such task, or another version.
async fn missed(conn: &mut PgConnection, code: &RoomCode, room: i64, number: u64, expected: u64) -> Fault {
    let current: Result<Option<i64>, sqlx::Error> =
        sqlx::query_scalar("SELECT version FROM tasks WHERE room_id = $1 AND number = $2")
            .bind(room)
            .bind(signed(number))
            .fetch_optional(conn)
            .await;
    match current {
        Err(error) => error.into(),
        Ok(None) => Error::task_not_found(code, number).into(),
        Ok(Some(current)) => match row::unsigned(current) {
            Ok(current) => Error::Conflict { expected, current }.into(),
            Err(error) => error.into(),
        },
    }
}

/// Replaces a task if its version is `expected`, records the write and moves the task between
/// the room's counters (the batch drops the changes beyond retention) — one statement, which changes nothing when the version (or the task)
/// is not there. The self-join reads the row as it was (the room lock keeps it current): its
/// counter cell, `completed × 3 + priority rank` as [`cell`] numbers them, leaves; `$19`, the
/// updated task's cell, gains.
const UPDATE_TASK_SQL: &str = "WITH u AS (
         UPDATE tasks AS t SET id = $3, title = $4, description = $5, priority = $6, due = $7, tags = $8,
             assignee = $9, assignee_key = $10, title_key = $11, search = $12, completed = $13,
             completed_at = $14, created_at = $15, updated_at = $16, version = $17
         FROM tasks AS o
         WHERE t.room_id = $1 AND t.number = $2 AND t.version = $18 AND o.room_id = t.room_id AND o.number = t.number
         RETURNING (CASE WHEN o.completed THEN 3 ELSE 0 END) + o.priority AS was
     ), r AS (
         UPDATE rooms SET last_seq = last_seq + 1,
             pending_low = pending_low + ($19 = 0)::int - (u.was = 0)::int,
             pending_medium = pending_medium + ($19 = 1)::int - (u.was = 1)::int,
             pending_high = pending_high + ($19 = 2)::int - (u.was = 2)::int,
             done_low = done_low + ($19 = 3)::int - (u.was = 3)::int,
             done_medium = done_medium + ($19 = 4)::int - (u.was = 4)::int,
             done_high = done_high + ($19 = 5)::int - (u.was = 5)::int
         FROM u WHERE rooms.id = $1 RETURNING rooms.id, rooms.last_seq
     ), c AS (
         INSERT INTO changes (room_id, seq, at, event) SELECT r.id, r.last_seq, $16, $20::jsonb FROM r
     )
     SELECT last_seq FROM r";

/// Replaces a task if its version is `expected`, recording the write (see [`UPDATE_TASK_SQL`]).
async fn update_task(
    conn: &mut PgConnection,
    Locked { id: room, code }: Locked<'_>,
    task: &Task,
    expected: u64,
    write: TaskWrite,
) -> Attempt<Task> {
    let values = TaskValues::of(task);
    let now = i32::try_from(cell(task.completed, task.priority)).unwrap_or(i32::MAX);
    let event = event_json(&ChangeEvent::of_task_write(write, task.clone()))?;
    let updated: Option<PgRow> =
        bind_fields(sqlx::query(UPDATE_TASK_SQL).bind(room).bind(values.number), task, &values)
            .bind(task.completed)
            .bind(values.completed_at)
            .bind(values.created_at)
            .bind(values.updated_at)
            .bind(values.version)
            .bind(signed(expected))
            .bind(now)
            .bind(event)
            .fetch_optional(&mut *conn)
            .await?;
    if updated.is_none() {
        return Err(missed(conn, code, room, task.number, expected).await);
    }
    Ok(task.clone())
}

/// Deletes a task (if its version is `expected`, when given), recording a tombstone.
async fn delete_task(
    conn: &mut PgConnection,
    Locked { id: room, code }: Locked<'_>,
    number: u64,
    expected: Option<u64>,
    at: OffsetDateTime,
) -> Attempt<Task> {
    let deleted = sqlx::query(&format!(
        "DELETE FROM tasks AS t WHERE t.room_id = $1 AND t.number = $2 AND ($3::bigint IS NULL OR t.version = $3)
         RETURNING {TASK_COLUMNS}"
    ))
    .bind(room)
    .bind(signed(number))
    .bind(expected.map(signed))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(deleted) = deleted else {
        return Err(missed(conn, code, room, number, expected.unwrap_or_default()).await);
    };
    let task = row::task(&deleted, 0)?;
    let event = ChangeEvent::TaskDeleted { number, id: task.id };
    append(conn, room, at, &event, Counters::one(task.completed, task.priority, -1)).await?;
    Ok(task)
}
