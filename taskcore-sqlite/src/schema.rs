//! The embedded migrations of `migrations/` and their runner, tracked in this crate's own table
//! `taskcore_schema_migrations` (an application's `_sqlx_migrations` is never touched).
//!
//! Each migration has a version (1, 2, …) and the schema *major* version it belongs to. A
//! migration that old code could not read through bumps the major; additive ones (new indexes,
//! new nullable columns) keep it. Opening a database whose highest applied major is newer than
//! [`SCHEMA_MAJOR`] is refused before anything is written; a newer version of the same major is
//! opened as is. That rule, the [`Migration`] record and the table's name are taskcore's
//! ([`taskcore::store::pending_migrations`]), shared with the PostgreSQL backend; this file holds
//! the migrations and runs them in SQLite's dialect.

use sqlx::{Connection, Executor, Row, SqliteConnection};
use taskcore::store::{SchemaVersion, pending_migrations};
use taskcore::{Clock, Result, SystemClock};

use crate::error::db;

pub use taskcore::store::{MIGRATIONS_TABLE, Migration};

/// Every migration of this crate, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        major: 1,
        description: "rooms, members, tasks, tag index, counters, idempotency keys, change feed",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        major: 1,
        description: "the request fingerprint of each idempotency key",
        sql: include_str!("../migrations/0002_idempotency_fingerprints.sql"),
    },
];

/// The schema major version this build reads and writes.
pub const SCHEMA_MAJOR: i64 = 1;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS taskcore_schema_migrations (
    version     INTEGER PRIMARY KEY,
    major       INTEGER NOT NULL,
    description TEXT    NOT NULL,
    applied_at  INTEGER NOT NULL
) STRICT";

/// Brings the database up to the newest schema in one `BEGIN IMMEDIATE` transaction, so that
/// several processes opening a new file at once apply each migration once.
///
/// - a database of a newer major → `Backend` naming both versions, nothing changed.
pub(crate) async fn migrate(conn: &mut SqliteConnection) -> Result<()> {
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
    sqlx::query(CREATE_TABLE).execute(&mut *tx).await.map_err(db)?;
    let row = sqlx::query("SELECT COALESCE(MAX(version), 0), COALESCE(MAX(major), 0) FROM taskcore_schema_migrations")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    let (applied, major): (i64, i64) = (row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?);
    let found = SchemaVersion { version: applied, major };
    let pending = pending_migrations(MIGRATIONS, SCHEMA_MAJOR, found, "taskcore-sqlite", "the database")?;
    let now = taskcore::store::unix_micros(SystemClock.now());
    for migration in pending {
        (&mut *tx).execute(migration.sql).await.map_err(db)?;
        sqlx::query(
            "INSERT INTO taskcore_schema_migrations (version, major, description, applied_at) VALUES (?, ?, ?, ?)",
        )
        .bind(migration.version)
        .bind(migration.major)
        .bind(migration.description)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}
