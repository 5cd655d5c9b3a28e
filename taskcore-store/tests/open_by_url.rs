//! Opening each backend by URL through the facade against real servers, with settings in the
//! query string: the settings reach the backend (a Redis key prefix, a PostgreSQL schema) and the
//! store works. Runs for the features compiled in.

#![allow(clippy::unwrap_used)]

use taskcore::{NewTask, StoreOptions, TaskManager};

mod support;

#[cfg_attr(not(any(feature = "sqlite", feature = "redis", feature = "postgres")), allow(dead_code))]
async fn round_trip(tasks: &TaskManager) {
    let room = tasks.create_room("alice").await.unwrap();
    tasks.create_task(&room.code, &NewTask::titled("Plan the sprint"), None).await.unwrap();
    assert_eq!(tasks.stats(&room.code).await.unwrap().total, 1);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_by_url() {
    let dir = std::env::temp_dir().join(format!("taskcore-store-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/t.db?durability=normal&busy_timeout=2s&read_connections=2", dir.display());
    let store = taskcore_store::open(&url, StoreOptions::default()).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    round_trip(&TaskManager::new(store)).await;
    assert!(dir.join("t.db").exists(), "the file of the URL, without its query string");
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_by_url_uses_the_prefix_of_the_url() {
    let base = support::redis_url();
    let prefix = format!("tc-store-{}", uuid::Uuid::now_v7().simple());
    let url = format!("{base}?prefix={prefix}&operation_timeout=3s&connect_timeout=500ms");
    let store = match taskcore_store::open(&url, StoreOptions::default()).await {
        Ok(store) => store,
        Err(error) => panic!("{error}: {}", support::REDIS_HELP),
    };
    assert_eq!(store.backend(), "redis");
    round_trip(&TaskManager::new(store)).await;
    let client = redis::Client::open(base.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let schema: Option<String> =
        redis::cmd("GET").arg(format!("{prefix}:schema")).query_async(&mut conn).await.unwrap();
    assert_eq!(schema.as_deref(), Some("1"), "keys live under the URL's prefix");
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("*{prefix}:*")).query_async(&mut conn).await.unwrap();
    let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_by_url_uses_the_schema_of_the_url() {
    use sqlx::Connection;

    let base = support::postgres_url();
    let schema = format!("tc_store_{}", uuid::Uuid::now_v7().simple());
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}schema={schema}&pool_size=2&acquire_timeout=3s&application_name=tc-store-test");
    let store = match taskcore_store::open(&url, StoreOptions::default()).await {
        Ok(store) => store,
        Err(error) => panic!("{error}: {}", support::POSTGRES_HELP),
    };
    assert_eq!(store.backend(), "postgres");
    round_trip(&TaskManager::new(store)).await;
    let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
    let rooms: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM \"{schema}\".rooms")).fetch_one(&mut conn).await.unwrap();
    assert_eq!(rooms, 1, "the tables live in the URL's schema");
    sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn unknown_parameters_are_refused_by_name_before_connecting() {
    for (url, feature) in [
        ("sqlite::memory:?durabilty=full", "sqlite"),
        ("redis://127.0.0.1:1/0?prefx=a", "redis"),
        ("postgres://nobody@127.0.0.1:1/x?shcema=a", "postgres"),
    ] {
        let compiled = taskcore_store::BACKENDS.iter().any(|b| b.feature == Some(feature) && b.compiled_in);
        let result = taskcore_store::open(url, StoreOptions::default()).await;
        match result {
            Err(error @ taskcore_store::OpenError::InvalidUrl { .. }) if compiled => {
                let source = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
                let name = url.split_once('?').and_then(|(_, q)| q.split_once('=')).map(|(k, _)| k).unwrap();
                assert!(source.contains(&format!("'{name}'")), "{source}");
            }
            Err(taskcore_store::OpenError::NotCompiledIn { .. }) if !compiled => {}
            other => panic!("{url}: {other:?}"),
        }
    }
}
