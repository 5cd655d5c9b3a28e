//! Opening a schema: created and migrated on first open, opened as is afterwards (also by several
//! stores at once), a schema of version 1 brought up to date with its data, refused at a future
//! major version, and clear errors for bad settings and an unreachable server.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step is a failed test")]

mod common;

use std::time::Duration;

use common::SchemaGuard;
use taskcore::Error;
use taskcore_postgres::{MIGRATIONS, MIGRATIONS_TABLE, PgConfig, PgStore, SCHEMA_MAJOR};
use tokio::task::JoinSet;

async fn applied(schema: &str) -> Vec<(i64, i64)> {
    let mut conn = common::admin().await;
    sqlx::query_as(&format!("SELECT version, major FROM \"{schema}\".{MIGRATIONS_TABLE} ORDER BY version"))
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

async fn tables(schema: &str) -> Vec<String> {
    let mut conn = common::admin().await;
    sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1")
        .bind(schema)
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

/// Every migration of this build, as the migrations table records them.
fn newest() -> Vec<(i64, i64)> {
    MIGRATIONS.iter().map(|m| (m.version, m.major)).collect()
}

/// A version no migration of this build has.
fn next_version() -> i64 {
    MIGRATIONS.iter().map(|m| m.version).max().unwrap_or(0) + 1
}

#[tokio::test]
async fn a_schema_at_version_1_opens_and_keeps_its_data() {
    let schema = SchemaGuard(common::fresh_schema());
    let first = common::open(common::config(&schema.0)).await;
    assert_eq!(applied(&schema.0).await, newest());
    assert_eq!(
        tables(&schema.0).await,
        ["changes", "idempotency_keys", "members", "rooms", "taskcore_schema_migrations", "tasks"],
        "everything in the store's own schema; no _sqlx_migrations"
    );
    let tasks = taskcore::TaskManager::new(std::sync::Arc::new(first.clone()));
    let room = tasks.create_room("alice").await.unwrap();
    first.close().await;

    let again = common::open(common::config(&schema.0)).await;
    assert_eq!(applied(&schema.0).await, newest(), "nothing applied twice");
    let tasks = taskcore::TaskManager::new(std::sync::Arc::new(again));
    assert_eq!(tasks.room(&room.code).await.unwrap(), room);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stores_opening_a_new_schema_at_once_migrate_it_once() {
    let schema = SchemaGuard(common::fresh_schema());
    let mut openers = JoinSet::new();
    for _ in 0..6 {
        let config = common::config(&schema.0).pool_size(1);
        openers.spawn(async move { common::open(config).await });
    }
    while let Some(opened) = openers.join_next().await {
        opened.unwrap().close().await;
    }
    assert_eq!(applied(&schema.0).await, newest());
}

#[tokio::test]
async fn a_schema_of_a_future_major_version_is_refused_untouched() {
    let schema = SchemaGuard(common::fresh_schema());
    common::open(common::config(&schema.0)).await.close().await;
    let mut conn = common::admin().await;
    // A newer version of the same major (an additive migration of a later build) still opens.
    let (additive, breaking) = (next_version(), next_version() + 1);
    sqlx::query(&format!(
        "INSERT INTO \"{}\".{MIGRATIONS_TABLE} (version, major, description) VALUES ({additive}, {SCHEMA_MAJOR}, 'additive')",
        schema.0
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    common::open(common::config(&schema.0)).await.close().await;

    sqlx::query(&format!(
        "INSERT INTO \"{}\".{MIGRATIONS_TABLE} (version, major, description) VALUES ({breaking}, {}, 'breaking')",
        schema.0,
        SCHEMA_MAJOR + 1
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let before = tables(&schema.0).await;
    match PgStore::open_with(common::config(&schema.0)).await {
        Err(Error::Backend { message, .. }) => {
            assert!(message.contains(&format!("major version {}", SCHEMA_MAJOR + 1)), "{message}");
            assert!(message.contains("Upgrade taskcore-postgres"), "{message}");
        }
        other => panic!("expected the newer major to be refused, got {other:?}"),
    }
    let mut expected = newest();
    expected.extend([(additive, SCHEMA_MAJOR), (breaking, SCHEMA_MAJOR + 1)]);
    assert_eq!(applied(&schema.0).await, expected);
    assert_eq!(tables(&schema.0).await, before);
}

/// A schema exactly as version 1 left it — a room and a task made with an idempotency key —
/// opens, gets the later migrations, and keeps its data; the key, stored without a fingerprint,
/// replays whatever the request.
#[tokio::test]
async fn a_version_1_schema_is_upgraded_with_its_data() {
    use sqlx::Executor as _;
    let schema = SchemaGuard(common::fresh_schema());
    let mut conn = common::admin().await;
    let v1 = MIGRATIONS.iter().find(|m| m.version == 1).unwrap();
    conn.execute(format!("CREATE SCHEMA \"{0}\"; SET search_path TO \"{0}\"", schema.0).as_str()).await.unwrap();
    conn.execute(v1.sql).await.unwrap();
    conn.execute(
        "CREATE TABLE taskcore_schema_migrations (version bigint PRIMARY KEY, major bigint NOT NULL,
             description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO taskcore_schema_migrations (version, major, description) VALUES (1, 1, 'v1');
         INSERT INTO rooms (code, owner, created_at, last_number, last_seq, pending_medium)
             VALUES ('OLDV1X', 'alice', 1773144000000000, 1, 1, 1);
         INSERT INTO members SELECT id, 1, 'alice', 'alice' FROM rooms;
         INSERT INTO tasks SELECT id, 1, '0190a000-0000-7000-8000-00000000002a', 'Old task', '', 1,
             9223372036854775807, '{}', NULL, NULL, false, NULL, 1773144000000000, 1773144000000000, 1,
             'old task', 'old task' || chr(10) FROM rooms;
         INSERT INTO idempotency_keys SELECT id, 'v1-key', 1 FROM rooms;",
    )
    .await
    .unwrap();
    let store = common::open(common::config(&schema.0)).await;
    assert_eq!(applied(&schema.0).await, newest());
    let tasks = taskcore::TaskManager::new(std::sync::Arc::new(store));
    let code = taskcore::RoomCode::parse("OLDV1X").unwrap();
    let old = tasks.task(&code, 1).await.unwrap();
    assert_eq!(old.title, "Old task");
    let key = taskcore::IdempotencyKey::parse("v1-key").unwrap();
    let replay = tasks.create_task(&code, &taskcore::NewTask::titled("anything"), Some(&key)).await.unwrap();
    assert_eq!(replay, taskcore::Inserted::Replayed(old));
    let key = taskcore::IdempotencyKey::parse("v2-key").unwrap();
    let next = tasks.create_task(&code, &taskcore::NewTask::titled("new"), Some(&key)).await.unwrap();
    assert_eq!(next.task().number, 2);
    assert!(matches!(
        tasks.create_task(&code, &taskcore::NewTask::titled("other"), Some(&key)).await,
        Err(Error::IdempotencyKeyReused { .. })
    ));
}

#[tokio::test]
async fn bad_settings_are_invalid_and_no_server_is_unavailable() {
    match PgStore::open_with(PgConfig::new(common::url()).schema("Robert'); DROP TABLE students;--")).await {
        Err(Error::Invalid { field: "schema", .. }) => {}
        other => panic!("expected Invalid schema, got {other:?}"),
    }
    match PgStore::open("mysql://user:hunter2@localhost/db").await {
        Err(Error::Invalid { field: "url", message }) => assert!(!message.contains("hunter2"), "{message}"),
        other => panic!("expected Invalid url, got {other:?}"),
    }
    // Port 1 on loopback: connection refused, reported as Unavailable within the acquire timeout.
    let nobody = PgConfig::new("postgres://postgres:hunter2@127.0.0.1:1/postgres")
        .schema(common::fresh_schema())
        .acquire_timeout(Duration::from_secs(2));
    match PgStore::open_with(nobody).await {
        Err(error @ Error::Unavailable { .. }) => assert!(!format!("{error:?}").contains("hunter2")),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
