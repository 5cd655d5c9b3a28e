//! Whole-room transfer at scale: a snapshot of 20,000 tasks ([`TASKS_VAR`] sets another count)
//! built here (every kind of field,
//! deleted numbers, idempotency keys with and without fingerprints) imports into a fresh schema,
//! reads back equal, answers statistics and listings as the snapshot says, and replaces itself
//! whole. The import, snapshot and replace rates are printed (no timing is asserted: they depend
//! on the machine). An import, like every write, reaches the write notices of another store on
//! the same schema.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test code: a failed step is a failed test, and the rates are reported on stderr"
)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use taskcore::store::TaskCounts;
use taskcore::{
    IdempotencyKey, Imported, ManualClock, MemberName, NewTask, OnConflict, Priority, RequestFingerprint, Room,
    RoomCode, RoomSnapshot, RoomStats, SearchText, SortDir, SortKey, StatusFilter, StoredKey, Tag, Task, TaskManager,
    TaskQuery, TaskStore,
};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// The variable that sets how many tasks the large snapshot has (to measure a larger room).
const TASKS_VAR: &str = "TASKCORE_TEST_TRANSFER_TASKS";
const NOW: OffsetDateTime = datetime!(2026-06-01 12:00:00 UTC);

/// The `i`th task (from 0), numbered with a gap after every ninth (numbers of deleted tasks).
fn task(i: u64, members: &[MemberName]) -> Task {
    let created_at = datetime!(2026-01-01 00:00:00 UTC) + time::Duration::seconds(i as i64 * 61);
    let completed = i.is_multiple_of(2);
    let tags = match i % 5 {
        0 => vec![],
        n => vec![Tag::parse(&format!("t{}", i % 7)).unwrap(), Tag::parse(&format!("z-{n}")).unwrap()],
    };
    Task {
        id: Uuid::from_u128(0x0190_a000_0000_7000_8000_0000_0000_0000 + u128::from(i)),
        number: i + 1 + i / 9,
        title: match i % 3 {
            0 => format!("Task {i}"),
            1 => format!("ÜBER task {i} 📅"),
            _ => format!("naïve Task {i}"),
        },
        description: if i.is_multiple_of(4) { String::new() } else { format!("details {i}\nsecond line, \"quoted\"") },
        priority: Priority::ALL[(i % 3) as usize],
        due_date: (i % 4 != 1).then(|| NOW + time::Duration::microseconds((i as i64 - 10_000) * 3_600_000_001)),
        tags,
        assignee: (!i.is_multiple_of(4)).then(|| members[(i % 4) as usize - 1].clone()),
        completed,
        completed_at: completed.then(|| created_at + time::Duration::minutes(90)),
        created_at,
        updated_at: created_at + time::Duration::microseconds(i as i64 % 1_000_000),
        version: 1 + i % 5,
    }
}

/// A room of `count` tasks, a key for every tenth task (every other key without a fingerprint,
/// as stored before fingerprints were kept) and one for a deleted number.
fn snapshot(code: &str, count: u64) -> RoomSnapshot {
    let code = RoomCode::parse(code).unwrap();
    let mut room = Room::new(code, MemberName::parse("alice").unwrap(), datetime!(2025-12-31 23:00:00.123456 UTC));
    room.members.extend(["Bob", "Zoë"].map(|name| MemberName::parse(name).unwrap()));
    let tasks: Vec<Task> = (0..count).map(|i| task(i, &room.members)).collect();
    let last_number = tasks.last().unwrap().number + 3;
    let mut keys: Vec<StoredKey> = tasks
        .iter()
        .step_by(10)
        .enumerate()
        .map(|(n, task)| StoredKey {
            key: IdempotencyKey::parse(&format!("key-{:06}", task.number)).unwrap(),
            number: task.number,
            fingerprint: n
                .is_multiple_of(2)
                .then(|| RequestFingerprint::parse(&format!("{:064x}", task.number)).unwrap()),
        })
        .collect();
    keys.push(StoredKey { key: IdempotencyKey::parse("zz-deleted").unwrap(), number: 10, fingerprint: None });
    RoomSnapshot { room, last_number, last_seq: 123_456, tasks, keys }
}

/// How many tasks the large snapshot has: 20,000 unless [`TASKS_VAR`] says otherwise.
fn task_count() -> u64 {
    std::env::var(TASKS_VAR).ok().and_then(|count| count.parse().ok()).unwrap_or(20_000)
}

fn rate(what: &str, tasks: u64, elapsed: Duration) {
    let per_second = tasks as f64 / elapsed.as_secs_f64();
    eprintln!("{what} of {tasks} tasks: {:.1} ms, {per_second:.0} tasks/s", elapsed.as_secs_f64() * 1000.0);
}

/// The listings checked against the snapshot: every order and every filter.
fn queries() -> Vec<TaskQuery> {
    let q = || TaskQuery::default().limit(100);
    vec![
        q(),
        q().sort(SortKey::Number, SortDir::Desc),
        q().status(StatusFilter::Pending).sort(SortKey::Due, SortDir::Asc),
        q().priority(Priority::High).sort(SortKey::Created, SortDir::Desc),
        q().tag(Tag::parse("t3").unwrap()).sort(SortKey::Title, SortDir::Asc),
        q().assignee(MemberName::parse("zoë").unwrap()).sort(SortKey::Priority, SortDir::Desc),
        q().text(SearchText::parse("über task 1").unwrap()),
        q().overdue_only().sort(SortKey::Due, SortDir::Desc),
    ]
}

async fn assert_listings_match(tasks: &TaskManager, snapshot: &RoomSnapshot) {
    for query in queries() {
        let page = tasks.list_tasks(&snapshot.room.code, &query).await.unwrap();
        let mut expected: Vec<&Task> = snapshot.tasks.iter().filter(|task| query.matches(task, NOW)).collect();
        expected.sort_by(|a, b| query.compare(a, b));
        let total = snapshot.tasks.len() as u64;
        assert_eq!((page.matched, page.total), (expected.len() as u64, total), "{query:?}");
        let first: Vec<Task> = expected.into_iter().take(100).cloned().collect();
        assert_eq!(page.items, first, "{query:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_snapshot_imports_reads_back_and_replaces() {
    let schema = common::SchemaGuard(common::fresh_schema());
    let store = Arc::new(common::open(common::config(&schema.0)).await);
    let tasks = TaskManager::new(store.clone()).with_clock(Arc::new(ManualClock::new(NOW)));
    let count = task_count();
    let snapshot = snapshot("XFER42", count);
    let code = &snapshot.room.code;

    let started = Instant::now();
    assert_eq!(store.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap(), Imported::Created);
    rate("import", count, started.elapsed());
    let started = Instant::now();
    let back = store.snapshot_room(code).await.unwrap();
    rate("snapshot", count, started.elapsed());
    assert!(back == snapshot, "the snapshot reads back field for field");

    assert_eq!(tasks.stats(code).await.unwrap(), RoomStats::from(TaskCounts::of(&snapshot.tasks, NOW)));
    assert_listings_match(&tasks, &snapshot).await;
    assert_eq!(store.latest_seq(code).await.unwrap(), snapshot.last_seq);

    let started = Instant::now();
    assert_eq!(store.import_room(snapshot.clone(), OnConflict::Replace).await.unwrap(), Imported::Replaced);
    rate("replace", count, started.elapsed());
    let replaced = store.snapshot_room(code).await.unwrap();
    assert!(replaced == RoomSnapshot { last_seq: snapshot.last_seq + 1, ..snapshot.clone() }, "replaced whole");
    assert_eq!(tasks.stats(code).await.unwrap(), RoomStats::from(TaskCounts::of(&snapshot.tasks, NOW)));
    assert_listings_match(&tasks, &snapshot).await;

    let next = tasks.create_task(code, &NewTask::titled("after the import"), None).await.unwrap();
    assert_eq!(next.task().number, snapshot.last_number + 1, "numbers continue after the last number");
    store.close().await;
}

/// Waits up to 10 s for a notice of `code`, skipping others.
async fn notice_of(notices: &mut broadcast::Receiver<RoomCode>, code: &RoomCode) -> bool {
    let wait = async {
        loop {
            match notices.recv().await {
                Ok(room) if room == *code => return,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the notices ended"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_reaches_the_notices_of_another_store() {
    let schema = common::SchemaGuard(common::fresh_schema());
    let writer = Arc::new(common::open(common::config(&schema.0)).await);
    let watcher = common::open(common::config(&schema.0)).await;
    let mut notices = watcher.write_notices().unwrap();
    // The listener connects in the background: write until a notice arrives.
    let tasks = TaskManager::new(writer.clone());
    let room = tasks.create_room("alice").await.unwrap();
    let mut joined = 0;
    while !notice_of_soon(&mut notices, &room.code).await {
        joined += 1;
        assert!(joined < 50, "the watching store never received a notice");
        tasks.join_room(&room.code, &format!("member{joined}")).await.unwrap();
    }
    let snapshot = snapshot("NOTE42", 30);
    assert_eq!(writer.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap(), Imported::Created);
    assert!(notice_of(&mut notices, &snapshot.room.code).await, "no notice of an import");
    assert_eq!(writer.import_room(snapshot.clone(), OnConflict::Replace).await.unwrap(), Imported::Replaced);
    assert!(notice_of(&mut notices, &snapshot.room.code).await, "no notice of a replacing import");
    writer.close().await;
    watcher.close().await;
}

/// Whether a notice of `code` arrives within 200 ms.
async fn notice_of_soon(notices: &mut broadcast::Receiver<RoomCode>, code: &RoomCode) -> bool {
    let wait = async {
        while let Ok(room) = notices.recv().await {
            if room == *code {
                return true;
            }
        }
        false
    };
    tokio::time::timeout(Duration::from_millis(200), wait).await.unwrap_or(false)
}
