//! Four `taskcore-server` processes behind a local load balancer (haproxy, with the prod
//! policy: health checks on `/readyz`, a request whose connection failed retried on another
//! replica) on one shared store — a real Redis Cluster of three masters and three replicas
//! (`replica_acks=1`), and separately PostgreSQL — under a mixed load with live event streams
//! open. During the run one server replica is killed with `SIGKILL`, and on the cluster also the
//! Redis master that holds the room (restarted afterwards, as a supervisor would, to rejoin as a
//! replica). Clients do what the API asks of them: retry a create that got no answer or a 503
//! with the same `Idempotency-Key`, and resume a broken stream with `Last-Event-ID`.
//!
//! Afterwards every create is stored exactly once with the number its acknowledgement gave, the
//! numbers are dense, every acknowledged update is there, and every stream received every change
//! of the room once, in order. The figures (requests, 503s, retries, stream reconnects, the
//! failover) are printed.

#![cfg(all(feature = "server", feature = "redis", feature = "postgres"))]
#![allow(clippy::unwrap_used, clippy::print_stderr)] // the run's figures are printed for the test log

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::ServerProcess;
use taskcore_tests::redis_cluster::RedisCluster;
use tokio::sync::watch;

const SERVERS: usize = 4;
const WRITERS: usize = 6;
const STREAMS: usize = 4;
/// How long the load runs before the clients stop.
const LOAD: Duration = Duration::from_secs(16);
/// When the server replica is killed, from the start of the load.
const KILL_SERVER_AT: Duration = Duration::from_secs(3);
/// When the Redis master is killed.
const KILL_MASTER_AT: Duration = Duration::from_secs(6);
/// How long one client keeps retrying one request before the test fails.
const GIVE_UP: Duration = Duration::from_secs(30);

/// haproxy in front of the servers, killed when dropped.
struct Balancer {
    child: std::process::Child,
    base: String,
    dir: PathBuf,
}

impl Balancer {
    fn start(ports: &[u16]) -> Self {
        let found = Command::new("haproxy").arg("-v").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
        assert!(
            found,
            "haproxy is not installed: run ./test at the repository root (installs it), or apt-get install haproxy"
        );
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("taskcore-lb-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = format!(
            "global\n  maxconn 2048\ndefaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  \
             timeout server 60s\n  timeout tunnel 1h\n  retries 3\n  option redispatch 1\n  \
             retry-on conn-failure empty-response\nfrontend fe\n  bind 127.0.0.1:{port}\n  default_backend taskcore\n\
             backend taskcore\n  balance roundrobin\n  option httpchk GET /readyz\n  http-check expect status 200\n  \
             default-server inter 300ms fall 1 rise 2\n"
        );
        for (i, server) in ports.iter().enumerate() {
            config.push_str(&format!("  server r{i} 127.0.0.1:{server} check\n"));
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).unwrap();
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy");
        Self { child, base: format!("http://127.0.0.1:{port}"), dir }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What the clients counted.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    unavailable: AtomicU64,
    retries: AtomicU64,
    reconnects: AtomicU64,
}

/// Sends one request until it gets an answer other than 503/502 or a broken connection,
/// counting retries; panics after [`GIVE_UP`].
async fn until_answered(counters: &Counters, request: impl Fn() -> reqwest::RequestBuilder) -> (u16, Value) {
    let start = Instant::now();
    loop {
        counters.requests.fetch_add(1, Ordering::Relaxed);
        match request().send().await {
            Ok(response) if ![502, 503, 504].contains(&response.status().as_u16()) => {
                let status = response.status().as_u16();
                let body = response.json().await.unwrap_or(Value::Null);
                return (status, body);
            }
            Ok(response) => {
                if response.status().as_u16() == 503 {
                    counters.unavailable.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {}
        }
        counters.retries.fetch_add(1, Ordering::Relaxed);
        assert!(start.elapsed() < GIVE_UP, "a request was refused for {GIVE_UP:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One writer: creates tasks (each with its own idempotency key, retried with it), updates every
/// fourth one; returns the acknowledged creates (number → title) and updates (number → description).
async fn writer(
    base: String,
    code: String,
    id: usize,
    counters: Arc<Counters>,
    stop: watch::Receiver<bool>,
) -> (BTreeMap<u64, String>, BTreeMap<u64, String>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let (mut created, mut updated) = (BTreeMap::new(), BTreeMap::new());
    let mut i = 0;
    while !*stop.borrow() {
        i += 1;
        let title = format!("writer {id} task {i}");
        let key = format!("w{id}-{i}");
        let url = format!("{base}/tasks?room={code}");
        let (status, body) = until_answered(&counters, || {
            client.post(&url).header("idempotency-key", &key).json(&json!({ "title": title }))
        })
        .await;
        assert!(status == 201 || status == 200, "create answered {status}: {body}");
        let number = body["task"]["id"].as_u64().unwrap();
        assert!(created.insert(number, title.clone()).is_none(), "number {number} acknowledged twice to one writer");
        if i % 4 == 0 {
            let description = format!("edited by writer {id} after task {i}");
            let url = format!("{base}/tasks/{number}?room={code}");
            let (status, body) =
                until_answered(&counters, || client.put(&url).json(&json!({ "description": description }))).await;
            assert_eq!(status, 200, "update answered {status}: {body}");
            updated.insert(number, description);
        }
    }
    (created, updated)
}

/// One reader: lists the room until stopped; every answer is 200 or (during a failover) 503.
async fn reader(base: String, code: String, counters: Arc<Counters>, stop: watch::Receiver<bool>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    while !*stop.borrow() {
        counters.requests.fetch_add(1, Ordering::Relaxed);
        if let Ok(response) = client.get(format!("{base}/tasks?room={code}&limit=20")).send().await {
            let status = response.status().as_u16();
            assert!([200, 502, 503].contains(&status), "a listing answered {status}");
            if status == 503 {
                counters.unavailable.fetch_add(1, Ordering::Relaxed);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One live stream: opened on the replica at `first` (so that every replica, the killed one too,
/// serves one), it reads `event: change` ids, and when the stream breaks reconnects through the
/// balancer at `base` with `Last-Event-ID`; returns every id received, once the room's final
/// sequence (`last`) has arrived.
async fn stream(
    first: String,
    base: String,
    code: String,
    counters: Arc<Counters>,
    last: watch::Receiver<u64>,
) -> Vec<u64> {
    let client = reqwest::Client::new();
    let mut ids: Vec<u64> = Vec::new();
    let start = Instant::now();
    let mut through = first;
    loop {
        let mut request = client.get(format!("{through}/rooms/{code}/events"));
        request = match ids.last() {
            Some(id) => request.header("last-event-id", id.to_string()),
            None => request.query(&[("since", "0")]),
        };
        if let Ok(mut response) = request.send().await
            && response.status().is_success()
        {
            let mut buffer = String::new();
            loop {
                let chunk = tokio::select! {
                    chunk = response.chunk() => chunk,
                    () = tokio::time::sleep(Duration::from_millis(200)) => {
                        let want = *last.borrow();
                        if want > 0 && ids.last() == Some(&want) { return ids; }
                        continue;
                    }
                };
                let Ok(Some(chunk)) = chunk else { break };
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    let kind = event.lines().find_map(|l| l.strip_prefix("event:")).map(str::trim);
                    let id = event.lines().find_map(|l| l.strip_prefix("id:")).and_then(|v| v.trim().parse().ok());
                    match (kind, id) {
                        (Some("change"), Some(id)) => ids.push(id),
                        (Some("resync"), _) => panic!("a stream was told to resync: {event}"),
                        _ => {}
                    }
                }
                let want = *last.borrow();
                if want > 0 && ids.last() == Some(&want) {
                    return ids;
                }
            }
        }
        through.clone_from(&base);
        counters.reconnects.fetch_add(1, Ordering::Relaxed);
        assert!(start.elapsed() < LOAD + GIVE_UP, "a stream did not catch up; it has {} changes", ids.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the run does to the store in the middle of the load.
enum Chaos<'a> {
    /// Nothing (PostgreSQL: only a server replica dies).
    None,
    /// Kill the cluster master that holds the room, wait for the failover, restart the node.
    KillMaster { cluster: &'a mut RedisCluster, prefix: &'a str },
}

async fn run(store_url: &str, mut chaos: Chaos<'_>) {
    let mut servers = Vec::new();
    for _ in 0..SERVERS {
        servers.push(Some(ServerProcess::start(store_url, &[]).await));
    }
    let ports: Vec<u16> = servers.iter().map(|s| s.as_ref().unwrap().port).collect();
    let balancer = Balancer::start(&ports);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let counters = Arc::new(Counters::default());
    let mut ready = false;
    for _ in 0..100 {
        if client.get(format!("{}/readyz", balancer.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "haproxy did not come up");
    let base = balancer.base.clone();
    let (_, room) =
        until_answered(&counters, || client.post(format!("{base}/rooms")).json(&json!({ "username": "alice" }))).await;
    let code = room["room_code"].as_str().unwrap().to_owned();

    let (stop, stopped) = watch::channel(false);
    let (last_tx, last_rx) = watch::channel(0_u64);
    let streams: Vec<_> = (0..STREAMS)
        .map(|i| {
            let first = format!("http://127.0.0.1:{}", ports[i % SERVERS]);
            tokio::spawn(stream(first, base.clone(), code.clone(), counters.clone(), last_rx.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|id| tokio::spawn(writer(base.clone(), code.clone(), id, counters.clone(), stopped.clone())))
        .collect();
    let readers: Vec<_> =
        (0..2).map(|_| tokio::spawn(reader(base.clone(), code.clone(), counters.clone(), stopped.clone()))).collect();

    let start = Instant::now();
    tokio::time::sleep(KILL_SERVER_AT).await;
    let mut killed = servers[1].take().unwrap();
    killed.child.start_kill().unwrap();
    let _ = killed.child.wait().await;
    let mut failover = None;
    if let Chaos::KillMaster { cluster, prefix } = &mut chaos {
        tokio::time::sleep(KILL_MASTER_AT.saturating_sub(start.elapsed())).await;
        let master = cluster.master_of(&format!("{{{prefix}:{code}}}:meta"));
        let took = tokio::task::block_in_place(|| {
            cluster.kill(master);
            let took = cluster.wait_for_failover(master);
            cluster.restart(master);
            took
        });
        failover = Some(took);
    }
    tokio::time::sleep(LOAD.saturating_sub(start.elapsed())).await;
    stop.send(true).unwrap();

    let (mut created, mut updated) = (BTreeMap::new(), BTreeMap::new());
    for writer in writers {
        let (c, u) = writer.await.unwrap();
        for (number, title) in c {
            assert!(created.insert(number, title).is_none(), "number {number} acknowledged to two writers");
        }
        updated.extend(u);
    }
    for reader in readers {
        reader.await.unwrap();
    }
    // The room's final sequence, which every stream must reach.
    let (_, feed) =
        until_answered(&counters, || client.get(format!("{base}/rooms/{code}/changes?since=0&limit=1"))).await;
    let latest = feed["latest"].as_u64().unwrap();
    last_tx.send(latest).unwrap();
    let mut delivered = Vec::new();
    for stream in streams {
        delivered.push(stream.await.unwrap());
    }

    // Every create stored once, with its acknowledged number; numbers dense; updates kept.
    let mut stored = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{base}/tasks?room={code}&sort=id&limit=500");
        if let Some(cursor) = &after {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let (status, page) = until_answered(&counters, || client.get(&url)).await;
        assert_eq!(status, 200, "{page}");
        for task in page["tasks"].as_array().unwrap() {
            let number = task["id"].as_u64().unwrap();
            assert!(stored.insert(number, task.clone()).is_none(), "task {number} listed twice");
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => break,
        }
    }
    let numbers: Vec<u64> = stored.keys().copied().collect();
    assert_eq!(numbers, (1..=created.len() as u64).collect::<Vec<_>>(), "every create stored once, numbers dense");
    for (number, title) in &created {
        assert_eq!(stored[number]["title"], *title, "task {number} is the create acknowledged with that number");
    }
    let titles: BTreeSet<&str> = stored.values().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), stored.len(), "no create stored twice");
    for (number, description) in &updated {
        assert_eq!(stored[number]["description"], *description, "the acknowledged update of task {number}");
    }
    // Every stream got every change once, in order — the killed replica's after reconnecting.
    assert!(counters.reconnects.load(Ordering::Relaxed) >= 1, "the killed replica's stream reconnected");
    for (i, ids) in delivered.iter().enumerate() {
        assert_eq!(ids, &(1..=latest).collect::<Vec<_>>(), "stream {i} received every change once, in order");
    }

    eprintln!(
        "{SERVERS} servers behind haproxy, {WRITERS} writers, 2 readers, {STREAMS} streams for {LOAD:?}: {} requests, \
         {} answered 503, {} retried; {} creates and {} updates acknowledged, all stored once; {latest} changes \
         delivered to every stream; {} stream reconnects{}",
        counters.requests.load(Ordering::Relaxed),
        counters.unavailable.load(Ordering::Relaxed),
        counters.retries.load(Ordering::Relaxed),
        created.len(),
        updated.len(),
        counters.reconnects.load(Ordering::Relaxed),
        failover
            .map(|took| format!("; the Redis master's replica took over {took:?} after its kill"))
            .unwrap_or_default(),
    );
    drop(servers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_replicas_on_a_redis_cluster_lose_nothing_when_a_replica_and_a_master_die() {
    let mut cluster = tokio::task::block_in_place(RedisCluster::start);
    let prefix = "fleet";
    let url = format!("{}?prefix={prefix}&replica_acks=1", cluster.url());
    run(&url, Chaos::KillMaster { cluster: &mut cluster, prefix }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_replicas_on_postgres_lose_nothing_when_a_replica_dies() {
    let schema = support::services::SchemaGuard(format!("tc_fleet_{}", uuid::Uuid::now_v7().simple()));
    let url = format!("{}?schema={}", support::services::postgres_url(), schema.0);
    run(&url, Chaos::None).await;
}
