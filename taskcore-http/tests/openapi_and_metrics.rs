//! The OpenAPI document matches the server (every documented operation is routed, with the
//! documented method; the listing parameters and task bodies it describes are the ones the
//! domain reads), and `/metrics` exports every metric name the crate declares.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use serde_json::{Value, json};
use support::{Payload, Target};
use taskcore::query::SortValue;
use taskcore::{Cursor, NewTask, QUERY_PARAMS, Sort, TaskPatch, TaskQuery};
use utoipa::OpenApi;

/// Query parameters of `GET /tasks` that the HTTP layer reads itself, besides the domain's
/// [`QUERY_PARAMS`]: `room` picks the room and is passed to `TaskQuery::from_params` as ignored.
const HTTP_LIST_PARAMS: &[&str] = &["room"];

/// Keys of the `POST /tasks` body that the HTTP layer reads itself, besides [`NewTask::FIELDS`]:
/// `room_code`, the room when `?room=` is not given.
const HTTP_CREATE_FIELDS: &[&str] = &["room_code"];

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
    // The memory store commits no batches: the group-commit counters are not exported for it.
    let group_commit = taskcore_http::metrics::GROUP_COMMIT_METRICS;
    for name in taskcore_http::metrics::ALL_METRICS.iter().filter(|name| !group_commit.contains(name)) {
        assert!(metrics.text.contains(name), "/metrics lacks {name}:\n{}", metrics.text);
    }
    for name in group_commit {
        assert!(!metrics.text.contains(name), "a store without group commit exports {name}");
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

/// The generated document, as clients read it.
fn document() -> Value {
    serde_json::to_value(taskcore_http::ApiDoc::openapi()).unwrap()
}

/// Fails naming what only one side has.
fn assert_same_names<'a>(
    documented: impl IntoIterator<Item = &'a str>,
    read: impl IntoIterator<Item = &'a str>,
    what: &str,
) {
    let documented: BTreeSet<&str> = documented.into_iter().collect();
    let read: BTreeSet<&str> = read.into_iter().collect();
    let undocumented: Vec<_> = read.difference(&documented).collect();
    let unread: Vec<_> = documented.difference(&read).collect();
    assert!(
        undocumented.is_empty() && unread.is_empty(),
        "{what}: read but not documented: {undocumented:?}; documented but not read: {unread:?}"
    );
}

/// The schema of an operation's JSON request body, a `$ref` resolved.
fn request_schema<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let schema = &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    match schema["$ref"].as_str() {
        Some(target) => &doc["components"]["schemas"][target.strip_prefix("#/components/schemas/").unwrap()],
        None => schema,
    }
}

fn property_names(schema: &Value) -> impl Iterator<Item = &str> {
    schema["properties"].as_object().unwrap_or_else(|| panic!("no properties in {schema}")).keys().map(String::as_str)
}

/// Whether a parameter's schema admits `value` as it appears in a query string.
fn admits(schema: &Value, value: &str) -> bool {
    assert!(schema.get("$ref").is_none(), "resolve {schema} first");
    if let Some(options) = schema["enum"].as_array()
        && !options.iter().any(|option| option == value)
    {
        return false;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => panic!("no type in {schema}"),
    };
    let in_bounds = |n: f64| {
        schema["minimum"].as_f64().is_none_or(|min| n >= min) && schema["maximum"].as_f64().is_none_or(|max| n <= max)
    };
    types.iter().any(|kind| match *kind {
        "string" => true,
        "boolean" => value == "true" || value == "false",
        "integer" => value.parse::<i64>().is_ok_and(|n| in_bounds(n as f64)),
        "number" => value.parse::<f64>().is_ok_and(in_bounds),
        _ => false,
    })
}

/// `GET /tasks` documents exactly the parameters the domain parses, plus the HTTP layer's own.
#[test]
fn list_parameters_are_the_ones_the_domain_reads() {
    let doc = document();
    let params = doc["paths"]["/tasks"]["get"]["parameters"].as_array().unwrap();
    for param in params {
        assert_eq!(param["in"], "query", "{param}");
    }
    assert_same_names(
        params.iter().map(|param| param["name"].as_str().unwrap()),
        QUERY_PARAMS.iter().chain(HTTP_LIST_PARAMS).copied(),
        "GET /tasks query parameters",
    );
}

/// Values the domain accepts for each listing parameter (checked here to be accepted) are
/// admitted by the parameter's documented schema: a schema may not be narrower than the parser
/// (such as a boolean `overdue`, which the domain also takes as `1`/`0`).
#[test]
fn each_list_parameter_schema_admits_what_the_domain_accepts() {
    let cursor = Cursor { sort: Sort::default(), value: SortValue::Int(3), number: 3 }.encode();
    let samples: &[(&str, &[&str])] = &[
        ("status", &["all", "Pending", "completed"]),
        ("priority", &["low", "HIGH"]),
        ("tag", &["work"]),
        ("assignee", &["alice"]),
        ("q", &["report"]),
        ("due_before", &["2026-12-01", "2026-12-01T10:00:00Z"]),
        ("due_after", &["2026-01-01 08:00:00"]),
        ("overdue", &["true", "false", "1", "0", "yes", "No"]),
        ("sort", &["due", "-created_at", "id"]),
        ("order", &["asc", "DESC"]),
        ("cursor", &[cursor.as_str()]),
        ("limit", &["1", "50", "500"]),
    ];
    assert_same_names(samples.iter().map(|(name, _)| *name), QUERY_PARAMS.iter().copied(), "samples of this test");
    let doc = document();
    let params = doc["paths"]["/tasks"]["get"]["parameters"].as_array().unwrap();
    for (name, values) in samples {
        let param = params.iter().find(|param| param["name"] == *name);
        let schema = &param.unwrap_or_else(|| panic!("{name} is not documented"))["schema"];
        for value in *values {
            TaskQuery::from_params([(name, value)], &[]).unwrap_or_else(|e| panic!("sample {name}={value}: {e}"));
            assert!(
                admits(schema, value),
                "the domain accepts {name}={value}, the documented schema {schema} does not"
            );
        }
    }
}

/// The documented body of `PUT` (and `PATCH`, when documented) `/tasks/{id}` has exactly the
/// fields `TaskPatch` reads.
#[test]
fn update_body_properties_are_the_fields_task_patch_reads() {
    let doc = document();
    let mut documented = 0;
    for method in ["put", "patch"] {
        if doc["paths"]["/tasks/{id}"].get(method).is_none() {
            continue;
        }
        documented += 1;
        assert_same_names(
            property_names(request_schema(&doc, "/tasks/{id}", method)),
            TaskPatch::FIELDS.iter().copied(),
            &format!("{method} /tasks/{{id}} body"),
        );
    }
    assert!(documented > 0, "the update is documented");
}

/// The documented body of `POST /tasks` has exactly the fields `NewTask` reads, plus the HTTP
/// layer's own.
#[test]
fn create_body_properties_are_the_fields_new_task_reads() {
    let doc = document();
    assert_same_names(
        property_names(request_schema(&doc, "/tasks", "post")),
        NewTask::FIELDS.iter().chain(HTTP_CREATE_FIELDS).copied(),
        "POST /tasks body",
    );
}

#[test]
fn path_parameters_are_in_their_paths_and_the_rest_in_the_query() {
    let doc = document();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let placeholder = format!("{{{name}}}");
                match parameter["in"].as_str().unwrap() {
                    "path" => assert!(
                        path.contains(&placeholder),
                        "{method} {path}: path parameter {name} is not in the path"
                    ),
                    "query" => {
                        assert!(!path.contains(&placeholder), "{method} {path}: {name} is in the path, not the query")
                    }
                    "header" => {}
                    other => panic!("{method} {path}: parameter {name} in {other}"),
                }
            }
        }
    }
}
