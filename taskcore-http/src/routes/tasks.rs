//! Task endpoints: list with filters and cursors, create (idempotent with `Idempotency-Key`),
//! read, partial update, complete/reopen, delete (conditional with `If-Match`), and stats.

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskcore::{Inserted, RoomCode, TaskPatch, TaskQuery};
use utoipa::IntoParams;

use crate::conditional::{listing_tag, not_modified, not_modified_response, tag_response};
use crate::dto::{CreateTaskBody, DeletedTask, StatsJson, TaskJson, TaskList, TaskMessage, UpdateTaskBody};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, etag, idempotency_key, if_match_version, room_code, task_number};
use crate::listing_body::{self, Shape};
use crate::routes::rooms::{ROOM_TASKS_CAP, json_response};
use crate::state::AppState;

/// `?room=CODE`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoomParam {
    /// The room code (any case).
    pub room: Option<String>,
}

/// Listing parameters: `room`, then [`taskcore::QUERY_PARAMS`]. Only the API description
/// reads this; parsing is [`TaskQuery::from_params`]. Each field's schema admits what the
/// domain accepts (values are case-insensitive, hence strings rather than enums), and
/// `tests/openapi_and_metrics.rs` checks the names and sample values against the domain.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by utoipa only; parsing is TaskQuery::from_params
pub struct ListParams {
    /// The room code.
    room: String,
    /// `all` (default), `pending`, `completed`.
    status: Option<String>,
    /// `low`, `medium`, `high`.
    priority: Option<String>,
    /// Only tasks with this tag.
    tag: Option<String>,
    /// Only tasks assigned to this member.
    assignee: Option<String>,
    /// Text to find in title or description, any case.
    q: Option<String>,
    /// Only tasks due before this date.
    due_before: Option<String>,
    /// Only tasks due at or after this date.
    due_after: Option<String>,
    /// Only pending tasks past their due date: `true` or `false` (also `1`/`0`, `yes`/`no`),
    /// any case.
    #[param(example = "true")]
    overdue: Option<String>,
    /// `number` (default; also `id`), `created` (or `created_at`), `due` (or `due_date`),
    /// `priority`, `title`; `-` prefix for descending.
    sort: Option<String>,
    /// `asc` or `desc`.
    order: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size 1 to 500. Without `limit` and `cursor` every matching task is returned (as the
    /// original API did), up to 10,000.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Tasks of a room, filtered, sorted and paged. The body is streamed; its weak `ETag` follows
/// the room's changes, and `If-None-Match` with it answers 304.
#[utoipa::path(get, path = "/tasks", tag = "tasks", params(ListParams),
    responses((status = 200, body = TaskList), (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let room = params.iter().find(|(k, _)| k == "room").map(|(_, v)| v.as_str());
    let code = room_code(room, None)?;
    let query = TaskQuery::from_params(params.iter().map(|(k, v)| (k.as_str(), v.as_str())), &["room"])?;
    let paged = params.iter().any(|(k, _)| k == "limit" || k == "cursor");
    let cap = if paged { usize::try_from(query.limit).unwrap_or(ROOM_TASKS_CAP) } else { ROOM_TASKS_CAP };
    let listing = state.tasks.listing(&code, &query, cap).await?;
    let tag = listing_tag(listing.seq(), listing.matched(), raw.as_deref().unwrap_or_default());
    if not_modified(&headers, &tag) {
        return Ok(not_modified_response(&tag));
    }
    let mut response = json_response(listing_body::body(listing, Shape::TaskList));
    tag_response(&mut response, &tag);
    Ok(response)
}

/// Creates a task. With `Idempotency-Key`, a retried request returns the task the first one
/// made (header `Idempotent-Replayed: true`) instead of a second task; the key stays used for as
/// long as the room exists (another request with it: 422; its task deleted since: 410).
#[utoipa::path(post, path = "/tasks", tag = "tasks", params(RoomParam,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = CreateTaskBody,
    responses((status = 201, body = TaskMessage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`quota_exceeded`: the room holds its limit of tasks", body = ErrorBody),
        (status = 410, description = "`idempotent_task_deleted`: the key's task was deleted", body = ErrorBody),
        (status = 422, description = "`idempotency_key_reused`: the key was used for another request", body = ErrorBody)))]
pub async fn create_task(
    State(state): State<AppState>,
    Query(param): Query<RoomParam>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateTaskBody>,
) -> ApiResult<Response> {
    let code = room_code(param.room.as_deref(), body.room_code.as_deref())?;
    let key = idempotency_key(&headers)?;
    let inserted = state.tasks.create_task(&code, &body.into_new_task(), key.as_ref()).await?;
    let replayed = matches!(inserted, Inserted::Replayed(_));
    let task = TaskJson::from(inserted.into_task());
    let location = format!("/tasks/{}?room={code}", task.id);
    let mut response = task_response(StatusCode::CREATED, "Task created successfully", task);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    if replayed {
        response.headers_mut().insert(HeaderName::from_static("idempotent-replayed"), HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// One task, with its `ETag`.
#[utoipa::path(get, path = "/tasks/{id}", tag = "tasks",
    params(("id" = u64, Path, description = "Task number"), RoomParam),
    responses((status = 200, body = TaskJson), (status = 404, body = ErrorBody)))]
pub async fn get_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(param): Query<RoomParam>,
) -> ApiResult<Response> {
    let (code, number) = (room_code(param.room.as_deref(), None)?, task_number(&id)?);
    let task = TaskJson::from(state.tasks.task(&code, number).await?);
    let tag = etag(task.version);
    let mut response = Json(task).into_response();
    insert_etag(&mut response, &tag);
    Ok(response)
}

/// Partial update: absent fields stay, `null` clears. `If-Match` (or body `expected_version`)
/// makes it conditional: 412 (or 409) with the current version when the task moved on.
#[utoipa::path(put, path = "/tasks/{id}", tag = "tasks",
    params(("id" = u64, Path, description = "Task number"), RoomParam,
        ("If-Match" = Option<String>, Header, description = "ETag of the version this update is based on")),
    request_body = UpdateTaskBody,
    responses((status = 200, body = TaskMessage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn update_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(param): Query<RoomParam>,
    headers: HeaderMap,
    ApiJson(mut patch): ApiJson<TaskPatch>,
) -> ApiResult<Response> {
    let (code, number) = (room_code(param.room.as_deref(), None)?, task_number(&id)?);
    let if_match = if_match_version(&headers)?;
    if if_match.is_some() {
        patch.expected_version = if_match;
    }
    let result = state.tasks.update_task(&code, number, &patch).await;
    let task = precondition(&state, &code, number, if_match, result).await?;
    Ok(task_response(StatusCode::OK, "Task updated successfully", TaskJson::from(task)))
}

/// Marks a task completed.
#[utoipa::path(post, path = "/tasks/{id}/complete", tag = "tasks",
    params(("id" = u64, Path, description = "Task number"), RoomParam,
        ("If-Match" = Option<String>, Header, description = "ETag of the expected version")),
    responses((status = 200, body = TaskMessage), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn complete_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(param): Query<RoomParam>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    set_completed(state, &id, param, &headers, true).await
}

/// Marks a task pending again.
#[utoipa::path(post, path = "/tasks/{id}/reopen", tag = "tasks",
    params(("id" = u64, Path, description = "Task number"), RoomParam,
        ("If-Match" = Option<String>, Header, description = "ETag of the expected version")),
    responses((status = 200, body = TaskMessage), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn reopen_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(param): Query<RoomParam>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    set_completed(state, &id, param, &headers, false).await
}

async fn set_completed(
    state: AppState,
    id: &str,
    param: RoomParam,
    headers: &HeaderMap,
    done: bool,
) -> ApiResult<Response> {
    let (code, number) = (room_code(param.room.as_deref(), None)?, task_number(id)?);
    let if_match = if_match_version(headers)?;
    let result = if done {
        state.tasks.complete_task(&code, number, if_match).await
    } else {
        state.tasks.reopen_task(&code, number, if_match).await
    };
    let task = precondition(&state, &code, number, if_match, result).await?;
    let message = if done { "Task marked as completed" } else { "Task marked as pending" };
    Ok(task_response(StatusCode::OK, message, TaskJson::from(task)))
}

/// Deletes a task; its number is never reused. `If-Match` makes it conditional.
#[utoipa::path(delete, path = "/tasks/{id}", tag = "tasks",
    params(("id" = u64, Path, description = "Task number"), RoomParam,
        ("If-Match" = Option<String>, Header, description = "ETag of the expected version")),
    responses((status = 200, body = DeletedTask), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn delete_task(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(param): Query<RoomParam>,
    headers: HeaderMap,
) -> ApiResult<Json<DeletedTask>> {
    let (code, number) = (room_code(param.room.as_deref(), None)?, task_number(&id)?);
    let if_match = if_match_version(&headers)?;
    let result = state.tasks.delete_task(&code, number, if_match).await;
    let task = precondition(&state, &code, number, if_match, result).await?;
    Ok(Json(DeletedTask { message: "Task deleted successfully".to_owned(), deleted_task: task.into() }))
}

/// Statistics of a room.
#[utoipa::path(get, path = "/tasks/stats", tag = "tasks", params(RoomParam),
    responses((status = 200, body = StatsJson), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn stats(State(state): State<AppState>, Query(param): Query<RoomParam>) -> ApiResult<Json<StatsJson>> {
    let code = room_code(param.room.as_deref(), None)?;
    Ok(Json(state.tasks.stats(&code).await?.into()))
}

/// Turns a version conflict caused by `If-Match` into 412 with the task as it is now.
async fn precondition(
    state: &AppState,
    code: &RoomCode,
    number: u64,
    if_match: Option<u64>,
    result: taskcore::Result<taskcore::Task>,
) -> ApiResult<taskcore::Task> {
    match result {
        Err(taskcore::Error::Conflict { .. }) if if_match.is_some() => {
            let current = state.tasks.task(code, number).await?;
            Err(ApiError::precondition_failed(current.into()))
        }
        other => Ok(other?),
    }
}

fn task_response(status: StatusCode, message: &str, task: TaskJson) -> Response {
    let tag = etag(task.version);
    let mut response = (status, Json(TaskMessage { message: message.to_owned(), task })).into_response();
    insert_etag(&mut response, &tag);
    response
}

fn insert_etag(response: &mut Response, tag: &str) {
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
}
