//! [`ApiDoc`]: the OpenAPI 3 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the DTOs' schemas, and [`openapi_json`], the handler serving it at
//! `/openapi.json`.

use axum::Json;
use axum::response::IntoResponse;
use utoipa::OpenApi;

use crate::routes::{events, export, ops, rooms, tasks};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "taskcore", description = "Collaborative task management: rooms, members, tasks, stats and a change feed."),
    paths(
        rooms::create_room, rooms::get_room, rooms::join_room, rooms::join_room_by_code, rooms::changes,
        export::export_room,
        events::events,
        tasks::list_tasks, tasks::create_task, tasks::get_task, tasks::update_task, tasks::complete_task,
        tasks::reopen_task, tasks::delete_task, tasks::stats,
        ops::health, ops::livez, ops::readyz, ops::metrics, ops::api, openapi_json,
    ),
    tags(
        (name = "rooms", description = "Rooms, members and the change feed"),
        (name = "tasks", description = "Tasks of a room"),
        (name = "operations", description = "Health, metrics and API description"),
    )
)]
pub struct ApiDoc;

/// This API's OpenAPI 3 description.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
