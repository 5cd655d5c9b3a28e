//! Filling rooms with the same tasks on every server: through `TaskManager` for taskcore, and
//! through the HTTP API both apps share (`POST /rooms`, `POST /tasks?room=`) for the original.

use std::time::Duration;

use serde_json::{Value, json};
use taskcore::{NewTask, RoomCode, TaskManager};
use tokio::task::JoinSet;

use crate::BenchError;

/// Creates in flight at once while seeding.
const IN_FLIGHT: usize = 32;

/// Task `i` of a seeded room: title, priority, due date (the same on every server).
pub fn task_fields(i: u64) -> (String, &'static str, String) {
    let priority = match i % 3 {
        0 => "low",
        1 => "medium",
        _ => "high",
    };
    (format!("task {i}"), priority, format!("2030-01-{:02}", i % 28 + 1))
}

/// Task `i` of a seeded room as `TaskManager` input: [`task_fields`].
pub fn new_task(i: u64) -> NewTask {
    let (title, priority, due) = task_fields(i);
    NewTask::titled(title).priority(priority).due_date(due)
}

/// A new room with `count` tasks ([`new_task`]), created through `TaskManager`.
pub async fn room_in_store(tasks: &TaskManager, count: u64) -> Result<RoomCode, BenchError> {
    room_in_store_with(tasks, count, new_task).await
}

/// A new room with `count` tasks made by `task(i)`, created through `TaskManager`, several at
/// a time (so task numbers need not follow `i`).
pub async fn room_in_store_with(
    tasks: &TaskManager,
    count: u64,
    task: fn(u64) -> NewTask,
) -> Result<RoomCode, BenchError> {
    let room = tasks.create_room("seeder").await?;
    let mut running = JoinSet::new();
    for i in 0..count {
        if running.len() >= IN_FLIGHT
            && let Some(done) = running.join_next().await
        {
            done.map_err(|e| BenchError::Setup(format!("seeding task failed: {e}")))??;
        }
        let (tasks, code) = (tasks.clone(), room.code.clone());
        running.spawn(async move { tasks.create_task(&code, &task(i), None).await.map(|_| ()) });
    }
    while let Some(done) = running.join_next().await {
        done.map_err(|e| BenchError::Setup(format!("seeding task failed: {e}")))??;
    }
    Ok(room.code)
}

/// An HTTP client for seeding and checks.
pub fn client() -> Result<reqwest::Client, BenchError> {
    Ok(reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?)
}

/// A new empty room owned by `owner`, created through the HTTP API at `base`
/// (`http://host:port`); returns its code.
pub async fn empty_room_over_http(client: &reqwest::Client, base: &str, owner: &str) -> Result<String, BenchError> {
    let created: Value = expect_ok(
        client.post(format!("{base}/rooms")).json(&json!({ "username": owner })).send().await?,
        "POST /rooms",
    )
    .await?;
    Ok(created
        .get("room_code")
        .and_then(Value::as_str)
        .ok_or_else(|| BenchError::unexpected("POST /rooms", created.to_string()))?
        .to_owned())
}

/// A new room with `count` tasks, created through the HTTP API at `base` (`http://host:port`);
/// returns its code.
pub async fn room_over_http(client: &reqwest::Client, base: &str, count: u64) -> Result<String, BenchError> {
    let code = empty_room_over_http(client, base, "seeder").await?;
    // A few requests in flight hide the client's share; the original serves one at a time (one
    // sync worker) and numbers tasks by list length, so numbers stay unique.
    let mut running = JoinSet::new();
    for i in 0..count {
        if running.len() >= 4
            && let Some(done) = running.join_next().await
        {
            done.map_err(|e| BenchError::Setup(format!("seeding task failed: {e}")))??;
        }
        let (client, url) = (client.clone(), format!("{base}/tasks?room={code}"));
        running.spawn(async move {
            let (title, priority, due) = task_fields(i);
            let body = json!({ "title": title, "priority": priority, "due_date": due });
            expect_ok(client.post(url).json(&body).send().await?, "POST /tasks").await.map(|_| ())
        });
    }
    while let Some(done) = running.join_next().await {
        done.map_err(|e| BenchError::Setup(format!("seeding task failed: {e}")))??;
    }
    Ok(code)
}

/// The `tasks` of `GET /tasks?room={room}` at `base`, and the size of the body in bytes.
pub async fn listing(client: &reqwest::Client, base: &str, room: &str) -> Result<(Vec<Value>, usize), BenchError> {
    let response = client.get(format!("{base}/tasks?room={room}")).send().await?;
    let what = format!("GET {base}/tasks?room={room}");
    if !response.status().is_success() {
        return Err(BenchError::unexpected(what, response.status().to_string()));
    }
    let bytes = response.bytes().await?;
    let mut body: Value = serde_json::from_slice(&bytes)?;
    match body.get_mut("tasks").map(Value::take) {
        Some(Value::Array(tasks)) => Ok((tasks, bytes.len())),
        _ => Err(BenchError::unexpected(what, "no tasks array")),
    }
}

async fn expect_ok(response: reqwest::Response, what: &str) -> Result<Value, BenchError> {
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(BenchError::unexpected(what, format!("{status}: {text}")));
    }
    Ok(serde_json::from_str(&text)?)
}
