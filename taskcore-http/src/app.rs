//! [`router`]: the routes and the middleware stack — request ids, tracing, metrics, timeout,
//! body limit, panic catching, and the rule that every error response is JSON.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Limits;
use crate::error::{ApiError, ErrorBody};
use crate::layers::{HttpMetricsLayer, JsonErrorsLayer, SequentialRequestId};
use crate::openapi;
use crate::routes::{events, export, ops, rooms, tasks, ui};
use crate::state::AppState;

/// The whole API over `state`. Its metrics go where [`AppState::metrics`] says.
pub fn router(state: AppState, limits: Limits) -> Router {
    let http_metrics = HttpMetricsLayer::new(state.metrics().clone());
    let api = Router::new()
        .route("/rooms", post(rooms::create_room))
        .route("/rooms/join", post(rooms::join_room_by_code))
        .route("/rooms/{code}", get(rooms::get_room))
        .route("/rooms/{code}/join", post(rooms::join_room))
        .route("/rooms/{code}/changes", get(rooms::changes))
        .route("/rooms/{code}/export", get(export::export_room))
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
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/rooms/{code}/events", get(events::events))
        .route("/", get(ui::home))
        .route("/tasks.html", get(ui::tasks_page))
        .route("/assets/{name}", get(ui::asset))
        .route_layer(http_metrics)
        .fallback(not_found)
        .with_state(state);
    // The middleware wraps the whole router once. (`Router::layer` would wrap every route
    // separately, and each request would then clone that boxed stack: a third of the cost of a
    // `/health` request, measured with callgrind in bench/src/bin/router-overhead.rs.)
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(SequentialRequestId::default()))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| crate::edge::request_span(request)))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorBody::new("internal", "internal server error"))
                .into_response()
        }))
        // Outside the timeout, so that its 408 gets a JSON body too.
        .layer(JsonErrorsLayer)
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(DefaultBodyLimit::max(limits.body_limit))
        .service(api);
    Router::new().fallback_service(stack)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorBody::new("not_found", "no such endpoint; see /openapi.json"))
}
