//! [`router`]: the routes and the middleware stack — request ids, tracing, metrics, timeout,
//! body limit, panic catching, and the rule that every error response is JSON.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{ApiError, ErrorBody};
use crate::routes::{events, ops, rooms, tasks, ui};
use crate::state::AppState;

/// Limits the router enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { request_timeout: Duration::from_secs(30), body_limit: 64 * 1024 }
    }
}

/// The whole API over `state`.
pub fn router(state: AppState, limits: Limits) -> Router {
    crate::metrics::prometheus();
    let api = Router::new()
        .route("/rooms", post(rooms::create_room))
        .route("/rooms/join", post(rooms::join_room_by_code))
        .route("/rooms/{code}", get(rooms::get_room))
        .route("/rooms/{code}/join", post(rooms::join_room))
        .route("/rooms/{code}/changes", get(rooms::changes))
        .route("/tasks", get(tasks::list_tasks).post(tasks::create_task))
        .route("/tasks/stats", get(tasks::stats))
        .route(
            "/tasks/{id}",
            get(tasks::get_task).put(tasks::update_task).patch(tasks::update_task).delete(tasks::delete_task),
        )
        .route("/tasks/{id}/complete", post(tasks::complete_task))
        .route("/tasks/{id}/reopen", post(tasks::reopen_task))
        .route("/health", get(ops::health))
        .route("/livez", get(ops::livez))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api", get(ops::api))
        .route("/openapi.json", get(ops::openapi))
        .route("/rooms/{code}/events", get(events::events))
        .route("/", get(ui::home))
        .route("/tasks.html", get(ui::tasks_page))
        .route("/assets/{name}", get(ui::asset))
        .route_layer(middleware::from_fn(crate::metrics::track_http))
        .fallback(not_found)
        .with_state(state);
    api.layer(DefaultBodyLimit::max(limits.body_limit))
        .layer(middleware::from_fn(json_errors))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorBody::new("internal", "internal server error"))
                .into_response()
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorBody::new("not_found", "no such endpoint; see /openapi.json"))
}

/// Gives every error response that is not JSON yet (405 from routing, 408 from the timeout,
/// 413 from the body limit, …) a JSON body naming the problem.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed on this endpoint"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "the body must be JSON"),
        s if s.is_server_error() => ("internal", "internal server error"),
        _ => ("bad_request", "the request is not valid"),
    };
    let (parts, body) = response.into_parts();
    let detail = if status.is_client_error() { plain_text(body).await } else { None };
    let message = detail.map_or_else(|| message.to_owned(), |d| format!("{message}: {d}"));
    let mut rebuilt = ApiError::new(status, ErrorBody::new(code, message)).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            rebuilt.headers_mut().insert(name, value.clone());
        }
    }
    rebuilt
}

async fn plain_text(body: axum::body::Body) -> Option<String> {
    let bytes = axum::body::to_bytes(body, 4096).await.ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}
