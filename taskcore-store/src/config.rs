//! [`StoreConfig`]: which backend to open and its settings, as one typed value — parsed from a
//! URL ([`StoreConfig::from_url`]) or built in code from a backend's own config type.

use taskcore::StoreOptions;

use crate::backends::{self, compiled_schemes};
use crate::error::OpenError;
use crate::redact::redact_url;

/// Which store to open, with every setting of its backend. Only the backends compiled in have
/// a variant.
///
/// ```
/// use taskcore_store::StoreConfig;
/// let config = StoreConfig::from_url("memory:")?;
/// assert_eq!(config.backend(), "memory");
/// # Ok::<(), taskcore_store::OpenError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreConfig {
    /// The in-memory store (`memory:`): nothing persists.
    Memory(StoreOptions),
    /// The SQLite store (`sqlite://…`, `sqlite::memory:`).
    #[cfg(feature = "sqlite")]
    Sqlite(taskcore_sqlite::SqliteConfig),
    /// The Redis store (`redis://…`, `unix://…`).
    #[cfg(feature = "redis")]
    Redis(taskcore_redis::RedisConfig),
    /// The PostgreSQL store (`postgres://…`, `postgresql://…`).
    #[cfg(feature = "postgres")]
    Postgres(taskcore_postgres::PgConfig),
}

impl StoreConfig {
    /// The backend and settings a URL names: the scheme picks the backend, the query string
    /// sets its settings (each backend's `Config::from_url` documents its parameters).
    ///
    /// - no scheme → [`OpenError::NoScheme`]; a scheme taskcore does not know →
    ///   [`OpenError::UnknownScheme`]; a backend this build lacks → [`OpenError::NotCompiledIn`];
    /// - an unknown parameter or a value that does not parse → [`OpenError::InvalidUrl`].
    pub fn from_url(url: &str) -> Result<Self, OpenError> {
        let Some((scheme, _)) = url.split_once(':') else {
            return Err(OpenError::NoScheme { url: redact_url(url), known: compiled_schemes() });
        };
        let scheme = scheme.to_ascii_lowercase();
        let Some(backend) = backends::by_scheme(&scheme) else {
            return Err(OpenError::UnknownScheme { scheme, known: compiled_schemes() });
        };
        if !backend.compiled_in {
            return Err(OpenError::NotCompiledIn { scheme, feature: backend.feature.unwrap_or("default") });
        }
        #[cfg_attr(not(any(feature = "sqlite", feature = "redis", feature = "postgres")), allow(unused_variables))]
        let invalid = |source| OpenError::InvalidUrl { url: redact_url(url), source };
        match backend.name {
            #[cfg(feature = "sqlite")]
            "sqlite" => taskcore_sqlite::SqliteConfig::from_url(url).map(Self::Sqlite).map_err(invalid),
            #[cfg(feature = "redis")]
            "redis" => taskcore_redis::RedisConfig::from_url(url).map(Self::Redis).map_err(invalid),
            #[cfg(feature = "postgres")]
            "postgres" => taskcore_postgres::PgConfig::from_url(url).map(Self::Postgres).map_err(invalid),
            _ => Ok(Self::Memory(StoreOptions::default())),
        }
    }

    /// With taskcore's store options (change retention), whatever the backend.
    pub fn store_options(self, options: StoreOptions) -> Self {
        match self {
            Self::Memory(_) => Self::Memory(options),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(config) => Self::Sqlite(config.store_options(options)),
            #[cfg(feature = "redis")]
            Self::Redis(config) => Self::Redis(config.store_options(options)),
            #[cfg(feature = "postgres")]
            Self::Postgres(config) => Self::Postgres(config.store_options(options)),
        }
    }

    /// The backend's name: `memory`, `sqlite`, `redis` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => "sqlite",
            #[cfg(feature = "redis")]
            Self::Redis(_) => "redis",
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => "postgres",
        }
    }

    /// The URL of the store with its secrets masked, for logs and messages.
    pub fn redacted_url(&self) -> String {
        match self {
            Self::Memory(_) => "memory:".to_owned(),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(config) => redact_url(&config.url),
            #[cfg(feature = "redis")]
            Self::Redis(config) => redact_url(config.url()),
            #[cfg(feature = "postgres")]
            Self::Postgres(config) => redact_url(&config.url),
        }
    }
}

#[cfg(feature = "sqlite")]
impl From<taskcore_sqlite::SqliteConfig> for StoreConfig {
    fn from(config: taskcore_sqlite::SqliteConfig) -> Self {
        Self::Sqlite(config)
    }
}

#[cfg(feature = "redis")]
impl From<taskcore_redis::RedisConfig> for StoreConfig {
    fn from(config: taskcore_redis::RedisConfig) -> Self {
        Self::Redis(config)
    }
}

#[cfg(feature = "postgres")]
impl From<taskcore_postgres::PgConfig> for StoreConfig {
    fn from(config: taskcore_postgres::PgConfig) -> Self {
        Self::Postgres(config)
    }
}
