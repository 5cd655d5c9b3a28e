//! Embedding taskcore with the Redis store, chosen by URL through `taskcore-store` (feature
//! `redis`): the key prefix and timeouts are query parameters, so several applications share
//! one Redis without seeing each other.
//!
//! Run with `cargo run -p taskcore-examples --features redis --example embed_redis`, or pass
//! another URL: `… --example embed_redis -- redis://cache:6379/2?prefix=myapp`.

use taskcore::{NewTask, StatusFilter, StoreOptions, TaskManager, TaskQuery};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0?prefix=taskcore-example&operation_timeout=3s".to_owned());
    let store = taskcore_store::open(&url, StoreOptions::default().change_retention(1_000)).await?;
    report(&format!("{} store at {}", store.backend(), taskcore_store::redact_url(&url)));

    let tasks = TaskManager::new(store);
    let room = tasks.create_room("alice").await?;
    tasks.join_room(&room.code, "bob").await?;
    let first = tasks.create_task(&room.code, &NewTask::titled("Plan the sprint").assignee("bob"), None).await?;
    tasks.create_task(&room.code, &NewTask::titled("Order snacks").priority("low"), None).await?;
    tasks.complete_task(&room.code, first.task().number, None).await?;

    let pending = tasks.list_tasks(&room.code, &TaskQuery::default().status(StatusFilter::Pending)).await?;
    let stats = tasks.stats(&room.code).await?;
    report(&format!(
        "room {}: {} pending of {}, {}% complete",
        room.code, pending.matched, stats.total, stats.completion_rate
    ));
    Ok(())
}

#[allow(clippy::print_stdout)] // an example talks to its reader
fn report(line: &str) {
    println!("{line}");
}
