//! [`BenchError`]: why a benchmark could not run, and [`report`] to print it with its causes.

use std::error::Error as _;

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Something the benchmark needs is missing or misconfigured; the text says what to do.
    #[error("{0}")]
    Setup(String),
    /// A file, pipe or child process failed.
    #[error("I/O failed")]
    Io(#[from] std::io::Error),
    /// A request to one of the measured servers failed.
    #[error("HTTP request failed")]
    Http(#[from] reqwest::Error),
    /// A server answered something the benchmark did not expect.
    #[error("unexpected answer from {what}: {detail}")]
    Unexpected {
        /// Which request.
        what: String,
        /// What came back.
        detail: String,
    },
    /// wrk ran but printed no result.
    #[error("wrk printed no result:\n{0}")]
    Wrk(String),
    /// A store operation failed while seeding.
    #[error("store operation failed")]
    Store(#[from] taskcore::Error),
    /// The in-process taskcore server could not start.
    #[error("cannot serve taskcore")]
    Serve(#[from] taskcore_http::ServeError),
    /// The store URL could not be opened.
    #[error("cannot open the store")]
    Open(#[from] taskcore_http::store::OpenError),
    /// A JSON body could not be read.
    #[error("bad JSON")]
    Json(#[from] serde_json::Error),
    /// A Redis command of the measurement itself failed.
    #[cfg(feature = "redis")]
    #[error("Redis command failed")]
    Redis(#[from] redis::RedisError),
}

impl BenchError {
    /// An answer the benchmark did not expect.
    pub fn unexpected(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Unexpected { what: what.into(), detail: detail.into() }
    }
}

/// The error and its chain of causes on one line, for the terminal.
pub fn report(error: &BenchError) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}
