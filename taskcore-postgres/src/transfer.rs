//! Whole-room transfer, the SQL of [`TaskStore::room_codes`], [`TaskStore::snapshot_room`] and
//! [`TaskStore::import_room`](taskcore::TaskStore::import_room):
//!
//! - room codes page in byte order (`COLLATE "C"`), whatever the database's collation;
//! - a snapshot is one `REPEATABLE READ READ ONLY` transaction — the room's row, then its tasks
//!   and idempotency keys streamed and decoded row by row — so it shows a room as of one instant
//!   while writers go on;
//! - an import is one transaction: the room's row is claimed through the unique `code`
//!   (`INSERT … ON CONFLICT (code) DO NOTHING`, which waits for a concurrent import or create of
//!   the same code to finish), or, to replace a stored room, locked `FOR UPDATE`, emptied of
//!   every task, member, key and change and rewritten; then the members, the tasks in bulk
//!   (`INSERT … SELECT … FROM UNNEST(…)`, a few thousand rows per statement, every precomputed
//!   column from [`TaskValues::of`] as the write path stores it) and the keys. The room's counters
//!   are computed from the snapshot's tasks ([`Counters::of`]); its feed keeps no change.
//!
//! [`TaskStore::room_codes`]: taskcore::TaskStore::room_codes
//! [`TaskStore::snapshot_room`]: taskcore::TaskStore::snapshot_room

use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use taskcore::store::unix_micros;
use taskcore::{
    Error, Imported, MemberName, OnConflict, RequestFingerprint, Result, RoomCode, RoomSnapshot, StoredKey, Task,
};
use uuid::Uuid;

use crate::error::{Attempt, corrupt, db};
use crate::row::{self, Counters, ROOM_COLUMNS, TASK_COLUMNS, TaskValues, signed, unsigned};

/// The most tasks one `INSERT` of an import carries.
const CHUNK_TASKS: usize = 2_000;

/// The most text one `INSERT` of an import carries, about (titles, descriptions and their
/// search column), so that rooms of long descriptions make no huge statements.
const CHUNK_BYTES: usize = 8 << 20;

/// The most idempotency keys one `INSERT` of an import carries.
const CHUNK_KEYS: usize = 10_000;

/// How a task's tags travel in one `text` array element: joined with a character no
/// [`Tag`](taskcore::Tag) may contain, split again by `string_to_array` (an empty string is no
/// tags).
const TAG_SEPARATOR: &str = ",";

/// The most tasks a snapshot reserves room for before reading them (the room's counters say how
/// many there are; beyond this the vector grows as rows come).
const PREALLOCATED_TASKS: u64 = 1 << 20;

/// Codes of the rooms after `after`, in byte order, at most `limit`: a range of the
/// `rooms_code_bytes` index (migration 3; the empty string precedes every code).
pub(crate) async fn room_codes(pool: &PgPool, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
    let codes: Vec<String> =
        sqlx::query_scalar("SELECT code FROM rooms WHERE code COLLATE \"C\" > $1 ORDER BY code COLLATE \"C\" LIMIT $2")
            .bind(after.map_or("", RoomCode::as_str))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .map_err(db)?;
    codes.iter().map(|code| RoomCode::parse(code).map_err(|e| corrupt("room code", e))).collect()
}

/// The room `code` as of one instant (see the module docs).
pub(crate) async fn snapshot_room(pool: &PgPool, code: &RoomCode) -> Attempt<RoomSnapshot> {
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
    let head = read_head(&mut tx, code).await?;
    let tasks = read_tasks(&mut tx, head.id, head.tasks).await?;
    let keys = read_keys(&mut tx, head.id).await?;
    tx.commit().await?;
    Ok(RoomSnapshot { room: head.room, last_number: head.last_number, last_seq: head.last_seq, tasks, keys })
}

/// What a snapshot reads from the room's row.
struct Head {
    id: i64,
    room: taskcore::Room,
    last_number: u64,
    last_seq: u64,
    /// How many tasks the room holds, by its counters.
    tasks: u64,
}

async fn read_head(conn: &mut PgConnection, code: &RoomCode) -> Attempt<Head> {
    let sql = format!(
        "SELECT {ROOM_COLUMNS}, r.id, r.last_number, r.last_seq, r.pending_low, r.pending_medium, r.pending_high, \
         r.done_low, r.done_medium, r.done_high FROM rooms AS r WHERE r.code = $1"
    );
    let row = sqlx::query(&sql).bind(code.as_str()).fetch_optional(conn).await?;
    let row = row.ok_or_else(|| Error::room_not_found(code))?;
    Ok(Head {
        room: row::room(&row)?,
        id: row.try_get(4)?,
        last_number: unsigned(row.try_get(5)?)?,
        last_seq: unsigned(row.try_get(6)?)?,
        tasks: Counters::decode(&row, 7)?.state()?.total(),
    })
}

/// The room's tasks in number order, decoded as they stream in.
async fn read_tasks(conn: &mut PgConnection, room: i64, expected: u64) -> Attempt<Vec<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks AS t WHERE t.room_id = $1 ORDER BY t.number");
    let mut tasks = Vec::with_capacity(usize::try_from(expected.min(PREALLOCATED_TASKS)).unwrap_or_default());
    let mut rows = sqlx::query(&sql).bind(room).fetch(conn);
    while let Some(row) = rows.try_next().await? {
        tasks.push(row::task(&row, 0)?);
    }
    Ok(tasks)
}

/// The room's idempotency keys in key order (bytewise), decoded as they stream in.
async fn read_keys(conn: &mut PgConnection, room: i64) -> Attempt<Vec<StoredKey>> {
    let mut keys = Vec::new();
    let mut rows = sqlx::query(
        "SELECT key, number, fingerprint FROM idempotency_keys WHERE room_id = $1 ORDER BY key COLLATE \"C\"",
    )
    .bind(room)
    .fetch(conn);
    while let Some(row) = rows.try_next().await? {
        keys.push(stored_key(&row)?);
    }
    Ok(keys)
}

/// Decodes `key, number, fingerprint` (a `NULL` fingerprint: a key stored before they were kept).
fn stored_key(row: &PgRow) -> Result<StoredKey> {
    let key: String = row.try_get(0).map_err(db)?;
    let fingerprint: Option<String> = row.try_get(2).map_err(db)?;
    let number = unsigned(row.try_get(1).map_err(db)?)?;
    StoredKey::from_stored(&key, number, fingerprint.as_deref()).map_err(|e| corrupt("idempotency key", e))
}

/// A snapshot that PostgreSQL can store, with the room's column values, computed once before the
/// import's transaction (and reused if it is retried). The tasks' and keys' columns are computed
/// run by run during the transaction, so that an import holds at most one run's copy of them.
#[derive(Debug)]
pub(crate) struct Prepared<'s> {
    snapshot: &'s RoomSnapshot,
    last_number: i64,
    counters: Counters,
    names: Vec<&'s str>,
    name_keys: Vec<String>,
}

impl<'s> Prepared<'s> {
    /// The column values of `snapshot`, which has passed [`RoomSnapshot::check`] (so every
    /// number fits a `bigint` and no description holds a NUL, which `text` cannot).
    pub(crate) fn of(snapshot: &'s RoomSnapshot) -> Result<Self> {
        Ok(Self {
            snapshot,
            last_number: bigint(snapshot.last_number, "last_number")?,
            counters: Counters::of(&snapshot.tasks),
            names: snapshot.room.members.iter().map(MemberName::as_str).collect(),
            name_keys: snapshot.room.members.iter().map(MemberName::key).collect(),
        })
    }

    fn code(&self) -> &'s RoomCode {
        &self.snapshot.room.code
    }
}

/// `value` as a `bigint`, or `Invalid` on `field`.
fn bigint(value: u64, field: &'static str) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| Error::invalid(field, format!("{value} is beyond what PostgreSQL stores (at most {})", i64::MAX)))
}

/// Imports the prepared snapshot in one transaction (see the module docs). `Fail` on a taken
/// code is `AlreadyExists` and `Skip` is [`Imported::Skipped`], both with nothing written.
pub(crate) async fn import_room(pool: &PgPool, prepared: &Prepared<'_>, on_conflict: OnConflict) -> Attempt<Imported> {
    let mut tx = pool.begin().await?;
    let (room, imported) = match claim_code(&mut tx, prepared).await? {
        Some(room) => (room, Imported::Created),
        None => match on_conflict {
            OnConflict::Fail => {
                return Err(Error::room_exists(prepared.code()).into());
            }
            OnConflict::Skip => return Ok(Imported::Skipped),
            OnConflict::Replace => (replace_room(&mut tx, prepared).await?, Imported::Replaced),
        },
    };
    insert_members(&mut tx, room, prepared).await?;
    for run in task_runs(&prepared.snapshot.tasks) {
        insert_tasks(&mut tx, room, &TaskColumns::of(run)).await?;
    }
    for run in prepared.snapshot.keys.chunks(CHUNK_KEYS) {
        insert_keys(&mut tx, room, &KeyColumns::of(run)).await?;
    }
    tx.commit().await?;
    Ok(imported)
}

/// Stores the room's row (owner, creation, last number, sequence and counters) under its code
/// and returns its id, or `None` when the code is taken. A concurrent import or create of the
/// same code makes this wait until it commits (then `None`) or rolls back.
async fn claim_code(conn: &mut PgConnection, prepared: &Prepared<'_>) -> Attempt<Option<i64>> {
    let room = &prepared.snapshot.room;
    let last_seq = bigint(prepared.snapshot.imported_seq(None), "last_seq")?;
    let query = sqlx::query(
        "INSERT INTO rooms (code, owner, created_at, last_number, last_seq,
             pending_low, pending_medium, pending_high, done_low, done_medium, done_high)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (code) DO NOTHING RETURNING id",
    )
    .bind(room.code.as_str())
    .bind(room.owner.as_str())
    .bind(unix_micros(room.created_at))
    .bind(prepared.last_number)
    .bind(last_seq);
    Ok(bind_counters(query, prepared.counters).fetch_optional(conn).await?.map(|row| row.try_get(0)).transpose()?)
}

/// Locks the stored room with the snapshot's code, deletes everything it holds (tasks, members,
/// keys, changes) and rewrites its row as the snapshot has it, with the sequence moved beyond
/// the replaced one ([`RoomSnapshot::imported_seq`]); returns its id.
async fn replace_room(conn: &mut PgConnection, prepared: &Prepared<'_>) -> Attempt<i64> {
    let code = prepared.code();
    let locked: Option<(i64, i64)> = sqlx::query_as("SELECT id, last_seq FROM rooms WHERE code = $1 FOR UPDATE")
        .bind(code.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    // Rooms are never deleted, so a code found taken stays taken (unless removed by hand).
    let Some((id, replaced_seq)) = locked else {
        let message = format!("room {code} was deleted outside taskcore while it was being replaced");
        return Err(Error::Backend { message, source: None }.into());
    };
    let last_seq = bigint(prepared.snapshot.imported_seq(Some(unsigned(replaced_seq)?)), "last_seq")?;
    let room = &prepared.snapshot.room;
    let query = sqlx::query(
        "WITH t AS (DELETE FROM tasks WHERE room_id = $1), m AS (DELETE FROM members WHERE room_id = $1),
              k AS (DELETE FROM idempotency_keys WHERE room_id = $1), c AS (DELETE FROM changes WHERE room_id = $1)
         UPDATE rooms SET owner = $2, created_at = $3, last_number = $4, last_seq = $5,
             pending_low = $6, pending_medium = $7, pending_high = $8, done_low = $9, done_medium = $10,
             done_high = $11
         WHERE id = $1",
    )
    .bind(id)
    .bind(room.owner.as_str())
    .bind(unix_micros(room.created_at))
    .bind(prepared.last_number)
    .bind(last_seq);
    bind_counters(query, prepared.counters).execute(conn).await?;
    Ok(id)
}

/// A query under construction.
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the six counters, in the order of [`row::COUNTER_COLUMNS`].
fn bind_counters(mut query: PgQuery<'_>, counters: Counters) -> PgQuery<'_> {
    for count in counters.cells {
        query = query.bind(count);
    }
    query
}

/// Stores the members in joining order (positions 1, 2, …, the owner first).
async fn insert_members(conn: &mut PgConnection, room: i64, prepared: &Prepared<'_>) -> Attempt<()> {
    sqlx::query(
        "INSERT INTO members (room_id, position, name, name_key)
         SELECT $1, m.position, m.name, m.name_key
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS m (name, name_key, position)",
    )
    .bind(room)
    .bind(&prepared.names)
    .bind(&prepared.name_keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// The columns of a run of tasks, one array per column, as [`TaskValues::of`] computes them.
#[derive(Debug, Default)]
struct TaskColumns<'s> {
    number: Vec<i64>,
    id: Vec<Uuid>,
    title: Vec<&'s str>,
    description: Vec<&'s str>,
    priority: Vec<i64>,
    due: Vec<i64>,
    /// Each task's tags joined with [`TAG_SEPARATOR`].
    tags: Vec<String>,
    assignee: Vec<Option<String>>,
    assignee_key: Vec<Option<String>>,
    title_key: Vec<String>,
    search: Vec<String>,
    completed: Vec<bool>,
    completed_at: Vec<Option<i64>>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
    version: Vec<i64>,
}

impl<'s> TaskColumns<'s> {
    fn of(tasks: &'s [Task]) -> Self {
        let mut columns = Self::default();
        for task in tasks {
            columns.push(task);
        }
        columns
    }

    fn push(&mut self, task: &'s Task) {
        let values = TaskValues::of(task);
        self.number.push(values.number);
        self.id.push(task.id);
        self.title.push(&task.title);
        self.description.push(&task.description);
        self.priority.push(values.priority);
        self.due.push(values.due);
        self.tags.push(values.tags.join(TAG_SEPARATOR));
        self.assignee.push(values.assignee);
        self.assignee_key.push(values.assignee_key);
        self.title_key.push(values.title_key);
        self.search.push(values.search);
        self.completed.push(task.completed);
        self.completed_at.push(values.completed_at);
        self.created_at.push(values.created_at);
        self.updated_at.push(values.updated_at);
        self.version.push(values.version);
    }
}

/// `tasks` cut into runs of at most [`CHUNK_TASKS`] tasks and about [`CHUNK_BYTES`] of text.
fn task_runs(mut rest: &[Task]) -> impl Iterator<Item = &[Task]> + Send {
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (run, tail) = rest.split_at(chunk_len(rest));
        rest = tail;
        Some(run)
    })
}

/// How many of `tasks` (at least one) the next run takes.
fn chunk_len(tasks: &[Task]) -> usize {
    let mut bytes = 0;
    let over = tasks.iter().take(CHUNK_TASKS).position(|task| {
        // The title and description, and the search column that repeats them.
        bytes += 2 * (task.title.len() + task.description.len());
        bytes > CHUNK_BYTES
    });
    over.map_or(tasks.len().min(CHUNK_TASKS), |at| at.max(1))
}

/// Stores a run of tasks in one statement.
async fn insert_tasks(conn: &mut PgConnection, room: i64, chunk: &TaskColumns<'_>) -> Attempt<()> {
    sqlx::query(INSERT_TASKS_SQL)
        .bind(room)
        .bind(&chunk.number)
        .bind(&chunk.id)
        .bind(&chunk.title)
        .bind(&chunk.description)
        .bind(&chunk.priority)
        .bind(&chunk.due)
        .bind(&chunk.tags)
        .bind(&chunk.assignee)
        .bind(&chunk.assignee_key)
        .bind(&chunk.title_key)
        .bind(&chunk.search)
        .bind(&chunk.completed)
        .bind(&chunk.completed_at)
        .bind(&chunk.created_at)
        .bind(&chunk.updated_at)
        .bind(&chunk.version)
        .execute(conn)
        .await?;
    Ok(())
}

const INSERT_TASKS_SQL: &str = "INSERT INTO tasks (room_id, number, id, title, description, priority, due, tags,
         assignee, assignee_key, title_key, search, completed, completed_at, created_at, updated_at, version)
     SELECT $1, t.number, t.id, t.title, t.description, t.priority, t.due, string_to_array(t.tags, ','),
         t.assignee, t.assignee_key, t.title_key, t.search, t.completed, t.completed_at, t.created_at,
         t.updated_at, t.version
     FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[],
         $9::text[], $10::text[], $11::text[], $12::text[], $13::boolean[], $14::bigint[], $15::bigint[],
         $16::bigint[], $17::bigint[])
         AS t (number, id, title, description, priority, due, tags, assignee, assignee_key, title_key, search,
             completed, completed_at, created_at, updated_at, version)";

/// The columns of a run of idempotency keys.
#[derive(Debug)]
struct KeyColumns<'s> {
    key: Vec<&'s str>,
    number: Vec<i64>,
    fingerprint: Vec<Option<&'s str>>,
}

impl<'s> KeyColumns<'s> {
    fn of(keys: &'s [StoredKey]) -> Self {
        Self {
            key: keys.iter().map(|stored| stored.key.as_str()).collect(),
            number: keys.iter().map(|stored| signed(stored.number)).collect(),
            fingerprint: keys
                .iter()
                .map(|stored| stored.fingerprint.as_ref().map(RequestFingerprint::as_str))
                .collect(),
        }
    }
}

/// Stores a run of idempotency keys in one statement.
async fn insert_keys(conn: &mut PgConnection, room: i64, chunk: &KeyColumns<'_>) -> Attempt<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (room_id, key, number, fingerprint)
         SELECT $1, k.key, k.number, k.fingerprint FROM unnest($2::text[], $3::bigint[], $4::text[])
             AS k (key, number, fingerprint)",
    )
    .bind(room)
    .bind(&chunk.key)
    .bind(&chunk.number)
    .bind(&chunk.fingerprint)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use taskcore::{Priority, Tag};
    use time::OffsetDateTime;

    use super::*;

    fn task(number: u64, description_chars: usize) -> Task {
        Task {
            id: Uuid::nil(),
            number,
            title: format!("task {number}"),
            description: "d".repeat(description_chars),
            priority: Priority::Medium,
            due_date: None,
            tags: vec![Tag::parse("b").unwrap(), Tag::parse("a-1").unwrap()],
            assignee: None,
            completed: false,
            completed_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
            version: 1,
        }
    }

    #[test]
    fn runs_stop_at_the_row_count_or_the_text_budget() {
        let small: Vec<Task> = (1..=5_000).map(|n| task(n, 10)).collect();
        let runs: Vec<usize> = task_runs(&small).map(<[Task]>::len).collect();
        assert_eq!(runs, [CHUNK_TASKS, CHUNK_TASKS, 1_000]);
        let long: Vec<Task> = (1..=3).map(|n| task(n, 3_000)).collect();
        assert_eq!(chunk_len(&long), 3);
        let huge = CHUNK_BYTES / 2;
        let mut big = long.clone();
        big[1].description = "d".repeat(huge);
        assert_eq!(chunk_len(&big), 1, "the task that crosses the budget starts the next run");
        assert_eq!(chunk_len(&big[1..]), 1, "a task over the budget alone is a run of one");
    }

    #[test]
    fn tags_travel_joined_and_are_split_by_the_same_separator() {
        let tasks = [task(1, 0)];
        let columns = TaskColumns::of(&tasks);
        assert_eq!(columns.tags, ["b,a-1"], "in the task's order, as stored");
        assert!(INSERT_TASKS_SQL.contains(&format!("string_to_array(t.tags, '{TAG_SEPARATOR}')")));
        assert!(Tag::parse("a,b").is_err(), "no tag contains the separator");
    }

    #[test]
    fn what_postgres_cannot_store_is_refused_by_the_snapshot_check() {
        assert_eq!(bigint(7, "last_seq").unwrap(), 7);
        assert!(matches!(bigint(u64::MAX, "last_seq"), Err(Error::Invalid { field: "last_seq", .. })));
        let room = taskcore::Room::new(
            RoomCode::parse("ABCD").unwrap(),
            MemberName::parse("alice").unwrap(),
            OffsetDateTime::UNIX_EPOCH,
        );
        let snapshot = RoomSnapshot { room, last_number: 1, last_seq: 1, tasks: vec![task(1, 3)], keys: vec![] };
        assert!(snapshot.check(&taskcore::StoreOptions::default()).is_ok());
        let mut nul = snapshot.clone();
        nul.tasks[0].description = "a\0b".into();
        assert!(matches!(nul.check(&taskcore::StoreOptions::default()), Err(Error::Invalid { field: "tasks", .. })));
        let mut huge = snapshot;
        huge.tasks[0].version = u64::MAX;
        assert!(matches!(huge.check(&taskcore::StoreOptions::default()), Err(Error::Invalid { field: "tasks", .. })));
    }
}
