//! Write notices across stores on one schema (as across server replicas): every kind of write
//! through one store reaches the notices of another; a store on another schema hears nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step is a failed test")]

mod common;

use std::sync::Arc;

use taskcore::conformance::notices;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_through_one_store_reaches_the_notices_of_another() {
    let (schema, other) = (common::SchemaGuard(common::fresh_schema()), common::SchemaGuard(common::fresh_schema()));
    let writer = Arc::new(common::open(common::config(&schema.0)).await);
    let watcher = common::open(common::config(&schema.0)).await;
    let elsewhere = common::open(common::config(&other.0)).await;
    notices::every_write_through_one_store_reaches_the_notices_of_another(writer, &watcher, &elsewhere).await;
}
