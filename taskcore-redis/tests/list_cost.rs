//! Listing is answered from the indexes: on a private `redis-server` holding a room of 20,000
//! tasks, `INFO commandstats` shows that a page of 50 reads about 50 task hashes — in the first
//! page, in a page from the middle, with filters and in every sort — that a selective filter
//! starts from its set instead of walking the room (also under a text search, which runs no
//! script), and that statistics read no task hash.

mod support;

use std::sync::Arc;

use taskcore::{MemberName, NewTask, Priority, SearchText, SortDir, SortKey, StoreOptions, TaskManager, TaskQuery};
use tokio::task::JoinSet;

use support::{PrivateRedis, open_private};

const TASKS: u64 = 20_000;
const SEEDERS: u64 = 8;

/// Hash reads since the last reset: every command that reads fields of a task hash.
async fn hash_reads(server: &PrivateRedis) -> u64 {
    let mut reads = 0;
    for command in ["hget", "hmget", "hgetall", "hvals", "hscan"] {
        reads += server.command_calls(command).await;
    }
    reads
}

async fn reset_stats(server: &PrivateRedis) {
    let _: () = server.command(redis::cmd("CONFIG").arg("RESETSTAT")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_50_in_a_room_of_20000_reads_about_50_hashes() {
    let server = PrivateRedis::start().await;
    // This server is private: no fsync per write needed to seed it quickly.
    let _: () = server.command(redis::cmd("CONFIG").arg("SET").arg("appendfsync").arg("no")).await;
    let tasks = TaskManager::new(Arc::new(open_private(&server, StoreOptions::default().change_retention(100)).await));
    let room = tasks.create_room("alice").await.unwrap();
    let mut seeders = JoinSet::new();
    for seeder in 0..SEEDERS {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        seeders.spawn(async move {
            for i in 0..TASKS / SEEDERS {
                let priority = ["low", "medium", "high"][usize::try_from(i % 3).unwrap()];
                let input = NewTask::titled(format!("task {seeder}-{i}")).priority(priority).tags(vec!["bulk"]);
                tasks.create_task(&code, &input, None).await.unwrap();
            }
        });
    }
    while let Some(joined) = seeders.join_next().await {
        joined.unwrap();
    }

    let mut middle_cursor = None;
    let queries = [
        ("first page by number", TaskQuery::default()),
        ("titles descending", TaskQuery::default().sort(SortKey::Title, SortDir::Desc)),
        ("by due date", TaskQuery::default().sort(SortKey::Due, SortDir::Asc)),
        (
            "high priority by creation",
            TaskQuery::default().priority(Priority::High).sort(SortKey::Created, SortDir::Asc),
        ),
    ];
    for (what, query) in queries {
        reset_stats(&server).await;
        let page = tasks.list_tasks(&room.code, &query).await.unwrap();
        assert_eq!(page.items.len(), 50, "{what}");
        assert_eq!(page.total, TASKS, "{what}");
        let reads = hash_reads(&server).await;
        assert!((51..=60).contains(&reads), "{what}: a page of 50 read {reads} task hashes");
        if what == "first page by number" {
            assert_eq!(page.matched, TASKS);
        }
        middle_cursor = middle_cursor.or(page.next_cursor);
    }

    // A page from the middle of the room costs the same as the first.
    let mut query = TaskQuery::default();
    for _ in 0..200 {
        let page = tasks.list_tasks(&room.code, &query).await.unwrap();
        query.after = page.next_cursor;
    }
    reset_stats(&server).await;
    let page = tasks.list_tasks(&room.code, &query).await.unwrap();
    assert_eq!(page.items.first().map(|t| t.number), Some(10_001));
    let reads = hash_reads(&server).await;
    assert!((51..=60).contains(&reads), "a page after 10,000 tasks read {reads} task hashes");
    assert!(middle_cursor.is_some());

    // A selective filter (10 tasks assigned to bob, all after the 20,000 others) starts from the
    // filter's set instead of walking the whole number index to find them.
    tasks.join_room(&room.code, "Bob").await.unwrap();
    for i in 0..10 {
        tasks.create_task(&room.code, &NewTask::titled(format!("for bob {i}")).assignee("bob"), None).await.unwrap();
    }
    for (what, query) in [
        ("bob's tasks by number", TaskQuery::default().assignee(MemberName::parse("BOB").unwrap())),
        (
            "bob's tasks by title, descending",
            TaskQuery::default().assignee(MemberName::parse("bob").unwrap()).sort(SortKey::Title, SortDir::Desc),
        ),
    ] {
        reset_stats(&server).await;
        let page = tasks.list_tasks(&room.code, &query).await.unwrap();
        assert_eq!((page.items.len(), page.matched), (10, 10), "{what}");
        let visited = server.command_calls("sismember").await + server.command_calls("zrangebylex").await;
        assert!(visited <= 30, "{what}: looked at {visited} index entries for 10 matches");
        let reads = hash_reads(&server).await;
        assert!(reads <= 30, "{what}: read {reads} task hashes for 10 matches");
    }

    // A text search narrowed by a selective filter set reads that set in chunks (SSCAN) and the
    // fields of its 10 tasks, in plain commands — no script, no walk of the room.
    reset_stats(&server).await;
    let query = TaskQuery::default()
        .assignee(MemberName::parse("bob").unwrap())
        .text(SearchText::parse("FOR BOB").unwrap())
        .sort(SortKey::Title, SortDir::Asc);
    let page = tasks.list_tasks(&room.code, &query).await.unwrap();
    assert_eq!((page.items.len(), page.matched), (10, 10));
    assert_eq!(server.command_calls("evalsha").await, 0, "row filters run outside Lua");
    assert_eq!(server.command_calls("zrangebylex").await, 0, "the search did not walk an index");
    assert!(server.command_calls("sscan").await >= 1, "the search read bob's set");
    let reads = hash_reads(&server).await;
    assert!(reads <= 30, "a search among bob's 10 tasks read {reads} hashes");

    // Statistics come from counters and one index count, never from task hashes.
    reset_stats(&server).await;
    let stats = tasks.stats(&room.code).await.unwrap();
    assert_eq!(stats.total, TASKS + 10);
    assert_eq!(hash_reads(&server).await, 1, "stats read only the room's counters (one HMGET)");
    assert_eq!(server.command_calls("zlexcount").await, 1, "overdue is one ZLEXCOUNT");
}
