//! Event streams resumed past the end of a room's change feed, in-process: with `?since=` or
//! `Last-Event-ID` beyond the latest sequence, each stream gets one `resync` event and follows
//! from the latest change, and the server logs that once per stream — not a warning every poll
//! interval (the report: 200 such streams wrote 8,783 WARN lines in 20 s).

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::json;
use support::Target;
use tower::ServiceExt;

/// Log output captured in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

/// Reads the stream at `path` (with `headers`) for `within`, returning what arrived.
async fn read_for(app: &axum::Router, path: &str, headers: &[(&str, &str)], within: Duration) -> String {
    let mut request = Request::builder().uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut text = String::new();
    let _ = tokio::time::timeout(within, async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                text.push_str(&String::from_utf8_lossy(data));
            }
        }
    })
    .await;
    text
}

// One thread, so that the subscriber set for this test sees the handler and the stream.
#[tokio::test(flavor = "current_thread")]
async fn a_stream_past_the_end_resyncs_once_and_logs_once() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);

    let (api, _clock) = Target::memory();
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "one" })).await;
    api.task(&code, json!({ "title": "two" })).await;
    let Target::InProcess(app) = &api else { unreachable!("an in-process target") };

    // Three poll intervals each: the old code logged a WARN on every one of them.
    let read = Duration::from_millis(1_600);
    let by_query = read_for(app, &format!("/rooms/{code}/events?since=999"), &[], read).await;
    let by_header = read_for(app, &format!("/rooms/{code}/events"), &[("last-event-id", "999999999")], read).await;
    for text in [&by_query, &by_header] {
        assert_eq!(text.matches("event: resync").count(), 1, "one resync per stream: {text}");
        assert!(text.contains("event: resync\nid: 2\n"), "it carries the latest sequence: {text}");
    }

    // A stream that resynced follows the feed from the latest change on.
    let past_the_end = format!("/rooms/{code}/events?since=50");
    let (live, _) = tokio::join!(read_for(app, &past_the_end, &[], read), async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        api.task(&code, json!({ "title": "three" })).await;
    });
    let (resync, change) = (live.find("event: resync").unwrap(), live.find("event: change").unwrap());
    assert!(resync < change, "{live}");
    assert!(live[change..].contains("id: 3") && live.contains("\"title\":\"three\""), "{live}");
    assert!(!live.contains("\"title\":\"two\""), "nothing before the latest is replayed: {live}");

    let logged = log.text();
    assert_eq!(logged.matches("past the end").count(), 3, "logged once per stream:\n{logged}");
    assert!(!logged.contains("WARN"), "no warnings:\n{logged}");
}
