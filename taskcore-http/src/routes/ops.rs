//! Operations endpoints: `/health` (cheap and honest: one storage check in flight at a time,
//! shared by concurrent callers; a check that passed is reused for at most half a second, a
//! failed one never; 503 when storage is down), `/livez`,
//! `/readyz` (503 while draining), `/metrics` (Prometheus text) and `/api`. (`/openapi.json` is
//! served by [`openapi_json`](crate::openapi_json), next to the document it describes.)

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::metrics::STORE_UP;
use crate::state::AppState;
use crate::version::VERSION;

/// How long a health check waits for the store.
pub const STORE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `/health` answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `healthy` or `unhealthy`.
    pub status: String,
    /// Now (RFC 3339).
    pub timestamp: String,
    /// The server version.
    pub version: String,
    /// Seconds since start.
    pub uptime: u64,
    /// The storage backend (`sqlite`, `redis`, `postgres`, `memory`).
    pub backend: String,
    /// `ok` or `unavailable`.
    pub storage: String,
}

/// Liveness and storage health.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let storage_ok = store_ok(&state).await;
    let health = Health {
        status: if storage_ok { "healthy" } else { "unhealthy" }.to_owned(),
        timestamp: taskcore::format_timestamp(state.tasks.now()),
        version: VERSION.to_owned(),
        uptime: state.uptime_seconds(),
        backend: state.tasks.store().backend().to_owned(),
        storage: if storage_ok { "ok" } else { "unavailable" }.to_owned(),
    };
    (if storage_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(health))
}

/// The process is alive (no dependency checked).
#[utoipa::path(get, path = "/livez", tag = "operations", responses((status = 200, description = "alive")))]
pub async fn livez() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "alive" }))
}

/// Ready for traffic: storage answers and the server is not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready"), (status = 503, description = "not ready")))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (status, reason) = if state.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "shutting down")
    } else if store_ok(&state).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable")
    };
    (status, Json(serde_json::json!({ "status": reason })))
}

/// A passed storage check is trusted this long, so a flood of health checks costs one ping per
/// interval instead of one per request; a failed check is never reused.
pub const STORE_CHECK_REUSE: Duration = Duration::from_millis(500);

/// One storage check in flight at a time, its result shared by every caller waiting for it
/// (see [`StoreHealth`](crate::edge::StoreHealth)): `/health` never fails because health
/// requests crowded each other out.
async fn store_ok(state: &AppState) -> bool {
    state
        .store_health()
        .check(STORE_CHECK_REUSE, || async {
            let ok = matches!(tokio::time::timeout(STORE_CHECK_TIMEOUT, state.tasks.ping()).await, Ok(Ok(())));
            state.metrics().record(|| metrics::gauge!(STORE_UP).set(if ok { 1.0 } else { 0.0 }));
            ok
        })
        .await
}

/// Prometheus metrics in the text exposition format (404 when the application exports its
/// metrics another way: [`Metrics::global`](crate::metrics::Metrics::global) without a handle).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 404, body = ErrorBody)))]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let Some(handle) = state.metrics().handle() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorBody::new("not_found", "this server exports no metrics"),
        ));
    };
    if let Some(cache) = state.tasks.cache() {
        state.metrics().record(|| crate::metrics::publish_cache(cache.stats()));
    }
    if let Some(stats) = state.tasks.store().write_stats() {
        state.metrics().record(|| crate::metrics::publish_write_stats(stats));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()))
}

/// A line naming the API.
#[utoipa::path(get, path = "/api", tag = "operations", responses((status = 200, description = "text", content_type = "text/plain")))]
pub async fn api() -> impl IntoResponse {
    format!("Task Manager API (taskcore {VERSION}) is running. See /openapi.json for every endpoint.")
}
