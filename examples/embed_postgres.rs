//! Embedding taskcore with the PostgreSQL store, chosen by URL through `taskcore-store`
//! (feature `postgres`): the schema, pool size and timeouts are query parameters; the store
//! creates its schema and applies its migrations on open.
//!
//! Run with `cargo run -p taskcore-examples --features postgres --example embed_postgres`, or
//! pass another URL: `… --example embed_postgres -- 'postgres://app:secret@db/tasks?schema=tasks_eu'`.

use taskcore::{IdempotencyKey, NewTask, StoreOptions, TaskManager};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| {
        "postgres://postgres@127.0.0.1:5432/postgres?schema=taskcore_example&pool_size=4&acquire_timeout=3s".to_owned()
    });
    let store = taskcore_store::open(&url, StoreOptions::default()).await?;
    report(&format!("{} store at {}", store.backend(), taskcore_store::redact_url(&url)));

    let tasks = TaskManager::new(store);
    let room = tasks.create_room("alice").await?;
    // A retried create with the same idempotency key returns the first task instead of a second.
    let new = NewTask::titled("Migrate the reports").priority("high");
    let key = IdempotencyKey::parse("request-7f3a")?;
    let created = tasks.create_task(&room.code, &new, Some(&key)).await?;
    let retried = tasks.create_task(&room.code, &new, Some(&key)).await?;
    assert_eq!(created.task().number, retried.task().number);
    tasks.complete_task(&room.code, created.task().number, None).await?;
    let feed = tasks.changes(&room.code, 0, None).await?;
    report(&format!("room {}: one task after a retried create, {} changes in the feed", room.code, feed.changes.len()));
    Ok(())
}

#[allow(clippy::print_stdout)] // an example talks to its reader
fn report(line: &str) {
    println!("{line}");
}
