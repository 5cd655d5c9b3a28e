//! Room endpoints: create, read (with tasks), join (two compatible forms) and the change feed.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use taskcore::{RoomCode, Task, TaskManager, TaskPage, TaskQuery};
use utoipa::IntoParams;

use crate::dto::{ChangesJson, CreateRoomBody, CreatedRoom, JoinRoomBody, JoinedRoom, RoomJson};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

/// The most tasks a room object embeds; larger rooms are read with `GET /tasks` pages.
pub const ROOM_TASKS_CAP: usize = 10_000;

/// Creates a room owned by `username`.
#[utoipa::path(post, path = "/rooms", tag = "rooms", request_body = CreateRoomBody,
    responses((status = 201, body = CreatedRoom), (status = 400, body = crate::error::ErrorBody)))]
pub async fn create_room(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateRoomBody>,
) -> ApiResult<(StatusCode, Json<CreatedRoom>)> {
    let owner = body.username.unwrap_or_default();
    if owner.trim().is_empty() {
        return Err(ApiError::invalid("username", "Username is required"));
    }
    let room = state.tasks.create_room(&owner).await?;
    let room_code = room.code.to_string();
    Ok((StatusCode::CREATED, Json(CreatedRoom { room_code, room: RoomJson::new(room, Vec::new()) })))
}

/// A room with its members and tasks.
#[utoipa::path(get, path = "/rooms/{code}", tag = "rooms", params(("code" = String, Path, description = "Room code, any case")),
    responses((status = 200, body = RoomJson), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_room(State(state): State<AppState>, Path(code): Path<String>) -> ApiResult<Json<RoomJson>> {
    let code = parse_code(&code)?;
    let room = state.tasks.room(&code).await?;
    let tasks = all_tasks(&state.tasks, &code).await?;
    Ok(Json(RoomJson::new(room, tasks)))
}

/// Joins the room in the path; joining twice changes nothing.
#[utoipa::path(post, path = "/rooms/{code}/join", tag = "rooms", request_body = JoinRoomBody,
    params(("code" = String, Path, description = "Room code")),
    responses((status = 200, body = JoinedRoom), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "`quota_exceeded`: the room has its limit of members", body = crate::error::ErrorBody)))]
pub async fn join_room(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<JoinRoomBody>,
) -> ApiResult<Json<JoinedRoom>> {
    join(&state, &code, body.username).await
}

/// Joins the room named in the body (`room_code`).
#[utoipa::path(post, path = "/rooms/join", tag = "rooms", request_body = JoinRoomBody,
    responses((status = 200, body = JoinedRoom), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "`quota_exceeded`: the room has its limit of members", body = crate::error::ErrorBody)))]
pub async fn join_room_by_code(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<JoinRoomBody>,
) -> ApiResult<Json<JoinedRoom>> {
    let Some(code) = body.room_code.filter(|c| !c.trim().is_empty()) else {
        return Err(ApiError::invalid("room_code", "Room code is required"));
    };
    join(&state, &code, body.username).await
}

async fn join(state: &AppState, code: &str, username: Option<String>) -> ApiResult<Json<JoinedRoom>> {
    let code = parse_code(code)?;
    let username = username.unwrap_or_default();
    if username.trim().is_empty() {
        return Err(ApiError::invalid("username", "Username is required"));
    }
    let room = state.tasks.join_room(&code, &username).await?;
    let tasks = all_tasks(&state.tasks, &code).await?;
    let message = format!("Joined room {code}");
    Ok(Json(JoinedRoom { message, room: RoomJson::new(room, tasks) }))
}

/// Change-feed parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChangesParams {
    /// Return changes after this sequence number (0 for all kept).
    #[serde(default)]
    pub since: u64,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// The room's changes after `since`, oldest first. 410 when `since` is older than what is
/// kept: reload the room and continue from `latest`.
#[utoipa::path(get, path = "/rooms/{code}/changes", tag = "rooms",
    params(("code" = String, Path, description = "Room code"), ChangesParams),
    responses((status = 200, body = ChangesJson), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 410, body = crate::error::ErrorBody)))]
pub async fn changes(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(params): Query<ChangesParams>,
) -> ApiResult<Json<ChangesJson>> {
    let code = parse_code(&code)?;
    let batch = state.tasks.changes(&code, params.since, params.limit).await?;
    Ok(Json(batch.into()))
}

fn parse_code(raw: &str) -> ApiResult<RoomCode> {
    RoomCode::parse(raw).map_err(ApiError::from)
}

/// Every task of a room by number, up to [`ROOM_TASKS_CAP`].
async fn all_tasks(tasks: &TaskManager, code: &RoomCode) -> ApiResult<Vec<Task>> {
    let query = TaskQuery::default().limit(taskcore::MAX_PAGE_LIMIT);
    Ok(collect_pages(tasks, code, query, ROOM_TASKS_CAP).await?.items)
}

/// Follows the cursor of `query` page by page until the last page or `cap` tasks, and returns
/// them as one page (with the cursor where it stopped, if it stopped early).
pub async fn collect_pages(tasks: &TaskManager, code: &RoomCode, query: TaskQuery, cap: usize) -> ApiResult<TaskPage> {
    let mut query = query;
    let mut first = tasks.list_tasks(code, &query).await?;
    while let Some(cursor) = first.next_cursor.take() {
        if first.items.len() >= cap {
            first.next_cursor = Some(cursor);
            break;
        }
        query.after = Some(cursor);
        let page = tasks.list_tasks(code, &query).await?;
        first.items.extend(page.items);
        first.next_cursor = page.next_cursor;
    }
    Ok(first)
}
