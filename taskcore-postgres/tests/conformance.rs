//! The taskcore conformance suite against [`taskcore_postgres::PgStore`], each behaviour in a
//! fresh schema of the server at `TASKCORE_TEST_POSTGRES_URL`, dropped when the behaviour ends.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step is a failed test")]

mod common;

async fn open(options: taskcore::StoreOptions) -> std::sync::Arc<dyn taskcore::TaskStore> {
    common::open_scoped(options).await
}

taskcore::conformance_tests!(open);
