//! One source, any backend: this program never names a storage crate. Which store it uses is
//! decided by the cargo feature it is built with, and where it lives by a URL:
//!
//! ```sh
//! cargo run -p taskcore-examples --example swap_backend                      # memory:
//! cargo run -p taskcore-examples --example swap_backend --features sqlite    # a SQLite file
//! cargo run -p taskcore-examples --example swap_backend --features redis     # the local Redis
//! cargo run -p taskcore-examples --example swap_backend --features postgres  # the local PostgreSQL
//! cargo run -p taskcore-examples --example swap_backend --features redis -- redis://cache:6379/1
//! ```
//!
//! An application does the same with `taskcore-store = { version = "0.1", features = [...] }`
//! and the URL from its configuration.

use taskcore::{NewTask, StoreOptions, TaskManager};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(default_url);
    let store = taskcore_store::open(&url, StoreOptions::default()).await?;
    let backend = store.backend();

    let tasks = TaskManager::new(store);
    let room = tasks.create_room("alice").await?;
    tasks.create_task(&room.code, &NewTask::titled("Same code, any store"), None).await?;
    let stats = tasks.stats(&room.code).await?;
    report(&format!(
        "{backend}: room {} has {} task(s) ({})",
        room.code,
        stats.total,
        taskcore_store::redact_url(&url)
    ));

    let compiled: Vec<_> = taskcore_store::BACKENDS.iter().filter(|b| b.compiled_in).map(|b| b.name).collect();
    report(&format!("backends in this build: {}", compiled.join(", ")));
    Ok(())
}

/// A local store of the backend this build has (PostgreSQL if compiled in, else Redis, else
/// SQLite), or the in-memory store.
fn default_url() -> String {
    if cfg!(feature = "postgres") {
        "postgres://postgres@127.0.0.1:5432/postgres?schema=taskcore_example".to_owned()
    } else if cfg!(feature = "redis") {
        "redis://127.0.0.1:6379/0?prefix=taskcore-example".to_owned()
    } else if cfg!(feature = "sqlite") {
        format!("sqlite://{}/taskcore-swap-backend.db", std::env::temp_dir().display())
    } else {
        "memory:".to_owned()
    }
}

#[allow(clippy::print_stdout)] // an example talks to its reader
fn report(line: &str) {
    println!("{line}");
}
