//! Behaviours of listings: every filter, every sort in both directions, keyset paging, limits
//! and the counts that come with a page.

use time::Duration;

use super::StoreFactory;
use super::support::{Ctx, START, assert_invalid};
use crate::input::NewTask;
use crate::priority::Priority;
use crate::query::{Cursor, SearchText, SortDir, SortKey, StatusFilter, TaskQuery};
use crate::room::{MemberName, RoomCode};
use crate::tag::Tag;
use crate::task::Task;

async fn seed_mixed(ctx: &Ctx, code: &RoomCode) -> Vec<Task> {
    ctx.tasks.join_room(code, "Bob").await.unwrap();
    let specs = [
        ("Write report", "quarterly numbers", "high", Some("2026-03-09"), vec!["work"], Some("bob"), true),
        ("buy milk", "", "low", Some("2026-03-11"), vec!["home"], None, false),
        (
            "Call plumber",
            "kitchen sink leaks",
            "medium",
            Some("2026-03-10 08:00:00"),
            vec!["home", "urgent"],
            Some("alice"),
            false,
        ),
        ("Review PR", "the REPORT generator", "high", None, vec!["work"], Some("Bob"), false),
        ("Plan trip", "été à Paris", "low", Some("2026-04-01"), vec![], None, true),
    ];
    let mut out = Vec::new();
    for (title, description, priority, due, tags, assignee, done) in specs {
        let mut input = NewTask::titled(title).description(description).priority(priority).tags(tags);
        if let Some(due) = due {
            input = input.due_date(due);
        }
        if let Some(who) = assignee {
            input = input.assignee(who);
        }
        let mut task = ctx.create(code, input).await;
        if done {
            task = ctx.tasks.complete_task(code, task.number, None).await.unwrap();
        }
        out.push(task);
    }
    out
}

/// Without options a listing is every task by number ascending, with `matched` and `total`.
pub async fn default_listing_is_by_number_with_totals(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let tasks = seed_mixed(&ctx, &room.code).await;
    let page = ctx.tasks.list_tasks(&room.code, &TaskQuery::default()).await.unwrap();
    assert_eq!(page.items, tasks);
    assert_eq!((page.matched, page.total), (5, 5));
    assert_eq!(page.next_cursor, None);
}

/// `status` selects pending or completed tasks; `matched` counts them, `total` all.
pub async fn status_filter(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    seed_mixed(&ctx, &room.code).await;
    let pending = ctx.tasks.list_tasks(&room.code, &TaskQuery::default().status(StatusFilter::Pending)).await.unwrap();
    assert_eq!(pending.items.iter().map(|t| t.number).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!((pending.matched, pending.total), (3, 5));
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().status(StatusFilter::Completed)).await, [1, 5]);
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().status(StatusFilter::All)).await, [1, 2, 3, 4, 5]);
}

/// `priority` selects one level.
pub async fn priority_filter(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    seed_mixed(&ctx, &room.code).await;
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().priority(Priority::High)).await, [1, 4]);
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().priority(Priority::Medium)).await, [3]);
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().priority(Priority::Low)).await, [2, 5]);
}

/// `tag` selects tasks carrying the tag, matched after normalisation.
pub async fn tag_filter(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    seed_mixed(&ctx, &room.code).await;
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().tag(Tag::parse("HOME").unwrap())).await, [2, 3]);
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().tag(Tag::parse("urgent").unwrap())).await, [3]);
    assert!(ctx.numbers(&room.code, TaskQuery::default().tag(Tag::parse("wor").unwrap())).await.is_empty());
}

/// `assignee` selects tasks of one member, whatever the case of the name.
pub async fn assignee_filter_ignores_case(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    seed_mixed(&ctx, &room.code).await;
    let bob = MemberName::parse("BOB").unwrap();
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().assignee(bob)).await, [1, 4]);
    let alice = MemberName::parse("alice").unwrap();
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().assignee(alice)).await, [3]);
    let eve = MemberName::parse("eve").unwrap();
    assert!(ctx.numbers(&room.code, TaskQuery::default().assignee(eve)).await.is_empty());
}

/// `q` finds text in titles and descriptions, ignoring case, in any script.
pub async fn text_search_looks_in_title_and_description(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    seed_mixed(&ctx, &room.code).await;
    let search = |text: &str| TaskQuery::default().text(SearchText::parse(text).unwrap());
    assert_eq!(ctx.numbers(&room.code, search("report")).await, [1, 4], "title and description");
    assert_eq!(ctx.numbers(&room.code, search("SINK")).await, [3]);
    assert_eq!(ctx.numbers(&room.code, search("ÉTÉ")).await, [5], "unicode case folding");
    assert_eq!(ctx.numbers(&room.code, search("%")).await, Vec::<u64>::new(), "wildcards are literal");
    assert_eq!(ctx.numbers(&room.code, search("_")).await, Vec::<u64>::new(), "wildcards are literal");
    let underscored = ctx.create_titled(&room.code, "snake_case 100%").await;
    assert_eq!(ctx.numbers(&room.code, search("e_c")).await, [underscored.number]);
    assert_eq!(ctx.numbers(&room.code, search("0%")).await, [underscored.number]);
}

/// `due_after` is inclusive, `due_before` exclusive; tasks without a due date match neither.
pub async fn due_range_is_half_open(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let day = |d: i64| START + Duration::days(d);
    for d in [1, 2, 3] {
        ctx.create(&room.code, NewTask::titled(format!("d{d}")).due_date(crate::format_timestamp(day(d)))).await;
    }
    ctx.create_titled(&room.code, "undated").await;
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().due_after(day(2))).await, [2, 3]);
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().due_before(day(2))).await, [1]);
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().due_after(day(1)).due_before(day(3))).await, [1, 2]);
    assert!(ctx.numbers(&room.code, TaskQuery::default().due_after(day(3)).due_before(day(3))).await.is_empty());
}

/// `overdue` selects pending tasks due before the clock's now.
pub async fn overdue_filter_follows_the_clock(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let at = |h: i64| crate::format_timestamp(START + Duration::hours(h));
    ctx.create(&room.code, NewTask::titled("later").due_date(at(1))).await;
    let done = ctx.create(&room.code, NewTask::titled("done").due_date(at(-1))).await;
    ctx.tasks.complete_task(&room.code, done.number, None).await.unwrap();
    ctx.create(&room.code, NewTask::titled("late").due_date(at(-1))).await;
    ctx.create(&room.code, NewTask::titled("exactly now").due_date(at(0))).await;
    ctx.create_titled(&room.code, "undated").await;
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().overdue_only()).await, [3]);
    ctx.clock.advance(Duration::hours(2));
    assert_eq!(ctx.numbers(&room.code, TaskQuery::default().overdue_only()).await, [1, 3, 4]);
}

/// Filters combine with AND.
pub async fn filters_combine(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    seed_mixed(&ctx, &room.code).await;
    let query = TaskQuery::default().status(StatusFilter::Pending).priority(Priority::High);
    assert_eq!(ctx.numbers(&room.code, query).await, [4]);
    let query = TaskQuery::default().tag(Tag::parse("home").unwrap()).text(SearchText::parse("milk").unwrap());
    assert_eq!(ctx.numbers(&room.code, query).await, [2]);
    let query = TaskQuery::default().status(StatusFilter::Completed).tag(Tag::parse("urgent").unwrap());
    let page = ctx.tasks.list_tasks(&room.code, &query).await.unwrap();
    assert!(page.items.is_empty());
    assert_eq!((page.matched, page.total), (0, 5));
}

/// For every sort key and direction, paging through small pages yields exactly the reference
/// order ([`TaskQuery::compare`]), ties broken by number.
pub async fn every_sort_pages_in_reference_order(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let titles = ["banana", "Apple", "cherry", "apple", "Banana", "ápple", "Zed", "zed", "éclair", "apple"];
    let mut all = Vec::new();
    for i in 0..30_i64 {
        let mut input = NewTask::titled(titles[(i as usize * 7) % titles.len()])
            .priority(["low", "medium", "high"][(i as usize * 5) % 3]);
        if i % 4 != 0 {
            input = input.due_date(crate::format_timestamp(START + Duration::hours((i * 13) % 9)));
        }
        if i % 3 == 0 {
            ctx.clock.advance(Duration::seconds(1)); // every third pair of tasks shares a creation time
        }
        all.push(ctx.create(&room.code, input).await);
    }
    for key in [SortKey::Number, SortKey::Created, SortKey::Due, SortKey::Priority, SortKey::Title] {
        for dir in [SortDir::Asc, SortDir::Desc] {
            let query = TaskQuery::default().sort(key, dir).limit(7);
            let mut expected = all.clone();
            expected.sort_by(|a, b| query.compare(a, b));
            let got = ctx.list_all(&room.code, query).await;
            let numbers = |tasks: &[Task]| tasks.iter().map(|t| t.number).collect::<Vec<_>>();
            assert_eq!(numbers(&got), numbers(&expected), "sort {key:?} {dir:?}");
        }
    }
}

/// Paging a filtered listing visits each matching task once, and every page reports the same
/// `matched`.
pub async fn filtered_paging_visits_each_match_once(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    for i in 0..60 {
        ctx.create(&room.code, NewTask::titled(format!("t{i}")).priority(if i % 3 == 0 { "high" } else { "low" }))
            .await;
    }
    let mut query = TaskQuery::default().priority(Priority::High).sort(SortKey::Title, SortDir::Desc).limit(4);
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = ctx.tasks.list_tasks(&room.code, &query).await.unwrap();
        assert_eq!((page.matched, page.total), (20, 60));
        assert!(page.items.len() <= 4);
        pages += 1;
        seen.extend(page.items.iter().map(|t| t.number));
        match page.next_cursor {
            Some(cursor) => query.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(pages, 5, "20 matches in pages of 4, the last one full and without a cursor");
    seen.sort_unstable();
    assert_eq!(seen, (0..20).map(|i| i * 3 + 1).collect::<Vec<u64>>());
}

/// The limit is 1 to 500; the default is 50.
pub async fn limits_are_bounded(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    for i in 0..60 {
        ctx.create_titled(&room.code, &format!("t{i}")).await;
    }
    let page = ctx.tasks.list_tasks(&room.code, &TaskQuery::default()).await.unwrap();
    assert_eq!(page.items.len(), 50);
    assert!(page.next_cursor.is_some());
    assert_invalid(ctx.tasks.list_tasks(&room.code, &TaskQuery::default().limit(0)).await, "limit");
    assert_invalid(ctx.tasks.list_tasks(&room.code, &TaskQuery::default().limit(501)).await, "limit");
    assert_eq!(ctx.tasks.list_tasks(&room.code, &TaskQuery::default().limit(500)).await.unwrap().items.len(), 60);
    assert_eq!(ctx.tasks.list_tasks(&room.code, &TaskQuery::default().limit(1)).await.unwrap().items.len(), 1);
}

/// A cursor only continues the order it came from; a forged one is Invalid on `cursor`.
pub async fn cursor_of_another_sort_is_rejected(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    for i in 0..3 {
        ctx.create_titled(&room.code, &format!("t{i}")).await;
    }
    let by_title = TaskQuery::default().sort(SortKey::Title, SortDir::Asc).limit(1);
    let cursor = ctx.tasks.list_tasks(&room.code, &by_title).await.unwrap().next_cursor.unwrap();
    let by_due = TaskQuery::default().sort(SortKey::Due, SortDir::Asc).after(cursor.clone());
    assert_invalid(ctx.tasks.list_tasks(&room.code, &by_due).await, "cursor");
    let reversed = TaskQuery::default().sort(SortKey::Title, SortDir::Desc).after(cursor.clone());
    assert_invalid(ctx.tasks.list_tasks(&room.code, &reversed).await, "cursor");
    assert_invalid(Cursor::decode("not-a-cursor"), "cursor");
    let text = cursor.encode();
    assert_eq!(Cursor::decode(&text).unwrap(), cursor, "a cursor survives its text form");
    let page = ctx.tasks.list_tasks(&room.code, &by_title.clone().after(Cursor::decode(&text).unwrap())).await.unwrap();
    assert_eq!(page.items[0].title, "t1");
}

/// A room without tasks lists nothing, with zero counts and no cursor.
pub async fn an_empty_room_lists_nothing(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let page = ctx.tasks.list_tasks(&room.code, &TaskQuery::default().sort(SortKey::Due, SortDir::Desc)).await.unwrap();
    assert!(page.items.is_empty());
    assert_eq!((page.matched, page.total, page.next_cursor), (0, 0, None));
}

/// Control characters — NUL included, which PostgreSQL text cannot hold — are Invalid in search
/// text and in a title cursor, whether the cursor came as text or was built by hand; a cursor
/// with ordinary unusual text still pages.
pub async fn control_characters_in_search_and_cursors_are_invalid(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let task = ctx.create_titled(&room.code, "a b").await;
    for text in ["a\0b", "\0", "x\u{7}y", "a\u{1b}[31m", "\u{85}"] {
        assert_invalid(TaskQuery::from_params([("q", text)], &[]), "q");
        assert_invalid(SearchText::parse(text), "q");
        let sort = crate::query::Sort { key: SortKey::Title, dir: SortDir::Asc };
        let cursor = Cursor { sort, value: crate::store::SortValue::Text(text.to_owned()), number: 1 };
        assert_invalid(Cursor::decode(&cursor.encode()), "cursor");
        let query = TaskQuery::default().sort(SortKey::Title, SortDir::Asc).after(cursor);
        assert_invalid(ctx.tasks.list_tasks(&room.code, &query).await, "cursor");
    }
    let sort = crate::query::Sort { key: SortKey::Title, dir: SortDir::Asc };
    let cursor = Cursor { sort, value: crate::store::SortValue::Text("a \u{a0}é🦀'%_\\".to_owned()), number: 0 };
    let query =
        TaskQuery::default().sort(SortKey::Title, SortDir::Asc).after(Cursor::decode(&cursor.encode()).unwrap());
    assert_eq!(ctx.tasks.list_tasks(&room.code, &query).await.unwrap().items.len(), 0, "'a b' sorts before it");
    let query = TaskQuery::default().text(SearchText::parse(" A B ").unwrap());
    assert_eq!(ctx.tasks.list_tasks(&room.code, &query).await.unwrap().items, vec![task]);
}
