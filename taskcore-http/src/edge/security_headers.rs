//! Response headers that tell browsers what a response may do: on every response
//! `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`
//! and a `Content-Security-Policy`; HTML pages (the web UI) get [`UI_CSP`], everything else the
//! lock-down [`API_CSP`].
//!
//! The UI needs nothing inline: its pages load `/assets/*.js` and `/assets/app.css` only (no
//! `<script>` or `<style>` bodies, no `style=` or `on…=` attributes; scripts set styles through
//! the DOM, which CSP allows), and talk to this origin only (`fetch`, `EventSource`).

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

/// The policy of HTML pages: scripts, styles, images and connections from this origin only,
/// no plugins, no `<base>`, forms post here, and no framing (clickjacking).
pub const UI_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/// The policy of everything else (JSON, event streams, assets): nothing may load, nothing may frame.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the headers to a response's headers, keeping any a handler set itself.
pub(crate) fn apply(headers: &mut HeaderMap) {
    let html = headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let csp = if html { UI_CSP } else { API_CSP };
    let wanted: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in wanted {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_gets_the_ui_policy_and_the_rest_the_lock_down() {
        let mut page = HeaderMap::new();
        page.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        apply(&mut page);
        assert_eq!(page[header::CONTENT_SECURITY_POLICY], UI_CSP);
        assert_eq!(page[header::X_FRAME_OPTIONS], "DENY");
        let mut json = HeaderMap::new();
        apply(&mut json);
        assert_eq!(json[header::CONTENT_SECURITY_POLICY], API_CSP);
        assert_eq!(json[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(json[header::REFERRER_POLICY], "no-referrer");
    }

    #[test]
    fn the_ui_needs_nothing_inline() {
        let pages = [include_str!("../../ui/index.html"), include_str!("../../ui/tasks.html")];
        for page in pages {
            let lower = page.to_ascii_lowercase();
            for (at, _) in lower.match_indices("<script") {
                let tag = &lower[at..at + lower[at..].find('>').unwrap_or(0)];
                assert!(tag.contains("src=\"/assets/"), "inline or foreign script: {tag}");
            }
            assert!(!lower.contains("<style"), "inline <style>");
            assert!(!lower.contains(" style="), "inline style attribute");
            assert!(!lower.contains("javascript:"), "javascript: URL");
            for attribute in [" onclick=", " onload=", " onsubmit=", " onchange=", " oninput=", " onerror="] {
                assert!(!lower.contains(attribute), "inline handler {attribute}");
            }
        }
    }
}
