//! Connections killed under the store with `pg_terminate_backend` (from a separate admin
//! connection, and only the backends whose `application_name` is this test's): operations in
//! flight fail with `Unavailable` — not a panic, not a hang — and the same store serves again
//! once the server answers, with task numbers still dense.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step is a failed test")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::SchemaGuard;
use sqlx::{Connection, PgConnection};
use taskcore::{Error, NewTask, TaskManager, TaskQuery};
use tokio::task::JoinSet;

/// A guard against hangs, far above any healthy operation's duration (not a timing assertion).
const HANG: Duration = Duration::from_secs(60);

/// Terminates every backend of `application` and returns how many there were.
async fn terminate(admin: &mut PgConnection, application: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND pid <> pg_backend_pid()) AS killed",
    )
    .bind(application)
    .fetch_one(admin)
    .await
    .unwrap()
}

/// Terminates the backends of `application` that wait for a lock.
async fn terminate_waiting(admin: &mut PgConnection, application: &str) {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
    )
    .bind(application)
    .execute(admin)
    .await
    .unwrap();
}

fn assert_unavailable<T: std::fmt::Debug>(outcome: taskcore::Result<T>, what: &str) {
    match outcome {
        Err(Error::Unavailable { .. }) => {}
        other => panic!("{what}: expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminated_connections_are_unavailable_then_the_store_recovers() {
    let schema = SchemaGuard(common::fresh_schema());
    let application = format!("tc_fault_{}", uuid::Uuid::now_v7().simple());
    let config = common::config(&schema.0).application_name(&application).acquire_timeout(Duration::from_secs(5));
    let store = Arc::new(common::open(config).await);
    let tasks = TaskManager::new(store.clone());
    let room = tasks.create_room("alice").await.unwrap();
    tasks.create_task(&room.code, &NewTask::titled("before"), None).await.unwrap();

    // 1. Three creates wait for the room's lock, held by another session (in one batch or in
    //    several, one after the other); the connection of whichever batch waits is terminated
    //    while it waits, until all three have answered.
    let mut holder = common::admin().await;
    let mut lock = holder.begin().await.unwrap();
    sqlx::query(&format!("SELECT id FROM \"{}\".rooms WHERE code = $1 FOR UPDATE", schema.0))
        .bind(room.code.as_str())
        .execute(&mut *lock)
        .await
        .unwrap();
    let mut waiting = JoinSet::new();
    for i in 0..3 {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        waiting.spawn(async move { tasks.create_task(&code, &NewTask::titled(format!("blocked {i}")), None).await });
    }
    let mut admin = common::admin().await;
    let answered = tokio::time::timeout(HANG, async {
        while !waiting.is_empty() {
            tokio::select! {
                Some(outcome) = waiting.join_next() => {
                    assert_unavailable(outcome.unwrap(), "a create whose connection was terminated");
                }
                () = tokio::time::sleep(Duration::from_millis(20)) => terminate_waiting(&mut admin, &application).await,
            }
        }
    })
    .await;
    answered.expect("a create hung");
    lock.rollback().await.unwrap();

    // 2. The same store serves again: the pool replaces the dead connections. The terminated
    //    creates were rolled back, so numbering continues densely.
    let next = tasks.create_task(&room.code, &NewTask::titled("after"), None).await.unwrap();
    assert_eq!(next.task().number, 2);
    tasks.ping().await.unwrap();

    // 3. Terminations racing with a mixed load: every outcome is a success or Unavailable.
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = JoinSet::new();
    for worker in 0..4 {
        let (tasks, code, stop) = (tasks.clone(), room.code.clone(), stop.clone());
        load.spawn(async move {
            let mut failures = 0;
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let outcome = match i % 3 {
                    0 => tasks.create_task(&code, &NewTask::titled(format!("w{worker} {i}")), None).await.map(|_| ()),
                    1 => tasks.list_tasks(&code, &TaskQuery::default()).await.map(|_| ()),
                    _ => tasks.stats(&code).await.map(|_| ()),
                };
                match outcome {
                    Ok(()) => {}
                    Err(Error::Unavailable { .. }) => failures += 1,
                    Err(other) => panic!("worker {worker}: expected success or Unavailable, got {other:?}"),
                }
            }
            failures
        });
    }
    for _ in 0..20 {
        terminate(&mut admin, &application).await;
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = tokio::time::timeout(HANG, load.join_next()).await.expect("a worker hung") {
        done.unwrap();
    }

    // 4. Recovered: every operation succeeds, and the numbers of all tasks are dense — a create
    //    cut off before its commit left nothing behind, one cut off after it kept its number.
    let mut numbers = Vec::new();
    let mut query = TaskQuery::default().limit(500);
    loop {
        let page = tasks.list_tasks(&room.code, &query).await.unwrap();
        numbers.extend(page.items.iter().map(|t| t.number));
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>());
    let stats = tasks.stats(&room.code).await.unwrap();
    assert_eq!(stats.total, numbers.len() as u64);
    assert_eq!(tasks.changes(&room.code, 0, Some(1)).await.unwrap().latest, numbers.len() as u64);
    store.close().await;
}
