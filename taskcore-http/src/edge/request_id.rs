//! Client-supplied `X-Request-Id`s: kept only when they match `[A-Za-z0-9._-]{1,64}`, so that a
//! client cannot forge log fields or flood logs; anything else is dropped and the server makes
//! its own id.

use axum::http::HeaderMap;

/// The longest request id accepted from a client.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Whether `id` may be used as a request id.
pub fn is_acceptable(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Removes `X-Request-Id` unless there is exactly one and it is acceptable.
pub(crate) fn sanitize(headers: &mut HeaderMap) {
    let mut values = headers.get_all("x-request-id").iter();
    let keep = match (values.next(), values.next()) {
        (Some(one), None) => is_acceptable(one.as_bytes()),
        (None, _) => true,
        _ => false,
    };
    if !keep {
        headers.remove("x-request-id");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_short_plain_ids_are_kept() {
        for good in ["a", "req-1.2_3", &"x".repeat(64)] {
            assert!(is_acceptable(good.as_bytes()), "{good}");
        }
        for bad in ["", &"x".repeat(65), "a b", "id request_id=admin", "ü", "a\"b", "a/b"] {
            assert!(!is_acceptable(bad.as_bytes()), "{bad}");
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("request_id=admin"));
        sanitize(&mut headers);
        assert!(headers.get("x-request-id").is_none());
        headers.append("x-request-id", HeaderValue::from_static("one"));
        headers.append("x-request-id", HeaderValue::from_static("two"));
        sanitize(&mut headers);
        assert!(headers.get("x-request-id").is_none(), "two ids: neither is believed");
        headers.insert("x-request-id", HeaderValue::from_static("abc-123"));
        sanitize(&mut headers);
        assert_eq!(headers["x-request-id"], "abc-123");
    }
}
