//! The edge defences of the `taskcore-server` binary, black-box: every limit is a flag with an
//! environment variable in `--help`; request logs name the client and never a room code (nor
//! do metrics); `--room-code-length` changes new codes while old ones keep working; 256
//! concurrent `/health` requests on every backend get no 503; and a Redis that is full answers
//! writes with 507 `storage_full` while reads go on.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use support::{ServerProcess, free_port};

/// The binary with exactly these arguments (no `--log` preset), its stderr in a file.
async fn spawn(args: &[&str], env: &[(&str, &str)]) -> (ServerProcess, String) {
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/livez")).await.is_ok_and(|r| r.status().is_success()) {
            let path = log.path().display().to_string();
            return (ServerProcess { child, base, port, log }, path);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("taskcore-server did not start: {}", std::fs::read_to_string(log.path()).unwrap_or_default());
}

#[tokio::test]
async fn every_edge_limit_is_a_flag_with_an_environment_variable() {
    let output =
        tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server")).arg("--help").output().await.unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, env) in [
        ("--header-timeout", "TASKCORE_HEADER_TIMEOUT"),
        ("--idle-timeout", "TASKCORE_IDLE_TIMEOUT"),
        ("--max-connections", "TASKCORE_MAX_CONNECTIONS"),
        ("--max-connections-per-client", "TASKCORE_MAX_CONNECTIONS_PER_CLIENT"),
        ("--trusted-proxies", "TASKCORE_TRUSTED_PROXIES"),
        ("--room-code-length", "TASKCORE_ROOM_CODE_LENGTH"),
        ("--room-misses-per-minute", "TASKCORE_ROOM_MISSES_PER_MINUTE"),
        ("--room-miss-burst", "TASKCORE_ROOM_MISS_BURST"),
        ("--rooms-per-minute", "TASKCORE_ROOMS_PER_MINUTE"),
        ("--streams-per-room", "TASKCORE_STREAMS_PER_ROOM"),
        ("--streams-per-client", "TASKCORE_STREAMS_PER_CLIENT"),
        ("--rate-limit-clients", "TASKCORE_RATE_LIMIT_CLIENTS"),
        ("--max-tasks-per-room", "TASKCORE_MAX_TASKS_PER_ROOM"),
        ("--max-members-per-room", "TASKCORE_MAX_MEMBERS_PER_ROOM"),
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
        assert!(help.contains(&format!("[env: {env}=")), "{env} missing from --help");
    }
    for bad in [["--room-code-length", "3"], ["--trusted-proxies", "10.0.0.0/40"], ["--header-timeout", "soon"]] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
            .args(bad)
            .arg("migrate")
            .output()
            .await
            .unwrap();
        assert!(!output.status.success(), "{bad:?} is refused");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_logs_name_the_client_and_never_a_room_code() {
    let (server, log) =
        spawn(&["--store", "memory:", "--log-format", "json", "--log", "info,tower_http=debug"], &[]).await;
    let api = server.target();
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "t" })).await;
    assert_eq!(api.get(&format!("/rooms/{code}")).await.status, 200);
    assert_eq!(api.get(&format!("/tasks?status=all&room={}", code.to_lowercase())).await.status, 200);
    assert_eq!(api.get("/rooms/QQQQQQ/changes").await.status, 404);
    let metrics = api.get("/metrics").await.text;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains(r#""client":"127.0.0.1""#), "the client address is in request logs:\n{text}");
    assert!(text.contains(r#""uri":"/rooms/~"#), "room paths are logged with a tag:\n{text}");
    for secret in [code.as_str(), &code.to_lowercase(), "QQQQQQ"] {
        assert!(!text.contains(secret), "room code {secret} in the log:\n{text}");
        assert!(!metrics.contains(secret), "room code {secret} in /metrics");
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_code_length_applies_to_new_rooms_and_old_codes_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut first = ServerProcess::start(&url, &[]).await;
    let old = first.target().room("alice").await;
    assert_eq!(old.len(), 6, "the default stays 6");
    first.terminate();
    first.child.wait().await.unwrap();

    let second = ServerProcess::start_with_env(&url, &[], &[("TASKCORE_ROOM_CODE_LENGTH", "10")]).await;
    let api = second.target();
    let new = api.room("bob").await;
    assert_eq!(new.len(), 10);
    assert!(new.bytes().all(|b| taskcore::ROOM_CODE_ALPHABET.contains(&b)));
    for code in [&old, &new] {
        assert_eq!(api.get(&format!("/rooms/{code}")).await.status, 200, "{code}");
        assert_eq!(api.task(code, json!({ "title": "x" })).await["id"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_quotas_are_flags_of_the_binary() {
    let (server, _log) =
        spawn(&["--store", "memory:", "--max-tasks-per-room", "2"], &[("TASKCORE_MAX_MEMBERS_PER_ROOM", "2")]).await;
    let api = server.target();
    let code = api.room("alice").await;
    api.task(&code, json!({ "title": "one" })).await;
    api.task(&code, json!({ "title": "two" })).await;
    let full = api.post(&format!("/tasks?room={code}"), json!({ "title": "three" })).await;
    assert_eq!(full.status, 409, "{}", full.text);
    assert_eq!(full.json["field"], "tasks_per_room", "{}", full.text);
    assert_eq!(api.post("/rooms/join", json!({ "room_code": code, "username": "bob" })).await.status, 200);
    let crowded = api.post("/rooms/join", json!({ "room_code": code, "username": "carol" })).await;
    assert_eq!(crowded.status, 409, "{}", crowded.text);
    assert_eq!(crowded.json["field"], "members_per_room", "{}", crowded.text);
}

/// 256 `/health` requests at once, on connections of their own: how many were not 200.
async fn concurrent_health(api: &ServerProcess) -> Vec<u16> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let requests = (0..256).map(|_| {
        let (client, url) = (client.clone(), format!("{}/health", api.base));
        tokio::spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()).unwrap_or(0) })
    });
    let statuses = futures_util::future::join_all(requests).await;
    statuses.into_iter().map(Result::unwrap).filter(|s| *s != 200).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_health_checks_never_fail_each_other_memory() {
    let server = ServerProcess::start("memory:", &[]).await;
    assert_eq!(concurrent_health(&server).await, Vec::<u16>::new());
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_health_checks_never_fail_each_other_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(&format!("sqlite://{}", dir.path().join("h.db").display()), &[]).await;
    assert_eq!(concurrent_health(&server).await, Vec::<u16>::new());
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_health_checks_never_fail_each_other_redis() {
    let url = std::env::var("TASKCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    assert!(
        redis::Client::open(url.as_str()).and_then(|c| c.get_connection()).is_ok(),
        "no Redis at {url}: start one (`redis-server --daemonize yes`, or `bash .ci/services.sh`) or set TASKCORE_TEST_REDIS_URL"
    );
    let prefix = format!("tc-edge-{}", uuid::Uuid::now_v7().simple());
    let server = ServerProcess::start_with_env(&url, &[], &[("TASKCORE_REDIS_PREFIX", prefix.as_str())]).await;
    assert_eq!(concurrent_health(&server).await, Vec::<u16>::new());
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_health_checks_never_fail_each_other_postgres() {
    let url = std::env::var("TASKCORE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let reachable = std::process::Command::new("psql")
        .args([url.as_str(), "-qAt", "-c", "select 1"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        reachable,
        "no PostgreSQL at {url}: start it (`pg_ctlcluster 15 main start`, or `bash .ci/services.sh`) or set TASKCORE_TEST_POSTGRES_URL"
    );
    let schema = format!("tc_edge_{}", uuid::Uuid::now_v7().simple());
    let server = ServerProcess::start_with_env(&url, &[], &[("TASKCORE_POSTGRES_SCHEMA", schema.as_str())]).await;
    let failures = concurrent_health(&server).await;
    let _ = std::process::Command::new("psql")
        .args([url.as_str(), "-q", "-c", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")])
        .output();
    assert_eq!(failures, Vec::<u16>::new());
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_redis_refuses_writes_with_507_and_reads_go_on() {
    // a private Redis with a tiny maxmemory and the prod compose's policy
    let port = free_port();
    let mut redis = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--maxmemory", "3mb", "--maxmemory-policy", "noeviction"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server is installed (apt-get install redis-server)");
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _kill = Kill(&mut redis);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let server = ServerProcess::start(&format!("redis://127.0.0.1:{port}"), &[]).await;
    let api: support::Target = server.target();
    let code = api.room("alice").await;
    let description = "x".repeat(4000);
    let mut full = None;
    for n in 0..2_000 {
        let reply = api
            .post(&format!("/tasks?room={code}"), json!({ "title": format!("t{n}"), "description": description }))
            .await;
        if reply.status != 201 {
            full = Some(reply);
            break;
        }
    }
    let full = full.expect("3 MB of Redis filled up");
    assert_eq!(full.status, 507, "{}", full.text);
    assert_eq!(full.json["code"], "storage_full");
    let list = api.get(&format!("/tasks?room={code}&limit=5")).await;
    assert_eq!(list.status, 200, "reads go on: {}", list.text);
    assert_eq!(api.get(&format!("/rooms/{code}")).await.status, 200);
    let health = api.get("/health").await;
    assert_eq!(health.status, 200, "full is not down: {}", health.text);
    let again = api.post("/rooms", json!({ "username": "bob" })).await;
    assert_eq!((again.status, again.json["code"].as_str()), (507, Some("storage_full")));
}
