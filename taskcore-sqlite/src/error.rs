//! Mapping driver errors — sqlx's on the read side, rusqlite's in the writer — into
//! [`taskcore::Error`]: transient conditions (busy, locked, I/O, a full disk, pool exhaustion or
//! shutdown) become `Unavailable`, everything else `Backend`.

use sqlx::error::DatabaseError;
use taskcore::Error;

/// SQLite primary result codes that mean "try again later".
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

/// Whether a driver error is transient.
fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_transient_code(db.as_ref()),
        _ => false,
    }
}

fn is_transient_code(db: &dyn DatabaseError) -> bool {
    let primary = db.code().and_then(|code| code.parse::<i64>().ok()).map(|extended| extended & 0xff);
    matches!(primary, Some(SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN))
}

/// A driver error as a taskcore error, keeping it as the source.
pub(crate) fn db(error: sqlx::Error) -> Error {
    if is_transient(&error) {
        Error::unavailable("sqlite is busy or unreachable", error)
    } else {
        Error::backend("sqlite error", error)
    }
}

/// Whether a rusqlite error is transient.
fn is_transient_native(error: &rusqlite::Error) -> bool {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => {
            matches!(
                i64::from(failure.extended_code) & 0xff,
                SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN
            )
        }
        _ => false,
    }
}

/// A writer's (rusqlite) error as a taskcore error, keeping it as the source.
pub(crate) fn native(error: rusqlite::Error) -> Error {
    if is_transient_native(&error) {
        Error::unavailable("sqlite is busy or unreachable", error)
    } else {
        Error::backend("sqlite error", error)
    }
}

/// [`native`] for an error that several callers must each receive; the source is kept as text.
pub(crate) fn native_shared(error: &rusqlite::Error) -> Error {
    let source = error.to_string();
    if is_transient_native(error) {
        Error::unavailable("sqlite is busy or unreachable; the write was not committed", source)
    } else {
        Error::backend("sqlite error; the write was not committed", source)
    }
}

/// Data read back that does not decode: a corrupt or foreign database.
pub(crate) fn corrupt(what: &str, source: impl Into<taskcore::store::BoxError>) -> Error {
    Error::backend(format!("stored {what} does not decode"), source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeouts_are_unavailable_and_decoding_is_backend() {
        assert!(db(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!db(sqlx::Error::RowNotFound).is_retryable());
    }

    #[test]
    fn busy_writer_errors_are_unavailable_and_constraints_are_backend() {
        let failure = |code: i32| rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert!(native(failure(rusqlite::ffi::SQLITE_BUSY)).is_retryable());
        assert!(native_shared(&failure(rusqlite::ffi::SQLITE_IOERR_FSYNC)).is_retryable());
        assert!(!native(failure(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)).is_retryable());
        assert!(!native(rusqlite::Error::QueryReturnedNoRows).is_retryable());
    }
}
