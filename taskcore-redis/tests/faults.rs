//! Fault tests against a private `redis-server` with `appendonly yes` and `appendfsync always`:
//! killing it mid-run makes operations `Unavailable` within a bounded time (no hang, no panic),
//! and after a restart on the same port and directory the same store instance works again and
//! every acknowledged write is there. A stopped (hung) server is `Unavailable` by the timeouts.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use taskcore::{Error, NewTask, StoreOptions, TaskManager, TaskQuery};
use taskcore_redis::{RedisConfig, RedisStore};
use tokio::sync::watch;

use support::{PrivateRedis, open_private};

/// Generous upper bound for one failing operation: the store's operation timeout (3 s) plus slack.
const BOUND: Duration = Duration::from_secs(10);

/// Waits (polling, bounded) until the store answers a ping again.
async fn wait_until_answers(store: &RedisStore) {
    for _ in 0..200 {
        if taskcore::TaskStore::ping(store).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store did not reconnect within 20 s of redis-server coming back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_redis_is_unavailable_then_the_same_store_recovers_every_acknowledged_write() {
    let mut server = PrivateRedis::start().await;
    let store = open_private(&server, StoreOptions::default()).await;
    let tasks = TaskManager::new(Arc::new(store.clone()));
    let room = tasks.create_room("alice").await.unwrap();

    // A writer creates tasks until told to stop, remembering every create that was acknowledged.
    let (stop, stopped) = watch::channel(false);
    let writer = {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        tokio::spawn(async move {
            let mut acknowledged = BTreeMap::new();
            let mut failures = 0_u32;
            let mut i = 0_u32;
            while !*stopped.borrow() {
                i += 1;
                match tasks.create_task(&code, &NewTask::titled(format!("write {i}")), None).await {
                    Ok(created) => {
                        let task = created.into_task();
                        acknowledged.insert(task.number, task);
                    }
                    Err(err) => {
                        assert!(err.is_retryable(), "a write against a dead redis must be Unavailable, got {err:?}");
                        failures += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acknowledged, failures)
        })
    };

    // Let some writes land, then kill the server under the writer's feet.
    loop {
        let counts = tasks.stats(&room.code).await.unwrap();
        if counts.total >= 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill();

    // Every kind of operation fails fast with Unavailable while the server is down.
    let down = tokio::time::timeout(BOUND, tasks.task(&room.code, 1)).await.expect("a read must not hang");
    assert!(matches!(down, Err(Error::Unavailable { .. })), "read against a dead redis: {down:?}");
    let down = tokio::time::timeout(BOUND, tasks.create_task(&room.code, &NewTask::titled("lost?"), None))
        .await
        .expect("a write must not hang");
    assert!(matches!(down, Err(Error::Unavailable { .. })), "write against a dead redis: {down:?}");
    let down = tokio::time::timeout(BOUND, tasks.list_tasks(&room.code, &TaskQuery::default()))
        .await
        .expect("a listing must not hang");
    assert!(matches!(down, Err(Error::Unavailable { .. })), "listing against a dead redis: {down:?}");

    // The same store instance works again once the server is back (it replays its AOF).
    server.restart().await;
    wait_until_answers(&store).await;
    stop.send(true).unwrap();
    let (acknowledged, failures) = writer.await.unwrap();
    assert!(acknowledged.len() >= 50, "the writer had written before the kill");
    assert!(failures > 0, "the writer saw the outage");

    // Every acknowledged create is there, exactly as acknowledged.
    for (number, task) in &acknowledged {
        let stored = tasks.task(&room.code, *number).await.unwrap();
        assert_eq!(&stored, task, "acknowledged task {number} survived the crash unchanged");
    }
    let page = tasks.list_tasks(&room.code, &TaskQuery::default().limit(500)).await.unwrap();
    assert!(page.total >= acknowledged.len() as u64);

    // Counters and numbering continue where they were: no number is handed out twice.
    let next = tasks.create_task(&room.code, &NewTask::titled("after restart"), None).await.unwrap().into_task();
    assert!(next.number > *acknowledged.keys().last().unwrap(), "numbers continue after the restart");
    let stats = tasks.stats(&room.code).await.unwrap();
    assert_eq!(stats.total, page.total + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_is_unavailable_within_the_timeout_then_recovers() {
    let server = PrivateRedis::start().await;
    let store = open_private(&server, StoreOptions::default()).await;
    let tasks = TaskManager::new(Arc::new(store.clone()));
    let room = tasks.create_room("alice").await.unwrap();
    server.signal("STOP");
    let hung = tokio::time::timeout(BOUND, tasks.create_task(&room.code, &NewTask::titled("stuck?"), None))
        .await
        .expect("a write to a hung redis must not hang");
    server.signal("CONT");
    assert!(matches!(hung, Err(Error::Unavailable { .. })), "write to a hung redis: {hung:?}");
    wait_until_answers(&store).await;
    let after = tasks.create_task(&room.code, &NewTask::titled("after"), None).await.unwrap().into_task();
    assert_eq!(tasks.task(&room.code, after.number).await.unwrap(), after);
    // The timed-out write may or may not have been applied (Unavailable says so); either way the
    // room stays consistent: counters and listing agree.
    let page = tasks.list_tasks(&room.code, &TaskQuery::default()).await.unwrap();
    assert!((1..=2).contains(&page.total), "{page:?}");
    assert_eq!(page.items.len() as u64, page.total);
    assert_eq!(page.items.last().map(|t| t.number), Some(after.number));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_redis_at_open_is_unavailable_not_a_hang() {
    let mut server = PrivateRedis::start().await;
    server.kill();
    let config = RedisConfig::new(server.url())
        .connect_timeout(Duration::from_millis(300))
        .operation_timeout(Duration::from_secs(2));
    let opened = tokio::time::timeout(BOUND, RedisStore::open_with(config)).await.expect("open must not hang");
    assert!(matches!(opened, Err(Error::Unavailable { .. })), "open against a dead redis: {opened:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opened_while_redis_is_down_works_once_it_starts() {
    let mut server = PrivateRedis::start().await;
    let store = open_private(&server, StoreOptions::default()).await;
    server.kill();
    let down = tokio::time::timeout(BOUND, taskcore::TaskStore::ping(&store)).await.expect("ping must not hang");
    assert!(matches!(down, Err(Error::Unavailable { .. })), "{down:?}");
    let down = tokio::time::timeout(BOUND, taskcore::TaskStore::ping(&store)).await.expect("ping must not hang");
    assert!(matches!(down, Err(Error::Unavailable { .. })), "a second failure is Unavailable too: {down:?}");
    server.restart().await;
    wait_until_answers(&store).await;
    let tasks = TaskManager::new(Arc::new(store));
    let room = tasks.create_room("bob").await.unwrap();
    assert_eq!(tasks.room(&room.code).await.unwrap(), room, "scripts are reloaded after the restart (NOSCRIPT)");
}
