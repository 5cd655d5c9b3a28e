//! The same room built in `MemoryStore` (the reference) and in `RedisStore`, then listed with many
//! filter, sort and page-size combinations: every page sequence, `matched`, `total` and the
//! statistics agree. Small and large page sizes drive every way a listing finds rows (one
//! walking step, ordering a small filter set, the chunked pass over every task, a due range or a
//! filter set), and a second store on the same keys with a scan step of 5 drives the rest:
//! walks continued over many steps, the switch from a walk to a pass, and counting passes.

mod support;

use std::sync::Arc;

use taskcore::{
    Clock, ManualClock, MemberName, MemoryStore, NewTask, Priority, SearchText, SortDir, SortKey, StatusFilter,
    StoreOptions, Tag, TaskManager, TaskQuery,
};
use time::Duration;
use time::macros::datetime;

/// A small deterministic generator, so a failure is reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

const TITLES: [&str; 8] = ["Alpha", "alpha", "beta report", "Beta", "Éclair", "zeta", "a", "Report the bug"];
const DUES: [Option<&str>; 5] = [None, Some("2026-03-01"), Some("2026-03-10 08:00:00"), Some("2026-03-20"), None];

async fn build(tasks: &TaskManager, clock: &ManualClock) -> taskcore::RoomCode {
    let room = tasks.create_room("alice").await.expect("create room");
    tasks.join_room(&room.code, "Bob").await.expect("join room");
    let mut rng = Lcg(7);
    for i in 0..240 {
        let mut input = NewTask::titled(TITLES[rng.next(8) as usize])
            .description(if rng.next(3) == 0 { "mentions the REPORT" } else { "" })
            .priority(["low", "medium", "high"][rng.next(3) as usize])
            .tags(match rng.next(4) {
                0 => vec![],
                1 => vec!["home"],
                2 => vec!["work", "urgent"],
                _ => vec!["work"],
            });
        if let Some(due) = DUES[rng.next(5) as usize] {
            input = input.due_date(due);
        }
        match rng.next(3) {
            0 => input = input.assignee("bob"),
            1 => input = input.assignee("alice"),
            _ => {}
        }
        let task = tasks.create_task(&room.code, &input, None).await.expect("create task").into_task();
        if rng.next(3) == 0 {
            tasks.complete_task(&room.code, task.number, None).await.expect("complete task");
        }
        if rng.next(10) == 0 {
            tasks.delete_task(&room.code, task.number, None).await.expect("delete task");
        }
        if i % 17 == 0 {
            clock.advance(Duration::minutes(5));
        }
    }
    room.code
}

fn queries() -> Vec<TaskQuery> {
    let filters = [
        TaskQuery::default(),
        TaskQuery::default().status(StatusFilter::Pending),
        TaskQuery::default().status(StatusFilter::Completed).priority(Priority::High),
        TaskQuery::default().tag(Tag::parse("urgent").expect("tag")),
        TaskQuery::default().tag(Tag::parse("work").expect("tag")).assignee(MemberName::parse("BOB").expect("name")),
        TaskQuery::default().text(SearchText::parse("report").expect("text")),
        TaskQuery::default().due_before(datetime!(2026-03-15 00:00 UTC)),
        TaskQuery::default().due_after(datetime!(2026-03-10 08:00 UTC)).priority(Priority::Low),
        TaskQuery::default().overdue_only(),
        TaskQuery::default()
            .overdue_only()
            .tag(Tag::parse("home").expect("tag"))
            .text(SearchText::parse("a").expect("text")),
    ];
    let mut out = Vec::new();
    for filter in filters {
        for key in [SortKey::Number, SortKey::Created, SortKey::Due, SortKey::Priority, SortKey::Title] {
            for dir in [SortDir::Asc, SortDir::Desc] {
                for limit in [1, 7, 500] {
                    out.push(filter.clone().sort(key, dir).limit(limit));
                }
            }
        }
    }
    out
}

/// Every page of `query`: the numbers of each page, `matched` and `total` of the first.
async fn pages(tasks: &TaskManager, code: &taskcore::RoomCode, query: &TaskQuery) -> (Vec<Vec<u64>>, u64, u64) {
    let mut query = query.clone();
    let mut out = Vec::new();
    let mut counts = None;
    loop {
        let page = tasks.list_tasks(code, &query).await.expect("list tasks");
        counts.get_or_insert((page.matched, page.total));
        out.push(page.items.iter().map(|t| t.number).collect());
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    let (matched, total) = counts.unwrap_or_default();
    (out, matched, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_and_stats_agree_with_the_memory_store() {
    let start = datetime!(2026-03-10 12:00 UTC);
    let (memory_clock, redis_clock) = (ManualClock::new(start), ManualClock::new(start));
    let memory = TaskManager::new(Arc::new(MemoryStore::new())).with_clock(Arc::new(memory_clock.clone()));
    let scoped = support::scoped_store(StoreOptions::default()).await;
    let small_steps =
        support::open_on_shared_with(scoped.store.prefix(), StoreOptions::default(), |c| c.scan_step(5)).await;
    let stepped = TaskManager::new(Arc::new(small_steps)).with_clock(Arc::new(redis_clock.clone()));
    let redis = TaskManager::new(support::shared(scoped)).with_clock(Arc::new(redis_clock.clone()));
    let memory_room = build(&memory, &memory_clock).await;
    let redis_room = build(&redis, &redis_clock).await;
    assert_eq!(memory_clock.now(), redis_clock.now());

    for query in queries() {
        let expected = pages(&memory, &memory_room, &query).await;
        let got = pages(&redis, &redis_room, &query).await;
        assert_eq!(got, expected, "query {query:?}");
        // Small steps multiply round trips: page through the chunked pass with them only in
        // pages of 500 (its paging is covered above), walks also in pages of 7.
        let row_filters =
            query.text.is_some() || query.due_before.is_some() || query.due_after.is_some() || query.overdue;
        if query.limit == 500 || (query.limit == 7 && !row_filters) {
            let got = pages(&stepped, &redis_room, &query).await;
            assert_eq!(got, expected, "query {query:?} with a scan step of 5");
        }
    }
    assert_eq!(redis.stats(&redis_room).await.unwrap(), memory.stats(&memory_room).await.unwrap());
}
