//! Live event streams fanned out per room, in-process over a `MemoryStore`: fifty streams on two
//! rooms share two followers (one per room), every stream gets every change of its room exactly
//! once and in order, the store's feed is read a few times per write rather than once per
//! stream and write, and a room's follower ends with its last stream.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde_json::json;
use support::Target;
use taskcore::{MemoryStore, TaskManager};
use taskcore_http::{AppState, Limits, router};

/// The `id:` lines of a server-sent event stream, in order.
fn ids(stream: &str) -> Vec<u64> {
    stream.lines().filter_map(|line| line.strip_prefix("id: ")).map(|id| id.trim().parse().unwrap()).collect()
}

/// How many times the store's change feed was read, from the state's metrics.
fn feed_reads(state: &AppState) -> f64 {
    let rendered = state.metrics().handle().unwrap().render();
    rendered
        .lines()
        .filter(|line| {
            line.starts_with("taskcore_store_operation_duration_seconds_count") && line.contains("op=\"changes\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_streams_share_one_follower_per_room_and_miss_nothing() {
    let state = AppState::with_manager(TaskManager::new(Arc::new(MemoryStore::new())));
    let limits = Limits { request_timeout: Duration::from_secs(30), body_limit: 16 * 1024 };
    let app: Router = router(state.clone(), limits);
    let api = Arc::new(Target::InProcess(app));
    let busy = api.room("alice").await;
    let quiet = api.room("bob").await;
    let (busy_writes, quiet_writes) = (20_u64, 5_u64);

    let mut streams = Vec::new();
    for i in 0..50 {
        let (code, last) = if i < 40 { (busy.clone(), busy_writes) } else { (quiet.clone(), quiet_writes) };
        let api = Arc::clone(&api);
        streams.push(tokio::spawn(async move {
            let done = move |text: &str| text.contains(&format!("id: {last}\n"));
            api.read_stream(&format!("/rooms/{code}/events?since=0"), Duration::from_secs(10), done).await
        }));
    }
    eventually("both rooms followed", || state.followed_rooms() == 2).await;
    let reads_before = feed_reads(&state);

    for n in 1..=busy_writes {
        api.task(&busy, json!({ "title": format!("busy {n}") })).await;
        if n <= quiet_writes {
            api.task(&quiet, json!({ "title": format!("quiet {n}") })).await;
        }
    }
    for (i, stream) in streams.into_iter().enumerate() {
        let text = stream.await.unwrap();
        let last = if i < 40 { busy_writes } else { quiet_writes };
        assert_eq!(ids(&text), (1..=last).collect::<Vec<_>>(), "stream {i} got every change once, in order:\n{text}");
    }

    // One stream per write and room would read the feed 40 × 20 + 10 × 5 = 850 times; the
    // followers read it about once per write (and once per interval while quiet).
    let reads = feed_reads(&state) - reads_before;
    assert!(reads < 200.0, "the feed was read {reads} times for 25 writes and 50 streams");

    eventually("the followers end with their last stream", || state.followed_rooms() == 0).await;
}
