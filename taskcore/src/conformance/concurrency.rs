//! Behaviours under concurrent writers: no lost, duplicated or reused numbers, exactly one
//! winner of a race on a version, one task per idempotency key, stable paging during inserts,
//! and a write the store cannot store — or a write the contract refuses — failing alone.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use time::macros::datetime;
use tokio::task::JoinSet;

use super::StoreFactory;
use super::support::{Ctx, START};
use crate::error::{Error, Missing, Quota};
use crate::input::{IdempotencyKey, NewTask, TaskPatch};
use crate::patch::Patch;
use crate::query::TaskQuery;
use crate::store::{Inserted, StoreOptions, TaskDraft, TaskWrite};

/// 100 concurrent creates in one room make 100 tasks numbered exactly 1..=100.
pub async fn concurrent_creates_are_numbered_densely(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let mut writers = JoinSet::new();
    for i in 0..100 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        writers.spawn(async move { tasks.create_task(&code, &NewTask::titled(format!("t{i}")), None).await });
    }
    let mut numbers = BTreeSet::new();
    while let Some(joined) = writers.join_next().await {
        let number = joined.unwrap().unwrap().task().number;
        assert!(numbers.insert(number), "number {number} given twice");
    }
    assert_eq!(numbers, (1..=100).collect::<BTreeSet<u64>>());
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().limit(500)).await, (1..=100).collect::<Vec<u64>>());
    assert_eq!(ctx.tasks.changes(&room.code, 0, Some(1_000)).await.unwrap().changes.len(), 100);
}

/// 50 concurrent updates conditional on the same version: exactly one applies, the others are
/// Conflict, and the task's version went up by exactly one.
pub async fn concurrent_conditional_updates_have_one_winner(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "contended").await;
    let mut writers = JoinSet::new();
    for i in 0..50 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        let patch =
            TaskPatch { title: Patch::Set(format!("writer {i}")), expected_version: Some(1), ..TaskPatch::default() };
        writers.spawn(async move { tasks.update_task(&code, 1, &patch).await });
    }
    let (mut won, mut conflicts) = (Vec::new(), 0);
    while let Some(joined) = writers.join_next().await {
        match joined.unwrap() {
            Ok(updated) => won.push(updated),
            Err(Error::Conflict { expected: 1, current: 2 }) => conflicts += 1,
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one winner");
    assert_eq!(conflicts, 49);
    let stored = ctx.tasks.task(&room.code, task.number).await.unwrap();
    assert_eq!(stored, won[0]);
    assert_eq!(stored.version, 2);
}

/// 20 concurrent creates with one idempotency key make one task; all callers get it.
pub async fn concurrent_idempotent_creates_make_one_task(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let key = IdempotencyKey::parse("client-retry-1").unwrap();
    let mut writers = JoinSet::new();
    for _ in 0..20 {
        let (tasks, code, key) = (ctx.tasks.clone(), room.code.clone(), key.clone());
        writers.spawn(async move { tasks.create_task(&code, &NewTask::titled("once"), Some(&key)).await });
    }
    let (mut created, mut ids) = (0, BTreeSet::new());
    while let Some(joined) = writers.join_next().await {
        let outcome = joined.unwrap().unwrap();
        created += usize::from(matches!(outcome, Inserted::Created(_)));
        ids.insert(outcome.task().id);
    }
    assert_eq!(created, 1, "one create, the rest replays");
    assert_eq!(ids.len(), 1, "every caller got the same task");
    assert_eq!(ctx.tasks.list_tasks(&room.code, &TaskQuery::default()).await.unwrap().total, 1);
}

/// Concurrent updates without a version all apply (the manager retries lost races): 20 writers
/// leave the task at version 21, with one change recorded per write.
pub async fn concurrent_unconditional_updates_all_apply(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    ctx.create_titled(&room.code, "start").await;
    let mut writers = JoinSet::new();
    for i in 0..20 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        let patch = TaskPatch { title: Patch::Set(format!("writer {i}")), ..TaskPatch::default() };
        writers.spawn(async move { tasks.update_task(&code, 1, &patch).await });
    }
    let mut versions = BTreeSet::new();
    while let Some(joined) = writers.join_next().await {
        versions.insert(joined.unwrap().unwrap().version);
    }
    assert_eq!(versions, (2..=21).collect::<BTreeSet<u64>>(), "each write made its own version");
    assert_eq!(ctx.tasks.task(&room.code, 1).await.unwrap().version, 21);
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 21);
}

/// 10 concurrent deletes of one task: one returns it, the others are NotFound, one tombstone.
pub async fn concurrent_deletes_have_one_winner(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    ctx.create_titled(&room.code, "t").await;
    let mut writers = JoinSet::new();
    for _ in 0..10 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        writers.spawn(async move { tasks.delete_task(&code, 1, None).await });
    }
    let mut deleted = 0;
    while let Some(joined) = writers.join_next().await {
        match joined.unwrap() {
            Ok(_) => deleted += 1,
            Err(Error::NotFound(crate::error::Missing::Task { .. })) => {}
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(deleted, 1);
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 2, "one create, one tombstone");
}

/// Concurrent joins, some repeating a name in another case, leave each member exactly once.
pub async fn concurrent_joins_keep_each_member_once(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("owner").await;
    let mut joiners = JoinSet::new();
    for i in 0..40 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        let name = if i % 2 == 0 { format!("member{}", i / 2) } else { format!("MEMBER{}", i / 2) };
        joiners.spawn(async move { tasks.join_room(&code, &name).await });
    }
    while let Some(joined) = joiners.join_next().await {
        joined.unwrap().unwrap();
    }
    let members = ctx.tasks.room(&room.code).await.unwrap().members;
    assert_eq!(members.len(), 21, "owner plus 20 distinct members");
    let keys: BTreeSet<String> = members.iter().map(|m| m.key()).collect();
    assert_eq!(keys.len(), 21);
    assert_eq!(ctx.tasks.changes(&room.code, 0, Some(100)).await.unwrap().latest, 20, "one change per new member");
}

/// Paging through 1,000 tasks while others are being created visits every task that existed
/// before paging began exactly once, and never repeats a task.
pub async fn paging_while_inserting_visits_each_task_once(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let mut seeders = JoinSet::new();
    for chunk in 0..10 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        seeders.spawn(async move {
            for i in 0..100 {
                tasks.create_task(&code, &NewTask::titled(format!("seed {chunk}-{i}")), None).await.unwrap();
            }
        });
    }
    while let Some(joined) = seeders.join_next().await {
        joined.unwrap();
    }
    let inserter = {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        tokio::spawn(async move {
            for i in 0..200 {
                tasks.create_task(&code, &NewTask::titled(format!("late {i}")), None).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let mut query = TaskQuery::default().limit(37);
    let mut seen = BTreeSet::new();
    loop {
        let page = ctx.tasks.list_tasks(&room.code, &query).await.unwrap();
        for task in &page.items {
            assert!(seen.insert(task.number), "task {} listed twice", task.number);
        }
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    inserter.await.unwrap();
    assert!((1..=1000).all(|n| seen.contains(&n)), "every task that existed before paging was visited");
    assert!(seen.iter().all(|n| (1..=1200).contains(n)));
}

/// A write the store cannot store fails alone. One client sends, in a loop and straight to the
/// store, a draft due in year −1 (validation never lets one through; RFC 3339 cannot write it)
/// while 16 writers create 25 tasks each: every honest create succeeds, and every acknowledged
/// task is stored exactly once. A store that can keep the bad draft may; then it is listed once
/// too.
pub async fn a_write_the_store_cannot_store_fails_alone(factory: &dyn StoreFactory) {
    const WRITERS: usize = 16;
    const CREATES: usize = 25;
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let poison = NewTask::titled("poison").validate(START).unwrap();
    let poison = TaskDraft { due_date: Some(datetime!(-0001-12-31 23:00:00 UTC)), ..poison };
    let stop = Arc::new(AtomicBool::new(false));
    let poisoner = {
        let (store, code, stop) = (Arc::clone(&ctx.store), room.code.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let (mut attempts, mut stored) = (0_usize, Vec::new());
            while !stop.load(Ordering::Relaxed) && attempts < 5_000 {
                attempts += 1;
                let draft = TaskDraft { id: uuid::Uuid::now_v7(), ..poison.clone() };
                if let Ok(inserted) = store.insert_task(&code, draft, None).await {
                    stored.push(inserted.task().id);
                }
                tokio::task::yield_now().await;
            }
            (attempts, stored)
        })
    };
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        writers.spawn(async move {
            let mut outcomes = Vec::with_capacity(CREATES);
            for i in 0..CREATES {
                let input = NewTask::titled(format!("honest {writer}-{i}"));
                outcomes.push(tasks.create_task(&code, &input, None).await.map(|inserted| inserted.task().id));
            }
            outcomes
        });
    }
    let (mut acknowledged, mut failures) = (Vec::new(), Vec::new());
    while let Some(joined) = writers.join_next().await {
        for outcome in joined.unwrap() {
            match outcome {
                Ok(id) => acknowledged.push(id),
                Err(error) => failures.push(error.to_string()),
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (attempts, poison_stored) = poisoner.await.unwrap();
    assert!(attempts > 0);
    assert!(
        failures.is_empty(),
        "{} of {} honest creates failed beside the poisoning client, the first with: {}",
        failures.len(),
        WRITERS * CREATES,
        failures[0]
    );
    assert_eq!(acknowledged.len(), WRITERS * CREATES);
    let mut listed: Vec<uuid::Uuid> =
        ctx.list_all(&room.code, TaskQuery::default().limit(500)).await.iter().map(|t| t.id).collect();
    listed.sort();
    let mut expected: Vec<uuid::Uuid> = acknowledged.into_iter().chain(poison_stored).collect();
    expected.sort();
    assert_eq!(listed, expected, "every acknowledged task is stored exactly once, and nothing else");
}

/// Invalid writes mixed into a crowd of valid ones on one room each fail alone, with their own
/// error: while 64 creates, 10 conditional updates, 10 completions and 8 rejoins run at once in
/// a room full of members, 10 updates with a stale version are `Conflict`, 8 deletes and 8
/// updates of missing tasks are `NotFound` and 16 joins are `QuotaExceeded` — sent straight to
/// the store where the manager would refuse them itself, so that they share the valid writes'
/// transactions in a store that batches. Every valid write is stored exactly once: numbers
/// dense, one change each.
pub async fn invalid_writes_fail_alone_among_valid_ones(factory: &dyn StoreFactory) {
    const SEEDED: u64 = 30;
    const CREATES: u64 = 64;
    let ctx = Ctx::with_options(factory, StoreOptions::default().max_members_per_room(3)).await;
    let room = ctx.room("alice").await;
    ctx.tasks.join_room(&room.code, "bob").await.unwrap();
    ctx.tasks.join_room(&room.code, "carol").await.unwrap();
    let mut seeded = Vec::new();
    for i in 1..=SEEDED {
        seeded.push(ctx.create_titled(&room.code, &format!("seed {i}")).await);
    }
    let at = crate::Clock::now(&ctx.clock);
    let (mut creates, mut updates, mut completes, mut rejoins) =
        (JoinSet::new(), JoinSet::new(), JoinSet::new(), JoinSet::new());
    let (mut stale, mut missing, mut full) = (JoinSet::new(), JoinSet::new(), JoinSet::new());
    for i in 0..CREATES {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        creates.spawn(async move { tasks.create_task(&code, &NewTask::titled(format!("valid {i}")), None).await });
        if i < 16 {
            let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
            full.spawn(async move { tasks.join_room(&code, &format!("dave{i}")).await });
        }
        if i < 10 {
            let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
            let patch = TaskPatch {
                title: Patch::Set(format!("updated {i}")),
                expected_version: Some(1),
                ..TaskPatch::default()
            };
            updates.spawn(async move { tasks.update_task(&code, i + 1, &patch).await });
            let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
            completes.spawn(async move { tasks.complete_task(&code, i + 21, Some(1)).await });
            let (store, code) = (Arc::clone(&ctx.store), room.code.clone());
            let task = crate::Task {
                title: format!("stale {i}"),
                version: 8,
                updated_at: at,
                ..seeded[usize::try_from(i + 10).unwrap()].clone()
            };
            stale.spawn(async move { store.update_task(&code, &task, 7, TaskWrite::Updated).await });
        }
        if i < 8 {
            let (store, code) = (Arc::clone(&ctx.store), room.code.clone());
            missing.spawn(async move { store.delete_task(&code, 1_000 + i, None, at).await.map(|_| ()) });
            let (store, code) = (Arc::clone(&ctx.store), room.code.clone());
            let task = crate::Task { number: 2_000 + i, version: 2, updated_at: at, ..seeded[0].clone() };
            missing.spawn(async move { store.update_task(&code, &task, 1, TaskWrite::Updated).await.map(|_| ()) });
            let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
            let name = if i % 2 == 0 { "BOB" } else { "Carol" };
            rejoins.spawn(async move { tasks.join_room(&code, name).await });
        }
    }
    let mut numbers = BTreeSet::new();
    while let Some(joined) = creates.join_next().await {
        let number = joined.unwrap().expect("a valid create beside invalid writes").task().number;
        assert!(numbers.insert(number), "number {number} given twice");
    }
    assert_eq!(numbers, (SEEDED + 1..=SEEDED + CREATES).collect::<BTreeSet<u64>>(), "dense numbers");
    while let Some(joined) = updates.join_next().await {
        assert_eq!(joined.unwrap().expect("a valid conditional update beside invalid writes").version, 2);
    }
    while let Some(joined) = completes.join_next().await {
        assert!(joined.unwrap().expect("a valid completion beside invalid writes").completed);
    }
    while let Some(joined) = rejoins.join_next().await {
        assert_eq!(joined.unwrap().expect("a rejoin beside invalid writes").members.len(), 3);
    }
    while let Some(joined) = stale.join_next().await {
        match joined.unwrap() {
            Err(Error::Conflict { expected: 7, current: 1 }) => {}
            other => panic!("a stale update: expected Conflict {{ 7, 1 }}, got {other:?}"),
        }
    }
    while let Some(joined) = missing.join_next().await {
        match joined.unwrap() {
            Err(Error::NotFound(Missing::Task { number, .. })) if number >= 1_000 => {}
            other => panic!("a write to a missing task: expected NotFound, got {other:?}"),
        }
    }
    while let Some(joined) = full.join_next().await {
        match joined.unwrap() {
            Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit: 3 }) => {}
            other => panic!("a join of a full room: expected QuotaExceeded, got {other:?}"),
        }
    }
    let listed = ctx.list_all(&room.code, TaskQuery::default().limit(500)).await;
    let listed_numbers: Vec<u64> = listed.iter().map(|task| task.number).collect();
    assert_eq!(listed_numbers, (1..=SEEDED + CREATES).collect::<Vec<u64>>(), "every valid create stored once");
    for task in &listed {
        let expected_version = if (1..=10).contains(&task.number) || (21..=30).contains(&task.number) { 2 } else { 1 };
        assert_eq!(task.version, expected_version, "task {}: only valid writes applied", task.number);
        assert_eq!(task.completed, (21..=30).contains(&task.number), "task {}", task.number);
    }
    let stats = ctx.tasks.stats(&room.code).await.unwrap();
    assert_eq!((stats.total, stats.completed), (SEEDED + CREATES, 10));
    assert_eq!(ctx.tasks.room(&room.code).await.unwrap().members.len(), 3);
    let changes = ctx.tasks.changes(&room.code, 0, Some(1_000)).await.unwrap();
    assert_eq!(changes.latest, 2 + SEEDED + CREATES + 20, "one change per valid write, none for the invalid ones");
    assert_eq!(changes.changes.len(), usize::try_from(changes.latest).unwrap());
}
