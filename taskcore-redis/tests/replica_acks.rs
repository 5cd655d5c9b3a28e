//! `replica_acks` on a single Redis with one replica (private `redis-server` processes): writes
//! are acknowledged once the replica has them (`WAIT 1` on the write's own connection), so the
//! replica holds every acknowledged write at any instant; with the replica stopped a write
//! answers `Unavailable` after the acknowledgement timeout instead of being acknowledged
//! unreplicated, reads go on, and writes are acknowledged again once the replica is back.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use taskcore::{Error, NewTask, StoreOptions, TaskManager};
use taskcore_redis::{RedisConfig, RedisStore};

use support::PrivateRedis;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_wait_for_the_replica_and_fail_unavailable_without_it() {
    let master = PrivateRedis::start().await;
    let replica = PrivateRedis::start_replica_of(&master).await;
    let config = RedisConfig::new(master.url())
        .prefix("acks")
        .replica_acks(1)
        .replica_ack_timeout(Duration::from_millis(300))
        .ack_connections(4)
        .store_options(StoreOptions::default());
    let store = RedisStore::open_with(config).await.unwrap();
    let tasks = TaskManager::new(Arc::new(store));
    let room = tasks.create_room("alice").await.unwrap();

    // Concurrent writers: each acknowledgement means the replica already has the task.
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..8 {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        writers.spawn(async move {
            for i in 0..25 {
                tasks.create_task(&code, &NewTask::titled(format!("w{writer} {i}")), None).await.unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let on_replica: u64 =
        replica.command(redis::cmd("HGET").arg(format!("{{acks:{}}}:meta", room.code)).arg("total")).await;
    assert_eq!(on_replica, 200, "the replica holds every acknowledged create");

    // A replica that stops answering: a write is not acknowledged, within the timeout and the
    // operation's bound; reads go on.
    replica.signal("STOP");
    let started = Instant::now();
    let refused = tasks.create_task(&room.code, &NewTask::titled("unconfirmed"), None).await;
    assert!(
        matches!(refused, Err(Error::Unavailable { ref message, .. }) if message.contains("replicas")),
        "{refused:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited the acknowledgement timeout");
    assert!(started.elapsed() < Duration::from_secs(3), "and not much longer: {:?}", started.elapsed());
    assert!(tasks.stats(&room.code).await.is_ok(), "reads do not wait for replicas");

    replica.signal("CONT");
    let back = tasks.create_task(&room.code, &NewTask::titled("confirmed again"), None).await.unwrap();
    let on_replica: Option<String> = replica
        .command(redis::cmd("HGET").arg(format!("{{acks:{}}}:t:{}", room.code, back.task().number)).arg("j"))
        .await;
    assert!(on_replica.is_some_and(|json| json.contains("confirmed again")));
}
