//! [`PgStore`]: opening the pool and migrating the schema, the reads, and the [`TaskStore`]
//! implementation (writes are in `write.rs`, batched by the group commit of `writer.rs`;
//! listing SQL in `query.rs`, snapshots and imports of whole rooms in `transfer.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool, Row};
use taskcore::store::{TaskCounts, TaskDraft, TaskUpdate, TaskWrite, Updated, check_since, unix_micros};
use taskcore::{
    ChangeBatch, Error, IdempotencyKey, Imported, Inserted, MemberName, OnConflict, Result, Room, RoomCode,
    RoomSnapshot, StoreOptions, Task, TaskPage, TaskQuery, TaskStore, WriteStats,
};
use time::OffsetDateTime;

use crate::config::PgConfig;
use crate::error::{db, retry};
use crate::notices::Notices;
use crate::query::{self, COUNTS_SQL, LISTING_TASK_AT, Param, Statement};
use crate::row::{self, Counters, ROOM_COLUMNS, TASK_COLUMNS, signed, unsigned};
use crate::schema;
use crate::transfer::{self, Prepared};
use crate::write::{self, AddMember, Bounds, DeleteTask, InsertTask, Limit, PatchTask, Retention, UpdateTask};
use crate::writer::{Shared, Writers};

/// A [`TaskStore`] in a PostgreSQL schema. Clones share the pool.
///
/// Any number of stores, in any number of processes, may use one schema at once: every
/// guarantee of the contract holds across them (see the crate docs on locking).
#[derive(Debug, Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    options: StoreOptions,
    schema: String,
    /// How to connect, for the listener of write notices (a connection of its own).
    connect: PgConnectOptions,
    notices: Arc<Notices>,
    /// The group commit every room write goes through.
    writers: Writers,
}

impl PgStore {
    /// Connects to the server at `url` with the settings its query string gives and defaults
    /// for the rest (see [`PgConfig::from_url`]), and migrates the schema (`taskcore` unless
    /// `?schema=` names another).
    ///
    /// - an unusable URL or an unknown or malformed parameter → `Invalid`; an unreachable
    ///   server → `Unavailable`; a schema of a newer major version → `Backend`.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(PgConfig::from_url(url)?).await
    }

    /// Connects as `config` says, creates the schema when missing and applies pending
    /// migrations.
    pub async fn open_with(config: PgConfig) -> Result<Self> {
        let options = config.connect_options()?;
        let pool = PgPoolOptions::new()
            .max_connections(config.pool_size.max(1))
            .acquire_timeout(config.acquire_timeout)
            .connect_lazy_with(options.clone());
        {
            let mut conn = pool.acquire().await.map_err(db)?;
            schema::migrate(&mut conn, &config.schema).await?;
        }
        let notices = Arc::new(Notices::new(&config.schema));
        let store = config.store;
        let retention = Retention(i64::try_from(store.retention()).unwrap_or(i64::MAX));
        let bounds = Bounds { retention, tasks: Limit(store.task_quota()), members: Limit(store.member_quota()) };
        // Each writer holds a pool connection while it writes a batch: leave the rest to reads.
        let count = config.writers.min(usize::try_from(config.pool_size).unwrap_or(usize::MAX)).max(1);
        let shared = Shared::new(pool.clone(), bounds, Arc::clone(&notices));
        let writers = Writers::spawn(shared, count, config.write_queue, config.max_batch);
        Ok(Self {
            inner: Arc::new(Inner { pool, options: store, schema: config.schema, connect: options, notices, writers }),
        })
    }

    /// The store options in force.
    pub fn options(&self) -> StoreOptions {
        self.inner.options
    }

    /// The schema the store uses.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// Closes the pool: waits for connections in use to come back, then closes them all. Later
    /// calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    /// Tells every process on this schema that `code` was written to (see `notices`).
    fn announce(&self, code: &RoomCode) {
        self.inner.notices.publish(&self.inner.pool, code);
    }

    /// The group commit's counters: batches committed and the writes they carried.
    pub fn write_stats(&self) -> WriteStats {
        self.inner.writers.stats()
    }

    /// `EXPLAIN` of the statement a listing with `query` runs in the room `code` (page, room
    /// counters and, when they do not answer it, the match count): the plan lines, for
    /// diagnosing slow listings.
    pub async fn explain_listing(
        &self,
        code: &RoomCode,
        query: &TaskQuery,
        now: OffsetDateTime,
    ) -> Result<Vec<String>> {
        self.explain(&query::listing(code.as_str(), query, now)).await
    }

    /// `EXPLAIN` of the statement [`TaskStore::counts`] runs.
    pub async fn explain_counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<Vec<String>> {
        let params = vec![Param::Text(code.to_string()), Param::Int(unix_micros(now))];
        self.explain(&Statement { sql: COUNTS_SQL.to_owned(), params }).await
    }

    async fn explain(&self, statement: &Statement) -> Result<Vec<String>> {
        let sql = format!("EXPLAIN {}", statement.sql);
        let rows = sqlx::query_with(&sql, statement.arguments()?).fetch_all(&self.inner.pool).await.map_err(db)?;
        rows.iter().map(|row| row.try_get::<String, _>(0).map_err(db)).collect()
    }
}

#[async_trait]
impl TaskStore for PgStore {
    fn write_notices(&self) -> Option<tokio::sync::broadcast::Receiver<RoomCode>> {
        Some(self.inner.notices.receiver(&self.inner.connect))
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn write_stats(&self) -> Option<WriteStats> {
        Some(self.inner.writers.stats())
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.inner.pool.acquire().await.map_err(db)?;
        conn.ping().await.map_err(db)
    }

    async fn insert_room(&self, room: &Room) -> Result<()> {
        let pool = &self.inner.pool;
        retry(move || write::insert_room(pool, room)).await
    }

    async fn room(&self, code: &RoomCode) -> Result<Room> {
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms AS r WHERE r.code = $1");
        let row = sqlx::query(&sql).bind(code.as_str()).fetch_optional(&self.inner.pool).await.map_err(db)?;
        row.map(|row| row::room(&row)).transpose()?.ok_or_else(|| Error::room_not_found(code))
    }

    async fn add_member(&self, code: &RoomCode, member: &MemberName, at: OffsetDateTime) -> Result<Room> {
        self.inner.writers.write(code, AddMember(member.clone(), at)).await
    }

    async fn insert_task(&self, code: &RoomCode, draft: TaskDraft, key: Option<&IdempotencyKey>) -> Result<Inserted> {
        self.inner.writers.write(code, InsertTask(draft, key.cloned())).await
    }

    async fn task(&self, code: &RoomCode, number: u64) -> Result<Task> {
        let sql = format!(
            "SELECT r.id, {TASK_COLUMNS} FROM rooms AS r \
             LEFT JOIN tasks AS t ON t.room_id = r.id AND t.number = $2 WHERE r.code = $1"
        );
        let row = sqlx::query(&sql)
            .bind(code.as_str())
            .bind(signed(number))
            .fetch_optional(&self.inner.pool)
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
        self.inner.writers.write(code, UpdateTask(task.clone(), expected_version, write)).await
    }

    /// Reads the task and writes it back in one write of the room's batch.
    async fn update_task_with(&self, code: &RoomCode, number: u64, update: &TaskUpdate) -> Result<Updated> {
        self.inner.writers.write(code, PatchTask(number, update.clone())).await
    }

    async fn delete_task(
        &self,
        code: &RoomCode,
        number: u64,
        expected_version: Option<u64>,
        at: OffsetDateTime,
    ) -> Result<Task> {
        self.inner.writers.write(code, DeleteTask(number, expected_version, at)).await
    }

    async fn list_tasks(&self, code: &RoomCode, query: &TaskQuery, now: OffsetDateTime) -> Result<TaskPage> {
        let listing = query::listing(code.as_str(), query, now);
        let rows =
            sqlx::query_with(&listing.sql, listing.arguments()?).fetch_all(&self.inner.pool).await.map_err(db)?;
        let first = rows.first().ok_or_else(|| Error::room_not_found(code))?;
        let counters = Counters::decode(first, 1)?;
        let matched = match first.try_get::<Option<i64>, _>(LISTING_TASK_AT - 1).map_err(db)? {
            Some(count) => unsigned(count)?,
            None => counters.state()?.matching(query.status, query.priority),
        };
        let mut tasks = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<Option<i64>, _>(LISTING_TASK_AT).map_err(db)?.is_some() {
                tasks.push(row::task(row, LISTING_TASK_AT)?);
            }
        }
        Ok(TaskPage::from_rows(tasks, query, matched, counters.state()?.total()))
    }

    async fn counts(&self, code: &RoomCode, now: OffsetDateTime) -> Result<TaskCounts> {
        let row = sqlx::query(COUNTS_SQL)
            .bind(code.as_str())
            .bind(unix_micros(now))
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db)?
            .ok_or_else(|| Error::room_not_found(code))?;
        let overdue: i64 = row.try_get(7).map_err(db)?;
        Ok(Counters::decode(&row, 1)?.state()?.task_counts(unsigned(overdue)?))
    }

    async fn latest_seq(&self, code: &RoomCode) -> Result<u64> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT last_seq FROM rooms WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(db)?;
        unsigned(row.ok_or_else(|| Error::room_not_found(code))?.0)
    }

    async fn changes(&self, code: &RoomCode, since: u64, limit: u32) -> Result<ChangeBatch> {
        // One statement, so the bounds checked and the changes returned are one snapshot.
        let rows = sqlx::query(
            "SELECT r.last_seq, (SELECT min(seq) FROM changes WHERE room_id = r.id), c.seq, c.at, c.event::text
             FROM rooms AS r
             LEFT JOIN LATERAL (
                 SELECT seq, at, event FROM changes WHERE room_id = r.id AND seq > $2 ORDER BY seq LIMIT $3
             ) AS c ON true
             WHERE r.code = $1",
        )
        .bind(code.as_str())
        .bind(signed(since))
        .bind(i64::from(limit))
        .fetch_all(&self.inner.pool)
        .await
        .map_err(db)?;
        let first = rows.first().ok_or_else(|| Error::room_not_found(code))?;
        let latest = unsigned(first.try_get(0).map_err(db)?)?;
        let oldest: Option<i64> = first.try_get(1).map_err(db)?;
        check_since(since, oldest.map(unsigned).transpose()?, latest)?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.try_get::<Option<i64>, _>(2).map_err(db)?.is_some() {
                changes.push(row::change(row, 2)?);
            }
        }
        Ok(ChangeBatch { changes, latest })
    }

    async fn room_codes(&self, after: Option<&RoomCode>, limit: u32) -> Result<Vec<RoomCode>> {
        transfer::room_codes(&self.inner.pool, after, limit).await
    }

    async fn snapshot_room(&self, code: &RoomCode) -> Result<RoomSnapshot> {
        let pool = &self.inner.pool;
        retry(move || transfer::snapshot_room(pool, code)).await
    }

    async fn import_room(&self, snapshot: RoomSnapshot, on_conflict: OnConflict) -> Result<Imported> {
        snapshot.check(&self.inner.options)?;
        let (pool, prepared) = (&self.inner.pool, &Prepared::of(&snapshot)?);
        let imported = retry(move || transfer::import_room(pool, prepared, on_conflict)).await?;
        if imported != Imported::Skipped {
            self.announce(&snapshot.room.code);
        }
        Ok(imported)
    }
}
