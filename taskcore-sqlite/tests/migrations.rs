//! Schema migrations: a database written by schema version 1 opens and is brought up to the
//! newest version with its data intact; a database of a newer major version is refused without
//! being changed; the tracking table is this crate's own, so an application's sqlx migrations do
//! not clash with it.

#![allow(clippy::unwrap_used, reason = "helpers outside #[test] functions; a failure is a test failure")]

use std::str::FromStr;
use std::sync::Arc;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, Row, SqliteConnection};
use taskcore::{NewTask, RoomCode, TaskManager, TaskQuery};
use taskcore_sqlite::{MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_MAJOR, SqliteStore};
use tempfile::TempDir;

fn url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("tasks.db").display())
}

async fn raw(url: &str) -> SqliteConnection {
    SqliteConnectOptions::from_str(url).unwrap().create_if_missing(true).connect().await.unwrap()
}

async fn applied(url: &str) -> Vec<(i64, i64)> {
    let mut conn = raw(url).await;
    let sql = format!("SELECT version, major FROM {MIGRATIONS_TABLE} ORDER BY version");
    let rows = sqlx::query(&sql).fetch_all(&mut conn).await.unwrap();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

/// A database exactly as schema version 1 left it, with a room, two members and one task created
/// with an idempotency key.
async fn create_v1_database(url: &str) {
    let mut conn = raw(url).await;
    let mut tx = conn.begin().await.unwrap();
    let v1 = MIGRATIONS.iter().find(|m| m.version == 1).expect("migration 1");
    tx.execute(v1.sql).await.unwrap();
    tx.execute(
        "CREATE TABLE taskcore_schema_migrations (version INTEGER PRIMARY KEY, major INTEGER NOT NULL, \
         description TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT;
         INSERT INTO taskcore_schema_migrations VALUES (1, 1, 'v1', 0);
         INSERT INTO rooms (id, code, owner, created_at, last_number, last_seq)
             VALUES (1, 'OLDV1X', 'alice', 1773144000000000, 1, 2);
         INSERT INTO members VALUES (1, 1, 'alice', 'alice'), (1, 2, 'Bob', 'bob');
         INSERT INTO tasks (room_id, number, id, title, description, priority, due, tags, assignee,
             assignee_key, completed, completed_at, created_at, updated_at, version, title_key, search)
             VALUES (1, 1, x'0190000000007000800000000000002a', 'Old task', 'from v1', 2,
             9223372036854775807, '[\"legacy\"]', 'Bob', 'bob', 0, NULL, 1773144000000000,
             1773144000000000, 1, 'old task', 'old task' || char(10) || 'from v1');
         INSERT INTO idempotency_keys VALUES (1, 'v1-key', 1);
         INSERT INTO changes VALUES (1, 1, 1773144000000000, '{\"kind\":\"member_joined\",\"member\":\"Bob\"}');",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_version_1_database_opens_upgrades_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = url(&dir);
    create_v1_database(&url).await;

    let store = SqliteStore::open(&url).await.expect("a v1 database opens");
    let newest: Vec<(i64, i64)> = MIGRATIONS.iter().map(|m| (m.version, m.major)).collect();
    assert_eq!(applied(&url).await, newest, "every migration after 1 was applied, once");

    let tasks = TaskManager::new(Arc::new(store));
    let code = RoomCode::parse("oldv1x").unwrap();
    let room = tasks.room(&code).await.unwrap();
    assert_eq!(room.members.iter().map(|m| m.as_str()).collect::<Vec<_>>(), ["alice", "Bob"]);
    let old = tasks.task(&code, 1).await.unwrap();
    assert_eq!(
        (old.title.as_str(), old.due_date, old.assignee.as_ref().map(|a| a.as_str())),
        ("Old task", None, Some("Bob"))
    );
    assert_eq!(old.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["legacy"]);

    // A key stored before fingerprints were kept replays whatever the request.
    let key = taskcore::IdempotencyKey::parse("v1-key").unwrap();
    let replay = tasks.create_task(&code, &NewTask::titled("anything"), Some(&key)).await.unwrap();
    assert_eq!(replay, taskcore::Inserted::Replayed(old.clone()));
    let next = tasks.create_task(&code, &NewTask::titled("After the upgrade"), None).await.unwrap();
    assert_eq!(next.task().number, 2, "numbering continues");
    let tagged = TaskQuery::default().tag(taskcore::Tag::parse("legacy").unwrap());
    assert_eq!(tasks.list_tasks(&code, &tagged).await.unwrap().items, vec![old]);
    let feed = tasks.changes(&code, 0, None).await.unwrap();
    assert_eq!(feed.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 3], "the feed continues after 2");

    let reopened = SqliteStore::open(&url).await.expect("opening again applies nothing");
    reopened.close().await;
    assert_eq!(applied(&url).await, newest);
}

/// A current database on which a newer build has recorded migration 1000 of `major`.
async fn database_touched_by_a_newer_build(major: i64) -> (TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = url(&dir);
    SqliteStore::open(&url).await.unwrap().close().await;
    let mut conn = raw(&url).await;
    sqlx::query(&format!("INSERT INTO {MIGRATIONS_TABLE} VALUES (1000, ?, 'from a newer build', 0)"))
        .bind(major)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    (dir, url)
}

#[tokio::test]
async fn a_newer_major_schema_is_refused_and_left_alone() {
    let future = SCHEMA_MAJOR + 1;
    let (_dir, url) = database_touched_by_a_newer_build(future).await;
    let before = applied(&url).await;

    match SqliteStore::open(&url).await {
        Err(taskcore::Error::Backend { message, .. }) => {
            assert!(message.contains(&format!("major version {future}")), "names the database's version: {message}");
            assert!(message.contains(&format!("major version {SCHEMA_MAJOR}")), "names ours: {message}");
        }
        other => panic!("expected a Backend error refusing the schema, got {other:?}"),
    }
    assert_eq!(applied(&url).await, before, "nothing was changed");
}

#[tokio::test]
async fn a_newer_minor_version_of_our_major_opens() {
    let (_dir, url) = database_touched_by_a_newer_build(SCHEMA_MAJOR).await;
    let store = SqliteStore::open(&url).await.expect("same major opens");
    let tasks = TaskManager::new(Arc::new(store));
    tasks.create_room("alice").await.unwrap();
}

#[tokio::test]
async fn an_applications_sqlx_migrations_table_is_not_ours() {
    let dir = tempfile::tempdir().unwrap();
    let url = url(&dir);
    let mut conn = raw(&url).await;
    conn.execute(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL);
         INSERT INTO _sqlx_migrations VALUES (1, 'the host application''s own migration');",
    )
    .await
    .unwrap();
    conn.close().await.unwrap();

    SqliteStore::open(&url).await.unwrap().close().await;
    let mut conn = raw(&url).await;
    let host: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, description FROM _sqlx_migrations").fetch_all(&mut conn).await.unwrap();
    assert_eq!(host, [(1, "the host application's own migration".to_owned())]);
    assert_eq!(applied(&url).await.len(), MIGRATIONS.len());
}
