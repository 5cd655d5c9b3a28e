//! Four processes × 250 creates into one room make 1,000 tasks numbered exactly 1..=1000: the
//! room-row lock serialises writers across processes, not only within one.
//!
//! A custom-harness test: run without [`CHILD`] set it is the parent, which prepares a schema
//! and a room, starts this same binary [`PROCESSES`] times with [`CHILD`] set, waits for them and
//! checks the result; each child opens its own store and creates its share of tasks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "test code (a custom harness, so not cfg(test)): a failed step is a failed test, and the harness reports like libtest"
)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use taskcore::{NewTask, RoomCode, TaskManager, TaskQuery};
use tokio::task::JoinSet;

/// Set in children: `<schema> <room code> <child index>`.
const CHILD: &str = "TASKCORE_PG_MULTI_PROCESS_CHILD";
const PROCESSES: usize = 4;
const CREATES_PER_PROCESS: usize = 250;
/// Concurrent writers inside each child.
const WRITERS_PER_PROCESS: usize = 5;

/// The one test of this binary, by the name libtest would give it.
const NAME: &str = "four_processes_number_one_room_densely";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if let Ok(args) = std::env::var(CHILD) {
        runtime.block_on(child(&args));
        return;
    }
    // Answer like libtest: `--list`, and name filters (`cargo test -p taskcore-postgres fault`).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--list") {
        println!("{NAME}: test");
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|arg| !arg.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|filter| NAME.contains(filter.as_str())) {
        println!("\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out\n");
        return;
    }
    println!("\nrunning 1 test");
    runtime.block_on(parent());
    println!("test {NAME} ... ok\n");
    println!("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n");
}

async fn child(args: &str) {
    let mut parts = args.split_whitespace();
    let (schema, code, index) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let code = RoomCode::parse(code).unwrap();
    let tasks = TaskManager::new(Arc::new(common::open(common::config(schema).pool_size(4)).await));
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS_PER_PROCESS {
        let (tasks, code, index) = (tasks.clone(), code.clone(), index.to_owned());
        writers.spawn(async move {
            for i in (writer..CREATES_PER_PROCESS).step_by(WRITERS_PER_PROCESS) {
                let input = NewTask::titled(format!("process {index} task {i}"));
                tasks.create_task(&code, &input, None).await.unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
}

async fn parent() {
    let schema = common::SchemaGuard(common::fresh_schema());
    let store = Arc::new(common::open(common::config(&schema.0)).await);
    let tasks = TaskManager::new(store.clone());
    let room = tasks.create_room("alice").await.unwrap();

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|index| {
            Command::new(&exe)
                .env(CHILD, format!("{} {} {index}", schema.0, room.code))
                .spawn()
                .expect("start a child process")
        })
        .collect();
    for mut child in children {
        let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "a child process failed: {status}");
    }

    let total = PROCESSES * CREATES_PER_PROCESS;
    let mut all = Vec::new();
    let mut query = TaskQuery::default().limit(500);
    loop {
        let page = tasks.list_tasks(&room.code, &query).await.unwrap();
        all.extend(page.items);
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    let numbers: Vec<u64> = all.iter().map(|t| t.number).collect();
    assert_eq!(numbers, (1..=total as u64).collect::<Vec<_>>(), "numbers dense and unique");
    let titles: BTreeSet<&str> = all.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles.len(), total, "every create stored exactly once");
    let feed = tasks.changes(&room.code, 0, Some(1000)).await.unwrap();
    assert_eq!(feed.latest, total as u64);
    let seqs: Vec<u64> = feed.changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=total as u64).collect::<Vec<_>>(), "sequence dense, one change per create");
    let created: Vec<u64> = feed.changes.iter().filter_map(|c| c.event.task_number()).collect();
    assert_eq!(created, numbers, "each change carries the number its create got, in commit order");
    assert_eq!(tasks.stats(&room.code).await.unwrap().total, total as u64);
    store.close().await;
}
