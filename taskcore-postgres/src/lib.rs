//! # taskcore-postgres
//!
//! The PostgreSQL storage backend of [`taskcore`]: a [`PgStore`] implementing
//! [`taskcore::TaskStore`] on sqlx, for deployments that outgrow one machine — several server
//! replicas on one database, managed backups, point-in-time recovery, replication. The replicas
//! need no coordination of their own: PostgreSQL's row locks and transactions give every
//! guarantee of the contract across processes.
//!
//! - **Everything pushed down**: filters, sort, keyset pagination (row-value comparisons
//!   `(sort column, number) > ($1, $2)` over an index per order), counts and conditional
//!   updates (`UPDATE … WHERE version = $n`) are SQL over indexed, precomputed columns (search
//!   text, due sort value, priority rank, case-folded title with `COLLATE "C"`, assignee key);
//!   statistics read counters maintained in the write transaction (each room's row written
//!   once per write batch, under its lock), plus one index range for overdue tasks.
//! - **Own schema, own migrations**: every table lives in the configured schema (default
//!   `taskcore`), migrations are embedded and applied on open, tracked in that schema's
//!   [`MIGRATIONS_TABLE`] (never the host application's `_sqlx_migrations`); a schema of a
//!   newer major version is refused, never damaged.
//! - **Errors**: a lost or refused connection, an exhausted pool, a server shutting down,
//!   `pg_terminate_backend`, a statement timeout → [`taskcore::Error::Unavailable`]; the pool
//!   replaces broken connections, so the same store recovers when the server is back.
//!
//! ```no_run
//! # async fn example() -> taskcore::Result<()> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use taskcore::{NewTask, StatusFilter, TaskManager, TaskQuery};
//! use taskcore_postgres::{PgConfig, PgStore};
//!
//! let config = PgConfig::new("postgres://app:secret@db.internal:5432/tasks")
//!     .pool_size(20)
//!     .statement_timeout(Duration::from_secs(5));
//! let tasks = TaskManager::new(Arc::new(PgStore::open_with(config).await?));
//! let room = tasks.create_room("alice").await?;
//! let first = tasks.create_task(&room.code, &NewTask::titled("Plan the sprint").priority("high"), None).await?;
//! tasks.create_task(&room.code, &NewTask::titled("Book a room"), None).await?;
//! tasks.complete_task(&room.code, first.task().number, None).await?;
//! let pending = tasks.list_tasks(&room.code, &TaskQuery::default().status(StatusFilter::Pending)).await?;
//! assert_eq!(pending.items.len(), 1);
//! assert_eq!(tasks.stats(&room.code).await?.completion_rate, 50.0);
//! # Ok(())
//! # }
//! ```
//!
//! ## Locking: a row lock on the room
//!
//! Each room's row holds `last_number` (the highest task number it ever allocated), `last_seq`
//! (its newest change-feed sequence) and its task counters. Writes to rooms go through a
//! **group commit**: a few writers per store (a room's writes always to the same one) each take
//! the writes waiting for them (up to [`PgConfig::max_batch`]) into one transaction, which
//! locks the rows of their rooms (`SELECT … FOR NO KEY UPDATE`, once per room, in code order),
//! runs each write in a savepoint of its own (a write of one statement that changes nothing when
//! it refuses needs none; if its statement fails, the batch runs again without it) — a write
//! that fails is rolled back alone and answered with its own error — and commits once; callers are answered after the `COMMIT`, and
//! a failed `COMMIT` answers every write of its batch `Unavailable`. The lock's `SELECT` also
//! reads each room's last number, last sequence and counters: each write takes the next number
//! and sequence from there and the batch counts what it did only once all of it succeeded, then
//! writes each room's row back with one `UPDATE` before the `COMMIT` (once per batch, not per
//! write); the lock is held until the batch's transaction commits. So:
//!
//! - writers of one room, in any number of processes, take turns; the number and sequence they
//!   get are exactly one more than the last committed ones (or the last ones given in the
//!   batch), and a write that fails leaves them as they were: numbers and sequences are
//!   **dense** (1, 2, 3…) and never reused, as the conformance suite demands;
//! - statements after the lock see everything committed before it (read committed takes a
//!   fresh snapshot per statement), so an idempotency key check or a version check is never
//!   stale, and the counters the batch read and keeps (quota checks included) are the room's;
//! - writers of different rooms never wait for each other's locks, and every transaction locks
//!   its rooms first, in one order, and then only those rooms' rows, so writers cannot deadlock.
//!
//! A PostgreSQL sequence per room was the alternative and is rejected: sequences are not
//! transactional — a rolled-back or failed insert burns its value — so numbers would have
//! gaps, and a sequence per room means DDL at room creation. The cost of the row lock is that
//! one room's writes are serialised; the group commit makes them share one commit (one WAL
//! flush) per batch instead of waiting for one each.
//!
//! Every setting can be given in the URL's query string
//! (`postgres://app@db/tasks?schema=tasks_eu&pool_size=20&acquire_timeout=5s`, see
//! [`PgConfig::from_url`]) or in code through [`PgConfig`] and [`PgStore::open_with`]. To choose
//! the backend by a URL at run time, use the `taskcore-store` crate. The crate README documents
//! the schema, operations advice and benchmark figures.
//!
//! ## Write notices
//!
//! After every write commits, the store sends the room's code with `pg_notify` on
//! `taskcore_writes:<schema>` (one background statement per batch of writes), and
//! [`TaskStore::write_notices`](taskcore::TaskStore::write_notices) listens on a connection of
//! its own: live updates on every process learn of a write at once. Notices are wake-ups that
//! may be lost; the change feed stays the record.
//!
//! ## Whole rooms
//!
//! [`TaskStore::snapshot_room`](taskcore::TaskStore::snapshot_room) reads a room in one
//! `REPEATABLE READ READ ONLY` transaction; [`TaskStore::import_room`](taskcore::TaskStore::import_room)
//! writes one in one transaction, its tasks a few thousand rows per `INSERT … SELECT … FROM
//! unnest(…)`, the code claimed through its unique index (or the stored room locked and emptied
//! when replacing). The crate README has the details.
//!
//! ## Feature flags
//!
//! None: the crate always uses sqlx's `postgres` driver with the tokio runtime, without TLS.

mod config;
mod error;
mod notices;
mod query;
mod rooms;
mod row;
mod schema;
mod store;
mod transfer;
mod write;
mod writer;

pub use config::{DEFAULT_APPLICATION_NAME, DEFAULT_SCHEMA, DRIVER_PARAMETERS, PgConfig, URL_PARAMETERS};
pub use schema::{MIGRATIONS, MIGRATIONS_TABLE, Migration, SCHEMA_MAJOR};
pub use store::PgStore;

/// Compile-time proof that the store's futures are `Send` (sqlx futures easily are not).
#[cfg(test)]
mod send_check {
    fn is_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    async fn check(conn: &mut sqlx::PgConnection) {
        is_send(crate::schema::migrate(conn, "x"));
        is_send(crate::store::PgStore::open("x"));
    }
}
