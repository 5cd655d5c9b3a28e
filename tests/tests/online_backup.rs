//! Online backup: `export` through a second store on the same database — as the
//! `taskcore-server export` command beside a running server — while writers keep creating and
//! updating tasks, gives every room as one consistent snapshot, on every shared backend.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use taskcore::dump::{DumpReader, export};
use taskcore::{Clock, NewTask, Patch, StoreOptions, SystemClock, TaskManager, TaskPatch};
use taskcore_tests::{Backend, Fresh};
use tokio::task::JoinSet;

async fn backup_while_writing(backend: Backend) {
    let live = Fresh::open(backend).await;
    let tasks = TaskManager::new(Arc::clone(&live.store));
    let mut codes = Vec::new();
    for owner in ["ann", "ben", "cat"] {
        codes.push(tasks.create_room(owner).await.unwrap().code);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = JoinSet::new();
    for (i, code) in codes.iter().cycle().take(6).enumerate() {
        let (tasks, code, stop) = (tasks.clone(), code.clone(), Arc::clone(&stop));
        writers.spawn(async move {
            let mut mine: Vec<u64> = Vec::new();
            let mut round = 0usize;
            while !stop.load(Ordering::Relaxed) {
                if round % 2 == 1 {
                    let number = mine[round % mine.len()];
                    let patch = TaskPatch { title: Patch::Set(format!("w{i} r{round}")), ..TaskPatch::default() };
                    tasks.update_task(&code, number, &patch).await.unwrap();
                } else {
                    let created = tasks.create_task(&code, &NewTask::titled(format!("w{i} r{round}")), None).await;
                    mine.push(created.unwrap().task().number);
                }
                round += 1;
            }
            round
        });
    }
    // The backup's own connection to the same database, as a second process has.
    let backup = taskcore_store::open(&live.url, StoreOptions::default()).await.unwrap();
    let mut checked = 0u64;
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        let (dump, summary) = export(backup.as_ref(), None, Vec::new(), SystemClock.now(), &mut |_| {}).await.unwrap();
        assert_eq!(summary.rooms, 3);
        let mut reader = DumpReader::new(dump.as_slice()).unwrap();
        while let Some(room) = reader.next_room().unwrap() {
            // Each create and each update adds one to the sequence and to one task's version.
            let versions: u64 = room.tasks.iter().map(|t| t.version).sum();
            assert_eq!(versions, room.last_seq, "{backend:?} room {}: a write seen in part", room.room.code);
            assert_eq!(room.tasks.len() as u64, room.last_number, "{backend:?}: every created task is there");
            checked += room.last_seq;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut rounds = 0;
    while let Some(done) = writers.join_next().await {
        rounds += done.unwrap();
    }
    assert!(checked > 0 && rounds > 0, "{backend:?}: the writers wrote during the backups");
    let (dump, _) = export(backup.as_ref(), None, Vec::new(), SystemClock.now(), &mut |_| {}).await.unwrap();
    let mut reader = DumpReader::new(dump.as_slice()).unwrap();
    let mut written = 0;
    while let Some(room) = reader.next_room().unwrap() {
        written += room.last_seq;
    }
    assert_eq!(written, rounds as u64, "{backend:?}: the backup after the writes holds every write");
    live.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_backup_while_writing() {
    backup_while_writing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_backup_while_writing() {
    backup_while_writing(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_backup_while_writing() {
    backup_while_writing(Backend::Redis).await;
}
