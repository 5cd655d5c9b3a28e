//! Choosing the store from one URL: [`open_store`] dispatches on the scheme to the backends
//! compiled in by cargo features. "Known scheme, feature not compiled in" and "unknown scheme"
//! are two different errors, so a misconfigured deployment says what to do.

use std::sync::Arc;

use taskcore::{MemoryStore, StoreOptions, TaskStore};

/// A backend this crate knows, whether or not it was compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    /// The URL schemes that select it.
    pub schemes: &'static [&'static str],
    /// The cargo feature that compiles it in (`None`: always there).
    pub feature: Option<&'static str>,
    /// Whether this build has it.
    pub compiled_in: bool,
}

/// Every backend this crate knows.
pub const BACKENDS: &[Backend] = &[
    Backend { schemes: &["memory"], feature: None, compiled_in: true },
    Backend { schemes: &["sqlite"], feature: Some("sqlite"), compiled_in: cfg!(feature = "sqlite") },
    Backend { schemes: &["redis", "rediss"], feature: Some("redis"), compiled_in: cfg!(feature = "redis") },
    Backend {
        schemes: &["postgres", "postgresql"],
        feature: Some("postgres"),
        compiled_in: cfg!(feature = "postgres"),
    },
];

/// Why no store could be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenStoreError {
    /// The URL has no `scheme:` prefix.
    #[error("store URL '{url}' has no scheme; use one of: {known}")]
    NoScheme {
        /// The URL, password redacted.
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
    /// The scheme is a real backend, but this binary was built without it.
    #[error(
        "the '{scheme}:' store needs the '{feature}' feature, which this build does not have; rebuild with `--features {feature}`"
    )]
    NotCompiledIn {
        /// The scheme given.
        scheme: String,
        /// The cargo feature to enable.
        feature: &'static str,
    },
    /// The backend failed to open.
    #[error("could not open the store at {url}")]
    Open {
        /// The URL, password redacted.
        url: String,
        /// Why.
        #[source]
        source: taskcore::Error,
    },
}

/// The schemes this build accepts, for messages.
pub fn compiled_schemes() -> String {
    BACKENDS
        .iter()
        .filter(|b| b.compiled_in)
        .flat_map(|b| b.schemes.iter().map(|s| format!("{s}:")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The variable choosing SQLite's durability: `full` (default; survives power loss) or
/// `normal` (survives a process crash; faster).
pub const SQLITE_DURABILITY_ENV: &str = "TASKCORE_SQLITE_DURABILITY";

/// The variable naming the PostgreSQL schema the store uses (default `taskcore`).
pub const POSTGRES_SCHEMA_ENV: &str = "TASKCORE_POSTGRES_SCHEMA";

/// Opens the store a URL names: `memory:` (always), `sqlite:…`, `redis://…`,
/// `postgres://…` (each with its feature). For SQLite, durability comes from
/// [`SQLITE_DURABILITY_ENV`]; for Redis, the key prefix from `TASKCORE_REDIS_PREFIX` (default
/// `taskcore`); for PostgreSQL, the schema from [`POSTGRES_SCHEMA_ENV`].
pub async fn open_store(url: &str, options: StoreOptions) -> Result<Arc<dyn TaskStore>, OpenStoreError> {
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(OpenStoreError::NoScheme { url: redact_url(url), known: compiled_schemes() });
    };
    let scheme = scheme.to_ascii_lowercase();
    let Some(backend) = BACKENDS.iter().find(|b| b.schemes.contains(&scheme.as_str())) else {
        return Err(OpenStoreError::UnknownScheme { scheme, known: compiled_schemes() });
    };
    if !backend.compiled_in {
        return Err(OpenStoreError::NotCompiledIn { scheme, feature: backend.feature.unwrap_or("default") });
    }
    let opened = open_compiled(&scheme, url, options).await;
    opened.map_err(|source| OpenStoreError::Open { url: redact_url(url), source })
}

#[cfg_attr(not(any(feature = "sqlite", feature = "redis", feature = "postgres")), allow(unused_variables))] // read by backend arms only
async fn open_compiled(scheme: &str, url: &str, options: StoreOptions) -> taskcore::Result<Arc<dyn TaskStore>> {
    match scheme {
        "memory" => Ok(Arc::new(MemoryStore::with_options(options))),
        #[cfg(feature = "sqlite")]
        "sqlite" => {
            let mut config = taskcore_sqlite::SqliteConfig::new(url).store_options(options);
            if let Ok(durability) = std::env::var(SQLITE_DURABILITY_ENV) {
                config =
                    config.durability(durability.parse().map_err(|e| {
                        taskcore::Error::invalid("durability", format!("{SQLITE_DURABILITY_ENV}: {e}"))
                    })?);
            }
            Ok(Arc::new(taskcore_sqlite::SqliteStore::open_with(config).await?))
        }
        #[cfg(feature = "postgres")]
        "postgres" | "postgresql" => {
            let mut config = taskcore_postgres::PgConfig::new(url).store_options(options);
            if let Ok(schema) = std::env::var(POSTGRES_SCHEMA_ENV) {
                config = config.schema(schema);
            }
            Ok(Arc::new(taskcore_postgres::PgStore::open_with(config).await?))
        }
        #[cfg(feature = "redis")]
        "redis" | "rediss" => {
            let mut config = taskcore_redis::RedisConfig::new(url);
            if let Ok(prefix) = std::env::var(taskcore_redis::PREFIX_ENV) {
                config = config.prefix(prefix);
            }
            Ok(Arc::new(taskcore_redis::RedisStore::open(config, options).await?))
        }
        other => Err(taskcore::Error::Backend { message: format!("no opener for scheme '{other}'"), source: None }),
    }
}

/// The URL with any password replaced by `***`, for logs and messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("redis://:s3cret@127.0.0.1:6379/0"), "redis://:***@127.0.0.1:6379/0");
        assert_eq!(redact_url("postgres://app:pw@db/tasks?sslmode=off"), "postgres://app:***@db/tasks?sslmode=off");
        assert_eq!(redact_url("postgres://app@db/tasks"), "postgres://app@db/tasks");
        assert_eq!(redact_url("sqlite://data/taskcore.db"), "sqlite://data/taskcore.db");
    }

    #[tokio::test]
    async fn unknown_and_missing_backends_are_different_errors() {
        let unknown = open_store("mongodb://localhost/x", StoreOptions::default()).await;
        assert!(matches!(unknown, Err(OpenStoreError::UnknownScheme { .. })), "{unknown:?}");
        let no_scheme = open_store("taskcore.db", StoreOptions::default()).await;
        assert!(matches!(no_scheme, Err(OpenStoreError::NoScheme { .. })), "{no_scheme:?}");
        if let Some(missing) = BACKENDS.iter().find(|b| !b.compiled_in) {
            let url = format!("{}://x", missing.schemes[0]);
            let result = open_store(&url, StoreOptions::default()).await;
            assert!(matches!(result, Err(OpenStoreError::NotCompiledIn { .. })), "{result:?}");
        }
        assert!(open_store("memory:", StoreOptions::default()).await.is_ok());
    }
}
