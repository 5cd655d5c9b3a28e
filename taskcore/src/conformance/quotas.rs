//! Behaviours of the per-room quotas of [`StoreOptions`]: creates and joins beyond them are
//! `QuotaExceeded` and write nothing, what is already there keeps working, and concurrent
//! writers never take a room beyond a quota.

use std::collections::BTreeSet;

use tokio::task::JoinSet;

use super::StoreFactory;
use super::support::Ctx;
use crate::error::{Error, Quota, Result};
use crate::input::{IdempotencyKey, NewTask};
use crate::store::{Inserted, StoreOptions};

#[track_caller]
fn assert_quota<T: std::fmt::Debug>(result: Result<T>, quota: Quota, limit: u64) {
    match result {
        Err(Error::QuotaExceeded { quota: q, limit: l }) if q == quota && l == limit => {}
        other => panic!("expected QuotaExceeded {{ {quota:?}, {limit} }}, got {other:?}"),
    }
}

/// With room for 3 tasks: a 4th create is refused without using a number or writing a change;
/// replays, updates and reads go on; a delete makes room again. Other rooms are unaffected.
pub async fn tasks_per_room_quota_is_enforced(factory: &dyn StoreFactory) {
    let ctx = Ctx::with_options(factory, StoreOptions::default().max_tasks_per_room(3)).await;
    let room = ctx.room("alice").await;
    let key = IdempotencyKey::parse("k1").unwrap();
    let first = ctx.tasks.create_task(&room.code, &NewTask::titled("t1"), Some(&key)).await.unwrap();
    ctx.create_titled(&room.code, "t2").await;
    ctx.create_titled(&room.code, "t3").await;
    let latest = ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest;
    assert_quota(ctx.tasks.create_task(&room.code, &NewTask::titled("t4"), None).await, Quota::TasksPerRoom, 3);
    let other = IdempotencyKey::parse("k2").unwrap();
    assert_quota(ctx.tasks.create_task(&room.code, &NewTask::titled("t4"), Some(&other)).await, Quota::TasksPerRoom, 3);
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, latest, "nothing written");
    let replay = ctx.tasks.create_task(&room.code, &NewTask::titled("t1"), Some(&key)).await.unwrap();
    assert_eq!(replay, Inserted::Replayed(first.task().clone()), "a replay is answered in a full room");
    ctx.tasks.complete_task(&room.code, 2, None).await.unwrap();
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().total, 3);
    let elsewhere = ctx.room("bob").await;
    ctx.create_titled(&elsewhere.code, "fine").await;
    ctx.tasks.delete_task(&room.code, 3, None).await.unwrap();
    let fourth = ctx.tasks.create_task(&room.code, &NewTask::titled("t4"), Some(&other)).await.unwrap();
    assert_eq!(fourth.task().number, 4, "the refused creates used no number");
    assert_quota(ctx.tasks.create_task(&room.code, &NewTask::titled("t5"), None).await, Quota::TasksPerRoom, 3);
}

/// With room for 3 members: the owner and two more join, a fourth is refused without a change,
/// members already in (any spelling) rejoin freely.
pub async fn members_per_room_quota_is_enforced(factory: &dyn StoreFactory) {
    let ctx = Ctx::with_options(factory, StoreOptions::default().max_members_per_room(3)).await;
    let room = ctx.room("alice").await;
    ctx.tasks.join_room(&room.code, "bob").await.unwrap();
    ctx.tasks.join_room(&room.code, "carol").await.unwrap();
    assert_quota(ctx.tasks.join_room(&room.code, "dave").await, Quota::MembersPerRoom, 3);
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 2, "no change for the refused join");
    let again = ctx.tasks.join_room(&room.code, "BOB").await.unwrap();
    let names: Vec<&str> = again.members.iter().map(|m| m.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    ctx.tasks.join_room(&room.code, "alice").await.unwrap();
    let elsewhere = ctx.room("dave").await;
    ctx.tasks.join_room(&elsewhere.code, "erin").await.unwrap();
}

/// 40 concurrent creates in a room with room for 10: exactly 10 succeed, numbered 1 to 10, and
/// 30 are QuotaExceeded.
pub async fn concurrent_creates_stop_at_the_quota(factory: &dyn StoreFactory) {
    let ctx = Ctx::with_options(factory, StoreOptions::default().max_tasks_per_room(10)).await;
    let room = ctx.room("alice").await;
    let mut writers = JoinSet::new();
    for i in 0..40 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        writers.spawn(async move { tasks.create_task(&code, &NewTask::titled(format!("t{i}")), None).await });
    }
    let (mut numbers, mut refused) = (BTreeSet::new(), 0);
    while let Some(joined) = writers.join_next().await {
        match joined.unwrap() {
            Ok(inserted) => assert!(numbers.insert(inserted.task().number)),
            Err(Error::QuotaExceeded { quota: Quota::TasksPerRoom, limit: 10 }) => refused += 1,
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!(numbers, (1..=10).collect::<BTreeSet<u64>>());
    assert_eq!(refused, 30);
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().total, 10);
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 10);
}

/// 20 different people joining a room with room for 5 at once: exactly 4 join (the owner is
/// the fifth member), 16 are QuotaExceeded.
pub async fn concurrent_joins_stop_at_the_quota(factory: &dyn StoreFactory) {
    let ctx = Ctx::with_options(factory, StoreOptions::default().max_members_per_room(5)).await;
    let room = ctx.room("owner").await;
    let mut joiners = JoinSet::new();
    for i in 0..20 {
        let (tasks, code) = (ctx.tasks.clone(), room.code.clone());
        joiners.spawn(async move { tasks.join_room(&code, &format!("member{i}")).await });
    }
    let (mut joined, mut refused) = (0, 0);
    while let Some(outcome) = joiners.join_next().await {
        match outcome.unwrap() {
            Ok(_) => joined += 1,
            Err(Error::QuotaExceeded { quota: Quota::MembersPerRoom, limit: 5 }) => refused += 1,
            Err(other) => panic!("unexpected outcome: {other:?}"),
        }
    }
    assert_eq!((joined, refused), (4, 16));
    assert_eq!(ctx.tasks.room(&room.code).await.unwrap().members.len(), 5);
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 4);
}
