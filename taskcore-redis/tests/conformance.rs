//! The taskcore conformance suite against the machine's Redis (`TASKCORE_TEST_REDIS_URL`,
//! default `redis://127.0.0.1:6379`), each behaviour in its own key prefix, deleted afterwards.

mod support;

use std::sync::Arc;

use taskcore::{StoreOptions, TaskStore};

async fn open(options: StoreOptions) -> Arc<dyn TaskStore> {
    support::shared(support::scoped_store(options).await)
}

taskcore::conformance_tests!(open);
