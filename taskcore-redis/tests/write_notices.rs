//! Write notices across stores on one prefix (as across server replicas): every kind of write
//! through one store reaches the notices of another; a store on another prefix hears nothing.

mod support;

use std::sync::Arc;

use taskcore::StoreOptions;
use taskcore::conformance::notices;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_through_one_store_reaches_the_notices_of_another() {
    let (scoped, other) =
        (support::scoped_store(StoreOptions::default()).await, support::scoped_store(StoreOptions::default()).await);
    let watcher = support::open_on_shared(scoped.store.prefix(), StoreOptions::default()).await;
    let writer = Arc::new(scoped.store.clone());
    notices::every_write_through_one_store_reaches_the_notices_of_another(writer, &watcher, &other.store).await;
}
