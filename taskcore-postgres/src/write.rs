//! The writes: one [`Write`] per mutating [`TaskStore`](taskcore::TaskStore) operation, which
//! the [group commit](crate::writer) runs inside its batch's transaction, in a savepoint of its
//! own, after the batch locked the rows of the rooms it writes to (`SELECT … FOR NO KEY
//! UPDATE`) and read their state. So the writers of one room, in any process, take turns: the
//! number and sequence the batch hands a write ([`RoomState`]) are the next ones, with no gaps,
//! and everything a write reads (each statement with a fresh snapshot) is current. A write does
//! not touch its room's row: it says what it did to it ([`Advance`]: a number taken, a change
//! appended, counters moved), the batch applies that once the whole write succeeded and
//! stores every room's row once before its `COMMIT` (see `rooms.rs`). Writers of different
//! rooms never wait for each other. Inserting a room is one statement of its own, outside the
//! batches.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use taskcore::store::{TaskDraft, TaskUpdate, TaskWrite, Updated, replay, unix_micros};
use taskcore::{ChangeEvent, Error, IdempotencyKey, Inserted, MemberName, Quota, Room, RoomCode, Task};
use time::OffsetDateTime;

use crate::error::{Attempt, Fault, corrupt};
use crate::rooms::{Advance, RoomState};
use crate::row::{self, Counters, ROOM_COLUMNS, TASK_COLUMNS, TaskValues, event_json, signed};

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

/// The room a write runs in: its row locked by the batch, its code and its state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Locked<'a> {
    /// The code the caller named it by.
    pub(crate) code: &'a RoomCode,
    /// Its id, next number and sequence and counters, as the batch's writes so far left them.
    pub(crate) state: &'a RoomState,
}

impl Locked<'_> {
    /// `rooms.id`.
    fn id(&self) -> i64 {
        self.state.id()
    }
}

/// What a write that succeeded gives back: its caller's answer, and what it did to its room's
/// row, which the batch applies to the room's state.
pub(crate) type Applied<T> = (T, Advance);

/// A write to one room that the group commit runs for a caller, and the type of its answer.
#[async_trait]
pub(crate) trait Write: Send + Sync + std::fmt::Debug + 'static {
    /// What the caller gets once the transaction holding the write has committed.
    type Output: Send + Sync + std::fmt::Debug + 'static;

    /// Runs the write on the batch's connection, in `room`, with the number and sequence the
    /// room's state gives; it must not write the room's row (the batch does, once).
    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, bounds: Bounds) -> Attempt<Applied<Self::Output>>;

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

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, bounds: Bounds) -> Attempt<Applied<Room>> {
        add_member(conn, room, &self.0, self.1, bounds).await
    }
}

/// [`taskcore::TaskStore::insert_task`]: the draft and its idempotency key.
#[derive(Debug)]
pub(crate) struct InsertTask(pub(crate) TaskDraft, pub(crate) Option<IdempotencyKey>);

#[async_trait]
impl Write for InsertTask {
    type Output = Inserted;

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, bounds: Bounds) -> Attempt<Applied<Inserted>> {
        insert_task(conn, room, &self.0, self.1.as_ref(), bounds).await
    }

    /// Without a key: [`INSERT_TASK_SQL`], after the quota check in Rust, which writes nothing.
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

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, _bounds: Bounds) -> Attempt<Applied<Task>> {
        update_task(conn, room, &self.0, self.1, self.2).await
    }

    /// [`UPDATE_TASK_SQL`], which writes nothing on a conflict or a missing task.
    fn one_statement(&self) -> bool {
        true
    }
}

/// [`taskcore::TaskStore::update_task_with`]: the number and the update. The task is read in the
/// batch, under the room's lock, and written back by [`UPDATE_TASK_SQL`]: one trip for the
/// caller instead of a read on the pool and then a write, and no race to lose in between.
#[derive(Debug)]
pub(crate) struct PatchTask(pub(crate) u64, pub(crate) TaskUpdate);

#[async_trait]
impl Write for PatchTask {
    type Output = Updated;

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, _bounds: Bounds) -> Attempt<Applied<Updated>> {
        let current = task_in_room(conn, room.id(), self.0).await?;
        let current = current.ok_or_else(|| Error::task_not_found(room.code, self.0))?;
        let Some((next, write)) = self.1.apply(&current)? else {
            return Ok((Updated { task: current, write: None }, Advance::default()));
        };
        let (task, advance) = update_task(conn, room, &next, current.version, write).await?;
        Ok((Updated { task, write: Some(write) }, advance))
    }

    /// A read, then [`UPDATE_TASK_SQL`]: the one statement that writes, which writes nothing
    /// when it refuses (and the read writes nothing at all).
    fn one_statement(&self) -> bool {
        true
    }

    fn changed(output: &Updated) -> bool {
        output.write.is_some()
    }
}

/// [`taskcore::TaskStore::delete_task`]: the number, the version it must have (if any) and
/// when.
#[derive(Debug)]
pub(crate) struct DeleteTask(pub(crate) u64, pub(crate) Option<u64>, pub(crate) OffsetDateTime);

#[async_trait]
impl Write for DeleteTask {
    type Output = Task;

    async fn apply(&self, conn: &mut PgConnection, room: Locked<'_>, _bounds: Bounds) -> Attempt<Applied<Task>> {
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

/// Appends `event` to the room's feed at `at` with sequence `seq` (the room's next one); the
/// batch drops the changes beyond retention. The room must be locked by the caller's
/// transaction.
async fn append(conn: &mut PgConnection, room: i64, seq: i64, at: OffsetDateTime, event: &ChangeEvent) -> Attempt<()> {
    sqlx::query("INSERT INTO changes (room_id, seq, at, event) VALUES ($1, $2, $3, $4::jsonb)")
        .bind(room)
        .bind(seq)
        .bind(unix_micros(at))
        .bind(event_json(event)?)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds a member unless one with the same key is there or the room is full (`QuotaExceeded`);
/// returns the room after it.
async fn add_member(
    conn: &mut PgConnection,
    room: Locked<'_>,
    member: &MemberName,
    at: OffsetDateTime,
    bounds: Bounds,
) -> Attempt<Applied<Room>> {
    let quota = bounds.members;
    // The room's row lock makes the count and the insert one step.
    let added = sqlx::query(
        "INSERT INTO members (room_id, position, name, name_key)
         SELECT $1, COALESCE(MAX(position), 0) + 1, $2, $3 FROM members WHERE room_id = $1
         HAVING count(*) < $4
         ON CONFLICT (room_id, name_key) DO NOTHING",
    )
    .bind(room.id())
    .bind(member.as_str())
    .bind(member.key())
    .bind(quota.param())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let mut advance = Advance::default();
    if added == 0 {
        let known: Option<i32> = sqlx::query_scalar("SELECT 1 FROM members WHERE room_id = $1 AND name_key = $2")
            .bind(room.id())
            .bind(member.key())
            .fetch_optional(&mut *conn)
            .await?;
        if known.is_none() {
            return Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit: quota.0 }.into());
        }
    } else {
        let event = ChangeEvent::MemberJoined { member: member.clone() };
        append(conn, room.id(), room.state.next_seq(), at, &event).await?;
        advance = Advance::appended(Counters::default());
    }
    let row = sqlx::query(&format!("SELECT {ROOM_COLUMNS} FROM rooms AS r WHERE r.id = $1"))
        .bind(room.id())
        .fetch_one(&mut *conn)
        .await?;
    Ok((row::room(&row)?, advance))
}

/// Stores a new task with number `$2` and appends its `TaskCreated` at sequence `$14` (both
/// the room's next, from the batch's [`RoomState`]), one statement: one round trip, atomic on
/// its own. [`INSERT_KEYED_TASK_SQL`] also remembers the idempotency key with the request's
/// fingerprint. The quota was checked before, against the state's counters.
macro_rules! insert_task_sql {
    ($key:literal) => {
        concat!(
            "WITH t AS (
                 INSERT INTO tasks (room_id, number, id, title, description, priority, due, tags, assignee,
                     assignee_key, title_key, search, completed, completed_at, created_at, updated_at, version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, false, NULL, $13, $13, 1)
             )",
            $key,
            "
             INSERT INTO changes (room_id, seq, at, event) VALUES ($1, $14, $13, $15::jsonb)"
        )
    };
}

/// A create without an idempotency key (see [`insert_task_sql`]).
const INSERT_TASK_SQL: &str = insert_task_sql!("");

/// A create with an idempotency key, `$16`, and its request's fingerprint, `$17`.
const INSERT_KEYED_TASK_SQL: &str = insert_task_sql!(
    ", k AS (
         INSERT INTO idempotency_keys (room_id, key, number, fingerprint) VALUES ($1, $16, $2, $17)
     )"
);

/// Stores a new task with the room's next number (see [`insert_task_sql`]) unless the room is
/// at its task quota. With a key, the key is looked up first (the room is locked): a used key is
/// answered by [`replay`].
async fn insert_task(
    conn: &mut PgConnection,
    room: Locked<'_>,
    draft: &TaskDraft,
    key: Option<&IdempotencyKey>,
    bounds: Bounds,
) -> Attempt<Applied<Inserted>> {
    let Some(key) = key else {
        return insert_numbered(conn, room, draft, None, bounds.tasks).await;
    };
    let used: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT number, fingerprint FROM idempotency_keys WHERE room_id = $1 AND key = $2")
            .bind(room.id())
            .bind(key.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((number, fingerprint)) = used {
        let number = row::unsigned(number)?;
        let created = task_in_room(conn, room.id(), number).await?;
        let replayed = replay(key, fingerprint.as_deref(), &draft.fingerprint(), created, number)?;
        return Ok((replayed, Advance::default()));
    }
    let fingerprint = draft.fingerprint();
    insert_numbered(conn, room, draft, Some((key, fingerprint.as_str())), bounds.tasks).await
}

/// Checks the task quota against the room's counters, then stores the task with the room's
/// next number (see [`insert_task_sql`]).
async fn insert_numbered(
    conn: &mut PgConnection,
    room: Locked<'_>,
    draft: &TaskDraft,
    key: Option<(&IdempotencyKey, &str)>,
    quota: Limit,
) -> Attempt<Applied<Inserted>> {
    let counters = room.state.counters();
    if counters.cells.iter().sum::<i64>() >= quota.param() {
        return Err(Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit: quota.0 }.into());
    }
    let number = room.state.next_number();
    let task = draft.clone().into_task(row::unsigned(number)?);
    let values = TaskValues::of(&task);
    let sql = if key.is_some() { INSERT_KEYED_TASK_SQL } else { INSERT_TASK_SQL };
    let query = bind_fields(sqlx::query(sql).bind(room.id()).bind(number), &task, &values)
        .bind(values.created_at)
        .bind(room.state.next_seq())
        .bind(event_json(&ChangeEvent::TaskCreated { task: task.clone() })?);
    let query = match key {
        Some((key, fingerprint)) => query.bind(key.as_str()).bind(fingerprint),
        None => query,
    };
    query.execute(&mut *conn).await?;
    let advance = Advance { number: true, change: true, counters: Counters::one(false, task.priority, 1) };
    Ok((Inserted::Created(task), advance))
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

/// Replaces a task if its version is `expected` and appends the write to the feed at sequence
/// `$19` (the room's next) — one statement, which changes nothing when the version (or the
/// task) is not there (the batch drops the changes beyond retention). The self-join reads the
/// row as it was (the room lock keeps it current) and gives back its counter cell,
/// `completed × 3 + priority rank` as [`row::cell`] numbers them, for the counters to move in Rust.
const UPDATE_TASK_SQL: &str = "WITH u AS (
         UPDATE tasks AS t SET id = $3, title = $4, description = $5, priority = $6, due = $7, tags = $8,
             assignee = $9, assignee_key = $10, title_key = $11, search = $12, completed = $13,
             completed_at = $14, created_at = $15, updated_at = $16, version = $17
         FROM tasks AS o
         WHERE t.room_id = $1 AND t.number = $2 AND t.version = $18 AND o.room_id = t.room_id AND o.number = t.number
         RETURNING (CASE WHEN o.completed THEN 3 ELSE 0 END) + o.priority AS was
     ), c AS (
         INSERT INTO changes (room_id, seq, at, event) SELECT $1, $19, $16, $20::jsonb FROM u
     )
     SELECT was FROM u";

/// Replaces a task if its version is `expected`, recording the write (see [`UPDATE_TASK_SQL`]).
async fn update_task(
    conn: &mut PgConnection,
    room: Locked<'_>,
    task: &Task,
    expected: u64,
    write: TaskWrite,
) -> Attempt<Applied<Task>> {
    let values = TaskValues::of(task);
    let event = event_json(&ChangeEvent::of_task_write(write, task.clone()))?;
    let updated: Option<PgRow> =
        bind_fields(sqlx::query(UPDATE_TASK_SQL).bind(room.id()).bind(values.number), task, &values)
            .bind(task.completed)
            .bind(values.completed_at)
            .bind(values.created_at)
            .bind(values.updated_at)
            .bind(values.version)
            .bind(signed(expected))
            .bind(room.state.next_seq())
            .bind(event)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(updated) = updated else {
        return Err(missed(conn, room.code, room.id(), task.number, expected).await);
    };
    let was: i64 = updated.try_get(0)?;
    let mut counters = Counters::one(task.completed, task.priority, 1);
    let was = usize::try_from(was).ok().filter(|&was| was < counters.cells.len());
    let was = was.ok_or_else(|| corrupt("task state", "a completion or priority out of range"))?;
    counters.cells[was] -= 1;
    Ok((task.clone(), Advance::appended(counters)))
}

/// Deletes a task (if its version is `expected`, when given), recording a tombstone.
async fn delete_task(
    conn: &mut PgConnection,
    room: Locked<'_>,
    number: u64,
    expected: Option<u64>,
    at: OffsetDateTime,
) -> Attempt<Applied<Task>> {
    let deleted = sqlx::query(&format!(
        "DELETE FROM tasks AS t WHERE t.room_id = $1 AND t.number = $2 AND ($3::bigint IS NULL OR t.version = $3)
         RETURNING {TASK_COLUMNS}"
    ))
    .bind(room.id())
    .bind(signed(number))
    .bind(expected.map(signed))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(deleted) = deleted else {
        return Err(missed(conn, room.code, room.id(), number, expected.unwrap_or_default()).await);
    };
    let task = row::task(&deleted, 0)?;
    let event = ChangeEvent::TaskDeleted { number, id: task.id };
    append(conn, room.id(), room.state.next_seq(), at, &event).await?;
    let advance = Advance::appended(Counters::one(task.completed, task.priority, -1));
    Ok((task, advance))
}
