//! The conformance suite against [`taskcore::MemoryStore`].

use std::sync::Arc;

use taskcore::{MemoryStore, StoreOptions, TaskStore};

async fn open(options: StoreOptions) -> Arc<dyn TaskStore> {
    Arc::new(MemoryStore::with_options(options))
}

taskcore::conformance_tests!(open);
