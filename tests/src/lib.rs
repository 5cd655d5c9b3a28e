//! Support for the workspace's cross-backend tests: a fresh, private store of each backend
//! opened by URL (an SQLite file in a temporary directory, a PostgreSQL schema, a Redis key
//! prefix) that removes itself when dropped, and one clear message when a server the tests need
//! is not answering — these tests fail then, they never skip.

#![allow(clippy::missing_panics_doc)]

use std::sync::Arc;

pub mod redis_cluster;

use taskcore::{StoreOptions, TaskStore};

/// How to get the servers the tests need.
pub const SERVERS_HELP: &str = "these tests need Redis at TASKCORE_TEST_REDIS_URL (default redis://127.0.0.1:6379) and \
     PostgreSQL at TASKCORE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres): run ./test at the \
     repository root, or `bash .ci/services.sh`";

/// The backends a [`Fresh`] store can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In process memory.
    Memory,
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL schema.
    Postgres,
    /// A Redis key prefix.
    Redis,
}

/// A store of its own, removed (schema dropped, keys deleted, file removed) by [`Fresh::remove`]
/// or, when a test panics before, on drop.
#[derive(Debug)]
pub struct Fresh {
    /// The store.
    pub store: Arc<dyn TaskStore>,
    /// The URL it was opened with.
    pub url: String,
    cleanup: Cleanup,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Debug)]
enum Cleanup {
    Nothing,
    Schema(String),
    Prefix(String),
}

fn redis_base() -> String {
    std::env::var("TASKCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn postgres_base() -> String {
    std::env::var("TASKCORE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

impl Fresh {
    /// Opens a fresh store of `backend`.
    pub async fn open(backend: Backend) -> Self {
        let name = format!("tc_tests_{}", uuid::Uuid::now_v7().simple());
        let (url, cleanup, dir) = match backend {
            Backend::Memory => ("memory:".to_owned(), Cleanup::Nothing, None),
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temporary directory: {e}"));
                let url = format!("sqlite://{}", dir.path().join("store.db").display());
                (url, Cleanup::Nothing, Some(dir))
            }
            Backend::Postgres => {
                let base = postgres_base();
                let separator = if base.contains('?') { '&' } else { '?' };
                (format!("{base}{separator}schema={name}"), Cleanup::Schema(name), None)
            }
            Backend::Redis => (format!("{}?prefix={name}", redis_base()), Cleanup::Prefix(name), None),
        };
        let store = match taskcore_store::open(&url, StoreOptions::default()).await {
            Ok(store) => store,
            Err(error) => panic!("cannot open {backend:?} ({error}); {SERVERS_HELP}"),
        };
        Self { store, url, cleanup, _dir: dir }
    }

    /// Removes what the store wrote on its server.
    pub async fn remove(mut self) {
        let cleanup = std::mem::replace(&mut self.cleanup, Cleanup::Nothing);
        clean(&cleanup).await;
    }
}

/// A store a test did not [`Fresh::remove`] (it panicked first) is removed here, on a thread of
/// its own with a runtime of its own, so that a failed test leaves nothing on the servers.
impl Drop for Fresh {
    fn drop(&mut self) {
        let cleanup = std::mem::replace(&mut self.cleanup, Cleanup::Nothing);
        if matches!(cleanup, Cleanup::Nothing) {
            return;
        }
        let cleaner = std::thread::spawn(move || {
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                runtime.block_on(clean(&cleanup));
            }
        });
        let _cleaned = cleaner.join();
    }
}

/// A cleanup that could not reach its server: which one, why, and how to get one.
fn gone<T>(server: &str, error: &dyn std::fmt::Display) -> T {
    panic!("cannot remove a test store from {server} ({error}); {SERVERS_HELP}")
}

async fn clean(cleanup: &Cleanup) {
    match cleanup {
        Cleanup::Nothing => {}
        Cleanup::Schema(schema) => {
            use sqlx::Connection;
            let mut conn =
                sqlx::PgConnection::connect(&postgres_base()).await.unwrap_or_else(|e| gone("PostgreSQL", &e));
            let dropped = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&mut conn).await;
            dropped.unwrap_or_else(|e| gone("PostgreSQL", &e));
        }
        Cleanup::Prefix(prefix) => {
            let client = redis::Client::open(redis_base()).unwrap_or_else(|e| gone("Redis", &e));
            let mut conn = client.get_multiplexed_async_connection().await.unwrap_or_else(|e| gone("Redis", &e));
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("*{prefix}*"))
                .query_async(&mut conn)
                .await
                .unwrap_or_else(|e| gone("Redis", &e));
            for chunk in keys.chunks(500) {
                let () =
                    redis::cmd("DEL").arg(chunk).query_async(&mut conn).await.unwrap_or_else(|e| gone("Redis", &e));
            }
        }
    }
}
