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
use taskcore::store::TaskWrite;
use taskcore::{Error, IdempotencyKey, NewTask, TaskManager, TaskQuery, TaskStore, WriteStats};
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

/// What one write of [`mixed_writes`] was, for telling its outcome apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// A create, keyed or not: a number, or `QuotaExceeded` once the room is full.
    Create,
    /// A keyed create the immediate trigger refuses after its savepoint: `Backend` (or
    /// `QuotaExceeded` when the room is full first).
    Explode,
    /// A valid update or delete of the writer's own task.
    Valid,
    /// An update or delete with a stale version: `Conflict`.
    Stale,
    /// An update or delete of a task that never existed: `NotFound`.
    Missing,
}

/// One writer of [`batch_state_is_not_leaked_by_failed_writes`]: a mix of creates, valid
/// writes and failing ones, on its own tasks and a few shared ones. Its outcomes, with the
/// numbers it created and the ones it deleted.
async fn mixed_writes(
    tasks: TaskManager,
    store: Arc<PgStore>,
    code: taskcore::RoomCode,
    writer: usize,
    rounds: usize,
    stale: taskcore::Task,
) -> (Vec<(Op, taskcore::Result<()>)>, Vec<u64>, Vec<u64>) {
    let (mut outcomes, mut created, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    // The writer's tasks not yet deleted, with whether it completed them.
    let mut own: Vec<(u64, bool)> = Vec::new();
    for i in 0..rounds {
        let priority = ["low", "medium", "high"][(writer + i) % 3];
        let (op, outcome) = match (writer + i) % 8 {
            kind @ 0..=2 => {
                let key = (kind == 2).then(|| IdempotencyKey::parse(&format!("k{writer}-{i}")).unwrap());
                let new = NewTask::titled(format!("w{writer} {i}")).priority(priority);
                let outcome = tasks.create_task(&code, &new, key.as_ref()).await.map(|c| {
                    created.push(c.task().number);
                    own.push((c.task().number, false));
                });
                (Op::Create, outcome)
            }
            3 => {
                let key = IdempotencyKey::parse(&format!("x{writer}-{i}")).unwrap();
                (Op::Explode, tasks.create_task(&code, &NewTask::titled("explode"), Some(&key)).await.map(|_| ()))
            }
            4 => match own.iter_mut().rev().find(|(_, done)| !*done) {
                Some((number, done)) => {
                    *done = true;
                    (Op::Valid, tasks.complete_task(&code, *number, Some(1)).await.map(|_| ()))
                }
                None => (Op::Missing, tasks.delete_task(&code, 10_000, None).await.map(|_| ())),
            },
            5 => {
                let next = taskcore::Task { title: format!("stale {writer}"), version: 1000, ..stale.clone() };
                (Op::Stale, store.update_task(&code, &next, 999, TaskWrite::Updated).await.map(|_| ()))
            }
            6 => {
                let missing = taskcore::Task { number: 10_000, version: 2, ..stale.clone() };
                (Op::Missing, store.update_task(&code, &missing, 1, TaskWrite::Updated).await.map(|_| ()))
            }
            _ => match own.iter().position(|(_, done)| *done) {
                Some(at) => {
                    let (number, _) = own.remove(at);
                    deleted.push(number);
                    (Op::Valid, tasks.delete_task(&code, number, Some(2)).await.map(|_| ()))
                }
                None => (Op::Stale, tasks.delete_task(&code, stale.number + 2, Some(999)).await.map(|_| ())),
            },
        };
        outcomes.push((op, outcome));
    }
    (outcomes, created, deleted)
}

/// The six counters of room `code` as stored in its row, and as a recount of its tasks gives
/// them (pending then completed, by priority rank).
async fn counters(schema: &str, code: &taskcore::RoomCode) -> ([i64; 6], [i64; 6]) {
    let mut admin = common::admin().await;
    let (id, c0, c1, c2, c3, c4, c5): (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(&format!(
        "SELECT id, pending_low, pending_medium, pending_high, done_low, done_medium, done_high \
         FROM \"{schema}\".rooms WHERE code = $1"
    ))
    .bind(code.as_str())
    .fetch_one(&mut admin)
    .await
    .unwrap();
    let groups: Vec<(bool, i64, i64)> = sqlx::query_as(&format!(
        "SELECT completed, priority, count(*) FROM \"{schema}\".tasks WHERE room_id = $1 GROUP BY 1, 2"
    ))
    .bind(id)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    let mut recount = [0; 6];
    for (completed, priority, count) in groups {
        recount[usize::from(completed) * 3 + usize::try_from(priority).unwrap()] += count;
    }
    ([c0, c1, c2, c3, c4, c5], recount)
}

/// The writer hands out numbers and sequences and keeps the room's counters in memory for a
/// whole batch: a write that fails — quota exceeded, a stale version, a missing task, or a
/// statement refused after its savepoint was taken (an immediate trigger on keyed creates) — must
/// leave them as they were. 32 writers mix such writes with valid creates, updates and deletes
/// on one room with a task quota of 40; afterwards numbers are dense, the feed's sequence counts
/// exactly the writes that succeeded, and the row's counters agree with a recount of the tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batch_state_is_not_leaked_by_failed_writes() {
    let schema = SchemaGuard(common::fresh_schema());
    let options = taskcore::StoreOptions::default().max_tasks_per_room(40);
    let store = Arc::new(common::open(common::config(&schema.0).store_options(options)).await);
    let tasks = TaskManager::new(Arc::clone(&store) as Arc<dyn TaskStore>);
    let code = tasks.create_room("alice").await.unwrap().code;
    explosive(&schema.0, false).await;
    for i in 0..10 {
        tasks.create_task(&code, &NewTask::titled(format!("seed {i}")), None).await.unwrap();
    }
    let stale = tasks.task(&code, 5).await.unwrap();
    let seq_before = tasks.changes(&code, 0, None).await.unwrap().latest;
    let before = store.write_stats();
    let mut set = JoinSet::new();
    for writer in 0..32 {
        let (tasks, store, code, stale) = (tasks.clone(), Arc::clone(&store), code.clone(), stale.clone());
        set.spawn(mixed_writes(tasks, store, code, writer, 16, stale));
    }
    let (mut outcomes, mut created, mut deleted) = (Vec::new(), BTreeSet::from_iter(1..=10), BTreeSet::new());
    while let Some(joined) = set.join_next().await {
        let (o, c, d) = joined.unwrap();
        outcomes.extend(o);
        created.extend(c);
        deleted.extend(d);
    }
    let after = store.write_stats();
    assert!(mean_batch(before, after) > 1.0, "writes shared batches: {before:?} → {after:?}");

    // Every outcome is the one its kind of write may have; every kind of failure happened.
    let mut failures = [0; 4];
    for (op, outcome) in &outcomes {
        match (op, outcome) {
            (Op::Create | Op::Valid, Ok(())) => {}
            (Op::Create | Op::Explode, Err(Error::QuotaExceeded { .. })) => failures[0] += 1,
            (Op::Explode, Err(Error::Backend { .. })) => failures[1] += 1,
            (Op::Stale, Err(Error::Conflict { .. })) => failures[2] += 1,
            (Op::Missing, Err(Error::NotFound(_))) => failures[3] += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert!(failures.iter().all(|&n| n > 0), "quota, refused statement, conflict, missing: {failures:?}");

    // Numbers: dense, each given once; the tasks stored are those created and not deleted.
    let last = u64::try_from(created.len()).unwrap();
    assert_eq!(created, (1..=last).collect::<BTreeSet<u64>>(), "dense numbers, no gap from a failed write");
    let page = tasks.list_tasks(&code, &TaskQuery::default().limit(500)).await.unwrap();
    let stored: BTreeSet<u64> = page.items.iter().map(|task| task.number).collect();
    assert_eq!(stored, created.difference(&deleted).copied().collect::<BTreeSet<u64>>());

    // Sequences: exactly one per write that succeeded, dense.
    let succeeded = u64::try_from(outcomes.iter().filter(|(_, outcome)| outcome.is_ok()).count()).unwrap();
    let feed = tasks.changes(&code, seq_before, Some(1000)).await.unwrap();
    assert_eq!(feed.latest, seq_before + succeeded, "last_seq counts the changes appended");
    let seqs: Vec<u64> = feed.changes.iter().map(|change| change.seq).collect();
    assert_eq!(seqs, (seq_before + 1..=feed.latest).collect::<Vec<u64>>(), "a dense feed");

    // Counters: the row agrees with a recount, and so do the statistics.
    let (row, recount) = counters(&schema.0, &code).await;
    assert_eq!(row, recount, "the room's counters are its tasks' recount");
    let now = tasks.now();
    assert_eq!(store.counts(&code, now).await.unwrap(), taskcore::store::TaskCounts::of(&page.items, now));

    // The row's last number is the highest given: the next create (room space permitting) follows it.
    if stored.len() < 40 {
        let next = tasks.create_task(&code, &NewTask::titled("after"), None).await.unwrap();
        assert_eq!(next.task().number, last + 1);
    }
}
