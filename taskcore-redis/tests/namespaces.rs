//! Key prefixes and the schema-version key on the machine's Redis: two prefixes share one Redis
//! without seeing each other, and a prefix written by a newer major layout is refused at open.

mod support;

use std::sync::Arc;

use taskcore::{Error, NewTask, Room, RoomCode, StoreOptions, TaskManager, TaskStore};
use taskcore_redis::{RedisConfig, RedisStore};
use time::macros::datetime;

#[tokio::test]
async fn prefixes_keep_applications_apart() {
    let (first, second) =
        (support::scoped_store(StoreOptions::default()).await, support::scoped_store(StoreOptions::default()).await);
    let code = RoomCode::parse("SAME42").expect("code");
    let room = |owner: &str| Room::new(code.clone(), owner.parse().expect("name"), datetime!(2026-03-10 12:00 UTC));
    first.store.insert_room(&room("alice")).await.unwrap();
    second.store.insert_room(&room("bob")).await.unwrap();
    let tasks = TaskManager::new(Arc::new(first.store.clone()));
    tasks.create_task(&code, &NewTask::titled("only in the first"), None).await.unwrap();
    assert_eq!(first.store.room(&code).await.unwrap().owner.as_str(), "alice");
    assert_eq!(second.store.room(&code).await.unwrap().owner.as_str(), "bob");
    assert!(matches!(second.store.task(&code, 1).await, Err(Error::NotFound(taskcore::Missing::Task { .. }))));
}

#[tokio::test]
async fn a_newer_schema_major_is_refused() {
    let scoped = support::scoped_store(StoreOptions::default()).await;
    let prefix = scoped.store.prefix().to_owned();
    let client = redis::Client::open(support::shared_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stored: String = redis::cmd("GET").arg(format!("{prefix}:schema")).query_async(&mut conn).await.unwrap();
    assert_eq!(stored, "1", "open writes the layout version of a fresh prefix");

    let _: () = redis::cmd("SET").arg(format!("{prefix}:schema")).arg("2.0").query_async(&mut conn).await.unwrap();
    let refused = RedisStore::open_with(RedisConfig::new(support::shared_url()).prefix(&prefix)).await;
    match refused {
        Err(Error::Backend { message, .. }) => {
            assert!(message.contains("newer") && message.contains("upgrade"), "{message}")
        }
        other => panic!("a newer schema must be refused, got {other:?}"),
    }
}
