//! Several store instances — each on its own OS thread with its own tokio runtime, as separate
//! processes would be — writing to one database file at once: every create succeeds (no
//! "database is locked"), and the room's numbers are exactly 1..=1600.

#![allow(clippy::unwrap_used, reason = "helpers outside #[test] functions; a failure is a test failure")]

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};

use taskcore::{NewTask, TaskManager, TaskQuery};
use taskcore_sqlite::SqliteStore;

const THREADS: usize = 8;
const CREATES_PER_THREAD: usize = 200;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn eight_instances_create_densely_numbered_tasks_without_lock_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let code = runtime().block_on(async {
        let tasks = TaskManager::new(Arc::new(SqliteStore::open(&url).await.unwrap()));
        tasks.create_room("alice").await.unwrap().code
    });

    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (url, code, start) = (url.clone(), code.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                runtime().block_on(async move {
                    let store = SqliteStore::open(&url).await.expect("open");
                    let tasks = TaskManager::new(Arc::new(store.clone()));
                    start.wait();
                    let mut numbers = Vec::with_capacity(CREATES_PER_THREAD);
                    for i in 0..CREATES_PER_THREAD {
                        let input = NewTask::titled(format!("thread {thread} task {i}"));
                        match tasks.create_task(&code, &input, None).await {
                            Ok(created) => numbers.push(created.task().number),
                            Err(error) => panic!("thread {thread} create {i} failed: {error:?}"),
                        }
                    }
                    store.close().await;
                    numbers
                })
            })
        })
        .collect();

    let mut numbers = BTreeSet::new();
    for thread in threads {
        for number in thread.join().expect("writer thread panicked") {
            assert!(numbers.insert(number), "number {number} given twice");
        }
    }
    let expected: BTreeSet<u64> = (1..=(THREADS * CREATES_PER_THREAD) as u64).collect();
    assert_eq!(numbers, expected, "numbers are unique and dense");

    runtime().block_on(async {
        let tasks = TaskManager::new(Arc::new(SqliteStore::open(&url).await.unwrap()));
        let page = tasks.list_tasks(&code, &TaskQuery::default().limit(1)).await.unwrap();
        assert_eq!(page.total, 1_600);
        let feed = tasks.changes(&code, 1_599, Some(10)).await.unwrap();
        assert_eq!(feed.latest, 1_600, "one change per create");
    });
}
