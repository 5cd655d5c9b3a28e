//! Room codes are the only credential of a room, so they never reach a log line as they are:
//! [`RedactedUri`] replaces the code in `/rooms/{code}…` and the value of `room=` with
//! [`room_tag`] — a short keyed hash that is the same for one room within one process (so a
//! room's requests can still be followed) but cannot be turned back into the code without the
//! process's random key. [`request_span`] is the span every request is logged in: method,
//! redacted URI, request id and client address.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::extract::{ConnectInfo, Request};
use axum::http::Uri;

use crate::edge::ClientAddr;

/// A stand-in for a room code in logs: `~` and 8 hex digits of a per-process keyed hash of
/// the normalised (trimmed, uppercase) code.
pub fn room_tag(code: &str) -> String {
    static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    let mut hasher = KEY.get_or_init(Default::default).build_hasher();
    hasher.write(code.trim().to_ascii_uppercase().as_bytes());
    format!("~{:08x}", hasher.finish() >> 32)
}

/// Displays a URI with its room codes replaced by [`room_tag`]s.
#[derive(Debug, Clone, Copy)]
pub struct RedactedUri<'a>(pub &'a Uri);

impl fmt::Display for RedactedUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.0.path();
        match path.strip_prefix("/rooms/") {
            Some(rest) if !rest.is_empty() && rest != "join" => {
                let (code, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                write!(f, "/rooms/{}{tail}", room_tag(&percent_decoded(code)))?;
            }
            _ => f.write_str(path)?,
        }
        let Some(query) = self.0.query() else { return Ok(()) };
        f.write_str("?")?;
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            match pair.split_once('=') {
                Some((key @ ("room" | "room_code"), value)) => {
                    write!(f, "{key}={}", room_tag(&percent_decoded(value)))?;
                }
                _ => f.write_str(pair)?,
            }
        }
        Ok(())
    }
}

/// `%41` → `A`, so that `/rooms/%41BCDEF` and `/rooms/ABCDEF` get the same tag. Anything that
/// does not decode is tagged as it is.
fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The span a request is logged in: `method`, `uri` (redacted), `request_id`, `client` (the
/// [`ClientAddr`] the edge layer resolved, else the TCP peer, else `-`).
pub fn request_span(request: &Request) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    let client = Client(
        request
            .extensions()
            .get::<ClientAddr>()
            .map(|c| c.0)
            .or_else(|| request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())),
    );
    tracing::info_span!("request", method = %request.method(), uri = %RedactedUri(request.uri()), request_id = %id, client = %client)
}

struct Client(Option<std::net::IpAddr>);

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn redacted(uri: &str) -> String {
        RedactedUri(&uri.parse::<Uri>().unwrap()).to_string()
    }

    #[test]
    fn codes_in_paths_and_room_parameters_are_tagged() {
        let tag = room_tag("K7M2QX");
        assert_eq!(tag.len(), 9);
        assert_eq!(room_tag(" k7m2qx "), tag, "one room, one tag, whatever the spelling");
        assert_ne!(room_tag("K7M2QY"), tag);
        assert_eq!(redacted("/rooms/K7M2QX"), format!("/rooms/{tag}"));
        assert_eq!(redacted("/rooms/k7m2qx/events?since=3"), format!("/rooms/{tag}/events?since=3"));
        assert_eq!(redacted("/rooms/%4B7M2QX/join"), format!("/rooms/{tag}/join"));
        assert_eq!(
            redacted("/tasks?status=pending&room=K7M2QX&limit=5"),
            format!("/tasks?status=pending&room={tag}&limit=5")
        );
        assert_eq!(redacted("/tasks.html?room=k7m2qx&name=al"), format!("/tasks.html?room={tag}&name=al"));
        for plain in ["/rooms", "/rooms/join", "/health", "/tasks/3", "/tasks?status=all"] {
            assert_eq!(redacted(plain), plain);
        }
        assert!(!redacted("/tasks/1?room=K7M2QX").contains("K7M2QX"));
    }
}
