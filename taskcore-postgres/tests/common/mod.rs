//! Shared set-up of the tests against a real PostgreSQL: the server's URL, a fresh schema per
//! store that is dropped when the store is, and a clear failure when no server answers.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::sync::Arc;

use sqlx::{Connection, PgConnection};
use taskcore::{RoomCode, StoreOptions, TaskStore};
use taskcore_postgres::{PgConfig, PgStore};
use time::OffsetDateTime;

/// The variable naming the server the tests use.
pub(crate) const URL_VAR: &str = "TASKCORE_TEST_POSTGRES_URL";

/// The server the tests use. The first call in a test binary says on one line, past the test
/// harness's output capture, when nothing answers at the default address.
pub(crate) fn url() -> String {
    static CHECK: std::sync::Once = std::sync::Once::new();
    CHECK.call_once(|| {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
        let down = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)).is_err();
        if std::env::var_os(URL_VAR).is_none() && down {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "\n*** PostgreSQL is not answering on {addr}: these tests will fail. Run ./test at the repository \
                     root (installs and starts it), or `bash .ci/services.sh`, or set {URL_VAR}. ***\n\n"
                )
                .as_bytes(),
            );
        }
    });
    std::env::var(URL_VAR).unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Where the tests look, for messages: the default URL, or the variable's name (its value may
/// hold a password).
fn shown_url() -> String {
    if std::env::var_os(URL_VAR).is_some() { format!("the URL in {URL_VAR}") } else { url() }
}

/// Panics saying how to get a server: these tests never skip silently.
pub(crate) fn unreachable(error: &dyn std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL is not reachable at {} ({error}). Run ./test at the repository root (it starts one), start the \
         machine's server with `pg_ctlcluster 15 main start`, or point {URL_VAR} at one \
         (postgres://user@host:port/database; the user must be allowed to create schemas)",
        shown_url()
    )
}

/// A fresh connection to the server for set-up and inspection, outside any store.
pub(crate) async fn admin() -> PgConnection {
    PgConnection::connect(&url()).await.unwrap_or_else(|e| unreachable(&e))
}

/// A schema name no other test uses.
pub(crate) fn fresh_schema() -> String {
    format!("tc_test_{}", uuid::Uuid::now_v7().simple())
}

/// Drops `schema` and everything in it.
pub(crate) async fn drop_schema(schema: &str) {
    let mut conn = admin().await;
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&mut conn).await.unwrap();
}

/// The default test configuration for `schema`.
pub(crate) fn config(schema: &str) -> PgConfig {
    PgConfig::new(url()).schema(schema).pool_size(8)
}

/// Opens a store, panicking with instructions when the server is unreachable.
pub(crate) async fn open(config: PgConfig) -> PgStore {
    match PgStore::open_with(config).await {
        Ok(store) => store,
        Err(error @ taskcore::Error::Unavailable { .. }) => unreachable(&error),
        Err(error) => panic!("opening the store failed: {error:?}"),
    }
}

/// A store in a fresh schema, dropped with the store.
pub(crate) async fn open_scoped(options: StoreOptions) -> Arc<dyn TaskStore> {
    let schema = SchemaGuard(fresh_schema());
    let store = open(config(&schema.0).store_options(options)).await;
    taskcore::conformance::guarded(Arc::new(store), schema)
}

/// Drops its schema when dropped, also when a test panics.
#[derive(Debug)]
pub(crate) struct SchemaGuard(pub(crate) String);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on; a helper thread with
        // its own runtime drops the schema and is waited for.
        let schema = self.0.clone();
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(drop_schema(&schema));
        })
        .join();
        if dropped.is_err() && !std::thread::panicking() {
            panic!("dropping schema {} failed", self.0);
        }
    }
}

/// Fills room `code` of the store in `schema` with `n` tasks in one statement (see
/// `seed_tasks.sql`), around the instant `now`, and brings the room's counters up to date; run
/// [`analyze`] after the last room.
pub(crate) async fn seed(schema: &str, code: &RoomCode, n: i64, now: OffsetDateTime) {
    let mut conn = admin().await;
    sqlx::query(&format!("SET search_path TO \"{schema}\"")).execute(&mut conn).await.unwrap();
    let room: i64 = sqlx::query_scalar("SELECT id FROM rooms WHERE code = $1")
        .bind(code.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::query(include_str!("seed_tasks.sql"))
        .bind(room)
        .bind(n)
        .bind(taskcore::store::unix_micros(now))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(include_str!("seed_counters.sql")).bind(room).execute(&mut conn).await.unwrap();
}

/// Refreshes the planner's statistics of the tasks in `schema` (after seeding).
pub(crate) async fn analyze(schema: &str) {
    let mut conn = admin().await;
    sqlx::query(&format!("ANALYZE \"{schema}\".tasks")).execute(&mut conn).await.unwrap();
}
