//! [`open`] and [`open_with`]: a store from a URL or a [`StoreConfig`], as the
//! `Arc<dyn TaskStore>` that [`TaskManager`](taskcore::TaskManager) takes.

use std::sync::Arc;

use taskcore::{MemoryStore, StoreOptions, TaskStore};

use crate::config::StoreConfig;
use crate::error::OpenError;

/// Opens the store `url` names, with `options` (change retention) and the backend settings of
/// the URL's query string: `memory:` (always), `sqlite://…`, `redis://…`, `postgres://…` (each
/// with its cargo feature). Errors: see [`StoreConfig::from_url`] and [`open_with`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = taskcore_store::open("memory:", taskcore::StoreOptions::default()).await?;
/// let tasks = taskcore::TaskManager::new(store);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub async fn open(url: &str, options: StoreOptions) -> Result<Arc<dyn TaskStore>, OpenError> {
    open_with(StoreConfig::from_url(url)?.store_options(options)).await
}

/// Opens the store `config` describes (creating or migrating its schema as the backend does).
/// A backend that fails to open (unreachable server, a database of a newer schema, a setting
/// it refuses) is [`OpenError::Open`], with the backend's [`taskcore::Error`] as its source.
pub async fn open_with(config: StoreConfig) -> Result<Arc<dyn TaskStore>, OpenError> {
    let url = config.redacted_url();
    let opened: taskcore::Result<Arc<dyn TaskStore>> = match config {
        StoreConfig::Memory(options) => Ok(Arc::new(MemoryStore::with_options(options))),
        #[cfg(feature = "sqlite")]
        StoreConfig::Sqlite(config) => {
            taskcore_sqlite::SqliteStore::open_with(config).await.map(|store| Arc::new(store) as _)
        }
        #[cfg(feature = "redis")]
        StoreConfig::Redis(config) => {
            taskcore_redis::RedisStore::open_with(config).await.map(|store| Arc::new(store) as _)
        }
        #[cfg(feature = "postgres")]
        StoreConfig::Postgres(config) => {
            taskcore_postgres::PgStore::open_with(config).await.map(|store| Arc::new(store) as _)
        }
    };
    opened.map_err(|source| OpenError::Open { url, source })
}
