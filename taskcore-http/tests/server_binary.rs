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

#[cfg(feature = "sqlite")]
mod sqlite_store {
    //! The contract over SQLite files, and the property the original service lacked: what was
    //! acknowledged is still there after a restart, and numbers continue instead of restarting.

    use super::*;

    async fn sqlite_server() -> (Target, (ServerProcess, tempfile::TempDir)) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
        let server = ServerProcess::start(&url, &[]).await;
        (server.target(), (server, dir))
    }

    crate::contract_tests!(sqlite_server);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_on_one_file_read_each_others_writes_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
        reads_through_one_replica_see_every_write_of_the_other(&url, &[]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_survive_a_restart_and_numbers_continue() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("tasks.db").display());
        let mut first = ServerProcess::start(&url, &[]).await;
        let api = first.target();
        let code = api.room("alice").await;
        api.task(&code, json!({ "title": "one" })).await;
        api.task(&code, json!({ "title": "two" })).await;
        api.delete(&format!("/tasks/2?room={code}")).await;
        first.terminate();
        assert!(first.child.wait().await.unwrap().success());

        let second = ServerProcess::start(&url, &[]).await;
        let api = second.target();
        let room = api.get(&format!("/rooms/{code}")).await;
        assert_eq!(room.status, 200, "{}", room.text);
        assert_eq!(room.json["tasks"][0]["title"], "one");
        assert_eq!(api.task(&code, json!({ "title": "three" })).await["id"], 3, "a deleted number is never reused");
        let health = api.get("/health").await;
        assert_eq!(health.json["backend"], "sqlite");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_default_store_is_an_sqlite_file_in_the_working_directory() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
            .args(["--bind", &format!("127.0.0.1:{port}"), "--log", "warn"])
            .env_remove("TASKCORE_STORE_URL")
            .current_dir(dir.path())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let api = Target::remote(format!("http://127.0.0.1:{port}"));
        let mut healthy = false;
        for _ in 0..200 {
            if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/health")).await
                && response.status().is_success()
            {
                healthy = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(healthy, "the server starts with no settings at all");
        assert_eq!(api.get("/health").await.json["backend"], "sqlite");
        assert!(dir.path().join("taskcore.db").exists(), "taskcore.db was created in the working directory");
        child.kill().await.unwrap();
    }
}

/// Two server processes on one store, each with its read cache: in a tight loop, every write
/// acknowledged by one is in the very next read through the other — listings, rooms, stats
/// and revalidation (an old ETag is never answered 304 after a write).
async fn reads_through_one_replica_see_every_write_of_the_other(url: &str, env: &[(&str, &str)]) {
    let first = ServerProcess::start_with_env(url, &[], env).await;
    let second = ServerProcess::start_with_env(url, &[], env).await;
    let (a, b) = (first.target(), second.target());
    let code = a.room("alice").await;
    let list = format!("/tasks?room={code}");
    let mut tag = b.get(&list).await.header("etag").unwrap().to_owned();
    // A live stream on the second replica follows every write, whichever replica took it.
    let watcher = second.target();
    let events = format!("/rooms/{code}/events?since=0");
    let stream = tokio::spawn(async move {
        watcher.read_stream(&events, Duration::from_secs(30), |text| text.contains("\"title\":\"round 60\"")).await
    });
    let mut last_created = 0;
    for round in 1..=60_u64 {
        let (writer, reader) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let title = format!("round {round}");
        if round % 3 == 0 && last_created > 0 {
            // An update of a task the other replica may hold in its cache.
            let wrote = writer.put(&format!("/tasks/{last_created}?room={code}"), json!({ "title": title })).await;
            assert_eq!(wrote.status, 200, "{}", wrote.text);
        } else {
            last_created = writer.task(&code, json!({ "title": title })).await["id"].as_u64().unwrap();
        }
        let listed = reader.send("GET", &list, &[("if-none-match", tag.as_str())], support::Payload::None).await;
        assert_eq!(listed.status, 200, "round {round}: the other replica's write changes the listing");
        let titles: Vec<&str> =
            listed.json["tasks"].as_array().unwrap().iter().map(|t| t["title"].as_str().unwrap()).collect();
        assert!(titles.contains(&title.as_str()), "round {round}: {title:?} missing from {titles:?}");
        tag = listed.header("etag").unwrap().to_owned();
        let room = reader.get(&format!("/rooms/{code}")).await;
        assert_eq!(room.json["tasks"].as_array().unwrap().len(), listed.json["tasks"].as_array().unwrap().len());
    }
    let streamed = stream.await.unwrap();
    assert!(streamed.contains("\"title\":\"round 60\""), "the stream saw the last write: {streamed}");
    let ids: Vec<u64> = streamed.lines().filter_map(|l| l.strip_prefix("id: ")?.trim().parse().ok()).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>(), "every change once, in order");
    let deleted = a.delete(&format!("/tasks/1?room={code}")).await;
    assert_eq!(deleted.status, 200);
    let stats = b.get(&format!("/tasks/stats?room={code}")).await;
    let total = b.get(&list).await.json["total"].as_u64().unwrap();
    assert_eq!(stats.json["total_tasks"].as_u64(), Some(total));
    assert!(b.get(&format!("/tasks/1?room={code}")).await.status == 404);
    assert!(
        !b.get(&list).await.json["tasks"].as_array().unwrap().iter().any(|t| t["id"] == 1),
        "a delete is seen at once"
    );
}

#[cfg(any(feature = "redis", feature = "postgres"))]
/// Two server processes on one shared store, as two replicas behind a load balancer: what one
/// writes, the other serves, and concurrent creates through both never share a number.
async fn two_replicas_share_one_store(url: &str, env: &[(&str, &str)]) {
    let first = ServerProcess::start_with_env(url, &[], env).await;
    let second = ServerProcess::start_with_env(url, &[], env).await;
    let (a, b) = (first.target(), second.target());
    let code = a.room("alice").await;
    let joined = b.post(&format!("/rooms/{code}/join"), json!({ "username": "bob" })).await;
    assert_eq!(joined.status, 200, "{}", joined.text);
    a.task(&code, json!({ "title": "through the first" })).await;
    let read = b.get(&format!("/tasks/1?room={code}")).await;
    assert_eq!(read.json["title"], "through the first", "{}", read.text);
    let mut ids = Vec::new();
    for round in 0..20 {
        let (x, y) = tokio::join!(
            a.task(&code, json!({ "title": format!("a{round}") })),
            b.task(&code, json!({ "title": format!("b{round}") }))
        );
        ids.extend([x["id"].as_u64().unwrap(), y["id"].as_u64().unwrap()]);
    }
    ids.sort_unstable();
    assert_eq!(ids, (2..=41).collect::<Vec<u64>>(), "numbers are unique and dense across replicas");
    assert_eq!(a.get(&format!("/tasks/stats?room={code}")).await.json["total_tasks"], 41);
    assert_eq!(b.get(&format!("/tasks/stats?room={code}")).await.json["total_tasks"], 41);
}

#[cfg(feature = "postgres")]
mod postgres_store {
    //! The contract over the machine's PostgreSQL (`TASKCORE_TEST_POSTGRES_URL`, default
    //! `postgres://postgres@127.0.0.1:5432/postgres`), each test in its own schema, dropped
    //! afterwards; and two servers on one database.

    use super::*;

    fn postgres_url() -> String {
        support::services::postgres_url()
    }

    /// Drops the test's schema when the test ends.
    struct Schema {
        name: String,
        _servers: Vec<ServerProcess>,
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let _ = std::process::Command::new("psql")
                .args([postgres_url().as_str(), "-q", "-c", &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)])
                .output();
        }
    }

    fn fresh_schema() -> String {
        let url = postgres_url();
        let reachable = std::process::Command::new("psql")
            .args([url.as_str(), "-qAt", "-c", "select 1"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            reachable,
            "no PostgreSQL at {url}: start it (`pg_ctlcluster 15 main start`, or `bash .ci/services.sh`) or set TASKCORE_TEST_POSTGRES_URL"
        );
        format!("tc_http_{}", uuid::Uuid::now_v7().simple())
    }

    async fn postgres_server() -> (Target, Schema) {
        let name = fresh_schema();
        let server =
            ServerProcess::start_with_env(&postgres_url(), &[], &[("TASKCORE_POSTGRES_SCHEMA", name.as_str())]).await;
        (server.target(), Schema { name, _servers: vec![server] })
    }

    crate::contract_tests!(postgres_server);

    /// The PostgreSQL store batches writes: `/metrics` counts its commits and the writes they
    /// carried.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metrics_count_the_group_commit() {
        let (api, _schema) = postgres_server().await;
        let code = api.room("alice").await;
        api.task(&code, serde_json::json!({ "title": "t" })).await;
        let metrics = api.get("/metrics").await;
        for name in taskcore_http::metrics::GROUP_COMMIT_METRICS {
            let line = metrics.text.lines().find(|line| line.starts_with(name));
            let count: u64 = line.and_then(|line| line.rsplit(' ').next()?.parse().ok()).unwrap_or(0);
            assert!(count >= 1, "{name} counts the create: {line:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_on_one_database_serve_the_same_rooms() {
        let schema = Schema { name: fresh_schema(), _servers: Vec::new() };
        two_replicas_share_one_store(&postgres_url(), &[("TASKCORE_POSTGRES_SCHEMA", schema.name.as_str())]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_on_one_database_read_each_others_writes_at_once() {
        let schema = Schema { name: fresh_schema(), _servers: Vec::new() };
        let env = [("TASKCORE_POSTGRES_SCHEMA", schema.name.as_str())];
        reads_through_one_replica_see_every_write_of_the_other(&postgres_url(), &env).await;
    }
}

#[cfg(feature = "redis")]
mod redis_store {
    //! The contract over the machine's Redis (`TASKCORE_TEST_REDIS_URL`, default
    //! `redis://127.0.0.1:6379`), each test in its own key prefix, deleted afterwards; and a
    //! Redis outage answered with 503 until Redis is back.

    use std::path::PathBuf;

    use super::*;

    fn redis_url() -> String {
        support::services::redis_url()
    }

    /// Deletes the test's keys when the test ends.
    struct Prefix {
        name: String,
        _server: ServerProcess,
    }

    impl Drop for Prefix {
        fn drop(&mut self) {
            let Ok(mut connection) = redis::Client::open(redis_url()).and_then(|c| c.get_connection()) else { return };
            for pattern in [format!("{}:*", self.name), format!("{{{}:*", self.name)] {
                let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut connection).unwrap_or_default();
                if !keys.is_empty() {
                    let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut connection);
                }
            }
        }
    }

    async fn redis_server() -> (Target, Prefix) {
        let url = redis_url();
        assert!(
            redis::Client::open(url.as_str()).and_then(|c| c.get_connection()).is_ok(),
            "no Redis at {url}: start one (`redis-server --daemonize yes`, or `bash .ci/services.sh`) or set TASKCORE_TEST_REDIS_URL"
        );
        let name = format!("tc-http-{}", uuid::Uuid::now_v7().simple());
        let server = ServerProcess::start_with_env(&url, &[], &[("TASKCORE_REDIS_PREFIX", name.as_str())]).await;
        (server.target(), Prefix { name, _server: server })
    }

    crate::contract_tests!(redis_server);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_on_one_redis_serve_the_same_rooms() {
        let (_target, prefix) = redis_server().await;
        two_replicas_share_one_store(&redis_url(), &[("TASKCORE_REDIS_PREFIX", prefix.name.as_str())]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_on_one_redis_read_each_others_writes_at_once() {
        let (_target, prefix) = redis_server().await;
        reads_through_one_replica_see_every_write_of_the_other(
            &redis_url(),
            &[("TASKCORE_REDIS_PREFIX", prefix.name.as_str())],
        )
        .await;
    }

    struct PrivateRedis {
        child: std::process::Child,
        port: u16,
        dir: PathBuf,
    }

    impl PrivateRedis {
        fn start(port: u16, dir: PathBuf) -> Self {
            let child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
                .args(["--appendfsync", "always", "--dir", dir.to_str().unwrap()])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server is installed (apt-get install redis-server)");
            let mut redis = Self { child, port, dir };
            for _ in 0..200 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return redis;
                }
                std::thread::park_timeout(Duration::from_millis(20));
            }
            let _ = redis.child.kill();
            let _ = redis.child.wait();
            panic!("private redis-server did not start on {port}");
        }
    }

    impl Drop for PrivateRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_outage_is_503_and_the_server_recovers_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let redis = PrivateRedis::start(free_port(), dir.path().to_owned());
        let url = format!("redis://127.0.0.1:{}", redis.port);
        let server = ServerProcess::start(&url, &[]).await;
        let api = server.target();
        let code = api.room("alice").await;
        api.task(&code, json!({ "title": "survives" })).await;

        let (port, dir) = (redis.port, redis.dir.clone());
        drop(redis);
        let started = Instant::now();
        let health = api.get("/health").await;
        assert_eq!(health.status, 503, "{}", health.text);
        assert_eq!(health.json["storage"], "unavailable");
        let list = api.get(&format!("/tasks?room={code}")).await;
        assert_eq!(list.status, 503, "{}", list.text);
        assert_eq!(list.json["code"], "unavailable");
        assert_eq!(list.header("retry-after"), Some("1"));
        assert!(!list.text.contains("refused"), "driver details are not leaked: {}", list.text);
        assert_eq!(api.get("/readyz").await.status, 503);
        assert!(started.elapsed() < Duration::from_secs(20), "outage answers are bounded in time");

        let _redis = PrivateRedis::start(port, dir);
        let mut recovered = false;
        for _ in 0..100 {
            if api.get("/health").await.status == 200 {
                recovered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(recovered, "the same server process recovers once Redis is back");
        let task = api.get(&format!("/tasks/1?room={code}")).await;
        assert_eq!(task.status, 200, "{}", task.text);
        assert_eq!(task.json["title"], "survives");
        assert_eq!(api.task(&code, json!({ "title": "after" })).await["id"], 2);
    }
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
    for backend in taskcore_http::store::BACKENDS.iter().filter(|b| !b.compiled_in) {
        let message = startup_error(&format!("{}://127.0.0.1/x", backend.schemes[0])).await;
        assert!(message.contains(&format!("needs the '{}' feature", backend.feature.unwrap())), "{message}");
    }
}

/// A misspelt store setting stops the start with a message naming it, whether it came in the
/// URL or from a legacy environment variable; a password never shows.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn store_settings_in_the_url_are_checked_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let typo = startup_error(&format!("sqlite://{}?durabilty=normal", db.display())).await;
    assert!(typo.contains("'durabilty'"), "{typo}");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_taskcore-server"))
        .args(["--bind", &format!("127.0.0.1:{}", free_port()), "--store", &format!("sqlite://{}", db.display())])
        .env("TASKCORE_SQLITE_DURABILITY", "sometimes")
        .output()
        .await
        .unwrap();
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("durability=sometimes") && message.contains("\"sometimes\""), "{message}");
    let secret = startup_error("postgres://app:hunter2@127.0.0.1:1/x?pool_size=many").await;
    assert!(!secret.contains("hunter2"), "{secret}");
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

/// With a shutdown delay, SIGTERM first takes the server out of load balancers (`/readyz` 503)
/// while it goes on serving new connections, and only then stops.
#[tokio::test]
async fn shutdown_delay_keeps_serving_while_not_ready() {
    let mut server = ServerProcess::start("memory:", &["--shutdown-delay", "2"]).await;
    let api = server.target();
    assert_eq!(api.get("/readyz").await.status, 200);
    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(api.get("/readyz").await.status, 503, "not ready as soon as SIGTERM arrives");
    let fresh = Target::remote(server.base.clone());
    assert_eq!(fresh.post("/rooms", json!({ "username": "late" })).await.status, 201, "still serving in the delay");
    let status = tokio::time::timeout(Duration::from_secs(6), server.child.wait()).await.expect("exits").unwrap();
    assert!(status.success());
}

#[cfg(feature = "redis")]
mod redis_cluster_store {
    //! The contract, and two server processes sharing rooms, numbers, reads and live streams, on
    //! a real Redis Cluster of three masters and three replicas started by this test binary
    //! (`redis+cluster://` seeds; every write waits for one replica), each test in its own key
    //! prefix.

    use taskcore_tests::redis_cluster::RedisCluster;

    use super::*;

    /// The shared cluster's URL with the prefix and replica acknowledgement the deployment files use.
    fn cluster_url(prefix: &str) -> String {
        let cluster = tokio::task::block_in_place(RedisCluster::shared);
        format!("{}?prefix={prefix}&replica_acks=1", cluster.url())
    }

    fn fresh_prefix() -> String {
        format!("tc-http-cluster-{}", uuid::Uuid::now_v7().simple())
    }

    async fn cluster_server() -> (Target, ServerProcess) {
        let server = ServerProcess::start(&cluster_url(&fresh_prefix()), &[]).await;
        (server.target(), server)
    }

    crate::contract_tests!(cluster_server);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_on_one_redis_cluster_serve_the_same_rooms() {
        two_replicas_share_one_store(&cluster_url(&fresh_prefix()), &[]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_servers_on_one_redis_cluster_read_each_others_writes_at_once() {
        reads_through_one_replica_see_every_write_of_the_other(&cluster_url(&fresh_prefix()), &[]).await;
    }
}
