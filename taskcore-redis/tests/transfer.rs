//! Whole-room transfer at size: a snapshot of 20,000 tasks built here imports into Redis, reads
//! back field for field, and lists and counts as the memory store (the reference) does with the
//! same snapshot; an import interrupted before its commit, or refused, leaves the stored room as
//! it was and the next import cleans up after it; snapshots of a room under constant writes stay
//! whole, also when they fall back to one script; and an imported room is stored key for key as
//! the writes that made the original stored it. Import and snapshot rates go to stderr.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use taskcore::{
    Error, IdempotencyKey, Imported, ManualClock, MemberName, MemoryStore, NewTask, OnConflict, Priority,
    RequestFingerprint, Room, RoomCode, RoomSnapshot, SearchText, SortDir, SortKey, StatusFilter, StoreOptions,
    StoredKey, Tag, Task, TaskManager, TaskPatch, TaskQuery, TaskStore,
};
use time::macros::datetime;
use time::{Duration as TimeDuration, OffsetDateTime};

/// The instant the tests' clocks read.
const NOW: OffsetDateTime = datetime!(2026-03-10 12:00 UTC);

/// A room `code` of `count` live tasks with every kind of content — members with unicode names,
/// tags, assignees, due dates (some overdue), completed and edited tasks, numbers left by deleted
/// tasks, idempotency keys with and without fingerprints (one of a deleted task) — and a sequence
/// far beyond what its tasks need, as a room with history has.
fn big_snapshot(code: &str, count: u64) -> RoomSnapshot {
    let code = RoomCode::parse(code).expect("a room code");
    let members: Vec<MemberName> =
        ["alice", "Bob", "Zoë"].map(|name| MemberName::parse(name).expect("a member name")).to_vec();
    let created = datetime!(2026-01-01 08:00 UTC);
    let room = Room { code, owner: members[0].clone(), members: members.clone(), created_at: created };
    let tags = ["work", "home", "urgent", "q4", "日本"].map(|tag| Tag::parse(tag).expect("a tag"));
    let titles = ["Plan the sprint", "alpha", "Éclair order", "zeta", "Report the bug 📅"];
    let mut tasks = Vec::new();
    let mut keys = Vec::new();
    for i in 0..count {
        // Every tenth number belongs to a deleted task.
        let number = i + i / 9 + 1;
        let at =
            created + TimeDuration::seconds(i64::try_from(i).expect("a small number")) + TimeDuration::microseconds(7);
        let completed = i % 3 == 0;
        let version = 1 + i % 4;
        tasks.push(Task {
            id: uuid::Uuid::from_u128((u128::from(number) << 64) | 0xabc),
            number,
            title: format!("{} {}", titles[(i % 5) as usize], i % 97),
            description: if i % 4 == 0 { format!("über \"quoted\"\nline {i}") } else { String::new() },
            priority: Priority::ALL[(i % 3) as usize],
            due_date: (i % 5 != 0).then(|| datetime!(2026-03-01 00:00 UTC) + TimeDuration::hours((i % 700) as i64)),
            tags: (0..(i % 3)).map(|t| tags[((i + t) % 5) as usize].clone()).collect(),
            assignee: (i % 4 != 3).then(|| members[(i % 3) as usize].clone()),
            completed,
            completed_at: completed.then_some(at + TimeDuration::minutes(30)),
            created_at: at,
            updated_at: at + TimeDuration::minutes(i64::try_from(version).expect("a small number") * 10),
            version,
        });
        if i % 7 == 0 {
            let fingerprint =
                (i % 14 == 0).then(|| RequestFingerprint::parse(&format!("{i:064x}")).expect("a fingerprint"));
            keys.push(StoredKey {
                key: IdempotencyKey::parse(&format!("key-{i:06}")).expect("a key"),
                number,
                fingerprint,
            });
        }
    }
    keys.push(StoredKey {
        key: IdempotencyKey::parse("key-of-a-deleted-task").expect("a key"),
        number: 10,
        fingerprint: None,
    });
    keys.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
    let last_number = tasks.last().map_or(0, |task| task.number) + 3;
    RoomSnapshot { room, last_number, last_seq: 3 * count + 17, tasks, keys }
}

/// A manager over `store` whose clock reads [`NOW`].
fn manager(store: Arc<dyn TaskStore>) -> TaskManager {
    TaskManager::new(store).with_clock(Arc::new(ManualClock::new(NOW)))
}

/// Every task of `query`, page by page.
async fn list_all(tasks: &TaskManager, code: &RoomCode, query: &TaskQuery) -> (Vec<u64>, u64, u64) {
    let mut query = query.clone();
    let mut numbers = Vec::new();
    let mut counts = None;
    loop {
        let page = tasks.list_tasks(code, &query).await.expect("list tasks");
        counts.get_or_insert((page.matched, page.total));
        numbers.extend(page.items.iter().map(|task| task.number));
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    let (matched, total) = counts.unwrap_or_default();
    (numbers, matched, total)
}

fn queries() -> Vec<TaskQuery> {
    vec![
        TaskQuery::default().limit(500),
        TaskQuery::default().status(StatusFilter::Pending).sort(SortKey::Title, SortDir::Asc).limit(500),
        TaskQuery::default().tag(Tag::parse("日本").expect("a tag")).sort(SortKey::Due, SortDir::Desc).limit(200),
        TaskQuery::default()
            .assignee(MemberName::parse("zoë").expect("a member name"))
            .priority(Priority::High)
            .limit(100),
        TaskQuery::default()
            .text(SearchText::parse("über").expect("a search"))
            .sort(SortKey::Created, SortDir::Desc)
            .limit(500),
        TaskQuery::default().overdue_only().sort(SortKey::Priority, SortDir::Asc).limit(50),
        TaskQuery::default().status(StatusFilter::Completed).tag(Tag::parse("q4").expect("a tag")).limit(7),
    ]
}

/// Byte-exact equality (`MemberName` compares case-insensitively).
fn assert_same(got: &RoomSnapshot, expected: &RoomSnapshot, what: &str) {
    assert!(got == expected, "{what}: the snapshots differ");
    assert_eq!(serde_json::to_string(got).expect("JSON"), serde_json::to_string(expected).expect("JSON"), "{what}");
}

/// Whether any key of the import staging of `code` is left in the store's prefix.
async fn staging_left(prefix: &str, code: &RoomCode) -> bool {
    let client = redis::Client::open(support::shared_url()).expect("a Redis URL");
    let mut conn = client.get_multiplexed_async_connection().await.expect("a connection");
    let pattern = format!("{{{prefix}:{code}}}:imp:*");
    let mut cursor = 0_u64;
    loop {
        let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1_000)
            .query_async(&mut conn)
            .await
            .expect("SCAN");
        if !found.is_empty() {
            return true;
        }
        if next == 0 {
            return false;
        }
        cursor = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_tasks_import_read_back_list_and_count_as_the_reference() {
    let scoped = support::scoped_store(StoreOptions::default()).await;
    let prefix = scoped.store.prefix().to_owned();
    let store: Arc<dyn TaskStore> = support::shared(scoped);
    let snapshot = big_snapshot("TRANSFER", 20_000);
    let code = &snapshot.room.code;

    let started = Instant::now();
    assert_eq!(store.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap(), Imported::Created);
    let imported = started.elapsed();
    let started = Instant::now();
    let read = store.snapshot_room(code).await.unwrap();
    let snapshotted = started.elapsed();
    let rate = |elapsed: Duration| snapshot.tasks.len() as f64 / elapsed.as_secs_f64();
    eprintln!(
        "import of {} tasks: {imported:.2?} ({:.0} tasks/s); snapshot: {snapshotted:.2?} ({:.0} tasks/s)",
        snapshot.tasks.len(),
        rate(imported),
        rate(snapshotted)
    );
    assert_same(&read, &snapshot, "the snapshot of the imported room");
    assert!(!staging_left(&prefix, code).await, "the commit leaves no staging behind");
    assert_eq!(store.room_codes(None, 10).await.unwrap(), std::slice::from_ref(code));

    let reference = MemoryStore::new();
    reference.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap();
    let (redis, memory) = (manager(Arc::clone(&store)), manager(Arc::new(reference)));
    for query in queries() {
        assert_eq!(list_all(&redis, code, &query).await, list_all(&memory, code, &query).await, "{query:?}");
    }
    assert_eq!(redis.stats(code).await.unwrap(), memory.stats(code).await.unwrap());

    assert_eq!(store.latest_seq(code).await.unwrap(), snapshot.last_seq);
    assert!(matches!(redis.changes(code, 0, None).await, Err(Error::ResyncNeeded { .. })));
    let next = redis.create_task(code, &NewTask::titled("after the import").tags(["q4"]), None).await.unwrap();
    assert_eq!(next.task().number, snapshot.last_number + 1, "numbers continue after the last one");
    let key = IdempotencyKey::parse("key-000014").unwrap();
    let used = redis.create_task(code, &NewTask::titled("another request"), Some(&key)).await;
    assert!(matches!(used, Err(Error::IdempotencyKeyReused { .. })), "{used:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_interrupted_or_refused_before_its_commit_leaves_the_room_as_it_was() {
    let scoped = support::scoped_store(StoreOptions::default()).await;
    let prefix = scoped.store.prefix().to_owned();
    let store: Arc<dyn TaskStore> = support::shared(scoped);
    let snapshot = big_snapshot("TRANSFER", 20_000);
    let code = &snapshot.room.code;
    store.insert_room(&Room::new(code.clone(), MemberName::parse("mallory").unwrap(), NOW)).await.unwrap();
    let tasks = manager(Arc::clone(&store));
    tasks.join_room(code, "eve").await.unwrap();
    for n in 0..30 {
        tasks
            .create_task(code, &NewTask::titled(format!("old {n}")).tags(["stale"]).assignee("eve"), None)
            .await
            .unwrap();
    }
    let before = store.snapshot_room(code).await.unwrap();

    // Interrupted: the import is dropped once the staging holds part of the tasks.
    let client = redis::Client::open(support::shared_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let staged_meta = format!("{{{prefix}:{code}}}:imp:meta");
    let watch = async {
        loop {
            let total: Option<u64> =
                redis::cmd("HGET").arg(&staged_meta).arg("total").query_async(&mut conn).await.unwrap();
            if total.is_some_and(|total| total >= 2_000) {
                return total;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::select! {
        staged = watch => eprintln!("import dropped with {staged:?} tasks staged"),
        done = store.import_room(snapshot.clone(), OnConflict::Replace) => panic!("the import finished first: {done:?}"),
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // a pipeline in flight lands meanwhile
    assert!(staging_left(&prefix, code).await, "the interrupted import left its staging");
    assert_same(&store.snapshot_room(code).await.unwrap(), &before, "after an interrupted import");
    let stale = TaskQuery::default().tag(Tag::parse("stale").unwrap());
    assert_eq!(list_all(&tasks, code, &stale).await.1, 30, "the room's indexes are untouched");

    // Refused: a snapshot that fails its check writes nothing.
    let mut stranger = snapshot.clone();
    stranger.tasks[5].assignee = Some(MemberName::parse("mallory").unwrap());
    match store.import_room(stranger.clone(), OnConflict::Replace).await {
        Err(Error::Invalid { field: "tasks", .. }) => {}
        other => panic!("expected Invalid tasks, got {other:?}"),
    }
    assert_same(&store.snapshot_room(code).await.unwrap(), &before, "after a refused import");

    // Fail and Skip leave it too, and the staging of the interrupted import is still there.
    assert!(matches!(store.import_room(snapshot.clone(), OnConflict::Fail).await, Err(Error::AlreadyExists(_))));
    assert_eq!(store.import_room(snapshot.clone(), OnConflict::Skip).await.unwrap(), Imported::Skipped);
    assert_same(&store.snapshot_room(code).await.unwrap(), &before, "after Fail and Skip");

    // The next import drops the leftover staging and replaces the room whole.
    let started = Instant::now();
    assert_eq!(store.import_room(snapshot.clone(), OnConflict::Replace).await.unwrap(), Imported::Replaced);
    eprintln!(
        "replacing a room with {} tasks: {:.2?} ({:.0} tasks/s)",
        snapshot.tasks.len(),
        started.elapsed(),
        snapshot.tasks.len() as f64 / started.elapsed().as_secs_f64()
    );
    let after = store.snapshot_room(code).await.unwrap();
    assert_eq!(after.last_seq, snapshot.imported_seq(Some(before.last_seq)));
    assert_same(&RoomSnapshot { last_seq: snapshot.last_seq, ..after }, &snapshot, "the replaced room");
    assert!(!staging_left(&prefix, code).await, "no staging is left after the commit");
    assert_eq!(list_all(&tasks, code, &stale).await.1, 0, "no index entry of the old room is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_under_constant_writes_stay_whole_and_fall_back_to_one_script() {
    // A private server, so that its command statistics count this test's commands only.
    let server = support::PrivateRedis::start().await;
    let store: Arc<dyn TaskStore> = Arc::new(support::open_private(&server, StoreOptions::default()).await);
    let snapshot = big_snapshot("BUSYROOM", 5_000);
    let code = snapshot.room.code.clone();
    store.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap();
    // Every create adds a task, a number and a sequence; every update a version and a sequence.
    let versions = |s: &RoomSnapshot| s.tasks.iter().map(|t| t.version).sum::<u64>();
    let (version_gap, number_gap) = (snapshot.last_seq - versions(&snapshot), snapshot.last_number - 5_000);

    let targets: Arc<Vec<u64>> = Arc::new(snapshot.tasks[..100].iter().map(|task| task.number).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..2_u64 {
        let (tasks, code, stop, targets) =
            (manager(Arc::clone(&store)), code.clone(), Arc::clone(&stop), Arc::clone(&targets));
        writers.spawn(async move {
            let mut round = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                if round.is_multiple_of(2) {
                    tasks.create_task(&code, &NewTask::titled(format!("w{writer} r{round}")), None).await.unwrap();
                } else {
                    let patch =
                        TaskPatch { description: taskcore::Patch::Set(format!("r{round}")), ..TaskPatch::default() };
                    let number = targets[usize::try_from((round * 7 + writer) % 100).unwrap()];
                    tasks.update_task(&code, number, &patch).await.unwrap();
                }
                round += 1;
            }
        });
    }
    let mut fell_back = 0;
    for _ in 0..10 {
        let scripts_before = server.command_calls("zcard").await;
        let read = store.snapshot_room(&code).await.unwrap();
        assert_eq!(read.last_seq - versions(&read), version_gap, "every write in the snapshot is whole");
        assert_eq!(read.last_number - read.tasks.len() as u64, number_gap, "every created task is there");
        if server.command_calls("zcard").await > scripts_before {
            fell_back += 1;
            if fell_back >= 2 {
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    eprintln!("{fell_back} snapshots under constant writes were read by the one-script fallback");
    assert!(fell_back > 0, "constant writes never made a snapshot fall back to one script");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_without_tasks_or_keys_imports_and_replaces() {
    let scoped = support::scoped_store(StoreOptions::default()).await;
    let store: Arc<dyn TaskStore> = support::shared(scoped);
    let empty = big_snapshot("EMPTYROOM", 0);
    let empty = RoomSnapshot { keys: Vec::new(), last_number: 4, ..empty };
    assert_eq!(store.import_room(empty.clone(), OnConflict::Fail).await.unwrap(), Imported::Created);
    assert_same(&store.snapshot_room(&empty.room.code).await.unwrap(), &empty, "an empty room");
    let full = RoomSnapshot { room: empty.room.clone(), ..big_snapshot("EMPTYROOM", 40) };
    assert_eq!(store.import_room(full.clone(), OnConflict::Replace).await.unwrap(), Imported::Replaced);
    assert_eq!(store.import_room(empty.clone(), OnConflict::Replace).await.unwrap(), Imported::Replaced);
    let again = store.snapshot_room(&empty.room.code).await.unwrap();
    assert_eq!(again.last_seq, full.last_seq + 1, "a replace moves the sequence on");
    assert_same(&RoomSnapshot { last_seq: empty.last_seq, ..again }, &empty, "an emptied room");
    let tasks = manager(store);
    assert_eq!(tasks.stats(&empty.room.code).await.unwrap().total, 0);
    assert_eq!(list_all(&tasks, &empty.room.code, &TaskQuery::default()).await, (Vec::new(), 0, 0));
}

/// Every key of the room `code` in `prefix` but its feed, by type and name after the hash tag,
/// with its content in a comparable form (hash fields and set members sorted).
async fn raw_room(prefix: &str, code: &RoomCode) -> BTreeMap<String, Vec<String>> {
    let client = redis::Client::open(support::shared_url()).expect("a Redis URL");
    let mut conn = client.get_multiplexed_async_connection().await.expect("a connection");
    let tag = format!("{{{prefix}:{code}}}");
    let mut names = Vec::new();
    let mut cursor = 0_u64;
    loop {
        let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{tag}*"))
            .arg("COUNT")
            .arg(1_000)
            .query_async(&mut conn)
            .await
            .expect("SCAN");
        names.extend(found);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut out = BTreeMap::new();
    for name in names.into_iter().filter(|name| !name.ends_with(":changes")) {
        let kind: String = redis::cmd("TYPE").arg(&name).query_async(&mut conn).await.expect("TYPE");
        let mut read = redis::cmd(match kind.as_str() {
            "hash" => "HGETALL",
            "list" => "LRANGE",
            "set" => "SMEMBERS",
            "zset" => "ZRANGE",
            other => panic!("unexpected type {other} of {name}"),
        });
        read.arg(&name);
        if kind == "list" || kind == "zset" {
            read.arg(0).arg(-1);
        }
        if kind == "zset" {
            read.arg("WITHSCORES");
        }
        let mut content: Vec<String> = read.query_async(&mut conn).await.expect("read a key");
        if kind == "hash" {
            content = content.chunks(2).map(|pair| pair.join("=")).collect();
            content.sort();
        } else if kind == "set" {
            content.sort();
        }
        out.insert(format!("{kind} {}", &name[tag.len()..]), content);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_room_is_stored_key_for_key_as_its_writes_stored_it() {
    let (source, target) =
        (support::scoped_store(StoreOptions::default()).await, support::scoped_store(StoreOptions::default()).await);
    let (source_prefix, target_prefix) = (source.store.prefix().to_owned(), target.store.prefix().to_owned());
    let (source, target): (Arc<dyn TaskStore>, Arc<dyn TaskStore>) = (support::shared(source), support::shared(target));
    let tasks = manager(Arc::clone(&source));
    let room = tasks.create_room("alice").await.unwrap();
    let code = &room.code;
    tasks.join_room(code, "Zoë").await.unwrap();
    tasks.join_room(code, "Bob").await.unwrap();
    for i in 0..60_u64 {
        let mut input = NewTask::titled(format!("Task {} ünïcode {i}", ["a", "B", "é"][(i % 3) as usize]))
            .description(if i % 2 == 0 { "Some Text" } else { "" })
            .priority(["low", "medium", "high"][(i % 3) as usize])
            .tags(match i % 4 {
                0 => vec![],
                1 => vec!["home"],
                2 => vec!["work", "日本"],
                _ => vec!["work"],
            });
        if i % 3 != 0 {
            input = input.due_date(if i % 2 == 0 { "2026-03-01" } else { "2026-04-01T10:30:00Z" });
        }
        if i % 5 != 0 {
            input = input.assignee(["zoë", "BOB", "alice"][(i % 3) as usize]);
        }
        let key = IdempotencyKey::parse(&format!("create-{i}")).unwrap();
        let number = tasks.create_task(code, &input, (i % 4 == 0).then_some(&key)).await.unwrap().task().number;
        match i % 6 {
            1 => drop(tasks.complete_task(code, number, None).await.unwrap()),
            2 => drop(tasks.delete_task(code, number, None).await.unwrap()),
            3 => {
                let patch = TaskPatch {
                    title: taskcore::Patch::Set(format!("Renamed {i}")),
                    tags: taskcore::Patch::Set(vec!["q4".to_owned()]),
                    assignee: taskcore::Patch::Clear,
                    ..TaskPatch::default()
                };
                tasks.update_task(code, number, &patch).await.unwrap();
            }
            _ => {}
        }
    }
    let snapshot = source.snapshot_room(code).await.unwrap();
    assert_eq!(target.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap(), Imported::Created);
    let (written, imported) = (raw_room(&source_prefix, code).await, raw_room(&target_prefix, code).await);
    assert!(written.len() > 50 && written.contains_key("hash :t:1"), "the room's keys were read: {written:?}");
    assert_eq!(written.keys().collect::<Vec<_>>(), imported.keys().collect::<Vec<_>>(), "the same keys");
    for (name, content) in &written {
        assert_eq!(imported.get(name), Some(content), "{name}");
    }
}
