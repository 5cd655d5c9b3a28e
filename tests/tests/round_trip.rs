//! A dump moved through every backend — memory → SQLite → PostgreSQL → Redis → SQLite — keeps
//! every room field for field: deleted numbers stay used, idempotent creates replay the same
//! task, and change-feed readers from before resynchronise.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use taskcore::dump::{DumpReader, DumpSummary, export, import};
use taskcore::{
    Clock, Error, IdempotencyKey, Inserted, NewTask, OnConflict, Patch, RoomCode, RoomSnapshot, SystemClock,
    TaskManager, TaskPatch, TaskStore,
};
use taskcore_tests::{Backend, Fresh};

/// Rooms with every kind of content, written through the domain so they are what a real
/// deployment holds: members, unicode, tags, assignees, due dates, completed, updated and
/// deleted tasks, idempotency keys (one of a deleted task), and one room past the page sizes
/// the backends read and write in.
async fn furnish(store: Arc<dyn TaskStore>) -> Vec<RoomCode> {
    let tasks = TaskManager::new(store);
    let first = tasks.create_room("alice").await.unwrap();
    let code = &first.code;
    tasks.join_room(code, "Bob").await.unwrap();
    tasks.join_room(code, "Zoë 日本").await.unwrap();
    let key = IdempotencyKey::parse("create-1").unwrap();
    let rich = NewTask::titled("Plan 📅 the sprint, \"quoted\"")
        .description("über,\nnaïve; =1+1 \u{2028} tab\there")
        .priority("high")
        .due_date("2026-12-01T09:30:00Z")
        .tags(["work", "q4", "ünï"])
        .assignee("zoë 日本");
    tasks.create_task(code, &rich, Some(&key)).await.unwrap();
    tasks
        .create_task(code, &NewTask::titled("deleted").tags(["gone"]), Some(&IdempotencyKey::parse("k-gone").unwrap()))
        .await
        .unwrap();
    tasks.create_task(code, &NewTask::titled("done").priority("low").assignee("bob"), None).await.unwrap();
    tasks.create_task(code, &NewTask::titled("edited").due_date("2025-01-01"), None).await.unwrap();
    tasks.delete_task(code, 2, None).await.unwrap();
    tasks.complete_task(code, 3, None).await.unwrap();
    let patch = TaskPatch {
        description: Patch::Set("with details".into()),
        tags: Patch::Set(vec!["x".into()]),
        ..TaskPatch::default()
    };
    tasks.update_task(code, 4, &patch).await.unwrap();
    tasks.create_task(code, &NewTask::titled("deleted last"), None).await.unwrap();
    tasks.delete_task(code, 5, None).await.unwrap();

    let big = tasks.create_room("carol").await.unwrap();
    for n in 1..=1_300u32 {
        let input = NewTask::titled(format!("task {n}"))
            .priority(["low", "medium", "high"][n as usize % 3])
            .tags([format!("t{}", n % 7)]);
        tasks.create_task(&big.code, &input, None).await.unwrap();
        if n % 10 == 0 {
            tasks.complete_task(&big.code, u64::from(n), None).await.unwrap();
        }
        if n % 13 == 0 {
            tasks.delete_task(&big.code, u64::from(n), None).await.unwrap();
        }
    }
    let empty = tasks.create_room("dave").await.unwrap();
    vec![first.code, big.code, empty.code]
}

async fn dump_of(store: &dyn TaskStore) -> (Vec<u8>, DumpSummary) {
    export(store, None, Vec::new(), SystemClock.now(), &mut |_| {}).await.unwrap()
}

/// The dump without its header line (which names the source backend and the time).
fn body(dump: &[u8]) -> String {
    let text = String::from_utf8(dump.to_vec()).unwrap();
    text.split_once('\n').unwrap().1.to_owned()
}

async fn snapshots(store: &dyn TaskStore, codes: &[RoomCode]) -> Vec<RoomSnapshot> {
    let mut out = Vec::new();
    for code in codes {
        out.push(store.snapshot_room(code).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_moves_through_every_backend_unchanged() {
    let source = Fresh::open(Backend::Memory).await;
    let made = furnish(Arc::clone(&source.store)).await;
    let first = made[0].clone();
    let mut codes = made;
    codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let original = snapshots(source.store.as_ref(), &codes).await;
    let (first_dump, summary) = dump_of(source.store.as_ref()).await;
    assert_eq!((summary.rooms, summary.tasks, summary.keys), (3, 3 + 1_200, 2));

    let mut dump = first_dump.clone();
    let mut stores = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Redis, Backend::Sqlite] {
        let target = Fresh::open(backend).await;
        let mut reader = DumpReader::new(dump.as_slice()).unwrap();
        let imported = import(target.store.as_ref(), &mut reader, OnConflict::Fail, &mut |_| {}).await.unwrap();
        assert_eq!((imported.created, imported.tasks), (3, 1_203), "{backend:?}");
        assert_eq!(snapshots(target.store.as_ref(), &codes).await, original, "{backend:?}: every room field for field");
        let (next, _) = dump_of(target.store.as_ref()).await;
        assert_eq!(body(&next), body(&first_dump), "{backend:?}: the same dump, line for line");
        dump = next;
        stores.push(target);
    }

    // The last store goes on where the first left off.
    let last = Arc::clone(&stores.last().unwrap().store);
    let tasks = TaskManager::new(last);
    let code = &first;
    match tasks.changes(code, 3, None).await {
        Err(Error::ResyncNeeded { latest: 11, .. }) => {}
        other => panic!("a feed reader from before the move resynchronises, got {other:?}"),
    }
    let created = tasks.create_task(code, &NewTask::titled("after the move"), None).await.unwrap();
    assert_eq!(created.task().number, 6, "numbers 2 and 5 were deleted and stay used");
    let rich = NewTask::titled("Plan 📅 the sprint, \"quoted\"")
        .description("über,\nnaïve; =1+1 \u{2028} tab\there")
        .priority("HIGH")
        .due_date("2026-12-01T09:30:00Z")
        .tags(["ünï", "q4", "work"])
        .assignee("ZOË 日本");
    let replay = tasks.create_task(code, &rich, Some(&IdempotencyKey::parse("create-1").unwrap())).await.unwrap();
    let first_task = original.iter().find(|s| s.room.code == *code).unwrap().tasks[0].clone();
    assert_eq!(replay, Inserted::Replayed(first_task), "an idempotent create replays the original task");
    let gone = tasks
        .create_task(code, &NewTask::titled("deleted").tags(["gone"]), Some(&IdempotencyKey::parse("k-gone").unwrap()))
        .await;
    assert!(matches!(gone, Err(Error::IdempotentTaskDeleted { number: 2, .. })), "{gone:?}");
    let after = tasks.changes(code, 11, None).await.unwrap();
    assert_eq!(
        after.changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [12],
        "the feed goes on from the dump's sequence"
    );

    for store in stores {
        store.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_twice_fails_skips_or_replaces_by_choice() {
    let source = Fresh::open(Backend::Memory).await;
    furnish(Arc::clone(&source.store)).await;
    let (dump, _) = dump_of(source.store.as_ref()).await;
    let target = Fresh::open(Backend::Sqlite).await;
    let read = || DumpReader::new(dump.as_slice()).unwrap();
    import(target.store.as_ref(), &mut read(), OnConflict::Fail, &mut |_| {}).await.unwrap();
    let again = import(target.store.as_ref(), &mut read(), OnConflict::Fail, &mut |_| {}).await;
    assert!(
        matches!(again, Err(taskcore::dump::DumpError::Store { source: Error::AlreadyExists(_), .. })),
        "{again:?}"
    );
    let skipped = import(target.store.as_ref(), &mut read(), OnConflict::Skip, &mut |_| {}).await.unwrap();
    assert_eq!((skipped.created, skipped.skipped, skipped.tasks), (0, 3, 0));
    let replaced = import(target.store.as_ref(), &mut read(), OnConflict::Replace, &mut |_| {}).await.unwrap();
    assert_eq!((replaced.replaced, replaced.tasks), (3, 1_203));
    let (after, _) = dump_of(target.store.as_ref()).await;
    assert_ne!(body(&after), body(&dump), "replaced rooms moved their sequence on");
    target.remove().await;
}
