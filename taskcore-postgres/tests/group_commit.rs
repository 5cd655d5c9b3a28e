//! The group commit against a real server: concurrent writes share transactions (the store's
//! counters show batches of more than one write), a batch never exceeds `max_batch`, a write
//! whose statement fails (a trigger refusing it) fails alone, feeds stay trimmed to the
//! retention, and a `COMMIT` that fails answers
//! every write of its batch `Unavailable` — none of them stored — while the writes of other
//! batches are stored exactly once.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step is a failed test")]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::SchemaGuard;
use taskcore::{Error, NewTask, TaskManager, TaskQuery, TaskStore, WriteStats};
use taskcore_postgres::PgStore;
use tokio::task::JoinSet;

/// A store in a fresh schema with `max_batch`, a manager over it and a room.
async fn fixture(max_batch: usize) -> (SchemaGuard, Arc<PgStore>, TaskManager, taskcore::RoomCode) {
    let schema = SchemaGuard(common::fresh_schema());
    let store = Arc::new(common::open(common::config(&schema.0).max_batch(max_batch)).await);
    let tasks = TaskManager::new(Arc::clone(&store) as Arc<dyn TaskStore>);
    let room = tasks.create_room("alice").await.unwrap();
    (schema, store, tasks, room.code)
}

/// `writers` concurrent writers creating `each` tasks in one room: their outcomes.
async fn create_concurrently(
    tasks: &TaskManager,
    code: &taskcore::RoomCode,
    writers: usize,
    each: usize,
) -> Vec<taskcore::Result<u64>> {
    let mut set = JoinSet::new();
    for writer in 0..writers {
        let (tasks, code) = (tasks.clone(), code.clone());
        set.spawn(async move {
            let mut outcomes = Vec::with_capacity(each);
            for i in 0..each {
                let title = if writer == 0 && i == each / 2 { "explode".to_owned() } else { format!("w{writer} {i}") };
                outcomes.push(tasks.create_task(&code, &NewTask::titled(title), None).await.map(|c| c.task().number));
            }
            outcomes
        });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = set.join_next().await {
        outcomes.extend(joined.unwrap());
    }
    outcomes
}

fn mean_batch(before: WriteStats, after: WriteStats) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "small test counts")]
    let mean = (after.operations - before.operations) as f64 / (after.batches - before.batches).max(1) as f64;
    mean
}

/// 32 concurrent writers on one room: their creates share transactions (more than one write per
/// batch on average), and every one is stored once, numbered densely.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_share_transactions() {
    let (_schema, store, tasks, code) = fixture(64).await;
    let before = store.write_stats();
    let outcomes = create_concurrently(&tasks, &code, 32, 20).await;
    let after = store.write_stats();
    let numbers: BTreeSet<u64> = outcomes.into_iter().map(|outcome| outcome.unwrap()).collect();
    assert_eq!(numbers, (1..=640).collect::<BTreeSet<u64>>());
    assert_eq!(after.operations - before.operations, 640, "{before:?} → {after:?}");
    let mean = mean_batch(before, after);
    assert!(mean > 1.0, "32 writers, {} batches for 640 writes (mean {mean:.1})", after.batches - before.batches);
    assert_eq!(store.write_stats(), TaskStore::write_stats(store.as_ref()).unwrap());
}

/// Batches trim each room's feed to the retention: after 640 concurrent creates with a
/// retention of 10, exactly the newest 10 changes remain, in the room's table too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_keep_the_feed_at_the_retention() {
    let schema = SchemaGuard(common::fresh_schema());
    let options = taskcore::StoreOptions::default().change_retention(10);
    let store = Arc::new(common::open(common::config(&schema.0).store_options(options)).await);
    let tasks = TaskManager::new(Arc::clone(&store) as Arc<dyn TaskStore>);
    let code = tasks.create_room("alice").await.unwrap().code;
    let outcomes = create_concurrently(&tasks, &code, 32, 20).await;
    assert!(outcomes.iter().all(Result::is_ok));
    let latest = tasks.changes(&code, 630, None).await.unwrap();
    assert_eq!(latest.latest, 640);
    let seqs: Vec<u64> = latest.changes.iter().map(|change| change.seq).collect();
    assert_eq!(seqs, (631..=640).collect::<Vec<u64>>());
    let mut admin = common::admin().await;
    let stored: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{}\".changes", schema.0))
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(stored, 10, "no change beyond the retention is kept");
}

/// With `max_batch=1` (here from the URL), every write is a transaction of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_never_exceed_max_batch() {
    let schema = SchemaGuard(common::fresh_schema());
    let url = format!("{}?schema={}&pool_size=8&max_batch=1&writers=1&write_queue=4", common::url(), schema.0);
    let store = Arc::new(PgStore::open(&url).await.unwrap_or_else(|e| common::unreachable(&e)));
    let tasks = TaskManager::new(Arc::clone(&store) as Arc<dyn TaskStore>);
    let code = tasks.create_room("alice").await.unwrap().code;
    let before = store.write_stats();
    let outcomes = create_concurrently(&tasks, &code, 16, 5).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let after = store.write_stats();
    assert_eq!((after.batches - before.batches, after.operations - before.operations), (80, 80));
}

/// Creates `trigger` on the tasks of `schema`: it raises an error for a task titled "explode"
/// when the row is inserted, or (`deferred`) when the transaction commits.
async fn explosive(schema: &str, deferred: bool) {
    let mut admin = common::admin().await;
    let timing = if deferred { "DEFERRABLE INITIALLY DEFERRED" } else { "NOT DEFERRABLE" };
    for statement in [
        format!(
            "CREATE FUNCTION \"{schema}\".no_explosions() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.title = 'explode' THEN RAISE EXCEPTION 'no explosions'; END IF; RETURN NULL; END $$"
        ),
        format!(
            "CREATE CONSTRAINT TRIGGER no_explosions AFTER INSERT ON \"{schema}\".tasks {timing} \
             FOR EACH ROW EXECUTE FUNCTION \"{schema}\".no_explosions()"
        ),
    ] {
        sqlx::query(&statement).execute(&mut admin).await.unwrap();
    }
}

/// A create whose statement fails (an immediate trigger refuses it) fails alone with its own
/// error: every other create of the 16 writers is stored, numbered densely.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_statement_fails_its_write_alone() {
    let (schema, _store, tasks, code) = fixture(64).await;
    explosive(&schema.0, false).await;
    let outcomes = create_concurrently(&tasks, &code, 16, 10).await;
    let failed: Vec<&Error> = outcomes.iter().filter_map(|outcome| outcome.as_ref().err()).collect();
    assert!(matches!(&failed[..], [Error::Backend { .. }]), "only the explosive create fails: {failed:?}");
    let numbers: BTreeSet<u64> = outcomes.iter().filter_map(|outcome| outcome.as_ref().ok().copied()).collect();
    assert_eq!(numbers, (1..=159).collect::<BTreeSet<u64>>());
    assert_eq!(tasks.list_tasks(&code, &TaskQuery::default()).await.unwrap().total, 159);
}

/// A deferred constraint that fails at `COMMIT` for a task titled "explode": the writes of that
/// batch all fail `Unavailable` and none is stored; every write answered with success is stored,
/// once, and the numbers stored are dense.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_commit_fails_its_whole_batch_and_nothing_else() {
    let (schema, store, tasks, code) = fixture(64).await;
    explosive(&schema.0, true).await;
    let before = store.write_stats();
    let outcomes = create_concurrently(&tasks, &code, 16, 10).await;
    let failed = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    assert!(failed >= 1, "the explosive create failed");
    for outcome in &outcomes {
        if let Err(error) = outcome {
            assert!(matches!(error, Error::Unavailable { .. }), "a write of a batch that did not commit: {error:?}");
        }
    }
    let acknowledged: BTreeSet<u64> = outcomes.iter().filter_map(|outcome| outcome.as_ref().ok().copied()).collect();
    assert_eq!(acknowledged.len(), 160 - failed, "numbers given once");
    let stored: Vec<u64> = tasks
        .list_tasks(&code, &TaskQuery::default().limit(500))
        .await
        .unwrap()
        .items
        .iter()
        .map(|task| task.number)
        .collect();
    assert_eq!(stored, acknowledged.iter().copied().collect::<Vec<u64>>(), "exactly the acknowledged writes stored");
    assert_eq!(stored, (1..=u64::try_from(stored.len()).unwrap()).collect::<Vec<u64>>(), "dense numbers");
    assert!(store.write_stats().batches > before.batches);
}
