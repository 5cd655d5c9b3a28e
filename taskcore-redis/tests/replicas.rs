//! Two `RedisStore` instances with one URL and prefix — as two server replicas behind a load
//! balancer — writing into one room at the same time: numbers stay dense and unique, and the
//! change feed records every create once.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use taskcore::{ChangeEvent, NewTask, StoreOptions, TaskManager, TaskQuery, TaskStore};
use tokio::task::JoinSet;

const PER_WRITER: u64 = 100;
const WRITERS_PER_REPLICA: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_creating_in_one_room_lose_and_duplicate_no_number() {
    let first = support::scoped_store(StoreOptions::default()).await;
    let second = support::open_on_shared(first.store.prefix(), StoreOptions::default()).await;
    let replicas = [TaskManager::new(Arc::new(first.store.clone())), TaskManager::new(Arc::new(second))];
    let room = replicas[0].create_room("alice").await.unwrap();
    replicas[1].join_room(&room.code, "bob").await.unwrap();

    let mut writers = JoinSet::new();
    for (replica, tasks) in replicas.iter().enumerate() {
        for writer in 0..WRITERS_PER_REPLICA {
            let (tasks, code) = (tasks.clone(), room.code.clone());
            writers.spawn(async move {
                let mut numbers = Vec::new();
                for i in 0..PER_WRITER {
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

    let expected = 2 * WRITERS_PER_REPLICA * PER_WRITER;
    let unique: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), numbers.len(), "no number was handed out twice");
    assert_eq!(unique, (1..=expected).collect(), "numbers are dense: none lost");

    // Both replicas see the same room, and the feed has one create per task, in sequence order.
    for tasks in &replicas {
        let page = tasks.list_tasks(&room.code, &TaskQuery::default().limit(1)).await.unwrap();
        assert_eq!((page.total, page.matched), (expected, expected));
    }
    let mut created = BTreeSet::new();
    let mut since = 0;
    loop {
        let batch = first.store.changes(&room.code, since, 1000).await.unwrap();
        for change in &batch.changes {
            assert_eq!(change.seq, since + 1, "sequence numbers are dense");
            since = change.seq;
            if let ChangeEvent::TaskCreated { task } = &change.event {
                assert!(created.insert(task.number), "task {} created twice in the feed", task.number);
            }
        }
        if since == batch.latest {
            break;
        }
    }
    assert_eq!(created.len() as u64, expected);
}
