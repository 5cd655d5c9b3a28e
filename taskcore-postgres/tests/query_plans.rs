//! `EXPLAIN` of every listing shape and of the statistics on 100,000 tasks: each reads the tasks
//! of one room through an index, never with `Seq Scan on tasks`.
//!
//! The tasks are spread as a multi-tenant deployment holds them: one large room of
//! [`BIG_ROOM`] tasks and [`SMALL_ROOMS`] rooms of [`SMALL_ROOM`] tasks, inserted with one
//! `INSERT … SELECT generate_series` per room, then analysed.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed step is a failed test")]

mod common;

use std::sync::Arc;

use taskcore::store::SortValue;
use taskcore::{
    Cursor, ManualClock, MemberName, Priority, SearchText, Sort, SortDir, SortKey, StatusFilter, Tag, TaskManager,
    TaskQuery,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00:00 UTC);
const BIG_ROOM: i64 = 20_000;
const SMALL_ROOMS: i64 = 80;
const SMALL_ROOM: i64 = 1_000;

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
    Cursor { sort: Sort { key, dir }, value, number: 100 }
}

fn assert_no_seq_scan(plan: &[String], what: &str) {
    assert!(!plan.is_empty(), "{what}: no plan");
    assert!(
        !plan.iter().any(|line| line.contains("Seq Scan on tasks")),
        "{what}: sequential scan of tasks in plan\n{}",
        plan.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_listing_or_stats_query_scans_the_tasks_table() {
    let schema = common::fresh_schema();
    let _guard = common::SchemaGuard(schema.clone());
    let store = Arc::new(common::open(common::config(&schema)).await);
    let tasks = TaskManager::new(store.clone()).with_clock(Arc::new(ManualClock::new(NOW)));
    let big = tasks.create_room("alice").await.unwrap();
    tasks.join_room(&big.code, "bob").await.unwrap();
    common::seed(&schema, &big.code, BIG_ROOM, NOW).await;
    for _ in 0..SMALL_ROOMS {
        let room = tasks.create_room("carol").await.unwrap();
        common::seed(&schema, &room.code, SMALL_ROOM, NOW).await;
    }
    common::analyze(&schema).await;
    let stats = tasks.stats(&big.code).await.unwrap();
    assert_eq!((stats.total, stats.completed), (20_000, 10_000));
    assert_eq!(BIG_ROOM + SMALL_ROOMS * SMALL_ROOM, 100_000);

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
                    assert_no_seq_scan(&plan, &format!("{query:?}"));
                    let page = tasks.list_tasks(&big.code, &query).await.unwrap();
                    assert!(page.items.len() <= 50);
                    assert!(page.items.iter().all(|task| query.matches(task, NOW) && query.is_after_cursor(task)));
                    shapes += 1;
                }
            }
        }
    }
    assert_eq!(shapes, 15 * 5 * 2 * 2);
    let plan = store.explain_counts(&big.code, NOW).await.unwrap();
    if std::env::var_os("SHOW_PLANS").is_some() {
        println!("counts\n  {}", plan.join("\n  "));
    }
    assert_no_seq_scan(&plan, "counts");
    store.close().await;
}
