//! [`SqliteStore`]: opening the database (pragmas, pools, migrations, the writer) and the
//! [`TaskStore`] implementation — reads on the read pool, writes through the group-commit
//! [`Writer`].

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqlitePool};
use taskcore::store::{StateCounts, TaskCounts, TaskDraft, TaskUpdate, TaskWrite, Updated, check_since};
use taskcore::{
    ChangeBatch, Error, IdempotencyKey, Imported, Inserted, MemberName, OnConflict, Result, Room, RoomCode,
    RoomSnapshot, StoreOptions, Task, TaskPage, TaskQuery, TaskStore, WriteStats,
};
use time::OffsetDateTime;

use crate::checkpoint::Checkpointer;
use crate::config::{Durability, SqliteConfig};
use crate::error::{db, native};
use crate::query::{self, COUNTERS_SQL, COUNTS_SQL, Statement, counters_from_json, counters_from_rows};
use crate::row::{self, ROOM_COLUMNS, TASK_COLUMN_COUNT, TASK_COLUMNS, number_param, unsigned};
use crate::schema;
use crate::transfer;
use crate::write::{AddMember, DeleteTask, ImportRoom, InsertRoom, InsertTask, PatchTask, UpdateTask, Write};
use crate::writer::{self, Writer};

/// Rows a read connection hands over at once: a full page plus its look-ahead row.
const READ_ROW_BUFFER: usize = taskcore::MAX_PAGE_LIMIT as usize + 1;

/// A [`TaskStore`] in a SQLite database. Clones share the database, pools and writer.
///
/// Open it inside a tokio runtime. Its writer is a thread of its own, which ends once every
/// clone of the store is dropped or [`close`](Self::close) is called.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    read: SqlitePool,
    writer: Writer,
    options: StoreOptions,
    /// The directory of an in-memory store's scratch database, removed with the store.
    _scratch: Option<tempfile::TempDir>,
}

/// The value of SQLite's `synchronous` pragma, for the writer's connection.
fn synchronous_pragma(synchronous: SqliteSynchronous) -> &'static str {
    match synchronous {
        SqliteSynchronous::Off => "OFF",
        SqliteSynchronous::Normal => "NORMAL",
        SqliteSynchronous::Full => "FULL",
        SqliteSynchronous::Extra => "EXTRA",
    }
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `url` with the settings its query string
    /// gives and defaults for the rest: see [`SqliteConfig::from_url`].
    ///
    /// - an unusable URL or an unknown or malformed parameter → `Invalid`; a file that cannot
    ///   be opened → `Unavailable`; a database of a newer schema major version → `Backend`.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(SqliteConfig::from_url(url)?).await
    }

    /// Opens the database `config` describes, applying pending migrations.
    ///
    /// An in-memory URL (`sqlite::memory:`, `mode=memory`) opens a private scratch database in
    /// a temporary directory, never synced to disk and removed when the last clone of the store
    /// is dropped: the writer thread and the read pool need a file they can all open.
    pub async fn open_with(config: SqliteConfig) -> Result<Self> {
        let (base, scratch) = if config.is_memory() {
            let dir = tempfile::Builder::new()
                .prefix("taskcore-sqlite-")
                .tempdir()
                .map_err(|e| Error::unavailable("cannot create the scratch directory of an in-memory store", e))?;
            (SqliteConnectOptions::new().filename(dir.path().join("scratch.db")), Some(dir))
        } else {
            config.check_writable()?;
            let options = SqliteConnectOptions::from_str(&config.url).map_err(|e| {
                Error::invalid("url", format!("not a sqlite URL ({e}): use sqlite://path/file.db or sqlite::memory:"))
            })?;
            (options, None)
        };
        let synchronous = match (&scratch, config.durability) {
            (Some(_), _) => SqliteSynchronous::Off,
            (None, Durability::Full) => SqliteSynchronous::Full,
            (None, Durability::Normal) => SqliteSynchronous::Normal,
        };
        let base = base
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(config.busy_timeout)
            .synchronous(synchronous)
            .journal_mode(SqliteJournalMode::Wal);
        {
            let mut conn = base.connect().await.map_err(db)?;
            schema::migrate(&mut conn).await?;
            conn.close().await.map_err(db)?;
        }
        let read = SqlitePoolOptions::new()
            .max_connections(config.read_connections.max(1))
            // A page (up to MAX_PAGE_LIMIT + 1 rows) crosses from sqlx's worker thread in one go
            // instead of stalling on the default 50-row buffer.
            .connect_lazy_with(base.clone().pragma("query_only", "ON").row_buffer_size(READ_ROW_BUFFER));
        let path = base.get_filename().to_owned();
        let (pragma, busy_timeout) = (synchronous_pragma(synchronous), config.busy_timeout);
        let (conn, checkpointer) = tokio::task::spawn_blocking(move || {
            let conn = writer::connect(&path, pragma, busy_timeout).map_err(native)?;
            Ok::<_, Error>((conn, Checkpointer::start(&path, busy_timeout)?))
        })
        .await
        .map_err(|e| Error::unavailable("the sqlite writer's connection did not open", e))??;
        let writer = Writer::spawn(conn, checkpointer, config.store.retention(), config.max_batch)?;
        Ok(Self { inner: Arc::new(Inner { read, writer, options: config.store, _scratch: scratch }) })
    }

    /// The store options in force.
    pub fn options(&self) -> StoreOptions {
        self.inner.options
    }

    /// The group commit's counters: batches committed and the writes they carried.
    pub fn write_stats(&self) -> WriteStats {
        self.inner.writer.stats()
    }

    /// Finishes the writes queued so far, then closes the writer and the pools. Later calls
    /// fail with `Unavailable`. Dropping the store without closing it loses nothing that was
    /// acknowledged either; closing also checkpoints the WAL into the database file.
    pub async fn close(&self) {
        self.inner.writer.close().await;
        self.inner.read.close().await;
    }

    /// `EXPLAIN QUERY PLAN` of every statement a listing with `query` in the room `code` may run
    /// (the page — which carries the counters and the match count — then, for a page without
    /// rows, the counters and the match count alone): one line per plan step, for diagnosing
    /// slow listings.
    pub async fn explain_listing(
        &self,
        code: &RoomCode,
        query: &TaskQuery,
        now: OffsetDateTime,
    ) -> Result<Vec<String>> {
        let mut plan = self.explain(&query::page(code.as_str(), query, now)).await?;
        if !query.filters_only_status_and_priority() {
            plan.extend(self.explain(&query::matched(code.as_str(), query, now)).await?);
        }
        Ok(plan)
    }

    /// `EXPLAIN QUERY PLAN` of the statement [`TaskStore::counts`] runs.
    pub async fn explain_counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<Vec<String>> {
        let [at, day, first] = query::overdue_params(now);
        let counts = Statement {
            sql: COUNTS_SQL.to_owned(),
            params: vec![
                query::Param::Text(code.to_string()),
                query::Param::Int(at),
                query::Param::Int(day),
                query::Param::Int(first),
            ],
        };
        self.explain(&counts).await
    }

    async fn explain(&self, statement: &Statement) -> Result<Vec<String>> {
        let sql = format!("EXPLAIN QUERY PLAN {}", statement.sql);
        let rows = sqlx::query_with(&sql, statement.arguments()?).fetch_all(&self.inner.read).await.map_err(db)?;
        rows.iter().map(|row| row.try_get::<String, _>(3).map_err(db)).collect()
    }

    /// The room's id and counters.
    async fn counters(&self, code: &RoomCode) -> Result<(i64, StateCounts)> {
        let rows = sqlx::query(COUNTERS_SQL).bind(code.as_str()).fetch_all(&self.inner.read).await.map_err(db)?;
        match counters_from_rows(&rows)? {
            (Some(room), counters) => Ok((room, counters)),
            (None, _) => Err(Error::room_not_found(code)),
        }
    }

    async fn write<W: Write>(&self, write: W) -> Result<W::Output> {
        self.inner.writer.write(write).await
    }
}

#[async_trait]
impl TaskStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn write_stats(&self) -> Option<WriteStats> {
        Some(self.inner.writer.stats())
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.inner.read.acquire().await.map_err(db)?;
        conn.ping().await.map_err(db)
    }

    async fn insert_room(&self, room: &Room) -> Result<()> {
        self.write(InsertRoom(room.clone())).await
    }

    async fn room(&self, code: &RoomCode) -> Result<Room> {
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms AS r WHERE r.code = ?");
        let row = sqlx::query(&sql).bind(code.as_str()).fetch_optional(&self.inner.read).await.map_err(db)?;
        row.map(|row| row::room(&row)).transpose()?.ok_or_else(|| Error::room_not_found(code))
    }

    async fn add_member(&self, code: &RoomCode, member: &MemberName, at: OffsetDateTime) -> Result<Room> {
        let quota = self.inner.options.member_quota();
        self.write(AddMember { code: code.clone(), member: member.clone(), at, quota }).await
    }

    async fn insert_task(&self, code: &RoomCode, draft: TaskDraft, key: Option<&IdempotencyKey>) -> Result<Inserted> {
        let quota = self.inner.options.task_quota();
        self.write(InsertTask { code: code.clone(), draft, key: key.cloned(), quota }).await
    }

    async fn task(&self, code: &RoomCode, number: u64) -> Result<Task> {
        let sql = format!(
            "SELECT r.id, {TASK_COLUMNS} FROM rooms AS r \
             LEFT JOIN tasks AS t ON t.room_id = r.id AND t.number = ?2 WHERE r.code = ?1"
        );
        let row = sqlx::query(&sql)
            .bind(code.as_str())
            .bind(number_param(number))
            .fetch_optional(&self.inner.read)
            .await
            .map_err(db)?
            .ok_or_else(|| Error::room_not_found(code))?;
        let found: Option<i64> = row.try_get(1).map_err(db)?;
        match found {
            Some(_) => row::task(&row, 1),
            None => Err(Error::task_not_found(code, number)),
        }
    }

    async fn update_task(&self, code: &RoomCode, task: &Task, expected_version: u64, write: TaskWrite) -> Result<Task> {
        self.write(UpdateTask { code: code.clone(), task: task.clone(), expected: expected_version, write }).await
    }

    /// Reads the task and writes it back in one operation of the writer's batch.
    async fn update_task_with(&self, code: &RoomCode, number: u64, update: &TaskUpdate) -> Result<Updated> {
        self.write(PatchTask { code: code.clone(), number, update: update.clone() }).await
    }

    async fn delete_task(
        &self,
        code: &RoomCode,
        number: u64,
        expected_version: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<Task> {
        self.write(DeleteTask { code: code.clone(), number, expected: expected_version, at }).await
    }

    async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<TaskPage> {
        let page = query::page(code.as_str(), query, now);
        let rows = sqlx::query_with(&page.sql, page.arguments()?).fetch_all(&self.inner.read).await.map_err(db)?;
        let tasks = rows.iter().map(|row| row::task(row, 0)).collect::<Result<Vec<_>>>()?;
        let (counters, matched) = match rows.first() {
            Some(row) => {
                let counters: String = row.try_get(TASK_COLUMN_COUNT).map_err(db)?;
                let matched: Option<i64> = row.try_get(TASK_COLUMN_COUNT + 1).map_err(db)?;
                (counters_from_json(&counters)?, matched)
            }
            // No rows: the room may not exist, and the counts still have to be read.
            None => {
                let (_, counters) = self.counters(code).await?;
                let matched = if query.filters_only_status_and_priority() {
                    None
                } else {
                    let count = query::matched(code.as_str(), query, now);
                    let n: i64 = sqlx::query_scalar_with(&count.sql, count.arguments()?)
                        .fetch_one(&self.inner.read)
                        .await
                        .map_err(db)?;
                    Some(n)
                };
                (counters, matched)
            }
        };
        let matched = match matched {
            Some(n) => unsigned(n)?,
            None => counters.matching(query.status, query.priority),
        };
        Ok(TaskPage::from_rows(tasks, query, matched, counters.total()))
    }

    async fn counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<TaskCounts> {
        let [at, day, first] = query::overdue_params(now);
        let rows = sqlx::query(COUNTS_SQL)
            .bind(code.as_str())
            .bind(at)
            .bind(day)
            .bind(first)
            .fetch_all(&self.inner.read)
            .await
            .map_err(db)?;
        let (Some(_), counters) = counters_from_rows(&rows)? else {
            return Err(Error::room_not_found(code));
        };
        let overdue: i64 = rows.first().map(|row| row.try_get(4)).transpose().map_err(db)?.unwrap_or(0);
        Ok(counters.task_counts(unsigned(overdue)?))
    }

    async fn latest_seq(&self, code: &RoomCode) -> Result<u64> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT last_seq FROM rooms WHERE code = ?")
            .bind(code.as_str())
            .fetch_optional(&self.inner.read)
            .await
            .map_err(db)?;
        unsigned(row.ok_or_else(|| Error::room_not_found(code))?.0)
    }

    async fn room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
        transfer::room_codes(&self.inner.read, after, limit).await
    }

    async fn snapshot_room(&self, code: &RoomCode) -> Result<RoomSnapshot> {
        transfer::snapshot(&self.inner.read, code).await
    }

    async fn import_room(&self, snapshot: RoomSnapshot, on_conflict: OnConflict) -> Result<Imported> {
        snapshot.check(&self.inner.options)?;
        // One writer operation: atomic, and serialised with every other write.
        self.write(ImportRoom { snapshot, on_conflict }).await
    }

    async fn changes(&self, code: &RoomCode, since: u64, limit: u32) -> Result<ChangeBatch> {
        // One read transaction: the bounds checked and the changes returned are one snapshot.
        let mut conn = self.inner.read.acquire().await.map_err(db)?;
        let mut tx = conn.begin().await.map_err(db)?;
        let row = sqlx::query(
            "SELECT r.id, r.last_seq, (SELECT MIN(seq) FROM changes WHERE room_id = r.id) FROM rooms AS r \
             WHERE r.code = ?",
        )
        .bind(code.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| Error::room_not_found(code))?;
        let (room, latest, oldest): (i64, i64, Option<i64>) =
            (row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?, row.try_get(2).map_err(db)?);
        let latest = unsigned(latest)?;
        check_since(since, oldest.map(unsigned).transpose()?, latest)?;
        let rows = sqlx::query("SELECT seq, at, event FROM changes WHERE room_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            .bind(room)
            .bind(number_param(since))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        let changes = rows.iter().map(row::change).collect::<Result<Vec<_>>>()?;
        Ok(ChangeBatch { changes, latest })
    }
}
