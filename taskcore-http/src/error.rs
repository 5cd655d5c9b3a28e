//! [`ApiError`]: the one way a handler fails. It maps [`taskcore::Error`] variants and request
//! problems to status codes and JSON bodies; 4xx bodies say what is wrong and name the field,
//! 5xx bodies are generic and the cause chain is logged once, here.

use std::error::Error as _;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use taskcore::Missing;

use crate::dto::TaskJson;

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for people (the original API's only key).
    pub error: String,
    /// A stable machine-readable code: `invalid`, `not_found`, `conflict`, `precondition_failed`,
    /// `resync_needed`, `idempotency_key_reused` (422), `idempotent_task_deleted` (410),
    /// `quota_exceeded` (409, `field` names the quota), `unavailable`, `storage_full` (507),
    /// `internal`, `payload_too_large`, `rate_limited`, …
    pub code: &'static str,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The current version, on version conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// The task as it is now, on a failed `If-Match` precondition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskJson>,
    /// The oldest change still kept and the latest one, when a change-feed reader must resync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<u64>,
    /// See `oldest`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<u64>,
}

impl ErrorBody {
    /// A body with just a message and a code.
    pub fn new(code: &'static str, error: impl Into<String>) -> Self {
        Self { error: error.into(), code, field: None, current_version: None, task: None, oldest: None, latest: None }
    }
}

/// A failed request: a status and an [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Box<ErrorBody>,
    /// A room code that names no room: the edge layer counts these per client.
    room_miss: bool,
}

impl ApiError {
    /// An error with this status and body.
    pub fn new(status: StatusCode, body: ErrorBody) -> Self {
        Self { status, body: Box::new(body), room_miss: false }
    }

    /// 400 naming `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut body = ErrorBody::new("invalid", message);
        body.field = Some(field.to_owned());
        Self::new(StatusCode::BAD_REQUEST, body)
    }

    /// 412: the `If-Match` version is not current; the body carries the task as it is.
    pub fn precondition_failed(current: TaskJson) -> Self {
        let mut body = ErrorBody::new(
            "precondition_failed",
            format!("If-Match does not match: the task is at version {}", current.version),
        );
        body.current_version = Some(current.version);
        body.task = Some(current);
        Self::new(StatusCode::PRECONDITION_FAILED, body)
    }

    /// The same error naming another input field (a query parameter or header rather than the
    /// domain's name for it).
    pub fn with_field(mut self, field: &str) -> Self {
        self.body.field = Some(field.to_owned());
        self
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<taskcore::Error> for ApiError {
    fn from(error: taskcore::Error) -> Self {
        use taskcore::Error as E;
        match error {
            E::NotFound(missing) => {
                let mut error =
                    Self::new(StatusCode::NOT_FOUND, ErrorBody::new("not_found", not_found_message(&missing)));
                error.room_miss = matches!(missing, Missing::Room(_));
                error
            }
            E::Invalid { field, message } => Self::invalid(field, format!("{field}: {message}")),
            E::Conflict { expected, current } => {
                let mut body = ErrorBody::new(
                    "conflict",
                    format!("version conflict: expected version {expected}, the task is at version {current}"),
                );
                body.current_version = Some(current);
                Self::new(StatusCode::CONFLICT, body)
            }
            E::AlreadyExists(existing) => {
                Self::new(StatusCode::CONFLICT, ErrorBody::new("already_exists", format!("{existing} already exists")))
            }
            E::IdempotencyKeyReused { key } => {
                let mut body = ErrorBody::new(
                    "idempotency_key_reused",
                    format!(
                        "Idempotency-Key '{key}' was already used in this room for a different request; \
                         send a new request with a new key"
                    ),
                );
                body.field = Some("Idempotency-Key".to_owned());
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, body)
            }
            E::IdempotentTaskDeleted { key, number } => {
                let mut body = ErrorBody::new(
                    "idempotent_task_deleted",
                    format!(
                        "the task Idempotency-Key '{key}' created (id {number}) has been deleted since; a key stays \
                         used for as long as the room exists, so send the request with a new key to create the task again"
                    ),
                );
                body.field = Some("Idempotency-Key".to_owned());
                Self::new(StatusCode::GONE, body)
            }
            E::QuotaExceeded { quota, limit } => {
                let mut body = ErrorBody::new(
                    "quota_exceeded",
                    format!("this room has reached its limit of {limit} {}", quota.description()),
                );
                body.field = Some(quota.as_str().to_owned());
                Self::new(StatusCode::CONFLICT, body)
            }
            E::ResyncNeeded { since, oldest, latest } => {
                let mut body = ErrorBody::new(
                    "resync_needed",
                    format!(
                        "changes after {since} are no longer kept (oldest kept: {oldest}); reload the room, then follow changes from {latest}"
                    ),
                );
                body.oldest = Some(oldest);
                body.latest = Some(latest);
                Self::new(StatusCode::GONE, body)
            }
            unavailable @ E::Unavailable { .. } => {
                log_cause(&unavailable);
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorBody::new("unavailable", "storage is unavailable; try again shortly"),
                )
            }
            full @ E::StorageFull { .. } => {
                log_cause(&full);
                Self::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    ErrorBody::new(
                        "storage_full",
                        "storage is full: writes are refused until space is freed; reads go on",
                    ),
                )
            }
            other => {
                log_cause(&other);
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorBody::new("internal", "internal server error"))
            }
        }
    }
}

/// The original API's wording: `Room K7M2QX not found`, `Task 3 not found`.
fn not_found_message(missing: &Missing) -> String {
    match missing {
        Missing::Room(code) => format!("Room {code} not found"),
        Missing::Task { number, .. } => format!("Task {number} not found"),
        other => format!("{other} not found"),
    }
}

fn log_cause(error: &taskcore::Error) {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "request failed in storage");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (self.status, Json(*self.body)).into_response();
        if retry {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.room_miss {
            response.extensions_mut().insert(crate::edge::RoomMiss);
        }
        response
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
