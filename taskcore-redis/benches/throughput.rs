//! Latency and cost of `RedisStore` operations beside raw Redis references measured in the same
//! run, on a private `redis-server` (no persistence, so the disk does not dominate).
//!
//! `cargo bench -p taskcore-redis` prints a Markdown table: the median and mean latency of one
//! client doing one operation after another, the round trips and server-side commands per
//! operation and the server's own execution time per operation (all from `INFO commandstats`),
//! and the reference operation with the ratio of medians. Set `BENCH_ROOM_TASKS` (default
//! 100000) for the size of the listed room. `redis-benchmark` runs at the end against the same
//! server as an outside reference.

#![allow(clippy::print_stdout, reason = "a benchmark program reports on stdout")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use taskcore::{NewTask, Patch, Priority, SortDir, SortKey, TaskManager, TaskPatch, TaskQuery};
use taskcore_redis::{RedisConfig, RedisStore};
use tokio::task::JoinSet;

/// How many times each sequential operation runs.
const ROUNDS: u32 = 3_000;

/// How many times each listing runs.
const LIST_ROUNDS: u32 = 500;

/// Creates in flight at once in the throughput run.
const IN_FLIGHT: u32 = 64;

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

/// What one measured operation cost, per operation.
#[derive(Clone, Copy, Default)]
struct Sample {
    p50_micros: f64,
    mean_micros: f64,
    trips: f64,
    commands: f64,
    server_micros: f64,
}

/// Reads the server's command statistics on a connection of its own.
struct Meter {
    conn: MultiplexedConnection,
}

impl Meter {
    async fn reset(&mut self) {
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut self.conn).await.expect("resetstat");
    }

    /// Round trips, server commands and server execution µs since the last reset, without the
    /// measuring commands themselves. A script's or `EXEC`'s time includes the commands it ran,
    /// so when there are any, only theirs is the server time.
    async fn read(&mut self) -> (u64, u64, f64) {
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut self.conn).await.expect("info");
        let (mut trips, mut commands, mut all_usec, mut outer_usec, mut outer_calls) = (0, 0, 0.0, 0.0, 0);
        for line in info.lines() {
            let Some((name, rest)) = line.strip_prefix("cmdstat_").and_then(|l| l.split_once(":calls=")) else {
                continue;
            };
            if matches!(name, "info" | "config|resetstat") {
                continue;
            }
            let mut fields = rest.split(',');
            let calls: u64 = fields.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            let usec: f64 = fields.find_map(|f| f.strip_prefix("usec=")).and_then(|u| u.parse().ok()).unwrap_or(0.0);
            commands += calls;
            all_usec += usec;
            if matches!(name, "evalsha" | "eval" | "exec") {
                outer_usec += usec;
                outer_calls += calls;
            }
            // Requests of the store: a script call, a MULTI/EXEC pipeline, a PING.
            if matches!(name, "evalsha" | "eval" | "multi" | "ping" | "script|load") {
                trips += calls;
            }
        }
        (trips, commands, if outer_calls > 0 { outer_usec } else { all_usec })
    }
}

/// Runs `op` `rounds` times one after another and measures it.
async fn measure<F, Fut>(meter: &mut Meter, rounds: u32, mut op: F) -> Sample
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    meter.reset().await;
    let mut times = Vec::with_capacity(rounds as usize);
    for i in 0..rounds {
        let started = Instant::now();
        op(i).await;
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let (trips, commands, server_usec) = meter.read().await;
    times.sort_by(f64::total_cmp);
    let n = f64::from(rounds);
    Sample {
        p50_micros: times[times.len() / 2],
        mean_micros: times.iter().sum::<f64>() / n,
        trips: trips as f64 / n,
        commands: commands as f64 / n,
        server_micros: server_usec / n,
    }
}

struct Row {
    name: String,
    sample: Sample,
    reference: Option<(&'static str, Sample)>,
}

fn print_table(rows: &[Row]) {
    println!(
        "| operation | p50 (µs) | mean (µs) | round trips/op | server commands/op | server µs/op | reference | \
         reference p50 (µs) | ratio (p50) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|---:|");
    for row in rows {
        let s = row.sample;
        let (reference, ref_p50, ratio) = match &row.reference {
            Some((name, r)) => {
                ((*name).to_owned(), format!("{:.1}", r.p50_micros), format!("{:.1}×", s.p50_micros / r.p50_micros))
            }
            None => ("—".to_owned(), "—".to_owned(), "—".to_owned()),
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {reference} | {ref_p50} | {ratio} |",
            row.name, s.p50_micros, s.mean_micros, s.trips, s.commands, s.server_micros,
        );
    }
}

/// The reference for a create: one hash written and one counter bumped, in one pipeline.
async fn reference_write(conn: &mut MultiplexedConnection, hash: &str, counter: &str) {
    let _: (u64,) = redis::pipe()
        .hset(hash, "j", "{\"title\":\"a reference task of about the same size\"}")
        .ignore()
        .incr(counter, 1)
        .query_async(conn)
        .await
        .expect("hset+incr");
}

/// Creates `IN_FLIGHT * per_writer` tasks with `IN_FLIGHT` in flight; returns µs per task.
async fn create_in_flight(tasks: &TaskManager, code: &taskcore::RoomCode, per_writer: u32, label: &str) -> f64 {
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for w in 0..IN_FLIGHT {
        let (tasks, code, label) = (tasks.clone(), code.clone(), label.to_owned());
        writers.spawn(async move {
            for i in 0..per_writer {
                let priority = ["low", "medium", "high"][((w + i) % 3) as usize];
                let input = NewTask::titled(format!("{label} {w}-{i}")).priority(priority).due_date("2026-06-01");
                tasks.create_task(&code, &input, None).await.expect("create");
            }
        });
    }
    while writers.join_next().await.is_some() {}
    started.elapsed().as_secs_f64() * 1e6 / f64::from(IN_FLIGHT * per_writer)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let room_tasks: u32 = std::env::var("BENCH_ROOM_TASKS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let server = start_server().await;
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let client = redis::Client::open(url.as_str()).expect("url");
    let mut raw = client.get_multiplexed_async_connection().await.expect("raw connection");
    let mut meter = Meter { conn: client.get_multiplexed_async_connection().await.expect("meter connection") };
    let store = RedisStore::open_with(RedisConfig::new(&url).prefix("bench")).await.expect("open");
    let tasks = TaskManager::new(Arc::new(store));
    let room = tasks.create_room("alice").await.expect("room");
    let code = &room.code;
    let mut rows = Vec::new();

    // Warm up the connection and the server, then the references through the same redis crate,
    // one client, one request at a time.
    for _ in 0..ROUNDS {
        let _: String = redis::cmd("PING").query_async(&mut raw).await.expect("ping");
    }
    let ping = measure(&mut meter, ROUNDS, |_| {
        let mut conn = raw.clone();
        async move {
            let _: String = redis::cmd("PING").query_async(&mut conn).await.expect("ping");
        }
    })
    .await;
    let write = measure(&mut meter, ROUNDS, |i| {
        let mut conn = raw.clone();
        async move { reference_write(&mut conn, &format!("ref:t:{i}"), "ref:next").await }
    })
    .await;
    let hget = measure(&mut meter, ROUNDS, |i| {
        let mut conn = raw.clone();
        async move {
            let _: Option<String> =
                redis::cmd("HGET").arg(format!("ref:t:{i}")).arg("j").query_async(&mut conn).await.expect("hget");
        }
    })
    .await;
    let hget50 = measure(&mut meter, LIST_ROUNDS, |i| {
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
    for (name, sample) in [
        ("reference: PING", ping),
        ("reference: HSET + INCR pipeline", write),
        ("reference: HGET", hget),
        ("reference: 50 × HGET in one pipeline", hget50),
    ] {
        // Each reference operation is one request (a command or a non-transactional pipeline).
        rows.push(Row { name: name.into(), sample: Sample { trips: 1.0, ..sample }, reference: None });
    }

    let sample = measure(&mut meter, ROUNDS, |i| {
        let tasks = tasks.clone();
        async move {
            let input = NewTask::titled(format!("bench task {i}")).priority("high").tags(vec!["bench"]);
            tasks.create_task(code, &input, None).await.expect("create");
        }
    })
    .await;
    rows.push(Row { name: "create task".into(), sample, reference: Some(("HSET + INCR pipeline", write)) });

    let sample = measure(&mut meter, ROUNDS, |i| {
        let tasks = tasks.clone();
        async move {
            tasks.task(code, u64::from(i) + 1).await.expect("get");
        }
    })
    .await;
    rows.push(Row { name: "get task".into(), sample, reference: Some(("HGET", hget)) });

    let sample = measure(&mut meter, ROUNDS, |i| {
        let tasks = tasks.clone();
        async move {
            let patch = TaskPatch { title: Patch::Set(format!("renamed {i}")), ..TaskPatch::default() };
            tasks.update_task(code, u64::from(i) + 1, &patch).await.expect("update");
        }
    })
    .await;
    rows.push(Row {
        name: "update task (manager: read, then conditional write)".into(),
        sample,
        reference: Some(("HSET + INCR pipeline", write)),
    });

    // Throughput: creates with 64 in flight over the one multiplexed connection, and the same
    // load of raw HSET + INCR pipelines.
    let per_writer = 20_000 / IN_FLIGHT;
    meter.reset().await;
    let store_micros = create_in_flight(&tasks, code, per_writer, "load").await;
    let (trips, commands, server_usec) = meter.read().await;
    let created = f64::from(IN_FLIGHT * per_writer);
    let started = Instant::now();
    let mut writers = JoinSet::new();
    for w in 0..IN_FLIGHT {
        let conn = raw.clone();
        writers.spawn(async move {
            for i in 0..per_writer {
                reference_write(&mut conn.clone(), &format!("ref:load:{w}:{i}"), "ref:load:next").await;
            }
        });
    }
    while writers.join_next().await.is_some() {}
    let raw_micros = started.elapsed().as_secs_f64() * 1e6 / created;
    let throughput_row = Row {
        name: format!("create task, {IN_FLIGHT} in flight (µs per task = 1 / throughput)"),
        sample: Sample {
            p50_micros: store_micros,
            mean_micros: store_micros,
            trips: trips as f64 / created,
            commands: commands as f64 / created,
            server_micros: server_usec / created,
        },
        reference: Some((
            "HSET + INCR pipeline, 64 in flight",
            Sample { p50_micros: raw_micros, mean_micros: raw_micros, ..Sample::default() },
        )),
    };

    // Fill the listed room up to `room_tasks`.
    let so_far = u32::try_from(tasks.stats(code).await.expect("stats").total).unwrap_or(u32::MAX);
    create_in_flight(&tasks, code, room_tasks.saturating_sub(so_far) / IN_FLIGHT + 1, "fill").await;
    let total = tasks.stats(code).await.expect("stats").total;

    let mut middle = TaskQuery::default();
    for _ in 0..(total / 2 / 500) {
        let page = tasks.list_tasks(code, &middle.clone().limit(500)).await.expect("list");
        middle.after = page.next_cursor;
    }
    let listings = [
        ("first 50 by number", TaskQuery::default()),
        ("50 by number from the middle", middle),
        ("50 by title, descending", TaskQuery::default().sort(SortKey::Title, SortDir::Desc)),
        (
            "50 high priority by due date",
            TaskQuery::default().priority(Priority::High).sort(SortKey::Due, SortDir::Asc),
        ),
    ];
    for (what, query) in listings {
        let sample = measure(&mut meter, LIST_ROUNDS, |_| {
            let (tasks, query) = (tasks.clone(), query.clone());
            async move {
                tasks.list_tasks(code, &query).await.expect("list");
            }
        })
        .await;
        rows.push(Row {
            name: format!("list {what} of {total}"),
            sample,
            reference: Some(("50 × HGET in one pipeline", hget50)),
        });
    }

    let sample = measure(&mut meter, ROUNDS, |_| {
        let tasks = tasks.clone();
        async move {
            tasks.stats(code).await.expect("stats");
        }
    })
    .await;
    rows.push(Row { name: format!("stats of {total}"), sample, reference: Some(("HGET", hget)) });
    rows.push(throughput_row);

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
                    println!("  -c {clients}: {}", line.rsplit('\r').next().unwrap_or(line).trim());
                }
            }
            Err(err) => println!("  redis-benchmark did not run: {err}"),
        }
    }
}
