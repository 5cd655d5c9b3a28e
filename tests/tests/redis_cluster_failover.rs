//! A Redis Cluster master killed (`SIGKILL`) in the middle of writes: the store, with
//! `replica_acks=1` on a cluster whose nodes run `appendonly yes` + `appendfsync always`, loses
//! no acknowledged write when the master's replica takes over; writes fail only as
//! `Unavailable` (a 503 from the server) and only in the window from the kill until the shard
//! is whole again; the same store recovers without being opened again, and write notices
//! (sharded pub/sub, whose channel lived on the killed master too) flow again.
//!
//! The window: reads come back as soon as the replica is promoted; writes need one replica to
//! confirm them (`replica_acks=1`), so they come back when the killed node, restarted as a
//! supervisor (compose's `restart:`, a Kubernetes StatefulSet) would, has rejoined as the new
//! master's replica — the same trade as Redis's own `min-replicas-to-write 1`. A deployment that
//! prefers writing on through a shard's lone master sets `replica_acks=0` and accepts the loss
//! described next.
//!
//! Without `replica_acks` a write is acknowledged once the master applied it, and Redis
//! replicates asynchronously: the writes of the last moment before the kill that had not reached
//! the replica are lost on failover, whatever `appendfsync` says (it only protects a restart of
//! the same node). `appendfsync everysec` additionally loses up to about a second of writes when
//! the host itself fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskcore::{Error, NewTask, StoreOptions, TaskManager, TaskQuery, TaskStore};
use taskcore_redis::{RedisConfig, RedisStore};
use taskcore_tests::redis_cluster::RedisCluster;
use tokio::sync::watch;

/// How long after the cluster reports a change done (a promotion, a replica back) an operation
/// may still fail: the client learns the new topology on its next refresh.
const RECOVERY_SLACK: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_master_loses_no_acknowledged_write_and_the_store_recovers() {
    let mut cluster = tokio::task::block_in_place(RedisCluster::start);
    let prefix = "failover";
    let open = || async {
        let config = RedisConfig::new(cluster.url())
            .prefix(prefix)
            .replica_acks(1)
            .connect_timeout(Duration::from_millis(500))
            .response_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(3));
        RedisStore::open_with(config.store_options(StoreOptions::default())).await.expect("open on the cluster")
    };
    let (store, watcher) = (open().await, open().await);
    let mut notices = watcher.write_notices().expect("notices");
    let tasks = TaskManager::new(Arc::new(store.clone()));

    // A room on the same master as the prefix's notice channel, so that the kill takes both.
    let channel_master = cluster.master_of(&format!("{{{prefix}}}:writes"));
    let room = loop {
        let room = tasks.create_room("alice").await.unwrap();
        if cluster.master_of(&format!("{{{prefix}:{}}}:meta", room.code)) == channel_master {
            break room;
        }
    };

    let (stop, stopped) = watch::channel(false);
    let writer = {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        tokio::spawn(async move {
            let mut acknowledged = BTreeMap::new();
            let mut failures = Vec::new();
            let mut i = 0_u32;
            while !*stopped.borrow() {
                i += 1;
                let title = format!("write {i}");
                match tasks.create_task(&code, &NewTask::titled(&title), None).await {
                    Ok(created) => {
                        acknowledged.insert(created.task().number, title);
                    }
                    Err(err) => {
                        assert!(
                            matches!(err, Error::Unavailable { .. }),
                            "a write during a failover must be Unavailable (503), got {err:?}"
                        );
                        failures.push(Instant::now());
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acknowledged, failures)
        })
    };

    let count = || {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        async move { tasks.stats(&code).await.map(|counts| counts.total) }
    };
    while count().await.unwrap() < 200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let killed_at = Instant::now();
    tokio::task::block_in_place(|| cluster.kill(channel_master));
    // The store stays "reachable" (a server's /readyz) while one master is down: the other
    // masters' rooms are served, and a load balancer must not take every replica out.
    for _ in 0..5 {
        store.ping().await.expect("ping while one master is down and not yet failed over");
    }
    let failover = tokio::task::block_in_place(|| cluster.wait_for_failover(channel_master));
    let failed_over_at = Instant::now();

    // The same store instance reads and writes again (after the failures of the window), and
    // notices flow again.
    let before = loop {
        match count().await {
            Ok(total) => break total,
            Err(err) => {
                assert!(err.is_retryable(), "a read during the failover must be Unavailable, got {err:?}");
                assert!(failed_over_at.elapsed() < RECOVERY_SLACK, "reads did not recover: {err:?}");
            }
        }
    };
    let recovered = failed_over_at.elapsed();
    // The supervisor restarts the killed node; it rejoins as the new master's replica.
    tokio::task::block_in_place(|| cluster.restart(channel_master));
    let rejoined_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    while count().await.unwrap_or(0) < before + 100 {
        assert!(Instant::now() < deadline, "writes did not resume within 20 s of the failover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while notices.try_recv().is_ok() {}
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match notices.recv().await {
                Ok(code) if code == room.code => return true,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
            }
        }
    })
    .await;
    assert_eq!(heard, Ok(true), "write notices flow again after the channel's shard failed over");

    stop.send(true).unwrap();
    let (acknowledged, failures) = writer.await.unwrap();

    // Every acknowledged write is there, once, as written; numbers are dense.
    let mut stored = BTreeMap::new();
    let mut query = TaskQuery::default().limit(500);
    loop {
        let page = tasks.list_tasks(&room.code, &query).await.unwrap();
        for task in &page.items {
            assert!(stored.insert(task.number, task.title.clone()).is_none(), "task {} listed twice", task.number);
        }
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    let lost: Vec<_> = acknowledged.iter().filter(|(number, title)| stored.get(number) != Some(title)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost or changed by the failover: {lost:?}");
    let last = stored.keys().next_back().copied().unwrap_or(0);
    assert_eq!(stored.keys().copied().collect::<Vec<_>>(), (1..=last).collect::<Vec<_>>(), "numbers are dense");

    // Failures only in the window from the kill until the shard had its replica again.
    let window_end = rejoined_at + RECOVERY_SLACK;
    let outside: Vec<_> = failures.iter().filter(|at| **at < killed_at || **at > window_end).collect();
    assert!(outside.is_empty(), "{} writes failed outside the failover window", outside.len());
    let last_failure = failures.last().map_or(Duration::ZERO, |at| at.duration_since(killed_at));
    eprintln!(
        "failover: cluster reported the replica promoted {failover:?} after the kill, the store read again \
         {recovered:?} later, the restarted node was a replica in sync {:?} after the kill; {} writes failed (503), \
         the last {last_failure:?} after the kill; {} acknowledged writes, none lost; {} tasks stored",
        rejoined_at.duration_since(killed_at),
        failures.len(),
        acknowledged.len(),
        stored.len()
    );
}
