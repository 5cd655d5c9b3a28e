//! Throughput and cost of `RedisStore` operations beside raw Redis references measured in the
//! same run, on a private `redis-server` (no persistence, so the disk does not dominate).
//!
//! `cargo bench -p taskcore-redis` prints a Markdown table: mean latency of one client doing one
//! operation after another, the reference operation and the ratio, and the round trips and
//! server-side commands per operation read from `INFO commandstats`. Set `BENCH_ROOM_TASKS`
//! (default 100000) for the size of the listed room. `redis-benchmark` runs at the end against
//! the same server for an outside reference.

#![allow(clippy::print_stdout, reason = "a benchmark program reports on stdout")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskcore::{NewTask, Patch, Priority, SortDir, SortKey, StoreOptions, TaskManager, TaskPatch, TaskQuery};
use taskcore_redis::{RedisConfig, RedisStore};
use tokio::task::JoinSet;

/// How many times each sequential operation runs.
const ROUNDS: u32 = 2_000;

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_server() -> Server {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let server = Server {
        child: Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed to run the benchmark"),
        port,
    };
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("url");
    for _ in 0..200 {
        if client.get_multiplexed_async_connection().await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not start");
}

struct Meter {
    conn: redis::aio::MultiplexedConnection,
}

impl Meter {
    async fn reset(&mut self) {
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut self.conn).await.expect("resetstat");
    }

    /// (round trips, server commands) since the last reset, excluding this reading itself.
    async fn read(&mut self) -> (u64, u64) {
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut self.conn).await.expect("info");
        let (mut trips, mut commands) = (0, 0);
        for line in info.lines() {
            let Some((name, rest)) = line.strip_prefix("cmdstat_").and_then(|l| l.split_once(":calls=")) else {
                continue;
            };
            let calls: u64 = rest.split(',').next().and_then(|c| c.parse().ok()).unwrap_or(0);
            if matches!(name, "info" | "config|resetstat") {
                continue;
            }
            commands += calls;
            // Top-level requests: a script call, a MULTI/EXEC pipeline, or a plain command.
            if matches!(name, "evalsha" | "eval" | "multi" | "ping" | "get" | "set" | "incr" | "script|load") {
                trips += calls;
            }
        }
        (trips, commands)
    }
}

struct Row {
    name: String,
    micros: f64,
    trips: f64,
    commands: f64,
    reference: Option<(String, f64)>,
}

fn print_table(rows: &[Row]) {
    println!(
        "| operation | mean latency (µs) | ops/s | round trips/op | server commands/op | reference | reference (µs) | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|");
    for row in rows {
        let (reference, ref_micros, ratio) = match &row.reference {
            Some((name, micros)) => (name.clone(), format!("{micros:.1}"), format!("{:.1}×", row.micros / micros)),
            None => ("—".to_owned(), "—".to_owned(), "—".to_owned()),
        };
        println!(
            "| {} | {:.1} | {:.0} | {:.2} | {:.1} | {reference} | {ref_micros} | {ratio} |",
            row.name,
            row.micros,
            1e6 / row.micros,
            row.trips,
            row.commands,
        );
    }
}

/// The reference for a create: one hash written and one counter bumped, in one pipeline.
async fn reference_write(conn: &mut redis::aio::MultiplexedConnection, hash: &str, counter: &str) {
    let _: (u64,) = redis::pipe()
        .hset(hash, "j", "{\"title\":\"a reference task of about the same size\"}")
        .ignore()
        .incr(counter, 1)
        .query_async(conn)
        .await
        .expect("hset+incr");
}

/// Runs `op` `rounds` times one after another; returns mean µs and the per-op costs.
async fn measure<F, Fut>(meter: &mut Meter, rounds: u32, mut op: F) -> (f64, f64, f64)
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    meter.reset().await;
    let started = Instant::now();
    for i in 0..rounds {
        op(i).await;
    }
    let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds);
    let (trips, commands) = meter.read().await;
    (micros, trips as f64 / f64::from(rounds), commands as f64 / f64::from(rounds))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let room_tasks: u64 = std::env::var("BENCH_ROOM_TASKS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let server = start_server().await;
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let client = redis::Client::open(url.as_str()).expect("url");
    let mut raw = client.get_multiplexed_async_connection().await.expect("raw connection");
    let mut meter = Meter { conn: client.get_multiplexed_async_connection().await.expect("meter connection") };
    let store = RedisStore::open(RedisConfig::new(&url).prefix("bench"), StoreOptions::default()).await.expect("open");
    let tasks = TaskManager::new(Arc::new(store));
    let room = tasks.create_room("alice").await.expect("room");
    let mut rows = Vec::new();

    // Warm up the connections and the server, then the references through the same redis crate,
    // one client, one request at a time.
    for _ in 0..ROUNDS {
        let _: String = redis::cmd("PING").query_async(&mut raw).await.expect("ping");
    }
    let (ping, ..) = measure(&mut meter, ROUNDS, |_| {
        let mut conn = raw.clone();
        async move {
            let _: String = redis::cmd("PING").query_async(&mut conn).await.expect("ping");
        }
    })
    .await;
    let (hset_incr, ..) = measure(&mut meter, ROUNDS, |i| {
        let mut conn = raw.clone();
        async move {
            reference_write(&mut conn, &format!("ref:t:{i}"), "ref:next").await;
        }
    })
    .await;
    let (hget, ..) = measure(&mut meter, ROUNDS, |i| {
        let mut conn = raw.clone();
        async move {
            let _: Option<String> =
                redis::cmd("HGET").arg(format!("ref:t:{i}")).arg("j").query_async(&mut conn).await.expect("hget");
        }
    })
    .await;
    let _: () = redis::cmd("SET").arg("ref:warm").arg(1).query_async(&mut raw).await.expect("warm");
    rows.push(Row { name: "reference: PING".into(), micros: ping, trips: 1.0, commands: 1.0, reference: None });
    rows.push(Row {
        name: "reference: HSET + INCR pipeline".into(),
        micros: hset_incr,
        trips: 1.0,
        commands: 2.0,
        reference: None,
    });
    rows.push(Row { name: "reference: HGET".into(), micros: hget, trips: 1.0, commands: 1.0, reference: None });

    let (micros, trips, commands) = measure(&mut meter, ROUNDS, |i| {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        async move {
            let input = NewTask::titled(format!("bench task {i}")).priority("high").tags(vec!["bench"]);
            tasks.create_task(&code, &input, None).await.expect("create");
        }
    })
    .await;
    rows.push(Row {
        name: "create task".into(),
        micros,
        trips,
        commands,
        reference: Some(("HSET + INCR pipeline".into(), hset_incr)),
    });

    let (micros, trips, commands) = measure(&mut meter, ROUNDS, |i| {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        async move {
            tasks.task(&code, u64::from(i) + 1).await.expect("get");
        }
    })
    .await;
    rows.push(Row { name: "get task".into(), micros, trips, commands, reference: Some(("HGET".into(), hget)) });

    let (micros, trips, commands) = measure(&mut meter, ROUNDS, |i| {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        async move {
            let patch = TaskPatch { title: Patch::Set(format!("renamed {i}")), ..TaskPatch::default() };
            tasks.update_task(&code, u64::from(i) + 1, &patch).await.expect("update");
        }
    })
    .await;
    rows.push(Row {
        name: "update task (manager: read + conditional write)".into(),
        micros,
        trips,
        commands,
        reference: Some(("HSET + INCR pipeline".into(), hset_incr)),
    });

    // Concurrent creates: 64 in flight over the one multiplexed connection.
    let concurrent = 20_000_u32;
    meter.reset().await;
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for w in 0..64 {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        writers.spawn(async move {
            for i in 0..concurrent / 64 {
                let priority = ["low", "medium", "high"][usize::try_from((w + i) % 3).unwrap_or(0)];
                let input = NewTask::titled(format!("load {w}-{i}")).priority(priority).due_date("2026-06-01");
                tasks.create_task(&code, &input, None).await.expect("create");
            }
        });
    }
    while writers.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let created = f64::from(concurrent / 64 * 64);
    let (trips, commands) = meter.read().await;
    // The same load of raw HSET + INCR pipelines, 64 in flight.
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for w in 0..64 {
        let conn = raw.clone();
        writers.spawn(async move {
            for i in 0..concurrent / 64 {
                reference_write(&mut conn.clone(), &format!("ref:load:{w}:{i}"), "ref:load:next").await;
            }
        });
    }
    while writers.join_next().await.is_some() {}
    let raw_micros = started.elapsed().as_secs_f64() * 1e6 / created;
    let concurrent_row = Row {
        name: "create task, 64 in flight (µs per task at full throughput)".into(),
        micros: elapsed * 1e6 / created,
        trips: trips as f64 / created,
        commands: commands as f64 / created,
        reference: Some(("HSET + INCR pipeline, 64 in flight".into(), raw_micros)),
    };

    // Fill the listed room up to `room_tasks`.
    let so_far = tasks.stats(&room.code).await.expect("stats").total;
    let missing = room_tasks.saturating_sub(so_far);
    let mut fillers = JoinSet::new();
    for w in 0..64 {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        fillers.spawn(async move {
            for i in 0..missing / 64 + 1 {
                let input = NewTask::titled(format!("fill {w}-{i}")).priority(["low", "high"][usize::from(i % 2 == 0)]);
                tasks.create_task(&code, &input, None).await.expect("fill");
            }
        });
    }
    while fillers.join_next().await.is_some() {}
    let total = tasks.stats(&room.code).await.expect("stats").total;

    let list_rounds = 500;
    let listings = [
        ("first 50 by number", TaskQuery::default()),
        ("50 by title, descending", TaskQuery::default().sort(SortKey::Title, SortDir::Desc)),
        (
            "50 high priority by due date",
            TaskQuery::default().priority(Priority::High).sort(SortKey::Due, SortDir::Asc),
        ),
    ];
    for (what, query) in listings {
        let (micros, trips, commands) = measure(&mut meter, list_rounds, |_| {
            let (tasks, code, query) = (tasks.clone(), room.code.clone(), query.clone());
            async move {
                tasks.list_tasks(&code, &query).await.expect("list");
            }
        })
        .await;
        rows.push(Row {
            name: format!("list {what} of {total}"),
            micros,
            trips,
            commands,
            reference: Some(("HGET × 50 (pipelined)".into(), 0.0)),
        });
    }
    // Reference for a listing: fetching 50 hashes in one pipeline.
    let (hget50, ..) = measure(&mut meter, list_rounds, |i| {
        let mut conn = raw.clone();
        async move {
            let mut pipe = redis::pipe();
            for k in 0..50 {
                pipe.hget(format!("ref:t:{}", (i * 50 + k) % ROUNDS), "j");
            }
            let _: Vec<Option<String>> = pipe.query_async(&mut conn).await.expect("hget x50");
        }
    })
    .await;
    for row in rows.iter_mut().filter(|r| r.name.starts_with("list ")) {
        row.reference = Some(("50 × HGET in one pipeline".into(), hget50));
    }

    let (micros, trips, commands) = measure(&mut meter, ROUNDS, |_| {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        async move {
            tasks.stats(&code).await.expect("stats");
        }
    })
    .await;
    rows.push(Row {
        name: format!("stats of {total}"),
        micros,
        trips,
        commands,
        reference: Some(("HGET".into(), hget)),
    });
    rows.push(concurrent_row);

    println!();
    print_table(&rows);

    println!("\nredis-benchmark against the same server (1 client, then 50 clients):");
    for clients in ["1", "50"] {
        let output = Command::new("redis-benchmark")
            .args(["-p", &server.port.to_string(), "-t", "set,get,incr,hset", "-n", "50000", "-q", "-c", clients])
            .output();
        match output {
            Ok(out) => {
                for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("requests per second")) {
                    println!("  -c {clients}: {}", line.trim().rsplit('\r').next().unwrap_or(line).trim());
                }
            }
            Err(err) => println!("  redis-benchmark did not run: {err}"),
        }
    }
}
