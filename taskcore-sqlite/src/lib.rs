//! # taskcore-sqlite
//!
//! The embedded default storage backend of [`taskcore`]: a [`SqliteStore`] implementing
//! [`taskcore::TaskStore`] on SQLite: reads through sqlx, writes through one rusqlite connection
//! on a writer thread. One file, no server to install.
//!
//! - **Durable**: WAL journal, `synchronous = FULL` by default (see [`Durability`] for the
//!   power-loss trade-off), foreign keys on, a busy timeout, every write in a `BEGIN IMMEDIATE`
//!   transaction — several processes or store instances may share one file without
//!   "database is locked".
//! - **Fast writes without weaker durability**: group commit. One writer thread drains a queue
//!   of writes into one transaction, a savepoint per write, and answers each caller after the
//!   commit that holds its write. Reads use their own pool and never wait for the writer.
//! - **Everything pushed down**: filters, sort, keyset pagination, counts, number and sequence
//!   allocation and conditional updates are SQL over indexed, precomputed columns; statistics
//!   read counters maintained in the write transaction.
//! - **Migrations** embedded and applied on open, tracked in `taskcore_schema_migrations` (not
//!   `_sqlx_migrations`); a database of a newer major schema is refused, never damaged.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use taskcore::{NewTask, StatusFilter, TaskManager, TaskQuery};
//! use taskcore_sqlite::SqliteStore;
//!
//! let store = SqliteStore::open("sqlite::memory:").await?; // or "sqlite://data/tasks.db"
//! // (`sqlite::memory:` is a private scratch database, removed when the store is dropped)
//! let tasks = TaskManager::new(Arc::new(store));
//! let room = tasks.create_room("alice").await?;
//! let first = tasks.create_task(&room.code, &NewTask::titled("Plan the sprint").priority("high"), None).await?;
//! tasks.create_task(&room.code, &NewTask::titled("Book a room"), None).await?;
//! tasks.complete_task(&room.code, first.task().number, None).await?;
//! let pending = tasks.list_tasks(&room.code, &TaskQuery::default().status(StatusFilter::Pending)).await?;
//! assert_eq!(pending.items.len(), 1);
//! assert_eq!(tasks.stats(&room.code).await?.completion_rate, 50.0);
//! # Ok::<(), taskcore::Error>(())
//! # }).unwrap();
//! ```
//!
//! Every setting can be given in the URL's query string
//! (`sqlite://data/tasks.db?durability=normal&busy_timeout=5s&read_connections=8`, see
//! [`SqliteConfig::from_url`]) or in code through [`SqliteConfig`] and
//! [`SqliteStore::open_with`]. To choose the backend by a URL at run time, use the
//! `taskcore-store` crate. The crate README documents the schema, the durability settings and
//! benchmark figures.
//!
//! ## Feature flags
//!
//! None: the crate always bundles SQLite (through sqlx's `sqlite` feature; rusqlite links the
//! same `libsqlite3-sys`).

mod checkpoint;
mod config;
mod error;
mod query;
mod row;
mod schema;
mod store;
mod transfer;
mod write;
mod writer;

pub use config::{ConfigError, DRIVER_PARAMETERS, Durability, SqliteConfig, URL_PARAMETERS};
pub use schema::{MIGRATIONS, MIGRATIONS_TABLE, Migration, SCHEMA_MAJOR};
pub use store::SqliteStore;

/// Compile-time proof that the store's futures are `Send` (sqlx futures easily are not).
#[cfg(test)]
mod send_check {
    fn is_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    async fn check(
        conn: &mut sqlx::SqliteConnection,
        pool: sqlx::SqlitePool,
        writer: crate::writer::Writer,
        op: crate::write::InsertTask,
        code: taskcore::RoomCode,
    ) {
        is_send(crate::schema::migrate(conn));
        is_send(writer.write(op));
        is_send(crate::store::SqliteStore::open("x"));
        is_send(crate::transfer::snapshot(&pool, &code));
        is_send(crate::transfer::room_codes(&pool, None, 1));
    }
}
