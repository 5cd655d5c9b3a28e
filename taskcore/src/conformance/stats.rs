//! Behaviours of per-room statistics.

use time::Duration;

use super::StoreFactory;
use super::support::{Ctx, START};
use crate::input::NewTask;
use crate::stats::PriorityCounts;

/// A room without tasks has zero counts and a 0 % completion rate.
pub async fn empty_room_stats_are_zero(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let stats = ctx.tasks.stats(&room.code).await.unwrap();
    assert_eq!((stats.total, stats.completed, stats.pending, stats.overdue), (0, 0, 0, 0));
    assert_eq!(stats.completion_rate, 0.0);
    assert_eq!(stats.by_priority, PriorityCounts::default());
}

/// Stats count completed, pending and each priority; the rate is a percentage to 2 decimals.
pub async fn stats_count_by_state_and_priority(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    for priority in ["high", "high", "low"] {
        ctx.create(&room.code, NewTask::titled("t").priority(priority)).await;
    }
    ctx.tasks.complete_task(&room.code, 1, None).await.unwrap();
    let stats = ctx.tasks.stats(&room.code).await.unwrap();
    assert_eq!((stats.total, stats.completed, stats.pending), (3, 1, 2));
    assert_eq!(stats.completion_rate, 33.33);
    assert_eq!(stats.by_priority, PriorityCounts { low: 1, medium: 0, high: 2 });
    ctx.tasks.complete_task(&room.code, 2, None).await.unwrap();
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().completion_rate, 66.67);
    ctx.tasks.reopen_task(&room.code, 1, None).await.unwrap();
    ctx.tasks.reopen_task(&room.code, 2, None).await.unwrap();
    let patch = crate::TaskPatch { priority: crate::Patch::Set("medium".into()), ..Default::default() };
    ctx.tasks.update_task(&room.code, 3, &patch).await.unwrap();
    let stats = ctx.tasks.stats(&room.code).await.unwrap();
    assert_eq!((stats.completed, stats.pending, stats.completion_rate), (0, 3, 0.0));
    assert_eq!(stats.by_priority, PriorityCounts { low: 0, medium: 1, high: 2 });
}

/// Overdue counts pending tasks due before now, as the clock moves (to the microsecond, with
/// no write in between).
pub async fn overdue_follows_the_clock(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let at = |h: i64| crate::format_timestamp(START + Duration::hours(h));
    ctx.create(&room.code, NewTask::titled("past").due_date(at(-2))).await;
    ctx.create(&room.code, NewTask::titled("soon").due_date(at(1))).await;
    ctx.create(&room.code, NewTask::titled("later").due_date(at(5))).await;
    let done = ctx.create(&room.code, NewTask::titled("done past").due_date(at(-3))).await;
    ctx.tasks.complete_task(&room.code, done.number, None).await.unwrap();
    ctx.create_titled(&room.code, "undated").await;
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().overdue, 1);
    // Nothing changes but the clock: at the due instant "soon" is not overdue yet, a
    // microsecond later it is (the same answer twice in a row, then the new one).
    ctx.clock.advance(Duration::hours(1));
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().overdue, 1);
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().overdue, 1);
    ctx.clock.advance(Duration::microseconds(1));
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().overdue, 2);
    ctx.clock.advance(Duration::hours(1) - Duration::microseconds(1));
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().overdue, 2);
    ctx.clock.advance(Duration::days(1));
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().overdue, 3);
    ctx.tasks.complete_task(&room.code, 1, None).await.unwrap();
    assert_eq!(ctx.tasks.stats(&room.code).await.unwrap().overdue, 2);
}

/// Deleted tasks count nowhere.
pub async fn deleted_tasks_leave_the_stats(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let overdue = crate::format_timestamp(START - Duration::hours(1));
    ctx.create(&room.code, NewTask::titled("a").priority("high").due_date(&overdue)).await;
    ctx.create(&room.code, NewTask::titled("b").priority("low")).await;
    ctx.tasks.complete_task(&room.code, 2, None).await.unwrap();
    ctx.tasks.delete_task(&room.code, 1, None).await.unwrap();
    ctx.tasks.delete_task(&room.code, 2, None).await.unwrap();
    ctx.create_titled(&room.code, "c").await;
    let stats = ctx.tasks.stats(&room.code).await.unwrap();
    assert_eq!((stats.total, stats.completed, stats.pending, stats.overdue), (1, 0, 1, 0));
    assert_eq!(stats.by_priority, PriorityCounts { low: 0, medium: 1, high: 0 });
}
