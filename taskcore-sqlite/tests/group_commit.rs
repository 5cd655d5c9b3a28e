//! The group commit's counters (`SqliteStore::write_stats`, exported by the server as
//! `taskcore_store_write_batches_total` and `taskcore_store_batched_writes_total`): 32 writers
//! creating at once share transactions — fewer batches than writes — and every write is counted
//! once.

#![allow(clippy::unwrap_used, reason = "a failure is a test failure")]

use std::sync::Arc;

use taskcore::{NewTask, TaskManager, TaskStore};
use taskcore_sqlite::SqliteStore;

const WRITERS: u64 = 32;
const CREATES: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_share_transactions_and_each_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
    let tasks = TaskManager::new(Arc::new(store.clone()));
    let code = tasks.create_room("alice").await.unwrap().code;
    let before = store.write_stats();
    assert_eq!(TaskStore::write_stats(&store), Some(before), "the trait reports the same counters");

    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..WRITERS {
        let (tasks, code) = (tasks.clone(), code.clone());
        writers.spawn(async move {
            for i in 0..CREATES {
                tasks.create_task(&code, &NewTask::titled(format!("{writer}/{i}")), None).await.unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }

    let after = store.write_stats();
    let (batches, writes) = (after.batches - before.batches, after.operations - before.operations);
    assert_eq!(writes, WRITERS * CREATES, "every create counted once");
    assert!(batches < writes, "concurrent creates shared transactions: {batches} batches for {writes} writes");
}
