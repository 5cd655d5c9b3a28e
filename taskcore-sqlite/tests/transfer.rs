//! Whole-room transfer at scale: a snapshot of 20,000 tasks (every kind of field, gaps of deleted
//! numbers, idempotency keys with and without fingerprints), built here, imported into a fresh
//! database file, read back equal through `snapshot_room`, with statistics and listings that
//! agree with the memory store's on the same snapshot; then replaced whole by a second import.
//!
//! The import, snapshot and replace rates are printed, not asserted:
//! `cargo test --release -p taskcore-sqlite --test transfer -- --nocapture`. Set
//! `TRANSFER_TASKS` to try another size (e.g. `TRANSFER_TASKS=100000`).

#![allow(clippy::unwrap_used, reason = "helpers outside #[test] functions; a failure is a test failure")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use taskcore::store::to_storage_precision;
use taskcore::{
    IdempotencyKey, Imported, ManualClock, MemberName, MemoryStore, OnConflict, Priority, RequestFingerprint, Room,
    RoomCode, RoomSnapshot, SortDir, SortKey, StatusFilter, StoredKey, Tag, Task, TaskManager, TaskQuery, TaskStore,
};
use taskcore_sqlite::SqliteStore;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// Tasks in the snapshot unless `TRANSFER_TASKS` says otherwise.
const TASKS: u64 = 20_000;

const START: OffsetDateTime = datetime!(2026-03-10 12:00 UTC);

fn task_count() -> u64 {
    std::env::var("TRANSFER_TASKS").ok().and_then(|n| n.parse().ok()).unwrap_or(TASKS)
}

/// Task `i` (from 1) of the snapshot: its number leaves a gap every tenth task (deleted tasks).
fn task(i: u64, members: &[MemberName]) -> Task {
    let created_at = START + Duration::from_secs(i);
    let completed = i % 4 == 1;
    let tags = match i % 5 {
        0 => vec![],
        1 => vec![Tag::parse("work").unwrap()],
        n => vec![Tag::parse(&format!("t{}", i % 7)).unwrap(), Tag::parse(&format!("z{n}")).unwrap()],
    };
    Task {
        id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 + u128::from(i)),
        number: i + i / 10,
        title: format!("Task {i}: plan 📅 the sprint, naïve über"),
        description: if i.is_multiple_of(3) {
            format!("Details of {i}\nsecond line, \"quoted\"")
        } else {
            String::new()
        },
        priority: [Priority::Low, Priority::Medium, Priority::High][usize::try_from(i % 3).unwrap()],
        due_date: (!i.is_multiple_of(4))
            .then(|| START + Duration::from_secs(i * 97) - Duration::from_secs(86_400 * 30)),
        tags,
        assignee: i.is_multiple_of(3).then(|| members[usize::try_from(i % 4).unwrap()].clone()),
        completed,
        completed_at: completed.then(|| to_storage_precision(created_at + Duration::from_micros(1_234_567))),
        created_at,
        updated_at: created_at + Duration::from_secs(60 * (i % 3)),
        version: 1 + i % 3,
    }
}

/// A room of `n` tasks with four members, a last number beyond the last task's and a key for
/// every seventh number (some of deleted tasks, some without a fingerprint).
fn snapshot(n: u64) -> RoomSnapshot {
    let members: Vec<MemberName> =
        ["alice", "Bob", "Zoë", "carol"].iter().map(|m| MemberName::parse(m).unwrap()).collect();
    let room = Room {
        code: RoomCode::parse("BULK23").unwrap(),
        owner: members[0].clone(),
        members: members.clone(),
        created_at: START,
    };
    let tasks: Vec<Task> = (1..=n).map(|i| task(i, &members)).collect();
    let last_number = tasks.last().map_or(0, |t| t.number) + 3;
    let keys = (1..=last_number)
        .filter(|number| number.is_multiple_of(7))
        .map(|number| StoredKey {
            key: IdempotencyKey::parse(&format!("create-{number:08}")).unwrap(),
            number,
            fingerprint: (!number.is_multiple_of(3))
                .then(|| RequestFingerprint::parse(&format!("{number:064x}")).unwrap()),
        })
        .collect();
    RoomSnapshot { room, last_number, last_seq: n * 2 + 17, tasks, keys }
}

fn rate(tasks: usize, elapsed: Duration) -> f64 {
    tasks as f64 / elapsed.as_secs_f64()
}

/// Listings whose pages, totals and match counts must agree between the stores.
fn queries() -> Vec<TaskQuery> {
    let by_due = TaskQuery::default().status(StatusFilter::Pending).sort(SortKey::Due, SortDir::Asc);
    vec![
        TaskQuery::default(),
        by_due.clone(),
        TaskQuery::default().tag(Tag::parse("work").unwrap()),
        TaskQuery::default().assignee(MemberName::parse("ZOË").unwrap()),
        by_due.priority(Priority::High).overdue_only().sort(SortKey::Title, SortDir::Desc),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_room_imports_reads_back_equal_and_is_replaced_whole() {
    let n = task_count();
    let snapshot = snapshot(n);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
    let store = SqliteStore::open(&url).await.unwrap();
    let code = snapshot.room.code.clone();

    let started = Instant::now();
    assert_eq!(store.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap(), Imported::Created);
    let imported = started.elapsed();
    eprintln!("import of {n} tasks: {imported:?}, {:.0} tasks/s", rate(snapshot.tasks.len(), imported));

    let started = Instant::now();
    let read = store.snapshot_room(&code).await.unwrap();
    let elapsed = started.elapsed();
    eprintln!("snapshot of {n} tasks: {elapsed:?}, {:.0} tasks/s", rate(read.tasks.len(), elapsed));
    assert!(read == snapshot, "the room reads back field for field");

    // Statistics and listings agree with the memory store holding the same snapshot.
    let clock = Arc::new(ManualClock::new(START + Duration::from_secs(n * 50)));
    let memory = MemoryStore::new();
    memory.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap();
    let expected = TaskManager::new(Arc::new(memory)).with_clock(clock.clone());
    let tasks = TaskManager::new(Arc::new(store.clone())).with_clock(clock);
    let stats = tasks.stats(&code).await.unwrap();
    assert_eq!(stats, expected.stats(&code).await.unwrap(), "statistics from the rebuilt counters");
    assert_eq!(stats.total, n);
    for query in queries() {
        let page = tasks.list_tasks(&code, &query).await.unwrap();
        assert_eq!(page, expected.list_tasks(&code, &query).await.unwrap(), "{query:?}");
        assert!(!page.items.is_empty(), "{query:?} lists tasks");
    }

    // Replaced whole by a smaller room: the old tasks, index entries and counters are gone.
    let smaller = RoomSnapshot { tasks: snapshot.tasks[..snapshot.tasks.len() / 2].to_vec(), ..snapshot.clone() };
    let started = Instant::now();
    assert_eq!(store.import_room(smaller.clone(), OnConflict::Replace).await.unwrap(), Imported::Replaced);
    let elapsed = started.elapsed();
    eprintln!("replace of {n} tasks by {}: {elapsed:?}", smaller.tasks.len());
    let read = store.snapshot_room(&code).await.unwrap();
    assert_eq!(read.last_seq, snapshot.last_seq + 1, "beyond the replaced room's sequence");
    assert!(RoomSnapshot { last_seq: smaller.last_seq, ..read } == smaller, "the smaller room, whole");
    let half = tasks.stats(&code).await.unwrap();
    assert_eq!(half.total, smaller.tasks.len() as u64);
    let tagged = TaskQuery::default().tag(Tag::parse("work").unwrap());
    let work = smaller.tasks.iter().filter(|t| t.tags.iter().any(|tag| tag.as_str() == "work")).count();
    assert_eq!(tasks.list_tasks(&code, &tagged).await.unwrap().matched, work as u64, "the tag index of the new room");

    let next = tasks.create_task(&code, &taskcore::NewTask::titled("after"), None).await.unwrap();
    assert_eq!(next.task().number, snapshot.last_number + 1, "numbers continue after the last number");
    store.close().await;
}
