//! [`OpenError`]: why no store could be opened — four mistakes in the URL, each with its own
//! variant and a message saying what to do, and the backend's own failure.

/// Why no store could be opened. Every URL in it is redacted ([`redact_url`](crate::redact_url)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The URL has no `scheme:` prefix.
    #[error("store URL '{url}' has no scheme; use one of: {known}")]
    NoScheme {
        /// The URL, redacted.
        url: String,
        /// The schemes this build accepts.
        known: String,
    },
    /// The scheme names no backend taskcore has.
    #[error("unknown store scheme '{scheme}:'; this build accepts: {known}")]
    UnknownScheme {
        /// The scheme given.
        scheme: String,
        /// The schemes this build accepts.
        known: String,
    },
    /// The scheme is a real backend, but this build does not have it.
    #[error(
        "the '{scheme}:' store needs the '{feature}' feature, which this build does not have; rebuild with `--features {feature}`"
    )]
    NotCompiledIn {
        /// The scheme given.
        scheme: String,
        /// The cargo feature to enable.
        feature: &'static str,
    },
    /// The URL's settings are wrong: an unknown query parameter, a value that does not parse.
    /// The source is [`taskcore::Error::Invalid`] naming the parameter.
    #[error("store URL '{url}' is not valid")]
    InvalidUrl {
        /// The URL, redacted.
        url: String,
        /// What is wrong.
        #[source]
        source: taskcore::Error,
    },
    /// The backend failed to open: the server is unreachable, the database is of a newer
    /// schema, the settings are refused.
    #[error("could not open the store at {url}")]
    Open {
        /// The URL, redacted.
        url: String,
        /// Why.
        #[source]
        source: taskcore::Error,
    },
}
