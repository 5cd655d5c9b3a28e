//! Request extraction that fails with [`ApiError`]s instead of axum's plain-text rejections:
//! JSON bodies, the room code (query `room` or body `room_code`), task numbers in paths, and the
//! `If-Match` and `Idempotency-Key` headers.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use taskcore::{IdempotencyKey, RoomCode};

use crate::error::{ApiError, ApiResult, ErrorBody};

/// A JSON body; malformed JSON is 400, a wrong content type 415, a body too large 413, and a
/// well-formed body of the wrong shape 422 — each with a JSON error body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let (status, code, message) = match rejection {
        JsonRejection::MissingJsonContentType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON, sent with Content-Type: application/json".to_owned(),
        ),
        JsonRejection::JsonSyntaxError(e) => (StatusCode::BAD_REQUEST, "malformed_json", e.body_text()),
        JsonRejection::JsonDataError(e) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.body_text()),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large".to_owned())
        }
        other => (other.status(), "bad_request", other.body_text()),
    };
    ApiError::new(status, ErrorBody::new(code, message))
}

/// The room a `/tasks` request is about: `?room=` or, failing that, the body's `room_code`.
pub(crate) fn room_code(query_room: Option<&str>, body_room: Option<&str>) -> ApiResult<RoomCode> {
    let raw = query_room.filter(|r| !r.trim().is_empty()).or(body_room.filter(|r| !r.trim().is_empty()));
    let Some(raw) = raw else {
        return Err(ApiError::invalid("room", "Room code is required: pass ?room=CODE"));
    };
    RoomCode::parse(raw).map_err(|e| ApiError::from(e).with_field("room"))
}

/// A task number from a path segment.
pub(crate) fn task_number(raw: &str) -> ApiResult<u64> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("id", format!("task id must be a positive whole number, got '{raw}'")))
}

/// The version an `If-Match` header demands: `None` without the header or with `*`.
pub(crate) fn if_match_version(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().map_err(|_| ApiError::invalid("If-Match", "must be an ETag such as \"3\""))?.trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/")
        .trim_matches('"')
        .parse::<u64>()
        .map(Some)
        .map_err(|_| ApiError::invalid("If-Match", "must be an ETag returned by this API, such as \"3\""))
}

/// The `Idempotency-Key` header, if any.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<IdempotencyKey>> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let text = value.to_str().map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?;
    IdempotencyKey::parse(text).map(Some).map_err(|e| ApiError::from(e).with_field("Idempotency-Key"))
}

/// The `ETag` of a task version.
pub(crate) fn etag(version: u64) -> String {
    format!("\"{version}\"")
}
