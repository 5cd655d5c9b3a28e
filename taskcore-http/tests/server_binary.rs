//! Black-box tests of the `taskcore-server` binary: the HTTP contract over a real socket for
//! each store the build has, the `healthcheck` subcommand, startup errors, and graceful
//! shutdown with a request in flight.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{ServerProcess, Target, free_port};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn memory_server() -> (Target, ServerProcess) {
    let server = ServerProcess::start("memory:", &[]).await;
    (server.target(), server)
}

mod memory {
    use super::*;
    crate::contract_tests!(memory_server);
}

#[tokio::test]
async fn healthcheck_subcommand_reports_health_by_exit_code() {
    let server = ServerProcess::start("memory:", &[]).await;
    let url = format!("{}/health", server.base);
    let healthy = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
        .args(["healthcheck", "--url", &url])
        .status()
        .await
        .unwrap();
    assert!(healthy.success(), "healthy server → exit 0");
    let nobody = format!("http://127.0.0.1:{}/health", free_port());
    let down = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
        .args(["healthcheck", "--url", &nobody, "--timeout", "2"])
        .status()
        .await
        .unwrap();
    assert_eq!(down.code(), Some(1), "nothing listening → exit 1");
    let by_bind = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
        .args(["--bind", &format!("0.0.0.0:{}", server.port), "healthcheck"])
        .status()
        .await
        .unwrap();
    assert!(by_bind.success(), "the default URL follows --bind's port");
}

async fn startup_error(store: &str) -> String {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
        .args(["--bind", &format!("127.0.0.1:{}", free_port()), "--store", store])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{store} must fail to start");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn unknown_scheme_and_missing_feature_are_different_clear_errors() {
    let unknown = startup_error("mongodb://127.0.0.1/tasks").await;
    assert!(unknown.contains("unknown store scheme 'mongodb:'"), "{unknown}");
    let no_scheme = startup_error("taskcore.db").await;
    assert!(no_scheme.contains("has no scheme"), "{no_scheme}");
    for backend in taskcore_http::BACKENDS.iter().filter(|b| !b.compiled_in) {
        let message = startup_error(&format!("{}://127.0.0.1/x", backend.schemes[0])).await;
        assert!(message.contains(&format!("needs the '{}' feature", backend.feature.unwrap())), "{message}");
    }
}

#[tokio::test]
async fn migrate_opens_the_store_and_exits() {
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
        .args(["--store", "memory:", "migrate"])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

/// A request whose body is still arriving when SIGTERM comes is finished and answered; new
/// connections are refused; the process exits 0 well within the grace period.
#[tokio::test]
async fn sigterm_finishes_the_request_in_flight_then_exits() {
    let mut server = ServerProcess::start("memory:", &["--shutdown-grace", "5"]).await;
    let api = server.target();
    let code = api.room("alice").await;
    let body = serde_json::to_vec(&json!({ "title": "in flight" })).unwrap();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let head = format!(
        "POST /tasks?room={code} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate();
    let signalled = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(&body[5..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "in-flight request answered: {answer}");
    let status = tokio::time::timeout(Duration::from_secs(5), server.child.wait()).await.expect("exits").unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(signalled.elapsed() < Duration::from_secs(5));
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.is_err(), "no longer listening");
}
