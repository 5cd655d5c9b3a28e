//! Behaviours of the change feed: one numbered change per mutation, tombstones, paging by
//! sequence, retention and resync.

use time::Duration;

use super::StoreFactory;
use super::support::{Ctx, START, assert_invalid};
use crate::changes::ChangeEvent;
use crate::error::Error;
use crate::input::{NewTask, TaskPatch};
use crate::patch::Patch;
use crate::store::StoreOptions;

fn kind(event: &ChangeEvent) -> &'static str {
    match event {
        ChangeEvent::TaskCreated { .. } => "created",
        ChangeEvent::TaskUpdated { .. } => "updated",
        ChangeEvent::TaskCompleted { .. } => "completed",
        ChangeEvent::TaskReopened { .. } => "reopened",
        ChangeEvent::TaskDeleted { .. } => "deleted",
        ChangeEvent::MemberJoined { .. } => "joined",
    }
}

/// Each mutation appends one change, numbered 1, 2, 3…, stamped with the clock and carrying
/// the task as it was after the change.
pub async fn every_mutation_is_recorded_in_order(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 0, "a new room has no changes");
    ctx.tasks.join_room(&room.code, "bob").await.unwrap();
    let created = ctx.create_titled(&room.code, "t").await;
    ctx.clock.advance(Duration::minutes(1));
    let patch = TaskPatch { title: Patch::Set("t2".into()), ..TaskPatch::default() };
    let updated = ctx.tasks.update_task(&room.code, 1, &patch).await.unwrap();
    let completed = ctx.tasks.complete_task(&room.code, 1, None).await.unwrap();
    let reopened = ctx.tasks.reopen_task(&room.code, 1, None).await.unwrap();
    ctx.clock.advance(Duration::minutes(1));
    ctx.tasks.delete_task(&room.code, 1, None).await.unwrap();
    let batch = ctx.tasks.changes(&room.code, 0, None).await.unwrap();
    assert_eq!(batch.latest, 6);
    let kinds: Vec<_> = batch.changes.iter().map(|c| kind(&c.event)).collect();
    assert_eq!(kinds, ["joined", "created", "updated", "completed", "reopened", "deleted"]);
    assert_eq!(batch.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(batch.changes[0].event, ChangeEvent::MemberJoined { member: "bob".parse().unwrap() });
    assert_eq!(batch.changes[1].event, ChangeEvent::TaskCreated { task: created });
    assert_eq!(batch.changes[2].event, ChangeEvent::TaskUpdated { task: updated });
    assert_eq!(batch.changes[3].event, ChangeEvent::TaskCompleted { task: completed });
    assert_eq!(batch.changes[4].event, ChangeEvent::TaskReopened { task: reopened });
    assert_eq!(batch.changes[1].at, START);
    assert_eq!(batch.changes[2].at, START + Duration::minutes(1));
    assert_eq!(batch.changes[5].at, START + Duration::minutes(2));
}

/// `since` returns only later changes, `limit` caps how many, `latest` tells how far the room is.
pub async fn since_and_limit_select_changes(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    for i in 0..10 {
        ctx.create_titled(&room.code, &format!("t{i}")).await;
    }
    let batch = ctx.tasks.changes(&room.code, 4, Some(3)).await.unwrap();
    assert_eq!(batch.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [5, 6, 7]);
    assert_eq!(batch.latest, 10);
    let tail = ctx.tasks.changes(&room.code, 10, None).await.unwrap();
    assert!(tail.changes.is_empty());
    assert_eq!(tail.latest, 10);
    assert_invalid(ctx.tasks.changes(&room.code, 0, Some(0)).await, "limit");
    assert_invalid(ctx.tasks.changes(&room.code, 0, Some(1_001)).await, "limit");
}

/// A delete is recorded as a tombstone with the task's number and id.
pub async fn deletes_are_tombstones(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "t").await;
    ctx.tasks.delete_task(&room.code, task.number, None).await.unwrap();
    let batch = ctx.tasks.changes(&room.code, 1, None).await.unwrap();
    assert_eq!(batch.changes.len(), 1);
    assert_eq!(batch.changes[0].event, ChangeEvent::TaskDeleted { number: task.number, id: task.id });
    assert_eq!(batch.changes[0].event.task_number(), Some(task.number));
}

/// Only the newest `change_retention` changes are kept; reading from before them is
/// ResyncNeeded, reading from the edge works.
pub async fn retention_drops_old_changes_and_asks_for_resync(factory: &dyn StoreFactory) {
    let ctx = Ctx::with_options(factory, StoreOptions::default().change_retention(5)).await;
    let room = ctx.room("alice").await;
    for i in 0..8 {
        ctx.create_titled(&room.code, &format!("t{i}")).await;
    }
    match ctx.tasks.changes(&room.code, 0, None).await {
        Err(Error::ResyncNeeded { since: 0, oldest: 4, latest: 8 }) => {}
        other => panic!("expected ResyncNeeded {{ since: 0, oldest: 4, latest: 8 }}, got {other:?}"),
    }
    assert!(matches!(ctx.tasks.changes(&room.code, 2, None).await, Err(Error::ResyncNeeded { .. })));
    let edge = ctx.tasks.changes(&room.code, 3, None).await.unwrap();
    assert_eq!(edge.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [4, 5, 6, 7, 8]);
    assert_eq!(ctx.numbers(&room.code, Default::default()).await.len(), 8, "retention never touches tasks");
}

/// Asking for changes after a sequence the room has not reached is Invalid on `since`.
pub async fn since_beyond_latest_is_invalid(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    assert_invalid(ctx.tasks.changes(&room.code, 1, None).await, "since");
    ctx.create_titled(&room.code, "t").await;
    assert_invalid(ctx.tasks.changes(&room.code, 2, None).await, "since");
    assert!(ctx.tasks.changes(&room.code, 1, None).await.unwrap().changes.is_empty());
}

/// Writes that fail or change nothing append nothing.
pub async fn rejected_writes_record_nothing(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    ctx.create_titled(&room.code, "t").await;
    let stale = TaskPatch { title: Patch::Set("x".into()), expected_version: Some(7), ..TaskPatch::default() };
    assert!(ctx.tasks.update_task(&room.code, 1, &stale).await.is_err());
    assert!(ctx.tasks.delete_task(&room.code, 1, Some(7)).await.is_err());
    assert!(ctx.tasks.create_task(&room.code, &NewTask::titled(""), None).await.is_err());
    assert!(ctx.tasks.delete_task(&room.code, 9, None).await.is_err());
    ctx.tasks.join_room(&room.code, "ALICE").await.unwrap();
    ctx.tasks.update_task(&room.code, 1, &TaskPatch::default()).await.unwrap();
    assert_eq!(ctx.tasks.changes(&room.code, 0, None).await.unwrap().latest, 1);
}

/// Each room has its own sequence.
pub async fn feeds_are_per_room(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let a = ctx.room("alice").await;
    let b = ctx.room("bob").await;
    ctx.create_titled(&a.code, "a1").await;
    ctx.create_titled(&a.code, "a2").await;
    ctx.create_titled(&b.code, "b1").await;
    let in_b = ctx.tasks.changes(&b.code, 0, None).await.unwrap();
    assert_eq!(in_b.latest, 1);
    assert_eq!(in_b.changes.len(), 1);
    assert_eq!(in_b.changes[0].seq, 1);
    assert_eq!(ctx.tasks.changes(&a.code, 0, None).await.unwrap().latest, 2);
}

/// `latest_seq` is the sequence of the newest change, read cheaply: 0 for a new room, then
/// one more per mutation, and `NotFound` for an unknown room.
pub async fn latest_seq_follows_every_write(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    assert_eq!(ctx.store.latest_seq(&room.code).await.unwrap(), 0, "a new room");
    ctx.tasks.join_room(&room.code, "bob").await.unwrap();
    ctx.create_titled(&room.code, "t").await;
    ctx.tasks.complete_task(&room.code, 1, None).await.unwrap();
    assert_eq!(ctx.store.latest_seq(&room.code).await.unwrap(), 3);
    ctx.tasks.delete_task(&room.code, 1, None).await.unwrap();
    let batch = ctx.tasks.changes(&room.code, 0, None).await.unwrap();
    assert_eq!(ctx.store.latest_seq(&room.code).await.unwrap(), batch.latest);
    assert_eq!(batch.latest, 4);
    let unknown: crate::room::RoomCode = "ZZZZZZ".parse().unwrap();
    super::support::assert_not_found(ctx.store.latest_seq(&unknown).await, "room");
}
