//! Embedding taskcore with the SQLite store, chosen by URL through `taskcore-store` (feature
//! `sqlite`): settings in the query string, and what was written is there after reopening.
//!
//! Run with `cargo run -p taskcore-examples --features sqlite --example embed_sqlite`.

use taskcore::{NewTask, StoreOptions, TaskManager, TaskQuery};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("taskcore-embed-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // durability=normal: survives a process crash, not a power cut (see taskcore-sqlite's README).
    let url = format!("sqlite://{}/tasks.db?durability=normal&busy_timeout=5s", dir.display());

    let tasks = TaskManager::new(taskcore_store::open(&url, StoreOptions::default()).await?);
    let room = tasks.create_room("alice").await?;
    tasks.create_task(&room.code, &NewTask::titled("Write the report").priority("high"), None).await?;
    tasks.create_task(&room.code, &NewTask::titled("Book the venue"), None).await?;
    report(&format!("room {} in {}", room.code, taskcore_store::redact_url(&url)));
    drop(tasks);

    // A new store on the same file: the room and its tasks are still there.
    let reopened = TaskManager::new(taskcore_store::open(&url, StoreOptions::default()).await?);
    let page = reopened.list_tasks(&room.code, &TaskQuery::default()).await?;
    for task in &page.items {
        report(&format!("#{} [{}] {}", task.number, task.priority, task.title));
    }
    assert_eq!(page.total, 2, "both tasks survive reopening");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[allow(clippy::print_stdout)] // an example talks to its reader
fn report(line: &str) {
    println!("{line}");
}
