//! The minimal axum reference: what a bare axum handler serving tasks from process memory
//! does on this machine. `GET /tasks?room=` serialises a pre-built `Vec` of task-shaped JSON
//! objects (copied from taskcore's own answer, so the bytes match), `PUT /tasks/{n}?room=`
//! overwrites fields of one of them; plus `/health` and a `POST /echo` for the other rows.
//! No validation, no storage, no middleware: an upper bound, not a competitor.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Rooms by code, each a list of task objects numbered 1, 2, 3… by position.
type Rooms = Arc<HashMap<String, RwLock<Vec<Value>>>>;

#[derive(Serialize)]
struct TaskList<'a> {
    tasks: &'a [Value],
    total: usize,
    total_all: usize,
}

/// Serves the reference on a free loopback port until the process ends; returns its address.
pub async fn start(rooms: HashMap<String, Vec<Value>>) -> std::io::Result<SocketAddr> {
    let rooms: Rooms = Arc::new(rooms.into_iter().map(|(code, tasks)| (code, RwLock::new(tasks))).collect());
    let app = axum::Router::new()
        .route(
            "/health",
            get(|| async {
                Json(json!({ "status": "healthy", "timestamp": "2026-01-01T00:00:00Z", "version": "0", "uptime": 1 }))
            }),
        )
        .route(
            "/echo",
            post(|Json(body): Json<Value>| async move { (StatusCode::CREATED, Json(json!({ "task": body }))) }),
        )
        .route("/tasks", get(list))
        .route("/tasks/{id}", put(update))
        .with_state(rooms);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

async fn list(State(rooms): State<Rooms>, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(room) = params.get("room").and_then(|code| rooms.get(code)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let tasks = room.read().unwrap_or_else(PoisonError::into_inner);
    Json(TaskList { tasks: &tasks, total: tasks.len(), total_all: tasks.len() }).into_response()
}

async fn update(
    State(rooms): State<Rooms>,
    Path(id): Path<usize>,
    Query(params): Query<HashMap<String, String>>,
    Json(body): Json<serde_json::Map<String, Value>>,
) -> Response {
    let Some(room) = params.get("room").and_then(|code| rooms.get(code)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut tasks = room.write().unwrap_or_else(PoisonError::into_inner);
    let Some(Value::Object(task)) = id.checked_sub(1).and_then(|i| tasks.get_mut(i)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    task.extend(body);
    Json(json!({ "message": "Task updated successfully", "task": task })).into_response()
}
