//! `http-bench`: measures the taskcore HTTP service with wrk, each figure beside a reference
//! measured in the same run — a minimal axum handler for the HTTP layer, and direct
//! `TaskManager` calls for the store — so the table says where time goes.
//!
//! ```text
//! cargo run --release -p taskcore-bench -- --store memory: --seconds 5
//! ```
//!
//! Needs `wrk` (`apt-get install wrk`). Only loopback traffic; every run is bounded in time.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on the terminal

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::{get, post};
use clap::Parser;
use serde_json::{Value, json};
use taskcore::{NewTask, RoomCode, StoreOptions, TaskManager, TaskPatch, TaskQuery};
use taskcore_http::{AppState, BoundServer, ServerConfig, open_store};
use tokio::net::TcpListener;

/// The allocator of `taskcore-server`, so the service runs as it does in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
struct Args {
    /// Store URL for the service under test.
    #[arg(long, default_value = "memory:")]
    store: String,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent connections per wrk run.
    #[arg(long, default_value_t = 32)]
    connections: u32,
}

#[derive(Debug)]
struct Measured {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    Command::new("wrk").arg("--version").output().map_err(|_| "wrk is not installed: apt-get install wrk")?;
    let scripts = tempfile::tempdir()?;

    let reference = start_reference().await?;
    let store = open_store(&args.store, StoreOptions::default()).await?;
    let tasks = TaskManager::new(Arc::clone(&store));
    let small = seed(&tasks, 100).await?;
    let large = seed(&tasks, 10_000).await?;
    let writes = tasks.create_room("writer").await?.code;
    let config = ServerConfig { bind: SocketAddr::from(([127, 0, 0, 1], 0)), ..ServerConfig::default() };
    let server = BoundServer::bind(config, AppState::new(Arc::clone(&store))).await?;
    let ours = server.local_addr()?;
    tokio::spawn(server.serve(std::future::pending()));

    let body = r#"{"title":"Benchmark task","description":"made by wrk","priority":"high","due_date":"2030-01-01"}"#;
    let post = script(
        &scripts,
        "post.lua",
        &format!("wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"),
    )?;
    // Every update renames one of the small room's 100 tasks to a new title: each one is a write.
    let put_lua = format!(
        "counter = 0\nrequest = function()\n  counter = counter + 1\n  local path = \"/tasks/\" .. math.random(1, 100) .. \"?room={small}\"\n  return wrk.format(\"PUT\", path, {{[\"Content-Type\"] = \"application/json\"}}, '{{\"title\":\"renamed ' .. counter .. '\"}}')\nend\n"
    );
    let put = script(&scripts, "put.lua", &put_lua)?;

    let w = |addr: SocketAddr, path: &str, lua: Option<&str>| wrk(addr, path, lua, &args);
    println!(
        "store: {} ({}); wrk {} s, {} connections, 2 threads\n",
        args.store,
        store.backend(),
        args.seconds,
        args.connections
    );
    println!("| endpoint | req/s | p50 ms | p99 ms | errors | reference | reference req/s | ratio |");
    println!("|---|---:|---:|---:|---:|---|---:|---:|");
    let health_ref = w(reference, "/health", None)?;
    let health = w(ours, "/health", None)?;
    row("GET /health", &health, "minimal axum JSON handler", &health_ref);
    let create_ref = w(reference, "/echo", Some(&post))?;
    let create = w(ours, &format!("/tasks?room={writes}"), Some(&post))?;
    let store_create = store_rate(&tasks, args.connections, args.seconds, Op::Create(writes.clone())).await;
    row("POST /tasks", &create, "minimal axum JSON echo", &create_ref);
    row("POST /tasks", &create, "TaskManager::create_task direct", &store_create);
    let list_small = w(ours, &format!("/tasks?room={small}"), None)?;
    let store_small =
        store_rate(&tasks, args.connections, args.seconds, Op::List(small.clone(), TaskQuery::default().limit(100)))
            .await;
    row("GET /tasks (all 100)", &list_small, "list_tasks direct", &store_small);
    let page = w(ours, &format!("/tasks?room={large}&limit=50"), None)?;
    let store_page =
        store_rate(&tasks, args.connections, args.seconds, Op::List(large.clone(), TaskQuery::default())).await;
    row("GET /tasks?limit=50 (10,000)", &page, "list_tasks direct", &store_page);
    let filtered = w(ours, &format!("/tasks?room={large}&limit=50&priority=high&sort=-due"), None)?;
    row("GET /tasks?priority=high&sort=-due&limit=50 (10,000)", &filtered, "GET /tasks?limit=50", &page);
    let update = w(ours, "/", Some(&put))?;
    let store_update = store_rate(&tasks, args.connections, args.seconds, Op::Update(small.clone())).await;
    row("PUT /tasks/{1..100}", &update, "update_task direct", &store_update);
    let stats = w(ours, &format!("/tasks/stats?room={large}"), None)?;
    let store_stats = store_rate(&tasks, args.connections, args.seconds, Op::Stats(large.clone())).await;
    row("GET /tasks/stats (10,000)", &stats, "stats direct", &store_stats);
    Ok(())
}

fn row(name: &str, ours: &Measured, reference: &str, base: &Measured) {
    let ratio = if base.rps > 0.0 { ours.rps / base.rps } else { 0.0 };
    println!(
        "| {name} | {:.0} | {:.2} | {:.2} | {} | {reference} | {:.0} | {:.2} |",
        ours.rps, ours.p50_ms, ours.p99_ms, ours.errors, base.rps, ratio
    );
}

async fn start_reference() -> std::io::Result<SocketAddr> {
    let app = axum::Router::new()
        .route(
            "/health",
            get(|| async { Json(json!({ "status": "healthy", "timestamp": "2026-01-01T00:00:00Z", "version": "0", "uptime": 1 })) }),
        )
        .route("/echo", post(|Json(body): Json<Value>| async move { (axum::http::StatusCode::CREATED, Json(json!({ "task": body }))) }));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

async fn seed(tasks: &TaskManager, count: u64) -> taskcore::Result<RoomCode> {
    let room = tasks.create_room("seeder").await?;
    for i in 0..count {
        let priority = ["low", "medium", "high"][usize::try_from(i % 3).unwrap_or(0)];
        let input =
            NewTask::titled(format!("task {i}")).priority(priority).due_date(format!("2030-01-{:02}", i % 28 + 1));
        tasks.create_task(&room.code, &input, None).await?;
    }
    Ok(room.code)
}

fn script(dir: &tempfile::TempDir, name: &str, text: &str) -> std::io::Result<String> {
    let path = dir.path().join(name);
    std::fs::write(&path, text)?;
    Ok(path.to_string_lossy().into_owned())
}

fn wrk(addr: SocketAddr, path: &str, lua: Option<&str>, args: &Args) -> Result<Measured, Box<dyn std::error::Error>> {
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{}", args.connections),
        &format!("-d{}s", args.seconds),
        "--latency",
        "--timeout",
        "5s",
    ]);
    if let Some(lua) = lua {
        command.args(["-s", lua]);
    }
    let output = command.arg(format!("http://{addr}{path}")).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let number = |prefix: &str| -> Option<&str> {
        text.lines().map(str::trim).find(|l| l.starts_with(prefix)).and_then(|l| l.split_whitespace().nth(1))
    };
    let non_2xx: u64 = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let socket_errors: u64 = text
        .lines()
        .find(|l| l.contains("Socket errors"))
        .map(|l| l.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    Ok(Measured {
        rps: number("Requests/sec:").and_then(|n| n.parse().ok()).ok_or_else(|| format!("no wrk result:\n{text}"))?,
        p50_ms: number("50%").map_or(0.0, millis),
        p99_ms: number("99%").map_or(0.0, millis),
        errors: non_2xx + socket_errors,
    })
}

fn millis(text: &str) -> f64 {
    let (value, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len()));
    let value: f64 = value.parse().unwrap_or(0.0);
    match unit {
        "us" => value / 1000.0,
        "s" => value * 1000.0,
        _ => value,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create(RoomCode),
    List(RoomCode, TaskQuery),
    Update(RoomCode),
    Stats(RoomCode),
}

/// The same operation through `TaskManager` directly, from `workers` concurrent tasks.
async fn store_rate(tasks: &TaskManager, workers: u32, seconds: u64, op: Op) -> Measured {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut handles = Vec::new();
    for _ in 0..workers {
        let (tasks, op, done, errors) = (tasks.clone(), op.clone(), Arc::clone(&done), Arc::clone(&errors));
        handles.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let ok = match &op {
                    Op::Create(code) => {
                        tasks.create_task(code, &NewTask::titled("direct").priority("high"), None).await.is_ok()
                    }
                    Op::List(code, query) => tasks.list_tasks(code, query).await.is_ok(),
                    Op::Update(code) => {
                        let n = done.load(Ordering::Relaxed);
                        let patch =
                            TaskPatch { title: taskcore::Patch::Set(format!("direct {n}")), ..TaskPatch::default() };
                        tasks.update_task(code, n % 100 + 1, &patch).await.is_ok()
                    }
                    Op::Stats(code) => tasks.stats(code).await.is_ok(),
                };
                let counter = if ok { &done } else { &errors };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
    #[allow(clippy::cast_precision_loss)]
    let rps = done.load(Ordering::Relaxed) as f64 / seconds as f64;
    Measured { rps, p50_ms: 0.0, p99_ms: 0.0, errors: errors.load(Ordering::Relaxed) }
}
