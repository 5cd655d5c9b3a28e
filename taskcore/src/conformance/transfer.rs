//! Behaviours of whole-room transfer — [`TaskStore::room_codes`], [`TaskStore::snapshot_room`]
//! and [`TaskStore::import_room`]: a snapshot imported into another store is the same room
//! field for field and goes on working (numbers, idempotent replays, the change feed), a taken
//! code is refused, skipped or replaced whole, a bad snapshot writes nothing, and a snapshot
//! read while writers run never shows half of a write.
//!
//! [`TaskStore::room_codes`]: crate::TaskStore::room_codes
//! [`TaskStore::snapshot_room`]: crate::TaskStore::snapshot_room
//! [`TaskStore::import_room`]: crate::TaskStore::import_room

use tokio::task::JoinSet;

use super::StoreFactory;
use super::support::{Ctx, assert_invalid, assert_not_found};
use crate::error::{Error, Quota};
use crate::input::{IdempotencyKey, NewTask, TaskPatch};
use crate::patch::Patch;
use crate::query::{StatusFilter, TaskQuery};
use crate::room::{Room, RoomCode};
use crate::snapshot::{Imported, OnConflict, RoomSnapshot};
use crate::store::{Inserted, StoreOptions};

/// A room with every kind of content: members, unicode, tags, an assignee, a due date, completed,
/// updated and deleted tasks, and idempotency keys (one of a deleted task). Its snapshot.
async fn furnished_room(ctx: &Ctx) -> (Room, RoomSnapshot) {
    let room = ctx.room("alice").await;
    let code = &room.code;
    ctx.tasks.join_room(code, "Bob").await.unwrap();
    ctx.tasks.join_room(code, "Zoë").await.unwrap();
    let key = IdempotencyKey::parse("create-1").unwrap();
    let input = NewTask::titled("Plan 📅 the sprint")
        .description("über, naïve, 日本語, \"quoted\"\nsecond line")
        .priority("high")
        .due_date("2026-12-01T09:30:00Z")
        .tags(["work", "q4"])
        .assignee("bob");
    ctx.tasks.create_task(code, &input, Some(&key)).await.unwrap();
    ctx.create_titled(code, "to delete").await;
    let gone = IdempotencyKey::parse("create-gone").unwrap();
    ctx.tasks.create_task(code, &NewTask::titled("deleted later"), Some(&gone)).await.unwrap();
    ctx.create(code, NewTask::titled("done").priority("low")).await;
    ctx.create_titled(code, "edited").await;
    ctx.tasks.delete_task(code, 2, None).await.unwrap();
    ctx.tasks.delete_task(code, 3, None).await.unwrap();
    ctx.tasks.complete_task(code, 4, None).await.unwrap();
    let patch = TaskPatch { description: Patch::Set("now with details".into()), ..TaskPatch::default() };
    ctx.tasks.update_task(code, 5, &patch).await.unwrap();
    let snapshot = ctx.store.snapshot_room(code).await.unwrap();
    (room, snapshot)
}

/// A snapshot holds the room as it is; imported into another store it is the same room field
/// for field, with the same listings and counts; a deleted number stays used; an idempotent
/// create replayed after the import answers the same task; a reader of the feed from before
/// must resync and the next write continues the sequence.
pub async fn a_snapshot_imports_field_for_field(factory: &dyn StoreFactory) {
    let source = Ctx::new(factory).await;
    let (room, snapshot) = furnished_room(&source).await;
    let code = &room.code;
    assert_eq!(snapshot.room, source.tasks.room(code).await.unwrap(), "the room and its members");
    assert_eq!((snapshot.last_number, snapshot.last_seq), (5, 11), "the last number and sequence");
    let numbers: Vec<u64> = snapshot.tasks.iter().map(|t| t.number).collect();
    assert_eq!(numbers, [1, 4, 5], "live tasks in number order");
    assert_eq!(snapshot.tasks, source.list_all(code, TaskQuery::default()).await, "every field of every task");
    let keys: Vec<(&str, u64)> = snapshot.keys.iter().map(|k| (k.key.as_str(), k.number)).collect();
    assert_eq!(keys, [("create-1", 1), ("create-gone", 3)], "keys in key order, a deleted task's too");
    assert!(snapshot.keys.iter().all(|k| k.fingerprint.is_some()), "keys keep their fingerprints");

    let target = Ctx::new(factory).await;
    assert_eq!(target.store.import_room(snapshot.clone(), OnConflict::Fail).await.unwrap(), Imported::Created);
    assert_eq!(target.store.snapshot_room(code).await.unwrap(), snapshot, "the same room, field for field");
    assert_eq!(target.tasks.room(code).await.unwrap(), snapshot.room);
    let query = TaskQuery::default().status(StatusFilter::Pending);
    assert_eq!(target.list_all(code, query.clone()).await, source.list_all(code, query).await);
    assert_eq!(target.tasks.stats(code).await.unwrap(), source.tasks.stats(code).await.unwrap());
    let by_tag = TaskQuery { tag: Some(crate::Tag::parse("q4").unwrap()), ..TaskQuery::default() };
    assert_eq!(target.numbers(code, by_tag).await, [1], "the tag index is rebuilt");

    let replay = NewTask::titled("Plan 📅 the sprint")
        .description("über, naïve, 日本語, \"quoted\"\nsecond line")
        .priority("HIGH")
        .due_date("2026-12-01T09:30:00Z")
        .tags(["q4", "work"])
        .assignee("BOB");
    let key = IdempotencyKey::parse("create-1").unwrap();
    let replayed = target.tasks.create_task(code, &replay, Some(&key)).await.unwrap();
    assert_eq!(replayed, Inserted::Replayed(snapshot.tasks[0].clone()), "an idempotent create replays");
    let other = target.tasks.create_task(code, &NewTask::titled("other"), Some(&key)).await;
    assert!(matches!(other, Err(Error::IdempotencyKeyReused { .. })), "fingerprints came along: {other:?}");
    let gone = IdempotencyKey::parse("create-gone").unwrap();
    let again = target.tasks.create_task(code, &NewTask::titled("deleted later"), Some(&gone)).await;
    assert!(matches!(again, Err(Error::IdempotentTaskDeleted { number: 3, .. })), "{again:?}");

    match target.tasks.changes(code, 0, None).await {
        Err(Error::ResyncNeeded { latest: 11, .. }) => {}
        other => panic!("a reader from before the import must resync, got {other:?}"),
    }
    assert!(target.tasks.changes(code, 11, None).await.unwrap().changes.is_empty(), "up to date at the last seq");
    let next = target.create_titled(code, "after the import").await;
    assert_eq!(next.number, 6, "deleted numbers stay used");
    let batch = target.tasks.changes(code, 11, None).await.unwrap();
    let seqs: Vec<u64> = batch.changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [12], "the feed continues after the imported sequence");
}

/// A taken code: `Fail` is `AlreadyExists` and writes nothing, `Skip` leaves the stored room,
/// `Replace` swaps the whole room — the old tasks, tags, members and keys gone, the feed moved on
/// beyond both sequences.
pub async fn import_of_a_taken_code_fails_skips_or_replaces(factory: &dyn StoreFactory) {
    let source = Ctx::new(factory).await;
    let (room, snapshot) = furnished_room(&source).await;
    let code = &room.code;
    let target = Ctx::new(factory).await;
    let stored = Room::new(code.clone(), crate::MemberName::parse("mallory").unwrap(), room.created_at);
    target.store.insert_room(&stored).await.unwrap();
    target.tasks.join_room(code, "eve").await.unwrap();
    let key = IdempotencyKey::parse("create-1").unwrap();
    let old = NewTask::titled("old").tags(["stale"]).assignee("eve");
    target.tasks.create_task(code, &old, Some(&key)).await.unwrap();
    for n in 0..12 {
        target.create_titled(code, &format!("filler {n}")).await;
    }
    let before = target.store.snapshot_room(code).await.unwrap();
    assert_eq!(before.last_seq, 14);

    match target.store.import_room(snapshot.clone(), OnConflict::Fail).await {
        Err(Error::AlreadyExists(crate::error::Existing::Room(_))) => {}
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(target.store.snapshot_room(code).await.unwrap(), before, "Fail wrote nothing");
    assert_eq!(target.store.import_room(snapshot.clone(), OnConflict::Skip).await.unwrap(), Imported::Skipped);
    assert_eq!(target.store.snapshot_room(code).await.unwrap(), before, "Skip wrote nothing");

    assert_eq!(target.store.import_room(snapshot.clone(), OnConflict::Replace).await.unwrap(), Imported::Replaced);
    let after = target.store.snapshot_room(code).await.unwrap();
    assert_eq!(after.last_seq, 15, "beyond the replaced room's sequence 14");
    assert_eq!(RoomSnapshot { last_seq: snapshot.last_seq, ..after }, snapshot, "the imported room, whole");
    let stale = TaskQuery { tag: Some(crate::Tag::parse("stale").unwrap()), ..TaskQuery::default() };
    assert!(target.numbers(code, stale).await.is_empty(), "no index entry of a replaced task is left");
    let eve = TaskQuery { assignee: Some(crate::MemberName::parse("eve").unwrap()), ..TaskQuery::default() };
    assert!(target.numbers(code, eve).await.is_empty(), "nor of a replaced assignee");
    assert_eq!(target.tasks.stats(code).await.unwrap(), source.tasks.stats(code).await.unwrap(), "counts rebuilt");
    assert_not_found(target.tasks.task(code, 6).await, "task");
    let replay = target.tasks.create_task(code, &NewTask::titled("old"), Some(&key)).await;
    assert!(matches!(replay, Err(Error::IdempotencyKeyReused { .. })), "the replaced room's keys are gone: {replay:?}");
}

/// A snapshot no sequence of writes could produce, or beyond the store's quotas, is refused
/// before anything is written.
pub async fn a_bad_snapshot_writes_nothing(factory: &dyn StoreFactory) {
    let source = Ctx::new(factory).await;
    let (room, snapshot) = furnished_room(&source).await;
    let target = Ctx::with_options(factory, StoreOptions::default().max_tasks_per_room(2)).await;
    match target.store.import_room(snapshot.clone(), OnConflict::Fail).await {
        Err(Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit: 2 }) => {}
        other => panic!("expected the task quota, got {other:?}"),
    }
    let target = Ctx::new(factory).await;
    let mut twice = snapshot.clone();
    twice.tasks[1].number = 1;
    let mut beyond = snapshot.clone();
    beyond.last_number = 4;
    let mut stranger = snapshot.clone();
    stranger.tasks[0].assignee = Some(crate::MemberName::parse("mallory").unwrap());
    let mut undone = snapshot.clone();
    undone.tasks[1].completed_at = None;
    for (bad, field) in [(twice, "tasks"), (beyond, "tasks"), (stranger, "tasks"), (undone, "tasks")] {
        assert_invalid(target.store.import_room(bad.clone(), OnConflict::Replace).await, field);
    }
    let mut no_owner = snapshot.clone();
    no_owner.room.members.remove(0);
    assert_invalid(target.store.import_room(no_owner.clone(), OnConflict::Fail).await, "members");
    let mut dangling = snapshot;
    dangling.keys[0].number = 9;
    assert_invalid(target.store.import_room(dangling.clone(), OnConflict::Fail).await, "keys");
    assert_not_found(target.tasks.room(&room.code).await, "room");
    assert!(target.store.room_codes(None, 10).await.unwrap().is_empty(), "no room was written");
}

/// `room_codes` pages through every room in code order.
pub async fn room_codes_page_in_code_order(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let mut codes = Vec::new();
    for owner in ["a", "b", "c", "d", "e"] {
        codes.push(ctx.room(owner).await.code);
    }
    codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut seen: Vec<RoomCode> = Vec::new();
    loop {
        let page = ctx.store.room_codes(seen.last(), 2).await.unwrap();
        assert!(page.len() <= 2, "at most the limit");
        if page.is_empty() {
            break;
        }
        seen.extend(page);
    }
    assert_eq!(seen, codes);
    assert_not_found(ctx.store.snapshot_room(&RoomCode::parse("ZZZZ99").unwrap()).await, "room");
}

/// Snapshots read while writers create and update tasks each show whole writes only: every
/// create and update adds one to the room's sequence and one to a task's version, so in a
/// consistent snapshot the versions add up to the sequence and the tasks to the last number.
pub async fn a_snapshot_under_concurrent_writes_is_consistent(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let mut writers = JoinSet::new();
    for writer in 0..4u64 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        writers.spawn(async move {
            let mut mine = Vec::new();
            for round in 0..60u64 {
                if round % 3 == 2 {
                    let number = mine[usize::try_from(round).unwrap() % mine.len()];
                    let patch = TaskPatch { description: Patch::Set(format!("round {round}")), ..TaskPatch::default() };
                    tasks.update_task(&code, number, &patch).await.unwrap();
                } else {
                    let task = tasks.create_task(&code, &NewTask::titled(format!("w{writer} r{round}")), None).await;
                    mine.push(task.unwrap().task().number);
                }
                tokio::task::yield_now().await;
            }
        });
    }
    // Snapshots all along the writes (at least 20), checked as they come.
    let mut snapshots = 0;
    loop {
        let snapshot = ctx.store.snapshot_room(&room.code).await.unwrap();
        let versions: u64 = snapshot.tasks.iter().map(|t| t.version).sum();
        assert_eq!(versions, snapshot.last_seq, "every change in the snapshot is whole");
        assert_eq!(snapshot.tasks.len() as u64, snapshot.last_number, "every created task is there");
        snapshots += 1;
        while let Some(done) = writers.try_join_next() {
            done.unwrap();
        }
        if writers.is_empty() && snapshots >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let last = ctx.store.snapshot_room(&room.code).await.unwrap();
    assert_eq!((last.last_seq, last.last_number), (240, 160), "every write is in the snapshot after them");
}
