//! Conditional reads of listings and rooms: weak `ETag`s built from the room's change sequence
//! (and, for a listing, its query and match count), `If-None-Match` answered with 304, and
//! `Cache-Control: no-cache` so that browsers and polling clients revalidate instead of
//! downloading an unchanged room again.
//!
//! A tag is built from a sequence read *before* the content, so it never claims a newer state
//! than the body shows. The match count is part of a listing's tag because overdue filters
//! change with the clock alone (only ever growing until the next write).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The tag of a listing: the room's sequence, the number of matches and the query text.
pub(crate) fn listing_tag(seq: u64, matched: u64, query: &str) -> String {
    format!("W/\"l{seq}.{matched}.{:016x}\"", fnv1a(query.as_bytes()))
}

/// The tag of a room with its embedded tasks.
pub(crate) fn room_tag(seq: u64) -> String {
    format!("W/\"r{seq}\"")
}

/// Whether the request's `If-None-Match` names `tag` (weak comparison) or is `*`.
pub(crate) fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    let Some(list) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else { return false };
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let wanted = opaque(tag);
    list.split(',').any(|candidate| candidate.trim() == "*" || opaque(candidate) == wanted)
}

/// 304 with the tag.
pub(crate) fn not_modified_response(tag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    tag_response(&mut response, tag);
    response
}

/// Adds the tag and `Cache-Control: no-cache` to a response.
pub(crate) fn tag_response(response: &mut Response, tag: &str) {
    if let Ok(value) = HeaderValue::from_str(tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}

/// 64-bit FNV-1a: a stable hash (the same in every replica and build), for tags.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let tag = listing_tag(7, 3, "room=ABC234");
        let mut headers = HeaderMap::new();
        assert!(!not_modified(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&tag).unwrap());
        assert!(not_modified(&headers, &tag));
        let strong = tag.trim_start_matches("W/").to_owned();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&format!("\"x\", {strong}")).unwrap());
        assert!(not_modified(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&listing_tag(8, 3, "room=ABC234")).unwrap());
        assert!(!not_modified(&headers, &tag), "a newer sequence is another tag");
        assert_ne!(listing_tag(7, 3, "room=ABC234"), listing_tag(7, 3, "room=ABC234&status=pending"));
        assert_ne!(listing_tag(7, 3, "q"), listing_tag(7, 4, "q"));
    }
}
