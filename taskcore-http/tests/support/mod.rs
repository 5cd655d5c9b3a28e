//! Shared test support: one way to send a request to the API, whether it runs in-process
//! (router + `oneshot`) or as the real `taskcore-server` binary on a free port.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request};
use http_body_util::BodyExt;
use serde_json::Value;
use taskcore::{ManualClock, MemoryStore, TaskManager, TaskStore};
use taskcore_http::{AppState, Limits, router};
use tower::ServiceExt;

/// A response, body read.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Where requests go.
pub enum Target {
    InProcess(Router),
    Remote { base: String, client: reqwest::Client },
}

/// A request body.
pub enum Payload {
    None,
    Json(Value),
    Raw { content_type: Option<&'static str>, bytes: Vec<u8> },
}

impl Target {
    /// An in-process API over a fresh `MemoryStore`, with a manual clock.
    pub fn memory() -> (Self, ManualClock) {
        let clock = ManualClock::new(time::macros::datetime!(2026-03-10 12:00:00 UTC));
        let store: Arc<dyn TaskStore> = Arc::new(MemoryStore::new());
        let tasks = TaskManager::new(store).with_clock(Arc::new(clock.clone()));
        let limits = Limits { request_timeout: Duration::from_secs(5), body_limit: 16 * 1024 };
        (Self::InProcess(router(AppState::with_manager(tasks), limits)), clock)
    }

    pub fn remote(base: String) -> Self {
        // No connection reuse: after answering 413 the server closes a connection whose body it
        // did not read, and a pooled client could send the next request on it in that instant
        // (hyper `IncompleteMessage`), which made `malformed_requests_get_json_errors` flaky.
        let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        Self::Remote { base, client }
    }

    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], payload: Payload) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (content_type, bytes) = match payload {
            Payload::None => (None, Vec::new()),
            Payload::Json(value) => (Some("application/json"), serde_json::to_vec(&value).unwrap()),
            Payload::Raw { content_type, bytes } => (content_type, bytes),
        };
        match self {
            Self::InProcess(app) => {
                let mut request = Request::builder().method(method).uri(path);
                if let Some(ct) = content_type {
                    request = request.header("content-type", ct);
                }
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                let response = app.clone().oneshot(request.body(Body::from(bytes)).unwrap()).await.unwrap();
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                reply(status, headers, &body)
            }
            Self::Remote { base, client } => {
                let mut request = client.request(method, format!("{base}{path}"));
                if let Some(ct) = content_type {
                    request = request.header("content-type", ct);
                }
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                let response = request.body(bytes).send().await.unwrap();
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let body = response.bytes().await.unwrap();
                reply(status, headers, &body)
            }
        }
    }

    /// The status and headers of a GET, without reading the body (for endless streams).
    pub async fn head_of_get(&self, path: &str) -> (u16, HeaderMap) {
        match self {
            Self::InProcess(app) => {
                let request = Request::builder().uri(path).body(Body::empty()).unwrap();
                let response = app.clone().oneshot(request).await.unwrap();
                (response.status().as_u16(), response.headers().clone())
            }
            Self::Remote { base, client } => {
                let response = client.get(format!("{base}{path}")).send().await.unwrap();
                (response.status().as_u16(), response.headers().clone())
            }
        }
    }

    /// Reads a server-sent event stream until `done` says the text so far is enough, or
    /// `within` passes; returns the text read.
    pub async fn read_stream(&self, path: &str, within: Duration, done: impl Fn(&str) -> bool) -> String {
        let mut text = String::new();
        let read = async {
            match self {
                Self::InProcess(app) => {
                    let request = Request::builder().uri(path).body(Body::empty()).unwrap();
                    let mut body = app.clone().oneshot(request).await.unwrap().into_body();
                    while let Some(Ok(frame)) = body.frame().await {
                        if let Some(data) = frame.data_ref() {
                            text.push_str(&String::from_utf8_lossy(data));
                        }
                        if done(&text) {
                            break;
                        }
                    }
                }
                Self::Remote { base, client } => {
                    let mut response = client.get(format!("{base}{path}")).send().await.unwrap();
                    while let Ok(Some(chunk)) = response.chunk().await {
                        text.push_str(&String::from_utf8_lossy(&chunk));
                        if done(&text) {
                            break;
                        }
                    }
                }
            }
        };
        let _ = tokio::time::timeout(within, read).await;
        text
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Payload::None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", path, &[], Payload::Json(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send("PUT", path, &[], Payload::Json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, &[], Payload::None).await
    }

    /// Creates a room and returns its code.
    pub async fn room(&self, owner: &str) -> String {
        let reply = self.post("/rooms", serde_json::json!({ "username": owner })).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json["room_code"].as_str().unwrap().to_owned()
    }

    /// Creates a task and returns its JSON.
    pub async fn task(&self, code: &str, body: Value) -> Value {
        let reply = self.post(&format!("/tasks?room={code}"), body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json["task"].clone()
    }
}

fn reply(status: u16, headers: HeaderMap, body: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(body).into_owned();
    let json = serde_json::from_slice(body).unwrap_or(Value::Null);
    Reply { status, headers, text, json }
}

/// A free loopback port (bound, then released for the server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `taskcore-server` child process, killed when dropped.
#[cfg(feature = "server")]
pub struct ServerProcess {
    pub child: tokio::process::Child,
    pub base: String,
    pub port: u16,
    /// The server's log (stderr), read when it fails to start.
    pub log: tempfile::NamedTempFile,
}

#[cfg(feature = "server")]
impl ServerProcess {
    /// Starts the binary on a free port with `store_url` and waits until `/livez` answers.
    pub async fn start(store_url: &str, extra_args: &[&str]) -> Self {
        Self::start_with_env(store_url, extra_args, &[]).await
    }

    /// [`ServerProcess::start`] with extra environment variables.
    pub async fn start_with_env(store_url: &str, extra_args: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
            .args(["--bind", &format!("127.0.0.1:{port}"), "--store", store_url, "--log", "warn"])
            .args(extra_args)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(log.reopen().unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("start taskcore-server");
        let server = Self { child, base: format!("http://127.0.0.1:{port}"), port, log };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = client.get(format!("{}/livez", self.base)).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        panic!("taskcore-server did not become ready on {}; its log:\n{log}", self.base);
    }

    pub fn target(&self) -> Target {
        Target::remote(self.base.clone())
    }

    /// Sends SIGTERM (by PID, to this child only).
    pub fn terminate(&self) {
        let pid = self.child.id().expect("child still running");
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
        assert!(status.success());
    }
}

pub mod contract;
pub mod services;
