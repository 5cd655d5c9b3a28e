//! The web UI: static pages and assets embedded in the binary at build time (no build step,
//! nothing to deploy beside the binary), served with their content types and revalidation.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ErrorBody};
use crate::version::VERSION;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const PAGES: &[Asset] = &[
    Asset { name: "index.html", content_type: "text/html; charset=utf-8", body: include_str!("../../ui/index.html") },
    Asset { name: "tasks.html", content_type: "text/html; charset=utf-8", body: include_str!("../../ui/tasks.html") },
];

const ASSETS: &[Asset] = &[
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_str!("../../ui/app.css") },
    Asset {
        name: "common.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../ui/common.js"),
    },
    Asset { name: "home.js", content_type: "text/javascript; charset=utf-8", body: include_str!("../../ui/home.js") },
    Asset { name: "tasks.js", content_type: "text/javascript; charset=utf-8", body: include_str!("../../ui/tasks.js") },
];

/// The build's assets are immutable for the life of the process: the ETag is the version plus
/// the content length, so a new build invalidates caches.
fn serve(asset: &Asset, headers: &HeaderMap) -> Response {
    let etag = format!("\"{VERSION}-{}\"", asset.body.len());
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, asset.content_type.to_owned()),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
            (header::ETAG, etag),
        ],
        asset.body,
    )
        .into_response()
}

/// `GET /`: the home page (create or join a room).
pub async fn home(headers: HeaderMap) -> Response {
    serve(&PAGES[0], &headers)
}

/// `GET /tasks.html`: a room's board.
pub async fn tasks_page(headers: HeaderMap) -> Response {
    serve(&PAGES[1], &headers)
}

/// `GET /assets/{name}`: stylesheet and scripts.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| serve(a, &headers))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, ErrorBody::new("not_found", format!("no asset {name}"))))
}
