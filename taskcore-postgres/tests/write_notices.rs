//! Write notices across stores on one schema (as across server replicas): every kind of write
//! through one store reaches the notices of another, as the room's code; a schema's notices do
//! not reach a store on another schema.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step is a failed test")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use taskcore::{NewTask, RoomCode, TaskManager, TaskPatch, TaskStore};
use tokio::sync::broadcast;

/// The next notice for `code`, skipping others; panics after 10 s (a liveness bound, not a
/// speed claim: notices normally arrive within milliseconds).
async fn notice_for(notices: &mut broadcast::Receiver<RoomCode>, code: &RoomCode, what: &str) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if notices.recv().await.unwrap() == *code {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no notice of {what} reached the other store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_through_one_store_reaches_the_notices_of_another() {
    let schema = common::SchemaGuard(common::fresh_schema());
    let writer = TaskManager::new(Arc::new(common::open(common::config(&schema.0)).await));
    let watcher = common::open(common::config(&schema.0)).await;
    let other = common::SchemaGuard(common::fresh_schema());
    let elsewhere = common::open(common::config(&other.0)).await;
    let mut notices = watcher.write_notices().expect("PostgreSQL pushes write notices");
    let mut unrelated = elsewhere.write_notices().unwrap();
    // The listener connects in the background: wait until a write is seen, then check each kind.
    let room = writer.create_room("alice").await.unwrap();
    let settled = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            writer.join_room(&room.code, "bob").await.unwrap();
            if let Ok(Ok(code)) = tokio::time::timeout(Duration::from_millis(200), notices.recv()).await
                && code == room.code
            {
                return;
            }
        }
    })
    .await;
    assert!(settled.is_ok(), "the listener never received a notice");
    while notices.try_recv().is_ok() {}

    writer.join_room(&room.code, "carol").await.unwrap();
    notice_for(&mut notices, &room.code, "a join").await;
    let task = writer.create_task(&room.code, &NewTask::titled("one"), None).await.unwrap().into_task();
    notice_for(&mut notices, &room.code, "a create").await;
    let patch = TaskPatch { title: taskcore::Patch::Set("two".into()), ..TaskPatch::default() };
    writer.update_task(&room.code, task.number, &patch).await.unwrap();
    notice_for(&mut notices, &room.code, "an update").await;
    writer.delete_task(&room.code, task.number, None).await.unwrap();
    notice_for(&mut notices, &room.code, "a delete").await;
    assert!(unrelated.try_recv().is_err(), "another schema hears nothing of this one");
}
