//! Room endpoints: create, read (with tasks), join (two compatible forms) and the change feed.
//!
//! A room object embeds its tasks, streamed, up to [`ROOM_TASKS_CAP`] tasks and the state's
//! byte budget; a room cut short says so with `"tasks_truncated": true` and a `next_cursor` for
//! `GET /tasks`. Rooms under both limits keep exactly the original API's shape.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use taskcore::{Room, RoomCode, format_timestamp};
use utoipa::IntoParams;

use crate::conditional::{not_modified, not_modified_response, room_tag, tag_response};
use crate::dto::{ChangesJson, CreateRoomBody, CreatedRoom, JoinRoomBody, JoinedRoom, RoomJson};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::listing_body::{self, Shape};
use crate::state::AppState;

/// The most tasks a room object or an unpaged `GET /tasks` holds; larger rooms are read with
/// `GET /tasks` pages.
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

/// A room with its members and tasks (streamed, within a byte budget). Its weak `ETag` follows
/// the room's changes; `If-None-Match` with it answers 304.
#[utoipa::path(get, path = "/rooms/{code}", tag = "rooms", params(("code" = String, Path, description = "Room code, any case")),
    responses((status = 200, body = RoomJson), (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_room(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let code = parse_code(&code)?;
    let (room, listing) = state.tasks.room_with_tasks(&code, ROOM_TASKS_CAP).await?;
    let tag = room_tag(listing.seq());
    if not_modified(&headers, &tag) {
        return Ok(not_modified_response(&tag));
    }
    let shape = Shape::Room { prefix: room_prefix(&room, b""), budget: state.embed_budget(), closing: "" };
    let mut response = json_response(listing_body::body(listing, shape));
    tag_response(&mut response, &tag);
    Ok(response)
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
) -> ApiResult<Response> {
    join(&state, &code, body.username).await
}

/// Joins the room named in the body (`room_code`).
#[utoipa::path(post, path = "/rooms/join", tag = "rooms", request_body = JoinRoomBody,
    responses((status = 200, body = JoinedRoom), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "`quota_exceeded`: the room has its limit of members", body = crate::error::ErrorBody)))]
pub async fn join_room_by_code(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<JoinRoomBody>,
) -> ApiResult<Response> {
    let Some(code) = body.room_code.filter(|c| !c.trim().is_empty()) else {
        return Err(ApiError::invalid("room_code", "Room code is required"));
    };
    join(&state, &code, body.username).await
}

async fn join(state: &AppState, code: &str, username: Option<String>) -> ApiResult<Response> {
    let code = parse_code(code)?;
    let username = username.unwrap_or_default();
    if username.trim().is_empty() {
        return Err(ApiError::invalid("username", "Username is required"));
    }
    state.tasks.join_room(&code, &username).await?;
    let (room, listing) = state.tasks.room_with_tasks(&code, ROOM_TASKS_CAP).await?;
    let message = serde_json::to_string(&format!("Joined room {code}")).unwrap_or_default();
    let opening = format!(r#"{{"message":{message},"room":"#);
    let shape =
        Shape::Room { prefix: room_prefix(&room, opening.as_bytes()), budget: state.embed_budget(), closing: "}" };
    Ok(json_response(listing_body::body(listing, shape)))
}

/// Change-feed parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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

/// The fields of a room object before its tasks, as in [`RoomJson`].
#[derive(Serialize)]
struct RoomHead<'a> {
    code: &'a str,
    owner: &'a str,
    members: Vec<&'a str>,
    created_at: String,
}

/// `opening`, then the room object up to and including `"tasks":[`.
pub(crate) fn room_prefix(room: &Room, opening: &[u8]) -> Vec<u8> {
    let head = RoomHead {
        code: room.code.as_str(),
        owner: room.owner.as_str(),
        members: room.members.iter().map(taskcore::MemberName::as_str).collect(),
        created_at: format_timestamp(room.created_at),
    };
    let mut prefix = opening.to_vec();
    prefix.extend(serde_json::to_vec(&head).unwrap_or_else(|_| b"{}".to_vec()));
    prefix.pop(); // the closing brace: the tasks come next
    prefix.extend_from_slice(br#","tasks":["#);
    prefix
}

/// A 200 response with a JSON body.
pub(crate) fn json_response(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
