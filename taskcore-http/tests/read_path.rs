//! The read path's bounds: a room object embeds its tasks within a byte budget and says where
//! the rest starts; an unpaged listing stops at its cap with a cursor; and the real server
//! answers whole-room reads of a room of 2,500 tasks of 40 kB, eight at a time, with its
//! peak memory far below the room's size.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::{ServerProcess, Target};
use taskcore::{CacheOptions, MemoryStore, NewTask, TaskManager, TaskStore};
use taskcore_http::{AppState, Limits, router};

fn in_process(tasks: TaskManager, embed_budget: usize) -> Target {
    let state = AppState::with_manager(tasks).room_embed_bytes(embed_budget);
    Target::InProcess(router(state, Limits::default()))
}

#[tokio::test]
async fn a_room_over_the_budget_embeds_a_first_page_and_says_where_the_rest_is() {
    let store: Arc<dyn TaskStore> = Arc::new(MemoryStore::new());
    for cached in [false, true] {
        let mut tasks = TaskManager::new(Arc::clone(&store));
        if cached {
            tasks = tasks.with_cache(CacheOptions::default());
        }
        let room = tasks.create_room("alice").await.unwrap();
        for i in 0..40 {
            let input = NewTask::titled(format!("task {i}")).description("x".repeat(900));
            tasks.create_task(&room.code, &input, None).await.unwrap();
        }
        let api = in_process(tasks, 10_000);
        let reply = api.get(&format!("/rooms/{}", room.code)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let embedded = reply.json["tasks"].as_array().unwrap();
        assert!((5..40).contains(&embedded.len()), "about 10 kB of 1 kB tasks: {}", embedded.len());
        assert_eq!(reply.json["tasks_truncated"], true);
        let cursor = reply.json["next_cursor"].as_str().unwrap();
        let rest = api.get(&format!("/tasks?room={}&cursor={cursor}&limit=500", room.code)).await;
        let mut numbers: Vec<u64> = embedded.iter().map(|t| t["id"].as_u64().unwrap()).collect();
        numbers.extend(rest.json["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()));
        assert_eq!(numbers, (1..=40).collect::<Vec<_>>(), "cached: {cached}");
        let joined = api.post(&format!("/rooms/{}/join", room.code), json!({ "username": "bob" })).await;
        assert_eq!(joined.json["room"]["tasks_truncated"], true);
        assert_eq!(joined.json["message"], format!("Joined room {}", room.code));
    }
}

#[tokio::test]
async fn an_unpaged_listing_stops_at_ten_thousand_with_a_cursor() {
    let tasks = TaskManager::new(Arc::new(MemoryStore::new())).with_cache(CacheOptions::default());
    let room = tasks.create_room("alice").await.unwrap();
    for i in 0..10_005 {
        tasks.create_task(&room.code, &NewTask::titled(format!("t{i}")), None).await.unwrap();
    }
    let api = in_process(tasks, 1024);
    let reply = api.get(&format!("/tasks?room={}", room.code)).await;
    assert_eq!(reply.json["tasks"].as_array().unwrap().len(), 10_000);
    assert_eq!((reply.json["total"].as_u64(), reply.json["total_all"].as_u64()), (Some(10_005), Some(10_005)));
    let cursor = reply.json["next_cursor"].as_str().unwrap();
    let rest = api.get(&format!("/tasks?room={}&cursor={cursor}", room.code)).await;
    let ids: Vec<u64> = rest.json["tasks"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (10_001..=10_005).collect::<Vec<_>>());
}

/// Peak resident memory of a process, from `/proc`.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap()
}

/// Reads a response body to the end without keeping it; returns its length.
async fn drain(client: &reqwest::Client, url: &str) -> usize {
    let mut response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut length = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        length += chunk.len();
    }
    length
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_whole_room_reads_of_a_100_mb_room_stay_under_200_mb() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
    let server = ServerProcess::start(&url, &["--body-limit", "131072"]).await;
    let api = server.target();
    let code = api.room("alice").await;
    // 10,000 four-byte characters: a 40 kB description, the most a task may carry.
    let description = "🦀".repeat(10_000);
    let client = reqwest::Client::new();
    let base = server.base.clone();
    let mut fillers = Vec::new();
    for worker in 0..16 {
        let (client, base, code, description) = (client.clone(), base.clone(), code.clone(), description.clone());
        fillers.push(tokio::spawn(async move {
            for i in 0..(2_500 / 16 + 1) {
                let n = worker * 1_000 + i;
                if worker * (2_500 / 16 + 1) + i >= 2_500 {
                    break;
                }
                let body = json!({ "title": format!("big {n}"), "description": description });
                let reply = client.post(format!("{base}/tasks?room={code}")).json(&body).send().await.unwrap();
                assert_eq!(reply.status(), 201);
            }
        }));
    }
    for filler in fillers {
        filler.await.unwrap();
    }
    let stats: Value =
        client.get(format!("{base}/tasks/stats?room={code}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["total_tasks"], 2_500);
    let pid = server.child.id().unwrap();
    let before = peak_rss_kib(pid);
    let mut readers = Vec::new();
    let started = std::time::Instant::now();
    for reader in 0..8 {
        let client = client.clone();
        let url = if reader % 2 == 0 { format!("{base}/rooms/{code}") } else { format!("{base}/tasks?room={code}") };
        readers.push(tokio::spawn(async move { drain(&client, &url).await }));
    }
    let mut lengths = Vec::new();
    for reader in readers {
        lengths.push(tokio::time::timeout(Duration::from_secs(600), reader).await.unwrap().unwrap());
    }
    eprintln!("8 whole-room reads took {:?}", started.elapsed());
    let peak = peak_rss_kib(pid);
    assert!(lengths.iter().any(|&l| l > 100_000_000), "the unpaged listings carried the whole room: {lengths:?}");
    assert!(lengths.iter().any(|&l| l < 2_000_000), "the room objects stopped at their budget: {lengths:?}");
    assert!(peak < 200 * 1024, "peak RSS {peak} KiB (after filling: {before} KiB) must stay under 200 MiB");
}
