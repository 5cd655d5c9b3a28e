//! `GET /rooms/{code}/export`: a room with every task, as a file for its members to keep — JSON
//! (the room object of `GET /rooms/{code}`, with no byte budget) or CSV for spreadsheets (see
//! `csv_body.rs`). Both are streamed, so an export's memory does not grow with
//! the room.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use taskcore::RoomCode;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};
use crate::listing_body::{self, Shape};
use crate::routes::rooms::{json_response, room_prefix};
use crate::state::AppState;

/// Export parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

impl Format {
    fn parse(raw: Option<&str>) -> ApiResult<Self> {
        match raw.map(str::trim) {
            None | Some("") => Ok(Self::Json),
            Some(text) if text.eq_ignore_ascii_case("json") => Ok(Self::Json),
            Some(text) if text.eq_ignore_ascii_case("csv") => Ok(Self::Csv),
            Some(_) => Err(ApiError::invalid("format", "format must be json or csv")),
        }
    }
}

/// The room and every task, as a download: `format=json` (default) is the room object with all
/// its tasks; `format=csv` one row per task under a header row (RFC 4180; cells a spreadsheet
/// would run as formulas are prefixed with `'`).
#[utoipa::path(get, path = "/rooms/{code}/export", tag = "rooms",
    params(("code" = String, Path, description = "Room code, any case"), ExportParams),
    responses(
        (status = 200, description = "The room as a file: `application/json` (a room object) or `text/csv`"),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn export_room(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(params): Query<ExportParams>,
) -> ApiResult<Response> {
    let format = Format::parse(params.format.as_deref())?;
    let code = RoomCode::parse(&code).map_err(ApiError::from)?;
    let (room, listing) = state.tasks.room_with_tasks(&code, usize::MAX).await?;
    let (mut response, extension) = match format {
        Format::Json => {
            let shape = Shape::Room { prefix: room_prefix(&room, b""), budget: usize::MAX, closing: "" };
            (json_response(listing_body::body(listing, shape)), "json")
        }
        Format::Csv => {
            let mut response = Response::new(crate::csv_body::body(listing));
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            (response, "csv")
        }
    };
    // Room codes are letters and digits only, so the file name needs no escaping.
    let disposition = format!("attachment; filename=\"taskcore-room-{}.{extension}\"", room.code.as_str());
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
