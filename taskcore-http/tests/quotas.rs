//! Per-room quotas through the API, in-process over a `MemoryStore` with small limits: a create
//! or a join beyond a quota answers 409 with `code: "quota_exceeded"` and `field` naming the
//! quota, and what is already in the room keeps working.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::Target;
use taskcore::{MemoryStore, StoreOptions, TaskManager};
use taskcore_http::{AppState, Limits, router};

fn api(options: StoreOptions) -> Target {
    let tasks = TaskManager::new(Arc::new(MemoryStore::with_options(options)));
    let limits = Limits { request_timeout: Duration::from_secs(5), body_limit: 16 * 1024 };
    Target::InProcess(router(AppState::with_manager(tasks), limits))
}

#[tokio::test]
async fn a_full_room_refuses_tasks_with_409_naming_the_quota() {
    let api = api(StoreOptions::default().max_tasks_per_room(2));
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "one" })).await;
    api.task(&code, json!({ "title": "two" })).await;
    let full = api.post(&format!("/tasks?room={code}"), json!({ "title": "three" })).await;
    assert_eq!(full.status, 409, "{}", full.text);
    assert_eq!(full.json["code"], "quota_exceeded");
    assert_eq!(full.json["field"], "tasks_per_room");
    assert!(full.json["error"].as_str().unwrap().contains("2 tasks per room"), "{}", full.text);
    assert_eq!(api.put(&format!("/tasks/1?room={code}"), json!({ "title": "still editable" })).await.status, 200);
    assert_eq!(api.delete(&format!("/tasks/2?room={code}")).await.status, 200);
    api.task(&code, json!({ "title": "room again" })).await;
}

#[tokio::test]
async fn a_full_room_refuses_members_with_409_naming_the_quota() {
    let api = api(StoreOptions::default().max_members_per_room(2));
    let code = api.room("alice").await;
    assert_eq!(api.post(&format!("/rooms/{code}/join"), json!({ "username": "bob" })).await.status, 200);
    for full in [
        api.post(&format!("/rooms/{code}/join"), json!({ "username": "carol" })).await,
        api.post("/rooms/join", json!({ "room_code": code, "username": "carol" })).await,
    ] {
        assert_eq!(full.status, 409, "{}", full.text);
        assert_eq!(
            (full.json["code"].as_str(), full.json["field"].as_str()),
            (Some("quota_exceeded"), Some("members_per_room"))
        );
    }
    assert_eq!(
        api.post(&format!("/rooms/{code}/join"), json!({ "username": "BOB" })).await.status,
        200,
        "members rejoin"
    );
}
