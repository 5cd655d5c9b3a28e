//! Mapping sqlx errors into [`taskcore::Error`]: a lost or refused connection, an exhausted or
//! closed pool, a server shutting down or not yet accepting connections, a statement timeout,
//! exhausted resources, and serialization failures or deadlocks that outlived their retries are
//! `Unavailable`; everything else is `Backend`. Also [`Fault`], the error of one attempt at an
//! operation, which keeps driver errors raw so that [`retry`] can tell which ones to retry.

use std::future::Future;

use taskcore::Error;

/// How many times an operation runs when PostgreSQL reports a serialization failure or a
/// deadlock (neither is expected with the room-row locking, but both are legal answers).
const ATTEMPTS: usize = 3;

/// SQLSTATE codes (beyond class 08, connection exceptions) that mean "try again later".
const TRANSIENT_CODES: &[&str] = &[
    "40001", // serialization_failure
    "40P01", // deadlock_detected
    "57014", // query_canceled: the statement timeout fired, the server is overloaded
    "57P01", // admin_shutdown: pg_terminate_backend or a fast shutdown
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now: starting up or in recovery
];

/// Why one attempt at an operation failed.
#[derive(Debug)]
pub(crate) enum Fault {
    /// The driver failed; classified by [`db`].
    Db(sqlx::Error),
    /// The operation's own answer (not found, conflict…).
    Domain(Error),
}

impl From<sqlx::Error> for Fault {
    fn from(error: sqlx::Error) -> Self {
        Self::Db(error)
    }
}

impl From<Error> for Fault {
    fn from(error: Error) -> Self {
        Self::Domain(error)
    }
}

impl From<Fault> for Error {
    fn from(fault: Fault) -> Self {
        match fault {
            Fault::Db(error) => db(error),
            Fault::Domain(error) => error,
        }
    }
}

/// The result of one attempt.
pub(crate) type Attempt<T> = std::result::Result<T, Fault>;

/// The SQLSTATE of a database error.
fn code(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
        _ => None,
    }
}

/// Whether a driver error is transient.
pub(crate) fn is_transient(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(_) => code(error).is_some_and(|code| {
            // Class 08: connection exceptions; class 53: insufficient resources (too many
            // connections, out of memory, disk full).
            code.starts_with("08") || code.starts_with("53") || TRANSIENT_CODES.contains(&code.as_str())
        }),
        _ => false,
    }
}

/// Whether running the whole operation again may succeed where this attempt lost a race.
pub(crate) fn is_retryable_race(error: &sqlx::Error) -> bool {
    code(error).is_some_and(|code| code == "40001" || code == "40P01")
}

/// A driver error as a taskcore error, keeping it as the source.
pub(crate) fn db(error: sqlx::Error) -> Error {
    if is_transient(&error) {
        Error::unavailable("postgres is unreachable, restarting or overloaded", error)
    } else {
        Error::backend("postgres error", error)
    }
}

/// Data read back that does not decode: a corrupt or foreign schema.
pub(crate) fn corrupt(what: &str, source: impl Into<taskcore::store::BoxError>) -> Error {
    Error::backend(format!("stored {what} does not decode"), source)
}

/// Runs `attempt` until it succeeds, fails for a reason other than a serialization failure or a
/// deadlock, or has run [`ATTEMPTS`] times (then the last failure is `Unavailable`).
pub(crate) async fn retry<T, F, Fut>(mut attempt: F) -> taskcore::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let mut left = ATTEMPTS;
    loop {
        left -= 1;
        match attempt().await {
            Err(Fault::Db(error)) if left > 0 && is_retryable_race(&error) => continue,
            outcome => return outcome.map_err(Error::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_and_pool_failures_are_unavailable() {
        assert!(db(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(db(sqlx::Error::PoolClosed).is_retryable());
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(db(sqlx::Error::Io(reset)).is_retryable());
        assert!(!db(sqlx::Error::RowNotFound).is_retryable());
        assert!(!db(sqlx::Error::ColumnNotFound("x".into())).is_retryable());
    }

    #[tokio::test]
    async fn domain_answers_are_not_retried() {
        let mut runs = 0;
        let outcome: taskcore::Result<()> = retry(|| {
            runs += 1;
            async { Err(Fault::Domain(Error::room_not_found(&taskcore::RoomCode::parse("ABCD23").unwrap()))) }
        })
        .await;
        assert!(matches!(outcome, Err(Error::NotFound(taskcore::Missing::Room(_)))));
        assert_eq!(runs, 1);
    }
}
