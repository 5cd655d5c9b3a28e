//! Listings made of many Redis calls still return one consistent state of the room while it is
//! written. A store with a scan step of 16 lists a room of 400 tasks (so each listing takes tens
//! of calls) while a writer keeps moving a "token" between the first and the last task: it takes
//! the token from its holder (title `plain`, completed) in one write, then gives it to the other
//! (title `token`, pending) in the next, so no state of the room ever has two tokens. Every page
//! of every kind of listing — a walk over many steps, a chunked pass, a counting pass, a text
//! search — must never show two tokens, must hold every task it should exactly once although
//! the writes move tasks within the title index, and must count exactly. On a private server,
//! whose `INFO commandstats` shows the listings did catch up with writes from the change feed.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use taskcore::{NewTask, Patch, SearchText, SortDir, SortKey, StatusFilter, Tag, TaskManager, TaskPatch, TaskQuery};
use taskcore_redis::{RedisConfig, RedisStore};
use time::macros::datetime;

use support::PrivateRedis;

const TASKS: u64 = 400;

fn moved(title: &str, completed: bool) -> TaskPatch {
    TaskPatch { title: Patch::Set(title.to_owned()), completed: Patch::Set(completed), ..TaskPatch::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_in_many_steps_see_one_state_while_tasks_move() {
    let server = PrivateRedis::start().await;
    let _: () = server.command(redis::cmd("CONFIG").arg("SET").arg("appendfsync").arg("no")).await;
    let config = RedisConfig::new(server.url()).prefix("moving").scan_step(16);
    let store = RedisStore::open_with(config).await.expect("open a store on the private redis");
    let tasks = TaskManager::new(Arc::new(store));
    let room = tasks.create_room("alice").await.unwrap();
    let code = room.code.clone();
    for i in 1..=TASKS {
        let title = match i {
            1 => "token".to_owned(),
            TASKS => "plain".to_owned(),
            _ => format!("filler {i:03}"),
        };
        let input = NewTask::titled(title).tags(vec!["many"]).due_date("2026-06-01");
        tasks.create_task(&code, &input, None).await.unwrap();
    }
    tasks.complete_task(&code, TASKS, None).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (tasks, code, stop) = (tasks.clone(), code.clone(), stop.clone());
        tokio::spawn(async move {
            let mut moves = 0_u64;
            let (mut holder, mut other) = (1, TASKS);
            while !stop.load(Ordering::Relaxed) {
                tasks.update_task(&code, holder, &moved("plain", true)).await.unwrap();
                tasks.update_task(&code, other, &moved("token", false)).await.unwrap();
                (holder, other) = (other, holder);
                moves += 1;
            }
            moves
        })
    };

    let far = datetime!(2030-01-01 00:00 UTC);
    let cases = [
        ("a walk over 25 steps by title", TaskQuery::default().sort(SortKey::Title, SortDir::Asc).limit(500)),
        (
            "a chunked pass by title",
            TaskQuery::default().due_before(far).sort(SortKey::Title, SortDir::Desc).limit(500),
        ),
        (
            "a walk of two sets, counted by a pass",
            TaskQuery::default().status(StatusFilter::Pending).tag(Tag::parse("many").unwrap()).limit(50),
        ),
        ("a text search", TaskQuery::default().text(SearchText::parse("token").unwrap()).limit(500)),
    ];
    for round in 0..40 {
        for (what, query) in &cases {
            let page = tasks.list_tasks(&code, query).await.unwrap_or_else(|e| panic!("{what}: {e}"));
            let tokens = page.items.iter().filter(|t| t.title == "token").count();
            assert!(tokens <= 1, "{what}, round {round}: {tokens} tokens in one page");
            let numbers: HashSet<u64> = page.items.iter().map(|t| t.number).collect();
            assert_eq!(numbers.len(), page.items.len(), "{what}, round {round}: a task listed twice");
            for pair in page.items.windows(2) {
                assert!(query.compare(&pair[0], &pair[1]).is_lt(), "{what}, round {round}: out of order");
            }
            assert!(
                page.items.iter().all(|t| query.matches(t, far)),
                "{what}, round {round}: a row that does not match"
            );
            match *what {
                "a text search" => assert!(page.matched <= 1 && page.items.len() <= 1, "{what}: {page:?}"),
                "a walk of two sets, counted by a pass" => {
                    assert!(
                        (TASKS - 2..TASKS).contains(&page.matched),
                        "{what}, round {round}: {} matched",
                        page.matched
                    );
                    assert_eq!(page.items.len(), 50, "{what}");
                }
                _ => {
                    assert_eq!(page.items.len() as u64, TASKS, "{what}, round {round}: not every task once");
                    assert_eq!(page.matched, TASKS, "{what}, round {round}");
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let moves = writer.await.unwrap();
    assert!(moves >= 20, "the writer moved the token only {moves} times: the listings were not written under");
    let caught_up = server.command_calls("zrangebyscore").await;
    assert!(
        caught_up > 0,
        "no listing had to catch up with writes from the feed ({moves} moves): the test proved nothing"
    );
    eprintln!("{moves} token moves; {caught_up} feed reads by listings that caught up");
}
