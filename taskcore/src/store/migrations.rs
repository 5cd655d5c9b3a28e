//! The schema migrations of the SQL backends, backend-neutral: the [`Migration`] record each
//! backend embeds, the [`SchemaVersion`] it finds applied, and the one rule of which to apply
//! ([`pending_migrations`]) — a database of a newer *major* version is refused before anything
//! is written; a newer version of the same major (additive changes) is used as is. A backend
//! runs the returned migrations and records each in [`MIGRATIONS_TABLE`], in its own dialect.

use crate::error::{Error, Result};

/// The table (in the store's own schema or file) that records applied migrations — never an
/// application's `_sqlx_migrations`.
pub const MIGRATIONS_TABLE: &str = "taskcore_schema_migrations";

/// One embedded migration of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// 1, 2, 3… in the order they apply.
    pub version: i64,
    /// The schema major version this migration belongs to: a migration that older code could
    /// not read through bumps it; additive ones (new indexes, new nullable columns) keep it.
    pub major: i64,
    /// What it does, recorded in the migrations table.
    pub description: &'static str,
    /// The SQL, run in one transaction with the bookkeeping row.
    pub sql: &'static str,
}

/// What a database holds: its highest applied migration version and major version (both 0
/// for a new database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaVersion {
    /// The highest applied migration.
    pub version: i64,
    /// The highest major version among the applied migrations.
    pub major: i64,
}

/// The migrations of `migrations` (oldest first) that a database at `found` still needs, for a
/// build that reads and writes schema major `major`.
///
/// - `found.major` newer than `major` → `Backend`, naming `place` (the database, the schema),
///   both versions and the crate `backend` to upgrade; the caller then writes nothing.
///
/// ```
/// use taskcore::store::{Migration, SchemaVersion, pending_migrations};
/// const ALL: &[Migration] = &[
///     Migration { version: 1, major: 1, description: "tables", sql: "CREATE TABLE t (x)" },
///     Migration { version: 2, major: 1, description: "an index", sql: "CREATE INDEX i ON t (x)" },
/// ];
/// let todo = pending_migrations(ALL, 1, SchemaVersion { version: 1, major: 1 }, "my-backend", "the database")?;
/// assert_eq!(todo.iter().map(|m| m.version).collect::<Vec<_>>(), [2]);
/// let newer = SchemaVersion { version: 7, major: 2 };
/// assert!(pending_migrations(ALL, 1, newer, "my-backend", "the database").is_err());
/// # Ok::<(), taskcore::Error>(())
/// ```
pub fn pending_migrations<'a>(
    migrations: &'a [Migration],
    major: i64,
    found: SchemaVersion,
    backend: &str,
    place: &str,
) -> Result<Vec<&'a Migration>> {
    if found.major > major {
        return Err(Error::Backend {
            message: format!(
                "{place} has {backend} schema major version {} (version {}); this build reads major version \
                 {major} only. Upgrade {backend} to open it; nothing was changed",
                found.major, found.version
            ),
            source: None,
        });
    }
    Ok(migrations.iter().filter(|migration| migration.version > found.version).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ALL: &[Migration] = &[
        Migration { version: 1, major: 1, description: "a", sql: "" },
        Migration { version: 2, major: 1, description: "b", sql: "" },
        Migration { version: 3, major: 1, description: "c", sql: "" },
    ];

    fn versions(todo: &[&Migration]) -> Vec<i64> {
        todo.iter().map(|m| m.version).collect()
    }

    #[test]
    fn a_new_database_gets_every_migration_and_a_current_one_none() {
        assert_eq!(versions(&pending_migrations(ALL, 1, SchemaVersion::default(), "b", "p").unwrap()), [1, 2, 3]);
        assert!(pending_migrations(ALL, 1, SchemaVersion { version: 3, major: 1 }, "b", "p").unwrap().is_empty());
    }

    /// A newer minor of our major (an additive migration of a newer build) opens as it is.
    #[test]
    fn a_newer_version_of_our_major_needs_nothing() {
        assert!(pending_migrations(ALL, 1, SchemaVersion { version: 9, major: 1 }, "b", "p").unwrap().is_empty());
    }

    #[test]
    fn a_newer_major_is_refused_naming_both_versions_and_the_crate() {
        let error = pending_migrations(ALL, 1, SchemaVersion { version: 9, major: 2 }, "taskcore-x", "schema s")
            .unwrap_err()
            .to_string();
        for part in ["schema s", "major version 2", "version 9", "major version 1", "Upgrade taskcore-x"] {
            assert!(error.contains(part), "{part} missing: {error}");
        }
    }
}
