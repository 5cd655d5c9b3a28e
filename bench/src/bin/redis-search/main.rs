//! `redis-search`: what a `q=` search costs Redis itself. A room of 10,000 tasks on Redis
//! (by default a private `redis-server` on a free port, so nothing else is counted), N requests
//! of `GET /tasks?room=…&q=…` through the real HTTP service, and the Redis busy time per request
//! from `INFO commandstats` (microseconds of every command run, delta over the requests) and
//! the longest `SLOWLOG` entry. A bystander client reads another room of the same Redis during
//! the searches, to show whether one room's searches hold up other rooms.
//!
//! ```text
//! cargo run --release -p taskcore-bench --features redis --bin redis-search -- --requests 50
//! ```
//!
//! With `--redis-url` an existing Redis is used instead: the store gets its own key prefix (its
//! keys are deleted afterwards), nothing is reconfigured, and other clients' commands count
//! too.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on the terminal

mod clients;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use redis::aio::MultiplexedConnection;
use taskcore::{NewTask, TaskManager};
use taskcore_bench::redis_stats::{
    CommandStats, PrivateRedis, SlowEntry, config_get, connect, is_script, main_thread_cpu, slowlog,
};
use taskcore_bench::table::rate;
use taskcore_bench::{BenchError, in_process, report, seed};
use taskcore_redis::{RedisConfig, RedisStore};

use crate::clients::{Latencies, bystander, searches};

/// The allocator of `taskcore-server`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The word every hundredth task's description contains.
const NEEDLE: &str = "needle";

/// Redis busy time of `GET /tasks?q=` on a large room.
#[derive(Debug, Parser)]
#[command(name = "redis-search")]
struct Args {
    /// An existing Redis to use (default: start a private redis-server on a free port).
    #[arg(long)]
    redis_url: Option<String>,
    /// The redis-server binary for the private instance.
    #[arg(long, default_value = "redis-server")]
    redis_server: PathBuf,
    /// Tasks in the searched room.
    #[arg(long, default_value_t = 10_000)]
    tasks: u64,
    /// Search requests to send.
    #[arg(long, default_value_t = 50)]
    requests: u32,
    /// Concurrent search clients.
    #[arg(long, default_value_t = 1)]
    clients: u32,
    /// The search text (every hundredth task contains `needle`).
    #[arg(long, default_value = NEEDLE)]
    q: String,
    /// Extra query parameters, e.g. `&limit=50`.
    #[arg(long, default_value = "")]
    extra: String,
    /// Seconds the bystander reads alone, for its baseline.
    #[arg(long, default_value_t = 2)]
    baseline_seconds: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("redis-search: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("redis-search: {}", report(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Task `i`: the usual fields, a sentence of description, [`NEEDLE`] in every hundredth.
fn searchable(i: u64) -> NewTask {
    let needle = if i.is_multiple_of(100) { " (needle)" } else { "" };
    seed::new_task(i)
        .description(format!("Follow-up on item {i}: review the notes, update the estimate and tell the team{needle}."))
}

async fn run(args: Args) -> Result<(), BenchError> {
    let log = std::env::temp_dir().join(format!("taskcore-bench-redis-{}.log", std::process::id()));
    let private = match &args.redis_url {
        Some(_) => None,
        None => Some(PrivateRedis::start(&args.redis_server, &log).await?),
    };
    let url = args.redis_url.clone().or_else(|| private.as_ref().map(|p| p.url().to_owned())).unwrap_or_default();
    let prefix = format!("bench-search-{}", std::process::id());
    let mut conn = connect(&url).await?;
    let store = RedisStore::open_with(RedisConfig::new(url.clone()).prefix(prefix.clone())).await?;
    let tasks = TaskManager::new(Arc::new(store));

    eprintln!("seeding {} tasks …", args.tasks);
    let started = Instant::now();
    let room = seed::room_in_store_with(&tasks, args.tasks, searchable).await?;
    let other = seed::room_in_store(&tasks, 100).await?;
    let seeded = started.elapsed();
    let addr = in_process::serve(tasks.store().clone()).await?;
    let base = format!("http://{addr}");
    let search_url = format!("{base}/tasks?room={room}&q={}{}", args.q, args.extra);
    let bystander_url = format!("{base}/tasks?room={other}&limit=10");

    if private.is_some() {
        // Private instance: log every command over 100 µs, and start the slow log afresh.
        for (name, value) in [("slowlog-log-slower-than", "100"), ("slowlog-max-len", "100000")] {
            let _: () = redis::cmd("CONFIG").arg("SET").arg(name).arg(value).query_async(&mut conn).await?;
        }
        let _: () = redis::cmd("SLOWLOG").arg("RESET").query_async(&mut conn).await?;
    }
    let threshold = config_get(&mut conn, "slowlog-log-slower-than").await?;
    let client = seed::client()?;
    let matches = match seed::listing(&client, &base, &format!("{room}&q={}{}", args.q, args.extra)).await {
        Ok((tasks, _)) => tasks.len().to_string(),
        Err(error) => format!("? — the first search failed: {}", report(&error)),
    };

    eprintln!("bystander alone for {} s …", args.baseline_seconds);
    let alone = bystander(&client, &bystander_url, Some(Duration::from_secs(args.baseline_seconds)), None).await?;

    // Searches alone, so that every command counted is theirs…
    let mark = slowlog(&mut conn, 1).await?.first().map_or(0, |e| e.id);
    let before = CommandStats::read(&mut conn).await?;
    let cpu_before = main_thread_cpu(&mut conn).await?;
    eprintln!("{} searches from {} client(s) …", args.requests, args.clients);
    let searched = searches(&client, &search_url, args.requests, args.clients, None).await?.0;
    let after = CommandStats::read(&mut conn).await?;
    let cpu = main_thread_cpu(&mut conn).await? - cpu_before;
    let slow: Vec<_> = slowlog(&mut conn, 100_000).await?.into_iter().filter(|e| e.id > mark).collect();
    // …then again with the bystander reading another room meanwhile.
    eprintln!("{} searches again, with the bystander …", args.requests);
    let during = searches(&client, &search_url, args.requests, args.clients, Some(&bystander_url)).await?.1;

    let measured = Measured { searched, before, after, cpu, slow, threshold };
    print_report(&args, &url, private.as_ref(), seeded, &matches, &measured);
    println!(
        "\nbystander (another room of the same Redis, `GET /tasks?limit=10`, one client): alone {} req/s (p99 {:.1} ms, failed: {}); during the searches {} req/s (p99 {:.1} ms, failed: {})",
        rate(alone.rate()),
        alone.percentile_ms(99.0),
        alone.failures(),
        rate(during.rate()),
        during.percentile_ms(99.0),
        during.failures()
    );
    match private {
        Some(private) => private.stop().await,
        None => delete_prefix(&mut conn, &prefix).await?,
    }
    Ok(())
}

/// What Redis reported over the searches alone.
struct Measured {
    searched: Latencies,
    before: CommandStats,
    after: CommandStats,
    /// Seconds of main-thread CPU.
    cpu: f64,
    slow: Vec<SlowEntry>,
    threshold: String,
}

fn print_report(args: &Args, url: &str, private: Option<&PrivateRedis>, seeded: Duration, matches: &str, m: &Measured) {
    let requests = f64::from(args.requests.max(1));
    let which = private.map_or_else(
        || format!("{url} (shared: other clients' commands count too)"),
        |p| format!("private redis-server pid {} at {url}", p.id()),
    );
    println!("Redis: {which}; room of {} tasks seeded in {:.1} s", args.tasks, seeded.as_secs_f64());
    println!(
        "`GET /tasks?room=…&q={}{}` ({matches} matches): {} requests from {} client(s), {} req/s; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; failed: {}",
        args.q,
        args.extra,
        args.requests,
        args.clients,
        rate(m.searched.rate()),
        m.searched.percentile_ms(50.0),
        m.searched.percentile_ms(99.0),
        m.searched.percentile_ms(100.0),
        m.searched.failures()
    );
    println!(
        "\n| Redis command (INFO commandstats) | calls / request | µs / request | µs / call |\n|---|---:|---:|---:|"
    );
    let mut scripts = 0_u64;
    for (name, usage) in m.after.since(&m.before) {
        if is_script(&name) {
            scripts += usage.usec;
        }
        #[allow(clippy::cast_precision_loss)]
        let (calls, usec) = (usage.calls as f64, usage.usec as f64);
        println!("| {name} | {:.2} | {:.0} | {:.0} |", calls / requests, usec / requests, usec / calls.max(1.0));
    }
    #[allow(clippy::cast_precision_loss)]
    let scripts = scripts as f64 / requests;
    println!(
        "\nRedis busy per request: scripts (EVALSHA/FCALL, their inner commands included) {scripts:.0} µs = {:.2} ms; \
         main-thread CPU {:.2} ms. Commands a script runs appear on their own lines too, so the lines do not add up.",
        scripts / 1000.0,
        m.cpu * 1000.0 / requests
    );
    match m.slow.iter().max_by_key(|e| e.micros) {
        Some(worst) => println!(
            "SLOWLOG max during the searches: {} µs ({:.2} ms), `{}`; {} entries over the threshold of {} µs",
            worst.micros,
            Duration::from_micros(worst.micros).as_secs_f64() * 1000.0,
            worst.command,
            m.slow.len(),
            m.threshold
        ),
        None => println!("SLOWLOG: no entry over the threshold of {} µs during the searches", m.threshold),
    }
}

/// Deletes this run's keys from a shared Redis.
async fn delete_prefix(conn: &mut MultiplexedConnection, prefix: &str) -> Result<(), BenchError> {
    for pattern in [format!("{prefix}:*"), format!("{{{prefix}:*")] {
        let mut cursor = 0_u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(conn)
                .await?;
            if !keys.is_empty() {
                let _: u64 = redis::cmd("DEL").arg(&keys).query_async(conn).await?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    }
    Ok(())
}
