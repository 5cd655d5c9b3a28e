//! taskcore on a real Redis Cluster (three masters, three replicas, started by this test binary;
//! see `taskcore_tests::redis_cluster`): the whole conformance suite, each behaviour in its own
//! key prefix and with every write waiting for one replica (`replica_acks=1`, the setting the
//! deployment files use); two stores — as two server replicas — writing into one room; write
//! notices crossing from one store to the other over sharded pub/sub; and room codes listed
//! across every master.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use taskcore::{NewTask, StoreOptions, TaskManager, TaskQuery, TaskStore};
use taskcore_redis::{RedisConfig, RedisStore};
use taskcore_tests::redis_cluster::RedisCluster;
use tokio::task::JoinSet;

/// A store on the shared cluster in a fresh prefix, waiting for one replica per write.
async fn cluster_store(prefix: &str, options: StoreOptions) -> RedisStore {
    let cluster = tokio::task::block_in_place(RedisCluster::shared);
    let config = RedisConfig::new(cluster.url()).prefix(prefix).replica_acks(1).store_options(options);
    RedisStore::open_with(config).await.unwrap_or_else(|err| panic!("open a store on the test cluster: {err}"))
}

fn fresh_prefix() -> String {
    format!("tc-cluster-{}", uuid::Uuid::now_v7().simple())
}

async fn open(options: StoreOptions) -> Arc<dyn TaskStore> {
    Arc::new(cluster_store(&fresh_prefix(), options).await)
}

taskcore::conformance_tests!(open);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_the_cluster_share_rooms_numbers_and_notices() {
    let prefix = fresh_prefix();
    let first = cluster_store(&prefix, StoreOptions::default()).await;
    let second = cluster_store(&prefix, StoreOptions::default()).await;
    assert!(first.is_cluster());
    let mut notices = second.write_notices().expect("the Redis store gives write notices");
    let replicas = [TaskManager::new(Arc::new(first.clone())), TaskManager::new(Arc::new(second.clone()))];

    // Rooms made through both stores: their codes hash to slots on every master, and the
    // listing of codes (a walk of each master's keyspace) finds each once, in order.
    let mut codes = BTreeSet::new();
    for i in 0..24 {
        let room = replicas[i % 2].create_room("alice").await.unwrap();
        codes.insert(room.code.as_str().to_owned());
    }
    let listed: Vec<String> =
        first.room_codes(None, 1000).await.unwrap().iter().map(|code| code.as_str().to_owned()).collect();
    assert_eq!(listed, codes.iter().cloned().collect::<Vec<_>>());

    // A room written through both stores at once: numbers dense and unique.
    let room = replicas[0].create_room("alice").await.unwrap();
    replicas[1].join_room(&room.code, "bob").await.unwrap();
    // Sharded pub/sub: the other store hears of this room's writes at once (a few notices for
    // other rooms may come first).
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let code = notices.recv().await.expect("notices keep coming");
            if code == room.code {
                break;
            }
        }
    })
    .await
    .expect("a write through one store reaches the other's notices within 5 s");

    let mut writers = JoinSet::new();
    for (replica, tasks) in replicas.iter().enumerate() {
        for writer in 0..3 {
            let (tasks, code) = (tasks.clone(), room.code.clone());
            writers.spawn(async move {
                let mut numbers = Vec::new();
                for i in 0..40 {
                    let input = NewTask::titled(format!("replica {replica} writer {writer} task {i}"));
                    numbers.push(tasks.create_task(&code, &input, None).await.unwrap().task().number);
                }
                numbers
            });
        }
    }
    let mut numbers = Vec::new();
    while let Some(joined) = writers.join_next().await {
        numbers.extend(joined.unwrap());
    }
    let unique: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), numbers.len(), "no number handed out twice");
    assert_eq!(unique, (1..=240).collect(), "numbers dense: none lost");
    for tasks in &replicas {
        let page = tasks.list_tasks(&room.code, &TaskQuery::default().limit(5)).await.unwrap();
        assert_eq!((page.total, page.items.len()), (240, 5));
    }
}
