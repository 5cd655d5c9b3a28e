//! The taskcore conformance suite against [`SqliteStore`]: once on a fresh database file per
//! behaviour, once on a private in-memory database.

use std::sync::{Arc, Mutex};

use taskcore::{StoreOptions, TaskStore};
use taskcore_sqlite::{SqliteConfig, SqliteStore};
use tempfile::TempDir;

/// The temporary directories of this test binary, kept until the process ends so that every
/// database file outlives its store. They live under the system temp directory, never in the
/// repository.
static DIRS: Mutex<Vec<TempDir>> = Mutex::new(Vec::new());

async fn open_file(options: StoreOptions) -> Arc<dyn TaskStore> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
    DIRS.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(dir);
    let store = SqliteStore::open_with(SqliteConfig::new(url).store_options(options)).await.expect("open file store");
    Arc::new(store)
}

async fn open_memory(options: StoreOptions) -> Arc<dyn TaskStore> {
    let config = SqliteConfig::new("sqlite::memory:").store_options(options);
    Arc::new(SqliteStore::open_with(config).await.expect("open memory store"))
}

mod file {
    use super::open_file;
    taskcore::conformance_tests!(open_file);
}

mod memory {
    use super::open_memory;
    taskcore::conformance_tests!(open_memory);
}
