//! The embedded migrations of `migrations/` and their runner. Everything lives in the store's
//! own schema, including the table that records applied migrations,
//! [`MIGRATIONS_TABLE`] — a host application's `_sqlx_migrations` is never read or written.
//!
//! Each migration has a version (1, 2, …) and the schema *major* version it belongs to. A
//! migration that older code could not read through bumps the major; additive ones (new
//! indexes, new nullable columns) keep it. Opening a schema whose highest applied major is newer
//! than [`SCHEMA_MAJOR`] is refused before anything is written; a newer version of the same
//! major is used as is. That rule, the [`Migration`] record and the table's name are taskcore's
//! ([`taskcore::store::pending_migrations`]), shared with the SQLite backend; this file holds the
//! migrations and runs them in PostgreSQL's dialect.

use sqlx::{Executor, PgConnection, Row};
use taskcore::Result;
use taskcore::store::{SchemaVersion, pending_migrations};

use crate::config::quote_ident;
use crate::error::db;

pub use taskcore::store::{MIGRATIONS_TABLE, Migration};

/// Every migration of this crate, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        major: 1,
        description: "rooms with counters, members, tasks and their indexes, idempotency keys, change feed",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        major: 1,
        description: "the request fingerprint of each idempotency key",
        sql: include_str!("../migrations/0002_idempotency_fingerprints.sql"),
    },
    Migration {
        version: 3,
        major: 1,
        description: "room codes indexed in byte order, for dumps",
        sql: include_str!("../migrations/0003_room_codes_in_byte_order.sql"),
    },
];

/// The schema major version this build reads and writes.
pub const SCHEMA_MAJOR: i64 = 1;

/// Brings `schema` up to the newest version in one transaction. A transaction-scoped advisory
/// lock keyed by the schema name makes processes that open a new schema at once apply each
/// migration exactly once (DDL is transactional in PostgreSQL: a failed migration leaves
/// nothing behind).
///
/// - a schema of a newer major → `Backend` naming both versions, nothing changed.
pub(crate) async fn migrate(conn: &mut PgConnection, schema: &str) -> Result<()> {
    let mut tx = sqlx::Connection::begin(conn).await.map_err(db)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("taskcore-postgres migrate {schema}"))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let quoted = quote_ident(schema);
    (&mut *tx).execute(format!("CREATE SCHEMA IF NOT EXISTS {quoted}").as_str()).await.map_err(db)?;
    (&mut *tx).execute(format!("SET LOCAL search_path TO {quoted}").as_str()).await.map_err(db)?;
    (&mut *tx)
        .execute(
            "CREATE TABLE IF NOT EXISTS taskcore_schema_migrations (
            version     bigint      PRIMARY KEY,
            major       bigint      NOT NULL,
            description text        NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now()
        )",
        )
        .await
        .map_err(db)?;
    let row = sqlx::query(
        "SELECT COALESCE(MAX(version), 0)::bigint, COALESCE(MAX(major), 0)::bigint FROM taskcore_schema_migrations",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let (applied, major): (i64, i64) = (row.try_get(0).map_err(db)?, row.try_get(1).map_err(db)?);
    let found = SchemaVersion { version: applied, major };
    let pending =
        pending_migrations(MIGRATIONS, SCHEMA_MAJOR, found, "taskcore-postgres", &format!("schema {schema}"))?;
    for migration in pending {
        (&mut *tx).execute(migration.sql).await.map_err(db)?;
        sqlx::query("INSERT INTO taskcore_schema_migrations (version, major, description) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.major)
            .bind(migration.description)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}
