//! Embedding taskcore in an application with the in-memory store: a room, a member, tasks,
//! a filtered listing, stats and the change feed.
//!
//! Run with `cargo run -p taskcore-examples --example embed`.

use std::sync::Arc;

use taskcore::{ChangeEvent, MemoryStore, NewTask, SortDir, SortKey, StatusFilter, TaskManager, TaskPatch, TaskQuery};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), taskcore::Error> {
    let tasks = TaskManager::new(Arc::new(MemoryStore::new()));

    let room = tasks.create_room("alice").await?;
    tasks.join_room(&room.code, "bob").await?;
    report(&format!("room {} with members {:?}", room.code, member_names(&tasks, &room.code).await?));

    let report_task = tasks
        .create_task(&room.code, &NewTask::titled("Write the report").priority("high").due_date("2026-12-01"), None)
        .await?
        .into_task();
    tasks.create_task(&room.code, &NewTask::titled("Book the venue").assignee("bob").tags(["event"]), None).await?;
    tasks.create_task(&room.code, &NewTask::titled("Order snacks").priority("low"), None).await?;

    let patch: TaskPatch = serde_json::from_str(r#"{"description": "Numbers for Q4", "completed": true}"#)
        .map_err(|e| taskcore::Error::invalid("patch", e.to_string()))?;
    let done = tasks.update_task(&room.code, report_task.number, &patch).await?;
    report(&format!("task #{} completed at {:?}, version {}", done.number, done.completed_at, done.version));

    let pending = TaskQuery::default().status(StatusFilter::Pending).sort(SortKey::Priority, SortDir::Desc);
    for task in tasks.list_tasks(&room.code, &pending).await?.items {
        report(&format!("pending #{} [{}] {}", task.number, task.priority, task.title));
    }

    let stats = tasks.stats(&room.code).await?;
    report(&format!("{} tasks, {} done, {}% complete", stats.total, stats.completed, stats.completion_rate));

    for change in tasks.changes(&room.code, 0, None).await?.changes {
        let what = match change.event {
            ChangeEvent::TaskCreated { task } => format!("created #{}", task.number),
            ChangeEvent::TaskCompleted { task } => format!("completed #{}", task.number),
            ChangeEvent::MemberJoined { member } => format!("{member} joined"),
            other => format!("{other:?}"),
        };
        report(&format!("change {}: {what}", change.seq));
    }
    Ok(())
}

async fn member_names(tasks: &TaskManager, code: &taskcore::RoomCode) -> Result<Vec<String>, taskcore::Error> {
    Ok(tasks.room(code).await?.members.iter().map(|m| m.to_string()).collect())
}

#[allow(clippy::print_stdout)] // an example talks to its reader
fn report(line: &str) {
    println!("{line}");
}
