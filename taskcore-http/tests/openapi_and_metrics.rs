//! The OpenAPI document matches the server (every documented operation is routed, with the
//! documented method), and `/metrics` exports every metric name the crate declares.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Payload, Target};

#[tokio::test]
async fn every_documented_operation_is_served() {
    let (api, _clock) = Target::memory();
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "t" })).await;
    let doc = api.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc.json["paths"].as_object().unwrap();
    assert!(paths.len() >= 16, "{} paths documented", paths.len());
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let concrete = path.replace("{code}", &code).replace("{id}", "1");
            let sep = if concrete.contains('?') { '&' } else { '?' };
            let url = format!("{concrete}{sep}room={code}");
            if path.ends_with("/events") {
                let (status, headers) = api.head_of_get(&url).await;
                assert_eq!(status, 200, "{path}");
                assert_eq!(headers.get("content-type").unwrap(), "text/event-stream");
                continue;
            }
            let reply = api
                .send(&method.to_uppercase(), &url, &[], Payload::Json(json!({ "username": "x", "title": "x" })))
                .await;
            assert_ne!(reply.status, 405, "{method} {path} is documented but not routed with that method");
            assert_ne!(
                reply.json["error"], "no such endpoint; see /openapi.json",
                "{method} {path} is documented but not routed"
            );
        }
    }
    assert!(operations >= 19, "{operations} operations documented");
}

#[tokio::test]
async fn metrics_exports_every_declared_name() {
    let tasks = taskcore::TaskManager::new(std::sync::Arc::new(taskcore::MemoryStore::new()))
        .with_cache(taskcore::CacheOptions::default());
    let api = Target::InProcess(taskcore_http::router(
        taskcore_http::AppState::with_manager(tasks),
        taskcore_http::Limits::default(),
    ));
    let code = api.room("alice").await;
    api.get(&format!("/tasks?room={code}")).await;
    api.task(&code, json!({ "title": "t" })).await;
    api.post(&format!("/tasks/1/complete?room={code}"), json!({})).await;
    api.get("/health").await;
    let metrics = api.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    for name in taskcore_http::metrics::ALL_METRICS {
        assert!(metrics.text.contains(name), "/metrics lacks {name}:\n{}", metrics.text);
    }
    assert!(metrics.text.contains(r#"route="/tasks/{id}/complete""#), "routes are labelled by template");
    assert!(metrics.text.contains(r#"backend="memory""#));
    assert!(metrics.text.contains("http_request_duration_seconds_bucket"), "latency is a histogram");
}

/// A request that is still arriving when the request timeout passes is answered 408 with a JSON
/// body, and nothing is created.
#[tokio::test]
async fn a_request_slower_than_the_timeout_gets_408_json() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use std::time::Duration;
    use tower::ServiceExt;

    let store = Arc::new(taskcore::MemoryStore::new());
    let state = taskcore_http::AppState::new(store);
    let limits = taskcore_http::Limits { request_timeout: Duration::from_millis(200), body_limit: 1024 };
    let app = taskcore_http::router(state.clone(), limits);
    let code = state.tasks.create_room("alice").await.unwrap().code;
    let never_ending = Body::from_stream(futures_util::stream::pending::<Result<Vec<u8>, std::io::Error>>());
    let request = Request::post(format!("/tasks?room={code}"))
        .header("content-type", "application/json")
        .body(never_ending)
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), app.oneshot(request)).await.unwrap().unwrap();
    assert_eq!(response.status(), 408);
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["code"], "timeout");
    assert_eq!(state.tasks.stats(&code).await.unwrap().total, 0);
}

/// Building states and routers installs nothing process-wide: the application can still install
/// its own global recorder, and a state told to use it records there and renders its handle.
#[tokio::test]
async fn the_library_installs_no_global_recorder_and_can_use_the_applications() {
    use std::sync::Arc;
    use taskcore_http::{AppState, Limits, Metrics, router};

    let own = AppState::new(Arc::new(taskcore::MemoryStore::new()));
    let _router = router(own.clone(), Limits::default());
    own.tasks.create_room("alice").await.unwrap();

    let recorder = taskcore_http::metrics::recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("no global recorder was installed by the library");

    let state =
        AppState::new(Arc::new(taskcore::MemoryStore::new())).with_metrics(Metrics::global(Some(handle.clone())));
    let api = support::Target::InProcess(router(state, Limits::default()));
    api.room("bob").await;
    let scraped = api.get("/metrics").await;
    assert_eq!(scraped.status, 200);
    assert!(scraped.text.contains(r#"route="/rooms""#), "{}", scraped.text);
    assert!(handle.render().contains("taskcore_build_info"), "recorded into the application's recorder");

    let silent = AppState::new(Arc::new(taskcore::MemoryStore::new())).with_metrics(Metrics::global(None));
    let api = support::Target::InProcess(router(silent, Limits::default()));
    assert_eq!(api.get("/metrics").await.status, 404, "no handle, no endpoint");
}
