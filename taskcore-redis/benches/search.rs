//! Listings no index answers — a text search (`q=`), an overdue filter, a due range — on a
//! room of 10,000 tasks: this crate's bounded listing beside the whole-room Lua script it
//! replaced (`benches/legacy/list_tasks.lua`), on one private `redis-server`, in the same run.
//!
//! `cargo bench -p taskcore-redis --bench search` prints two Markdown tables:
//!
//! 1. Per request, sequential (one client): latency (p50, mean), Redis busy time from
//!    `INFO commandstats` (the script's time for the old way; the sum of every command for the
//!    new), the Redis main thread's CPU time from `INFO cpu`, the longest single command or
//!    script from `SLOWLOG` (logging 100 µs and longer), and commands executed per request
//!    (including those a script ran).
//! 2. What it does to everyone else: one client listing the first 50 tasks of *another* room of
//!    100 tasks for 3 s, alone and while 4 other clients repeat the `q=` search the old way and
//!    the new way (requests per second, p50, p99).
//!
//! `BENCH_ROOM_TASKS` sets the room size (default 10000). The server runs under
//! `chrt --fifo 10` when permitted, so that other processes on a shared machine do not preempt it
//! mid-command (which would show as command time); the tables say whether it did.

#![allow(clippy::print_stdout, reason = "a benchmark program reports on stdout")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{Script, Value};
use taskcore::store::unix_micros;
use taskcore::{Clock, NewTask, RoomCode, SearchText, SystemClock, Task, TaskManager, TaskQuery};
use taskcore_redis::{RedisConfig, RedisStore};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::task::JoinSet;

/// Sequential requests measured per listing and way.
const ROUNDS: u32 = 30;

/// Clients repeating the search while another room is listed.
const NOISY_CLIENTS: usize = 4;

/// How long the other room is listed per phase.
const PHASE: Duration = Duration::from_secs(3);

/// Commands at least this long go to the slow log.
const SLOWLOG_FROM_MICROS: u32 = 100;

const PREFIX: &str = "bench";

struct Server {
    child: Child,
    port: u16,
    realtime: bool,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let realtime = Command::new("chrt").args(["--fifo", "10", "true"]).status().is_ok_and(|s| s.success());
    let mut command = if realtime {
        let mut chrt = Command::new("chrt");
        chrt.args(["--fifo", "10", "redis-server"]);
        chrt
    } else {
        Command::new("redis-server")
    };
    let child = command
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server must be installed to run the benchmark");
    Server { child, port, realtime }
}

async fn connect(url: &str) -> MultiplexedConnection {
    let client = redis::Client::open(url).expect("url");
    for _ in 0..200 {
        // Old-way searches queue behind each other for far longer than the default timeout.
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(60)));
        if let Ok(conn) = client.get_multiplexed_async_connection_with_config(&config).await {
            return conn;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not start");
}

async fn open(url: &str) -> TaskManager {
    let config = RedisConfig::new(url)
        .prefix(PREFIX)
        .response_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(60));
    TaskManager::new(Arc::new(RedisStore::open_with(config).await.expect("open")))
}

/// The encoded instant the scripts compare due dates with.
fn encoded(instant: OffsetDateTime) -> String {
    format!("{:016x}", unix_micros(instant).cast_unsigned() ^ (1 << 63))
}

/// The old listing: one script over the whole room.
struct Legacy {
    script: Script,
    meta: String,
    base: String,
}

impl Legacy {
    fn new(code: &RoomCode) -> Self {
        let script =
            Script::new(concat!(include_str!("../src/scripts/lib.lua"), "\n", include_str!("legacy/list_tasks.lua")));
        let base = format!("{{{PREFIX}:{code}}}");
        Self { script, meta: format!("{base}:meta"), base }
    }

    /// The numbers of the first page and the match count, as the old store returned them.
    async fn list(&self, conn: &mut MultiplexedConnection, query: &TaskQuery) -> (Vec<u64>, u64) {
        let now = SystemClock.now();
        let args = [
            self.base.clone(),
            "number".into(),
            "asc".into(),
            String::new(),
            (query.limit + 1).to_string(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            query.text.as_ref().map(|t| t.as_str().to_owned()).unwrap_or_default(),
            query.due_after.map(encoded).unwrap_or_default(),
            query.due_before.map(encoded).unwrap_or_default(),
            if query.overdue { encoded(now) } else { String::new() },
        ];
        let mut invocation = self.script.key(&self.meta);
        for arg in &args {
            invocation.arg(arg);
        }
        let reply: Vec<String> = invocation.invoke_async(conn).await.expect("legacy script");
        let matched = reply[2].parse().expect("matched");
        let mut numbers: Vec<u64> =
            reply[3..].iter().map(|json| serde_json::from_str::<Task>(json).expect("task").number).collect();
        numbers.truncate(query.limit as usize);
        (numbers, matched)
    }
}

/// What the server did between a reset and a read.
#[derive(Clone, Copy, Default)]
struct Cost {
    commands: u64,
    busy_usec: u64,
    cpu_usec: f64,
    slowest_usec: i64,
    slowest_logged: bool,
}

struct Meter {
    conn: MultiplexedConnection,
    cpu_at_reset: f64,
}

impl Meter {
    async fn main_thread_cpu(&mut self) -> f64 {
        let info: String = redis::cmd("INFO").arg("cpu").query_async(&mut self.conn).await.expect("info cpu");
        info.lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(':')?;
                matches!(name, "used_cpu_sys_main_thread" | "used_cpu_user_main_thread")
                    .then(|| value.trim().parse::<f64>().ok())?
            })
            .sum::<f64>()
            * 1e6
    }

    async fn reset(&mut self) {
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(&mut self.conn).await.expect("resetstat");
        let _: () = redis::cmd("SLOWLOG").arg("RESET").query_async(&mut self.conn).await.expect("slowlog reset");
        self.cpu_at_reset = self.main_thread_cpu().await;
    }

    async fn read(&mut self) -> Cost {
        let cpu_usec = self.main_thread_cpu().await - self.cpu_at_reset;
        let info: String = redis::cmd("INFO").arg("commandstats").query_async(&mut self.conn).await.expect("info");
        let (mut commands, mut plain_usec, mut script_usec, mut scripts) = (0, 0, 0, 0);
        for line in info.lines() {
            let Some((name, rest)) = line.strip_prefix("cmdstat_").and_then(|l| l.split_once(":calls=")) else {
                continue;
            };
            if name == "info" || name.starts_with("config|") || name.starts_with("slowlog|") {
                continue;
            }
            let mut fields = rest.split(',');
            let calls: u64 = fields.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            let usec: u64 = fields.find_map(|f| f.strip_prefix("usec=")).and_then(|u| u.parse().ok()).unwrap_or(0);
            match name {
                // A script's time includes the commands it ran; EXEC's the commands it queued,
                // which are counted on their own too.
                "evalsha" | "eval" => (scripts, script_usec) = (scripts + calls, script_usec + usec),
                "exec" | "multi" => {}
                _ => (commands, plain_usec) = (commands + calls, plain_usec + usec),
            }
        }
        let log: Vec<Value> =
            redis::cmd("SLOWLOG").arg("GET").arg(-1).query_async(&mut self.conn).await.expect("slowlog");
        let slowest_usec = log
            .iter()
            .filter_map(|entry| match entry {
                Value::Array(fields) => match fields.get(2) {
                    Some(Value::Int(micros)) => Some(*micros),
                    _ => None,
                },
                _ => None,
            })
            .max();
        Cost {
            commands,
            busy_usec: if scripts > 0 { script_usec } else { plain_usec },
            cpu_usec,
            slowest_usec: slowest_usec.unwrap_or(0),
            slowest_logged: slowest_usec.is_some(),
        }
    }
}

struct Measured {
    p50: f64,
    mean: f64,
    cost: Cost,
}

async fn measure<F, Fut>(meter: &mut Meter, mut op: F) -> Measured
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    op().await; // warm: scripts loaded, connections up
    meter.reset().await;
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        op().await;
        times.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let cost = meter.read().await;
    times.sort_by(f64::total_cmp);
    Measured { p50: times[times.len() / 2], mean: times.iter().sum::<f64>() / times.len() as f64, cost }
}

fn row(what: &str, way: &str, m: &Measured) {
    let n = f64::from(ROUNDS);
    let c = m.cost;
    let slowest = if c.slowest_logged { format!("{}", c.slowest_usec) } else { format!("< {SLOWLOG_FROM_MICROS}") };
    println!(
        "| {what} | {way} | {:.0} | {:.0} | {:.0} | {:.0} | {slowest} | {:.0} |",
        m.p50,
        m.mean,
        c.busy_usec as f64 / n,
        c.cpu_usec / n,
        c.commands as f64 / n,
    );
}

/// One client listing `room`'s first page for [`PHASE`]: (requests per second, p50 µs, p99 µs).
async fn list_other_room(tasks: &TaskManager, room: &RoomCode) -> (f64, f64, f64) {
    let started = Instant::now();
    let mut times = Vec::new();
    while started.elapsed() < PHASE {
        let at = Instant::now();
        tasks.list_tasks(room, &TaskQuery::default()).await.expect("list the other room");
        times.push(at.elapsed().as_secs_f64() * 1e6);
    }
    let rate = times.len() as f64 / started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    (rate, times[times.len() / 2], times[times.len() * 99 / 100])
}

/// Starts [`NOISY_CLIENTS`] threads, each with its own runtime and connection, repeating the
/// search the new way (`legacy` false) or the old way until `stop`.
fn start_noise(
    url: &str,
    code: &RoomCode,
    query: &TaskQuery,
    legacy: bool,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<u64>> {
    (0..NOISY_CLIENTS)
        .map(|_| {
            let (url, code, query, stop) = (url.to_owned(), code.clone(), query.clone(), stop.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async move {
                    let mut done = 0;
                    if legacy {
                        let legacy = Legacy::new(&code);
                        let mut conn = connect(&url).await;
                        while !stop.load(Ordering::Relaxed) {
                            legacy.list(&mut conn, &query).await;
                            done += 1;
                        }
                    } else {
                        let tasks = open(&url).await;
                        while !stop.load(Ordering::Relaxed) {
                            tasks.list_tasks(&code, &query).await.expect("search");
                            done += 1;
                        }
                    }
                    done
                })
            })
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let room_tasks: u64 = std::env::var("BENCH_ROOM_TASKS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let server = start_server();
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let mut raw = connect(&url).await;
    let mut meter = Meter { conn: connect(&url).await, cpu_at_reset: 0.0 };
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(SLOWLOG_FROM_MICROS)
        .arg("slowlog-max-len")
        .arg(100_000)
        .query_async(&mut raw)
        .await
        .expect("config set");
    let tasks = open(&url).await;
    let room = tasks.create_room("alice").await.expect("room");
    let other = tasks.create_room("bob").await.expect("other room");

    // A room of `room_tasks` tasks: a third with a due date (half of those past), one in 500
    // mentioning the needle; and another room of 100.
    let mut writers = JoinSet::new();
    let per_writer = room_tasks.div_ceil(64);
    for w in 0..64 {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        writers.spawn(async move {
            for i in 0..per_writer {
                let n = w * per_writer + i;
                if n >= room_tasks {
                    break;
                }
                let mut input = NewTask::titled(format!("task {n}"))
                    .description(if n % 500 == 7 {
                        "this one hides the Needle"
                    } else {
                        "a description to search through"
                    })
                    .priority(["low", "medium", "high"][(n % 3) as usize]);
                match n % 6 {
                    0 => input = input.due_date("2020-05-01"),
                    3 => input = input.due_date("2031-05-01"),
                    _ => {}
                }
                tasks.create_task(&code, &input, None).await.expect("create");
            }
        });
    }
    while writers.join_next().await.is_some() {}
    for i in 0..100 {
        tasks.create_task(&other.code, &NewTask::titled(format!("other {i}")), None).await.expect("create");
    }
    let code = &room.code;
    let total = tasks.stats(code).await.expect("stats").total;

    let search = TaskQuery::default().text(SearchText::parse("needle").expect("text"));
    let queries = [
        ("`q=needle`", search.clone()),
        ("`overdue`", TaskQuery::default().overdue_only()),
        ("`due_before=2030-01-01`", TaskQuery::default().due_before(datetime!(2030-01-01 00:00 UTC))),
    ];
    let legacy = Legacy::new(code);
    println!(
        "\nRoom of {total} tasks; server {}; slow log from {SLOWLOG_FROM_MICROS} µs; {ROUNDS} sequential requests each.\n",
        if server.realtime { "under chrt --fifo 10" } else { "at normal priority" }
    );
    println!(
        "| listing | way | p50 (µs) | mean (µs) | Redis busy µs/request (commandstats) | Redis main-thread CPU µs/request | \
         slowest single command (µs, SLOWLOG) | commands/request |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (what, query) in &queries {
        let page = tasks.list_tasks(code, query).await.expect("list");
        let (numbers, matched) = legacy.list(&mut raw, query).await;
        assert_eq!(
            (page.items.iter().map(|t| t.number).collect::<Vec<_>>(), page.matched),
            (numbers, matched),
            "{what}: both ways give the same page"
        );
        let old = measure(&mut meter, || {
            let (legacy, mut conn, query) = (&legacy, raw.clone(), query.clone());
            async move {
                legacy.list(&mut conn, &query).await;
            }
        })
        .await;
        let new = measure(&mut meter, || {
            let (tasks, query) = (tasks.clone(), query.clone());
            async move {
                tasks.list_tasks(code, &query).await.expect("list");
            }
        })
        .await;
        row(&format!("{what} ({} matched)", page.matched), "old: one Lua script", &old);
        row(&format!("{what} ({} matched)", page.matched), "new: bounded steps", &new);
    }

    println!(
        "\nAnother room (100 tasks, first page of 50), one client for {} s, while {NOISY_CLIENTS} clients repeat \
         `q=needle` on the {total}-task room:\n",
        PHASE.as_secs()
    );
    println!("| while | other room req/s | p50 (µs) | p99 (µs) | searches done |");
    println!("|---|---:|---:|---:|---:|");
    let foreground = open(&url).await;
    foreground.list_tasks(&other.code, &TaskQuery::default()).await.expect("warm");
    let (rate, p50, p99) = list_other_room(&foreground, &other.code).await;
    println!("| nothing else runs | {rate:.0} | {p50:.0} | {p99:.0} | — |");
    for (way, legacy) in [("old: one Lua script", true), ("new: bounded steps", false)] {
        let stop = Arc::new(AtomicBool::new(false));
        let noise = start_noise(&url, code, &search, legacy, &stop);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (rate, p50, p99) = list_other_room(&foreground, &other.code).await;
        stop.store(true, Ordering::Relaxed);
        let searches: u64 = noise.into_iter().map(|t| t.join().expect("noise thread")).sum();
        println!("| {NOISY_CLIENTS} clients search, {way} | {rate:.0} | {p50:.0} | {p99:.0} | {searches} |");
    }
}
