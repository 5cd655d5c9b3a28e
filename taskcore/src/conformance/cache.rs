//! Behaviours of the read cache over a real store: a cached reader in one "process" sees
//! every kind of write made through another at once, recovers from gaps in the feed, stays
//! correct while evicting or when a room is too large, never misses an acknowledged write
//! under concurrency, and streams listings in chunks up to a cap.

use std::sync::{Arc, Mutex};

use time::Duration;

use super::StoreFactory;
use super::support::Ctx;
use crate::cache::CacheOptions;
use crate::input::{NewTask, TaskPatch};
use crate::manager::TaskManager;
use crate::patch::Patch;
use crate::query::{SortDir, SortKey, StatusFilter, TaskQuery};
use crate::room::RoomCode;
use crate::store::StoreOptions;
use crate::task::Task;

/// What a reader shows of a room, for comparing two managers.
async fn view(tasks: &TaskManager, code: &RoomCode) -> (Vec<Task>, String, Vec<String>) {
    let page = tasks.list_tasks(code, &TaskQuery::default().limit(500)).await.unwrap();
    let stats = tasks.stats(code).await.unwrap();
    let (room, mut listing) = tasks.room_with_tasks(code, 10_000).await.unwrap();
    let mut streamed = Vec::new();
    while let Some(chunk) = listing.next_chunk().await.unwrap() {
        streamed.extend(chunk.iter().map(|t| Task::clone(t)));
    }
    assert_eq!(streamed, page.items, "the streamed room listing equals the page");
    (page.items, format!("{stats:?}"), room.members.iter().map(ToString::to_string).collect())
}

/// Two managers over one store stand for two processes: every kind of write through the
/// writer is in the cached reader's next listing, stats and room — no staleness at all.
pub async fn a_cached_reader_sees_every_kind_of_write_at_once(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let reader = ctx.cached_reader(CacheOptions::default());
    let room = ctx.room("alice").await;
    let code = &room.code;
    let expect_same = |step: &'static str| {
        let (ctx, reader, code) = (ctx.clone(), reader.clone(), code.clone());
        async move {
            let truth = view(&ctx.tasks, &code).await;
            assert_eq!(view(&reader, &code).await, truth, "after {step}");
        }
    };
    expect_same("nothing").await;
    ctx.create(code, NewTask::titled("first").priority("high").due_date("2026-03-11")).await;
    expect_same("a create").await;
    let patch = TaskPatch { title: Patch::Set("renamed".into()), ..TaskPatch::default() };
    ctx.tasks.update_task(code, 1, &patch).await.unwrap();
    expect_same("an update").await;
    ctx.tasks.complete_task(code, 1, None).await.unwrap();
    expect_same("a completion").await;
    ctx.tasks.reopen_task(code, 1, None).await.unwrap();
    expect_same("a reopen").await;
    ctx.tasks.join_room(code, "bob").await.unwrap();
    expect_same("a join").await;
    ctx.create_titled(code, "second").await;
    ctx.tasks.delete_task(code, 1, None).await.unwrap();
    expect_same("a delete").await;
    ctx.clock.advance(Duration::days(2));
    expect_same("the clock passing a due date").await;
    let stats = reader.stats(code).await.unwrap();
    assert_eq!((stats.total, stats.pending), (1, 1));
    let cache = reader.cache().unwrap().stats();
    assert!(cache.hits > 0 && cache.loads >= 1, "answers came from the cache: {cache:?}");
}

/// When the feed no longer holds the changes a cached room misses, the room is loaded again.
pub async fn a_gap_in_the_feed_reloads_the_room(factory: &dyn StoreFactory) {
    let ctx = Ctx::with_options(factory, StoreOptions::default().change_retention(2)).await;
    let reader = ctx.cached_reader(CacheOptions::default());
    let room = ctx.room("alice").await;
    ctx.create_titled(&room.code, "a").await;
    assert_eq!(reader.list_tasks(&room.code, &TaskQuery::default()).await.unwrap().total, 1);
    let loads = reader.cache().unwrap().stats().loads;
    for i in 0..10 {
        ctx.create_titled(&room.code, &format!("t{i}")).await;
    }
    ctx.tasks.delete_task(&room.code, 1, None).await.unwrap();
    let listed = reader.list_tasks(&room.code, &TaskQuery::default().limit(500)).await.unwrap();
    let truth = ctx.tasks.list_tasks(&room.code, &TaskQuery::default().limit(500)).await.unwrap();
    assert_eq!(listed, truth);
    assert_eq!(listed.total, 10);
    assert!(reader.cache().unwrap().stats().loads > loads, "the gap made the room load again");
}

/// A cache far smaller than the rooms read evicts, and every answer stays right.
pub async fn eviction_keeps_answers_correct(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let reader = ctx.cached_reader(CacheOptions::default().max_bytes(6_000).max_room_bytes(5_000));
    let mut rooms = Vec::new();
    for r in 0..4 {
        let room = ctx.room("alice").await;
        for i in 0..5 {
            ctx.create_titled(&room.code, &format!("room {r} task {i}")).await;
        }
        rooms.push(room.code);
    }
    for round in 0..3 {
        for code in &rooms {
            ctx.create_titled(code, &format!("round {round}")).await;
            let listed = reader.list_tasks(code, &TaskQuery::default().limit(500)).await.unwrap();
            let truth = ctx.tasks.list_tasks(code, &TaskQuery::default().limit(500)).await.unwrap();
            assert_eq!(listed, truth, "round {round}");
        }
    }
    let stats = reader.cache().unwrap().stats();
    assert!(stats.evictions > 0, "a 6 kB cache cannot hold four rooms: {stats:?}");
    assert!(stats.bytes <= 6_000, "the bound holds: {stats:?}");
}

/// A room larger than a cached room may be is read from the store, with the same answers.
pub async fn rooms_too_large_to_cache_are_read_from_the_store(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let reader = ctx.cached_reader(CacheOptions::default().max_room_bytes(2_000));
    let room = ctx.room("alice").await;
    for i in 0..20 {
        ctx.create(&room.code, NewTask::titled(format!("task {i}")).description("d".repeat(200))).await;
    }
    let query = TaskQuery::default().sort(SortKey::Title, SortDir::Desc).limit(7);
    let listed = reader.list_tasks(&room.code, &query).await.unwrap();
    assert_eq!(listed, ctx.tasks.list_tasks(&room.code, &query).await.unwrap());
    let mut listing = reader.listing(&room.code, &TaskQuery::default(), 15).await.unwrap();
    let mut numbers = Vec::new();
    while let Some(chunk) = listing.next_chunk().await.unwrap() {
        numbers.extend(chunk.iter().map(|t| t.number));
    }
    assert_eq!(numbers, (1..=15).collect::<Vec<_>>());
    assert!(listing.next_cursor().is_some(), "capped at 15 of 20");
    let stats = reader.cache().unwrap().stats();
    assert!(stats.bypasses >= 2 && stats.rooms <= 1 && stats.bytes == 0, "{stats:?}");
}

/// Writers and cached readers race; every listing holds every task whose create was
/// acknowledged before the listing started.
pub async fn readers_never_miss_an_acknowledged_write(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    let acknowledged: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (tasks, code, acknowledged) = (ctx.tasks.clone(), room.code.clone(), Arc::clone(&acknowledged));
        writers.push(tokio::spawn(async move {
            for i in 0..25 {
                let input = NewTask::titled(format!("w{w} #{i}"));
                let task = tasks.create_task(&code, &input, None).await.unwrap().into_task();
                acknowledged.lock().unwrap().push(task.number);
            }
        }));
    }
    let mut readers = Vec::new();
    for r in 0..4 {
        let reader = ctx.cached_reader(CacheOptions::default());
        let (code, acknowledged) = (room.code.clone(), Arc::clone(&acknowledged));
        readers.push(tokio::spawn(async move {
            for _ in 0..40 {
                let before: Vec<u64> = acknowledged.lock().unwrap().clone();
                let query =
                    if r % 2 == 0 { TaskQuery::default() } else { TaskQuery::default().status(StatusFilter::Pending) };
                let listed = reader.list_tasks(&code, &query.limit(500)).await.unwrap();
                let numbers: Vec<u64> = listed.items.iter().map(|t| t.number).collect();
                for number in before {
                    assert!(numbers.contains(&number), "task {number} was acknowledged before the read");
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for handle in writers.into_iter().chain(readers) {
        handle.await.unwrap();
    }
    let reader = ctx.cached_reader(CacheOptions::default());
    assert_eq!(reader.list_tasks(&room.code, &TaskQuery::default()).await.unwrap().total, 100);
}

/// A listing hands out every selected task in order, in chunks, and says where the next page
/// starts when the cap cut it; filters and sorts agree with the store's pages.
pub async fn listings_stream_in_chunks_up_to_the_cap(factory: &dyn StoreFactory) {
    let ctx = Ctx::new(factory).await;
    let room = ctx.room("alice").await;
    for i in 0..600 {
        let priority = ["low", "medium", "high"][i % 3];
        ctx.create(&room.code, NewTask::titled(format!("task {:03}", 599 - i)).priority(priority)).await;
    }
    for tasks in [ctx.tasks.clone(), ctx.cached_reader(CacheOptions::default())] {
        let query = TaskQuery::default().sort(SortKey::Title, SortDir::Asc).status(StatusFilter::Pending);
        let mut listing = tasks.listing(&room.code, &query, 450).await.unwrap();
        assert_eq!((listing.matched(), listing.total()), (600, 600));
        let mut streamed = Vec::new();
        while let Some(chunk) = listing.next_chunk().await.unwrap() {
            assert!(!chunk.is_empty());
            streamed.extend(chunk.iter().map(|t| Task::clone(t)));
        }
        let expected = ctx.list_all(&room.code, query.clone()).await;
        assert_eq!(streamed, expected[..450], "the first 450 in title order");
        let cursor = listing.next_cursor().cloned().expect("more after the cap");
        let rest = ctx.list_all(&room.code, query.clone().after(cursor)).await;
        assert_eq!(rest, expected[450..], "the cursor continues where the cap stopped");
        let uncapped = tasks.listing(&room.code, &TaskQuery::default(), 10_000).await.unwrap();
        assert_eq!(uncapped.seq(), 600, "a listing says which change it is current to");
    }
}
