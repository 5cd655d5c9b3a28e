//! `EXPLAIN QUERY PLAN` of every listing shape and of the statistics: each reads the tasks of one
//! room through an index (`SEARCH`), never scanning the tasks of all rooms.

#![allow(clippy::unwrap_used, reason = "helpers outside #[test] functions; a failure is a test failure")]

use std::sync::Arc;

use taskcore::store::SortValue;
use taskcore::{
    Cursor, IdempotencyKey, ManualClock, MemberName, NewTask, Priority, SearchText, SortDir, SortKey, StatusFilter,
    Tag, TaskManager, TaskQuery, TaskStore,
};
use taskcore_sqlite::SqliteStore;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::task::JoinSet;

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00:00 UTC);

/// A room of `n` varied tasks (priorities, due dates, tags, assignees, completion).
async fn seed(tasks: &TaskManager, owner: &str, n: usize) -> taskcore::Room {
    let room = tasks.create_room(owner).await.unwrap();
    tasks.join_room(&room.code, "bob").await.unwrap();
    let mut writers = JoinSet::new();
    for worker in 0..16 {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        writers.spawn(async move {
            for i in (worker..n).step_by(16) {
                let mut input = NewTask::titled(format!("task {i} of {worker}"))
                    .description(format!("details {}", i % 97))
                    .priority(["low", "medium", "high"][i % 3])
                    .tags([format!("t{}", i % 10)]);
                if i % 4 != 0 {
                    input = input.due_date(taskcore::format_timestamp(NOW + Duration::hours(i as i64 % 200 - 100)));
                }
                if i % 5 == 0 {
                    input = input.assignee("bob");
                }
                let key = IdempotencyKey::parse(&format!("k{i}")).unwrap();
                let task = tasks.create_task(&code, &input, Some(&key)).await.unwrap().into_task();
                if i % 2 == 0 {
                    tasks.complete_task(&code, task.number, None).await.unwrap();
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    room
}

/// Every filter alone and in typical combinations.
fn filter_sets() -> Vec<TaskQuery> {
    let q = TaskQuery::default;
    vec![
        q(),
        q().status(StatusFilter::Pending),
        q().status(StatusFilter::Completed),
        q().priority(Priority::High),
        q().tag(Tag::parse("t3").unwrap()),
        q().assignee(MemberName::parse("BOB").unwrap()),
        q().text(SearchText::parse("details 4").unwrap()),
        q().due_before(NOW),
        q().due_after(NOW),
        q().due_after(NOW - Duration::days(1)).due_before(NOW + Duration::days(1)),
        q().overdue_only(),
        q().status(StatusFilter::Pending).priority(Priority::High),
        q().status(StatusFilter::Pending).tag(Tag::parse("t1").unwrap()),
        q().tag(Tag::parse("t2").unwrap()).text(SearchText::parse("task").unwrap()),
        q().assignee(MemberName::parse("bob").unwrap()).overdue_only(),
    ]
}

fn cursor_for(key: SortKey, dir: SortDir) -> Cursor {
    let value = match key {
        SortKey::Title => SortValue::Text("task 5".into()),
        SortKey::Number => SortValue::Int(100),
        SortKey::Created | SortKey::Due => SortValue::Int(taskcore::store::unix_micros(NOW)),
        SortKey::Priority => SortValue::Int(1),
    };
    Cursor { sort: taskcore::Sort { key, dir }, value, number: 100 }
}

fn assert_no_scan(plan: &[String], what: &str) {
    assert!(!plan.is_empty(), "{what}: no plan");
    for line in plan {
        assert!(!line.starts_with("SCAN"), "{what}: full scan in plan {plan:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_listing_or_stats_query_scans_all_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let store = Arc::new(SqliteStore::open(&url).await.unwrap());
    let clock = ManualClock::new(NOW - Duration::days(1));
    let tasks = TaskManager::new(store.clone()).with_clock(Arc::new(clock));
    let big = seed(&tasks, "alice", 3_000).await;
    let other = seed(&tasks, "carol", 300).await;

    let mut shapes = 0;
    for base in filter_sets() {
        for key in [SortKey::Number, SortKey::Created, SortKey::Due, SortKey::Priority, SortKey::Title] {
            for dir in [SortDir::Asc, SortDir::Desc] {
                for cursor in [None, Some(cursor_for(key, dir))] {
                    let mut query = base.clone().sort(key, dir);
                    query.after = cursor;
                    let plan = store.explain_listing(&big.code, &query, NOW).await.unwrap();
                    if std::env::var_os("SHOW_PLANS").is_some() {
                        println!("{query:?}\n  {}", plan.join("\n  "));
                    }
                    assert_no_scan(&plan, &format!("{query:?}"));
                    // The listing itself agrees with the reference semantics on this data.
                    let page = tasks.list_tasks(&big.code, &query).await.unwrap();
                    assert!(page.items.len() <= 50);
                    shapes += 1;
                }
            }
        }
    }
    assert_eq!(shapes, 15 * 5 * 2 * 2);
    assert_no_scan(&store.explain_counts(&big.code, NOW).await.unwrap(), "counts");
    assert_no_scan(&store.explain_counts(&other.code, NOW).await.unwrap(), "counts of another room");
    let stats = tasks.stats(&big.code).await.unwrap();
    assert_eq!((stats.total, stats.completed), (3_000, 1_500));

    // The maintained per-day overdue counts agree with counting the overdue listing, at instants
    // across several days (including day boundaries and the middle of a day).
    for hours in [-120, -49, -24, -1, 0, 1, 7, 24, 50, 101] {
        let now = NOW + Duration::hours(hours) + Duration::microseconds(hours.rem_euclid(3));
        let counts = store.counts(&big.code, now).await.unwrap();
        let listed = store.list_tasks(&big.code, &TaskQuery::default().overdue_only(), now).await.unwrap();
        assert_eq!(counts.overdue, listed.matched, "overdue at {now}");
    }
}
