//! # taskcore-store
//!
//! Opens a [`taskcore`] store from one URL, with the storage backend chosen at build time by a
//! cargo feature of this crate — the way `sqlx` picks its database drivers. An application
//! depends on `taskcore` and on this crate with the features of the backends it may use; its
//! code stays the same whichever it is:
//!
//! ```toml
//! [dependencies]
//! taskcore = "0.1"
//! taskcore-store = { version = "0.1", features = ["sqlite"] }   # or "redis", "postgres", several
//! ```
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use taskcore::{NewTask, StoreOptions, TaskManager};
//!
//! // "sqlite://tasks.db?durability=normal", "redis://cache:6379/0?prefix=myapp",
//! // "postgres://app@db/tasks?schema=tasks_eu&pool_size=20", "memory:" …
//! let url = "memory:";
//! let tasks = TaskManager::new(taskcore_store::open(url, StoreOptions::default()).await?);
//! let room = tasks.create_room("alice").await?;
//! tasks.create_task(&room.code, &NewTask::titled("Plan the sprint"), None).await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! - [`open`] takes a URL: the scheme picks the backend, the query string sets its settings
//!   (`?durability=normal`, `?schema=…`, `?prefix=…`, pool sizes, timeouts; each backend's
//!   `Config::from_url` lists its parameters, and an unknown one is an error naming it).
//! - [`open_with`] takes a [`StoreConfig`]: the same choice as a typed value, built from a URL
//!   ([`StoreConfig::from_url`]) or from a backend's own config type
//!   (`StoreConfig::from(SqliteConfig::new(…))`).
//! - A scheme whose backend this build lacks ([`OpenError::NotCompiledIn`], naming the feature
//!   to enable) and a scheme taskcore does not know ([`OpenError::UnknownScheme`]) are two
//!   different errors. [`BACKENDS`] lists every backend and whether it is compiled in.
//! - [`redact_url`] masks the secrets of a URL (`user:password@`, `?password=`, `?pass=`, …)
//!   for logs; every URL this crate puts in an error is redacted.
//!
//! This crate reads no environment variable: settings come from the URL or the typed config.
//!
//! ## Feature flags
//!
//! | feature | default | URL schemes it adds | backend crate (re-exported as) |
//! |---|---|---|---|
//! | (none) | — | `memory:` (always; nothing persists) | [`taskcore::MemoryStore`] |
//! | `sqlite` | no | `sqlite://path/file.db`, `sqlite:relative.db`, `sqlite::memory:` | `taskcore-sqlite` (`taskcore_store::sqlite`) |
//! | `redis` | no | `redis://[user:password@]host:port[/db]`, `unix:///path.sock`, a Redis Cluster: `redis+cluster://host1:port1,host2:port2/` | `taskcore-redis` (`taskcore_store::redis`) |
//! | `postgres` | no | `postgres://user:password@host/db`, `postgresql://…` | `taskcore-postgres` (`taskcore_store::postgres`) |

mod backends;
mod config;
mod error;
mod open;
mod redact;

pub use backends::{BACKENDS, Backend, compiled_schemes};
pub use config::StoreConfig;
pub use error::OpenError;
pub use open::{open, open_with};
pub use redact::redact_url;

/// The PostgreSQL backend (feature `postgres`).
#[cfg(feature = "postgres")]
pub use taskcore_postgres as postgres;
/// The Redis backend (feature `redis`).
#[cfg(feature = "redis")]
pub use taskcore_redis as redis;
/// The SQLite backend (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use taskcore_sqlite as sqlite;

#[cfg(test)]
mod tests {
    use taskcore::StoreOptions;

    use super::*;

    #[tokio::test]
    async fn unknown_and_missing_backends_are_different_errors() {
        let unknown = open("mongodb://localhost/x", StoreOptions::default()).await;
        assert!(matches!(unknown, Err(OpenError::UnknownScheme { .. })), "{unknown:?}");
        let no_scheme = open("taskcore.db", StoreOptions::default()).await;
        assert!(matches!(no_scheme, Err(OpenError::NoScheme { .. })), "{no_scheme:?}");
        for missing in BACKENDS.iter().filter(|b| !b.compiled_in) {
            let url = format!("{}://x", missing.schemes[0]);
            let result = open(&url, StoreOptions::default()).await;
            match result {
                Err(OpenError::NotCompiledIn { feature, .. }) => assert_eq!(Some(feature), missing.feature),
                other => panic!("{url}: {other:?}"),
            }
        }
        let store = open("memory:", StoreOptions::default().change_retention(7)).await;
        assert_eq!(store.map(|s| s.backend()).ok(), Some("memory"));
    }

    #[test]
    fn backends_cover_their_schemes_once() {
        let mut schemes: Vec<_> = BACKENDS.iter().flat_map(|b| b.schemes.iter()).collect();
        let count = schemes.len();
        schemes.sort();
        schemes.dedup();
        assert_eq!(schemes.len(), count);
        assert!(compiled_schemes().starts_with("memory:"));
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_settings_come_from_the_url() {
        let config = StoreConfig::from_url("sqlite::memory:?durability=normal&read_connections=2").unwrap();
        let expected =
            sqlite::SqliteConfig::new("sqlite::memory:").durability(sqlite::Durability::Normal).read_connections(2);
        assert_eq!(config, StoreConfig::from(expected));
        let config = StoreConfig::from_url("SQLite::memory:?busy_timeout=1s").unwrap();
        assert_eq!(config.redacted_url(), "sqlite::memory:", "the scheme in lowercase, the way sqlx expects it");
        let store = open("SQLITE::memory:?busy_timeout=1s", StoreOptions::default()).await.unwrap();
        assert_eq!(store.backend(), "sqlite");
        let typo = open("sqlite::memory:?durabilty=normal", StoreOptions::default()).await;
        match typo {
            Err(error @ OpenError::InvalidUrl { .. }) => {
                let source = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
                assert!(source.contains("'durabilty'"), "{source}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_never_show_a_password() {
        let error = StoreConfig::from_url("postgres://app:s3cret@db/x?password=s3cret").err();
        let shown = format!("{error:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
