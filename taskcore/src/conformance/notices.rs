//! Behaviours of write notices ([`TaskStore::write_notices`]) across stores: not part of
//! [`conformance_tests!`](crate::conformance_tests), whose factory opens unrelated stores, but
//! called by the crates of backends that push notices, with stores they open on one location
//! (as two replicas would) and one elsewhere.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::input::{NewTask, TaskPatch};
use crate::manager::TaskManager;
use crate::patch::Patch;
use crate::room::RoomCode;
use crate::store::TaskStore;

/// The next notice for `code`, skipping others; panics after 10 s (a liveness bound, not a
/// speed claim: notices normally arrive within milliseconds).
async fn notice_for(notices: &mut broadcast::Receiver<RoomCode>, code: &RoomCode, what: &str) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match notices.recv().await {
                Ok(room) if room == *code => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the notices ended"),
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no notice of {what} reached the other store");
}

/// Every kind of write through `writer` (a join, a create, an update, a delete) reaches the
/// notices of `watcher`, a store on the same location, as the room's code; none reaches
/// `elsewhere`, a store on another location (schema, prefix) of the same server.
pub async fn every_write_through_one_store_reaches_the_notices_of_another(
    writer: Arc<dyn TaskStore>,
    watcher: &dyn TaskStore,
    elsewhere: &dyn TaskStore,
) {
    let tasks = TaskManager::new(writer);
    let mut notices = watcher.write_notices().expect("this backend pushes write notices");
    let mut unrelated = elsewhere.write_notices().expect("this backend pushes write notices");
    // The listener connects in the background: write until a notice arrives, then check each kind.
    let room = tasks.create_room("alice").await.unwrap();
    let settled = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            tasks.join_room(&room.code, "bob").await.unwrap();
            if let Ok(Ok(code)) = tokio::time::timeout(Duration::from_millis(200), notices.recv()).await
                && code == room.code
            {
                return;
            }
        }
    })
    .await;
    assert!(settled.is_ok(), "the watching store never received a notice");
    while notices.try_recv().is_ok() {}

    tasks.join_room(&room.code, "carol").await.unwrap();
    notice_for(&mut notices, &room.code, "a join").await;
    let task = tasks.create_task(&room.code, &NewTask::titled("one"), None).await.unwrap().into_task();
    notice_for(&mut notices, &room.code, "a create").await;
    let patch = TaskPatch { title: Patch::Set("two".into()), ..TaskPatch::default() };
    tasks.update_task(&room.code, task.number, &patch).await.unwrap();
    notice_for(&mut notices, &room.code, "an update").await;
    tasks.delete_task(&room.code, task.number, None).await.unwrap();
    notice_for(&mut notices, &room.code, "a delete").await;
    assert!(unrelated.try_recv().is_err(), "a store elsewhere hears nothing of this one's writes");
}
