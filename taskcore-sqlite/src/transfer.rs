//! Whole-room transfer in SQL: the pages of room codes a dump walks ([`room_codes`]), a room
//! read as one [`RoomSnapshot`] inside one read transaction ([`snapshot`]), both on the read pool,
//! and the writer operation that stores a snapshot ([`import`], on the writer's rusqlite
//! connection): a replaced room's rows deleted, then the room,
//! its members, its tasks with every precomputed column and its idempotency keys inserted with
//! multi-row `INSERT`s. [`RoomSnapshot::check`] has refused, before anything is queued, a
//! snapshot whose numbers SQLite's signed 64-bit integers cannot hold.

use futures_util::TryStreamExt;
use rusqlite::{Connection, OptionalExtension, ToSql, params, params_from_iter};
use sqlx::sqlite::SqliteRow;
use sqlx::{Connection as _, Row, SqliteConnection, SqlitePool};
use taskcore::store::{DEFAULT_MAX_TASKS_PER_ROOM, unix_micros};
use taskcore::{
    Error, Imported, MemberName, OnConflict, RequestFingerprint, Result, RoomCode, RoomSnapshot, StoredKey, Task,
};

use crate::error::{corrupt, db, native};
use crate::row::{self, ROOM_COLUMNS, TASK_COLUMNS, TaskValues, number_param, unsigned};
use crate::write::{TASK_SET, TASK_SET_PARAMS, task_params};

/// Tasks per multi-row `INSERT`: 17 parameters each, 3,400 per statement — far under SQLite's
/// limit of 32,766 — and few enough statements that a 100,000-task room is 500 statements.
const TASKS_PER_INSERT: usize = 200;

/// Members or idempotency keys per multi-row `INSERT` (4 parameters each).
const PAIRS_PER_INSERT: usize = 500;

/// The parameters of one member or key row: room id, position or key, name or number, key or
/// fingerprint.
const PAIR_ROW: &str = "(?, ?, ?, ?)";

/// Deletes every row of the room whose id is `?1`, in order. The counters and the tag index go
/// first, so that the `tasks_delete` trigger finds nothing left to maintain for each deleted
/// task; the room's own row goes last, after every row that refers to it.
const DELETE_ROOM_SQL: [&str; 8] = [
    "DELETE FROM task_tags WHERE room_id = ?1",
    "DELETE FROM task_counts WHERE room_id = ?1",
    "DELETE FROM pending_due_days WHERE room_id = ?1",
    "DELETE FROM tasks WHERE room_id = ?1",
    "DELETE FROM members WHERE room_id = ?1",
    "DELETE FROM idempotency_keys WHERE room_id = ?1",
    "DELETE FROM changes WHERE room_id = ?1",
    "DELETE FROM rooms WHERE id = ?1",
];

/// Up to `limit` room codes in byte order (SQLite's `BINARY` collation), after `after` when
/// given: one range of the `code` index.
pub(crate) async fn room_codes(pool: &SqlitePool, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
    let query = match after {
        Some(after) => sqlx::query_scalar::<_, String>("SELECT code FROM rooms WHERE code > ? ORDER BY code LIMIT ?")
            .bind(after.as_str()),
        None => sqlx::query_scalar::<_, String>("SELECT code FROM rooms ORDER BY code LIMIT ?"),
    };
    let codes = query.bind(i64::from(limit)).fetch_all(pool).await.map_err(db)?;
    codes.iter().map(|code| RoomCode::parse(code).map_err(|e| corrupt("room code", e))).collect()
}

/// The room with this code as of one instant: every statement runs in one read transaction,
/// whose first `SELECT` fixes the snapshot of the database (WAL) that the others read too.
///
/// - no such room → `NotFound(Missing::Room)`.
pub(crate) async fn snapshot(pool: &SqlitePool, code: &RoomCode) -> Result<RoomSnapshot> {
    let mut conn = pool.acquire().await.map_err(db)?;
    let mut tx = conn.begin().await.map_err(db)?;
    let sql = format!(
        "SELECT {ROOM_COLUMNS}, r.id, r.last_number, r.last_seq, \
         (SELECT SUM(n) FROM task_counts WHERE room_id = r.id) FROM rooms AS r WHERE r.code = ?"
    );
    let head = sqlx::query(&sql)
        .bind(code.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| Error::room_not_found(code))?;
    let room = row::room(&head)?;
    let id: i64 = head.try_get(4).map_err(db)?;
    let last_number = unsigned(head.try_get(5).map_err(db)?)?;
    let last_seq = unsigned(head.try_get(6).map_err(db)?)?;
    let count: Option<i64> = head.try_get(7).map_err(db)?;
    // Room for every task at once, but never more than a sane room holds should the counter lie.
    let capacity = count.and_then(|n| u64::try_from(n).ok()).unwrap_or(0).min(DEFAULT_MAX_TASKS_PER_ROOM);
    let tasks = tasks(&mut tx, id, usize::try_from(capacity).unwrap_or(0)).await?;
    let keys = keys(&mut tx, id).await?;
    tx.commit().await.map_err(db)?;
    Ok(RoomSnapshot { room, last_number, last_seq, tasks, keys })
}

/// The room's tasks in number order, decoded as the rows stream in.
async fn tasks(conn: &mut SqliteConnection, room: i64, capacity: usize) -> Result<Vec<Task>> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks AS t WHERE t.room_id = ? ORDER BY t.number");
    let mut rows = sqlx::query(&sql).bind(room).fetch(&mut *conn);
    let mut tasks = Vec::with_capacity(capacity);
    while let Some(row) = rows.try_next().await.map_err(db)? {
        tasks.push(row::task(&row, 0)?);
    }
    Ok(tasks)
}

/// The room's idempotency keys in key order (byte order, as the primary key holds them).
async fn keys(conn: &mut SqliteConnection, room: i64) -> Result<Vec<StoredKey>> {
    let mut rows = sqlx::query("SELECT key, number, fingerprint FROM idempotency_keys WHERE room_id = ? ORDER BY key")
        .bind(room)
        .fetch(&mut *conn);
    let mut keys = Vec::new();
    while let Some(row) = rows.try_next().await.map_err(db)? {
        keys.push(stored_key(&row)?);
    }
    Ok(keys)
}

/// Decodes `key, number, fingerprint` (`NULL` for a key stored before fingerprints were kept).
fn stored_key(row: &SqliteRow) -> Result<StoredKey> {
    let key: String = row.try_get(0).map_err(db)?;
    let fingerprint: Option<String> = row.try_get(2).map_err(db)?;
    let number = unsigned(row.try_get(1).map_err(db)?)?;
    StoredKey::from_stored(&key, number, fingerprint.as_deref()).map_err(|e| corrupt("idempotency key", e))
}

/// `value` as SQLite stores it, or `Invalid` on `field`.
fn integer(value: u64, field: &'static str) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| Error::invalid(field, format!("{value} is beyond the largest integer, {}", i64::MAX)))
}

/// Stores `snapshot` (which passed [`RoomSnapshot::check`]) inside the
/// writer's savepoint for this operation, so that a failure anywhere leaves nothing of it, and a
/// replaced room as it was. The room's feed is empty at its imported sequence: no change is
/// written.
///
/// - the code is taken → by `on_conflict`: `AlreadyExists`; [`Imported::Skipped`] with nothing
///   written; or every row of the stored room deleted and the snapshot stored in its place.
pub(crate) fn import(conn: &Connection, snapshot: &RoomSnapshot, on_conflict: OnConflict) -> Result<Imported> {
    let code = &snapshot.room.code;
    let stored: Option<(i64, i64)> = conn
        .prepare_cached("SELECT id, last_seq FROM rooms WHERE code = ?1")
        .map_err(native)?
        .query_row([code.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
        .map_err(native)?;
    let (imported, replaced_seq) = match (stored, on_conflict) {
        (None, _) => (Imported::Created, None),
        (Some(_), OnConflict::Fail) => return Err(Error::room_exists(code)),
        (Some(_), OnConflict::Skip) => return Ok(Imported::Skipped),
        (Some((id, last_seq)), OnConflict::Replace) => {
            for statement in DELETE_ROOM_SQL {
                conn.prepare_cached(statement).map_err(native)?.execute([id]).map_err(native)?;
            }
            (Imported::Replaced, Some(unsigned(last_seq)?))
        }
    };
    let last_seq = integer(snapshot.imported_seq(replaced_seq), "last_seq")?;
    let room = insert_room(conn, snapshot, last_seq)?;
    insert_members(conn, room, &snapshot.room.members)?;
    insert_tasks(conn, room, &snapshot.tasks)?;
    insert_keys(conn, room, &snapshot.keys)?;
    Ok(imported)
}

/// The room's row with its last number and sequence (its `rooms_counts` trigger adds the zeroed
/// counters, which the task inserts' triggers count up); its id.
fn insert_room(conn: &Connection, snapshot: &RoomSnapshot, last_seq: i64) -> Result<i64> {
    let room = &snapshot.room;
    conn.prepare_cached(
        "INSERT INTO rooms (code, owner, created_at, last_number, last_seq) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    )
    .map_err(native)?
    .query_row(
        params![
            room.code.as_str(),
            room.owner.as_str(),
            unix_micros(room.created_at),
            integer(snapshot.last_number, "last_number")?,
            last_seq
        ],
        |row| row.get(0),
    )
    .map_err(native)
}

/// `INSERT INTO {into} VALUES {row}, {row}, …` with `rows` rows.
fn values_sql(into: &str, row: &str, rows: usize) -> String {
    let mut sql = String::with_capacity(into.len() + 20 + rows * (row.len() + 2));
    sql.push_str("INSERT INTO ");
    sql.push_str(into);
    sql.push_str(" VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(row);
    }
    sql
}

/// Runs a multi-row `INSERT` of `rows` rows with `values`. Full chunks share one text, which
/// the connection keeps prepared; a shorter last chunk is prepared for its one use only.
fn insert_rows<'a>(
    conn: &Connection,
    sql: &str,
    rows: usize,
    full: usize,
    values: impl IntoIterator<Item = &'a dyn ToSql>,
) -> Result<()> {
    let values = params_from_iter(values);
    if rows == full {
        conn.prepare_cached(sql).map_err(native)?.execute(values).map_err(native)?;
    } else {
        conn.prepare(sql).map_err(native)?.execute(values).map_err(native)?;
    }
    Ok(())
}

/// The members in joining order, positions from 1, with their case-folded keys.
fn insert_members(conn: &Connection, room: i64, members: &[MemberName]) -> Result<()> {
    let rows: Vec<(i64, &str, String)> =
        (1_i64..).zip(members).map(|(position, member)| (position, member.as_str(), member.key())).collect();
    for chunk in rows.chunks(PAIRS_PER_INSERT) {
        let sql = values_sql("members (room_id, position, name, name_key)", PAIR_ROW, chunk.len());
        let values = chunk.iter().flat_map(|(position, name, key)| [&room as &dyn ToSql, position, name, key]);
        insert_rows(conn, &sql, chunk.len(), PAIRS_PER_INSERT, values)?;
    }
    Ok(())
}

/// The tasks with every column the create path stores ([`TaskValues`] and [`task_params`]); the
/// `tasks_insert` trigger fills the tag index and counts each one (constant work per task).
fn insert_tasks(conn: &Connection, room: i64, tasks: &[Task]) -> Result<()> {
    let into = format!("tasks (room_id, number, {TASK_SET})");
    let row = format!("(?, ?, {TASK_SET_PARAMS})");
    for chunk in tasks.chunks(TASKS_PER_INSERT) {
        let values = chunk.iter().map(TaskValues::of).collect::<Result<Vec<_>>>()?;
        let sql = values_sql(&into, &row, chunk.len());
        let params = chunk.iter().zip(&values).flat_map(|(task, values)| {
            let head: [&dyn ToSql; 2] = [&room, &values.number];
            head.into_iter().chain(task_params(task, values))
        });
        insert_rows(conn, &sql, chunk.len(), TASKS_PER_INSERT, params)?;
    }
    Ok(())
}

/// The idempotency keys with the numbers they created and their fingerprints.
fn insert_keys(conn: &Connection, room: i64, keys: &[StoredKey]) -> Result<()> {
    let rows: Vec<(&str, i64, Option<&str>)> = keys
        .iter()
        .map(|stored| {
            (
                stored.key.as_str(),
                number_param(stored.number),
                stored.fingerprint.as_ref().map(RequestFingerprint::as_str),
            )
        })
        .collect();
    for chunk in rows.chunks(PAIRS_PER_INSERT) {
        let sql = values_sql("idempotency_keys (room_id, key, number, fingerprint)", PAIR_ROW, chunk.len());
        let values =
            chunk.iter().flat_map(|(key, number, fingerprint)| [&room as &dyn ToSql, key, number, fingerprint]);
        insert_rows(conn, &sql, chunk.len(), PAIRS_PER_INSERT, values)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_row_insert_has_one_parameter_list_per_row() {
        assert_eq!(values_sql("t (a, b)", "(?, ?)", 1), "INSERT INTO t (a, b) VALUES (?, ?)");
        assert_eq!(values_sql("t (a, b)", "(?, ?)", 3), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)");
    }

    #[test]
    fn statements_stay_under_the_bound_parameter_limit() {
        let task_params = 2 + TASK_SET_PARAMS.matches('?').count();
        assert_eq!(task_params, 2 + TASK_SET.split(',').count(), "one parameter per task column");
        assert!(TASKS_PER_INSERT * task_params <= 32_766);
        assert!(PAIRS_PER_INSERT * PAIR_ROW.matches('?').count() <= 32_766);
    }
}
