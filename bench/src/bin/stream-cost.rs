//! `stream-cost`: what live event streams cost a real `taskcore-server`, and how late they are.
//!
//! Two server processes on one store (replica A takes the writes, replica B holds the streams,
//! as behind a load balancer; with `--one-replica` B takes both). First B's CPU time over
//! `--seconds` with no stream open and one write a second (the reference, same run), then the
//! same with `--streams` open streams (on one room, or spread over `--rooms`, the writes going to
//! the first): the difference is what the streams cost. B's resident memory is read before the
//! streams open and once they are all open.
//! Every stream must receive every write; the delay from a write's answer to its event on each
//! stream is reported as percentiles.
//!
//! ```text
//! cargo build --release -p taskcore-http --bin taskcore-server
//! cargo build --release -p taskcore-bench --bin stream-cost
//! $CARGO_TARGET_DIR/release/stream-cost --streams 1000 --seconds 20                      # SQLite file
//! $CARGO_TARGET_DIR/release/stream-cost --store 'redis://127.0.0.1:6379/0?prefix=streams'
//! ```
//!
//! Needs a file-descriptor limit above the stream count (`ulimit -n`). Only loopback traffic;
//! every process started is stopped by its own id.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on the terminal

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};
use taskcore_bench::server::{Server, default_binary};
use taskcore_bench::{BenchError, report, seed};
use tokio::task::JoinSet;

/// CPU and delay of live event streams on a real server.
#[derive(Debug, Parser)]
#[command(name = "stream-cost")]
struct Args {
    /// The server binary (default: $CARGO_TARGET_DIR/release/taskcore-server).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Store URL shared by both replicas (default: a temporary SQLite file).
    #[arg(long)]
    store: Option<String>,
    /// Streams to open.
    #[arg(long, default_value_t = 1_000)]
    streams: usize,
    /// Rooms the streams are spread over (round robin); the writes go to the first.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// Seconds of each measurement (one write a second).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// One server takes the writes and holds the streams.
    #[arg(long)]
    one_replica: bool,
}

/// When each stream saw each change: (stream, seq) → arrival.
type Arrivals = Arc<Mutex<HashMap<(usize, u64), Instant>>>;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("stream-cost: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stream-cost: {}", report(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BenchError> {
    let binary = args.server.clone().unwrap_or_else(default_binary);
    let dir = tempfile::tempdir()?;
    let store = args.store.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("streams.db").display()));
    let room_for = (args.streams + 16).to_string();
    let mut limits: Vec<String> =
        ["--streams-per-room", "--streams-per-client", "--max-connections", "--max-connections-per-client"]
            .iter()
            .flat_map(|flag| [(*flag).to_owned(), room_for.clone()])
            .collect();
    // The bench creates its rooms from one address.
    limits.extend(["--rooms-per-minute".to_owned(), "0".to_owned()]);
    let mut holder = Server::start(&binary, &store, &limits, &dir.path().join("b.log")).await?;
    let mut writer = if args.one_replica {
        None
    } else {
        Some(Server::start(&binary, &store, &limits, &dir.path().join("a.log")).await?)
    };
    let write_base = writer.as_ref().map_or_else(|| holder.base(), Server::base);
    let client = seed::client()?;
    let rooms = args.rooms.max(1);
    let mut codes = Vec::with_capacity(rooms);
    for _ in 0..rooms {
        codes.push(seed::empty_room_over_http(&client, &write_base, "bench").await?);
    }
    let code = codes[0].clone();
    let seconds = Duration::from_secs(args.seconds);
    let ticks = clock_ticks();

    eprintln!("reference: no stream, one write a second for {} s …", args.seconds);
    let before = cpu_seconds(holder.id(), ticks);
    let _ = write_every_second(&client, &write_base, &code, seconds).await?;
    let idle = cpu_seconds(holder.id(), ticks) - before;

    let (rss_before, _) = holder.memory();
    eprintln!("opening {} streams on replica {} …", args.streams, if args.one_replica { "A" } else { "B" });
    let arrivals: Arrivals = Arc::default();
    let (connected_tx, mut connected) = tokio::sync::mpsc::channel::<()>(args.streams);
    let mut streams = JoinSet::new();
    let stream_client = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    for index in 0..args.streams {
        // Only the streams of the written room count arrivals.
        let url = format!("{}/rooms/{}/events", holder.base(), codes[index % rooms]);
        let counted = (index % rooms == 0).then(|| Arc::clone(&arrivals));
        let (client, connected) = (stream_client.clone(), connected_tx.clone());
        streams.spawn(async move { follow(&client, &url, index, counted.as_ref(), &connected).await });
    }
    drop(connected_tx);
    for _ in 0..args.streams {
        if tokio::time::timeout(Duration::from_secs(30), connected.recv()).await.ok().flatten().is_none() {
            return Err(BenchError::Setup("not every stream connected within 30 s".into()));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_open, _) = holder.memory();

    eprintln!("{} streams: one write a second for {} s …", args.streams, args.seconds);
    let before = cpu_seconds(holder.id(), ticks);
    let written = write_every_second(&client, &write_base, &code, seconds).await?;
    let busy = cpu_seconds(holder.id(), ticks) - before;
    tokio::time::sleep(Duration::from_secs(2)).await;
    streams.abort_all();

    let mut delays: Vec<f64> = Vec::new();
    let mut missing = 0_usize;
    {
        let seen = arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        for (seq, answered) in &written {
            for stream in (0..args.streams).step_by(rooms) {
                match seen.get(&(stream, *seq)) {
                    Some(arrived) => delays.push(arrived.saturating_duration_since(*answered).as_secs_f64() * 1e3),
                    None => missing += 1,
                }
            }
        }
    }
    delays.sort_by(f64::total_cmp);
    let at = |q: f64| delays.get(((delays.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN);
    let span = args.seconds as f64;
    println!(
        "store: {store}; {} streams on {rooms} room(s) of replica {}, {} on the written room; writes through replica {}; {} writes over {} s each run\n",
        args.streams,
        if args.one_replica { "A" } else { "B" },
        args.streams.div_ceil(rooms),
        if args.one_replica { "A" } else { "A (another process)" },
        written.len(),
        args.seconds,
    );
    println!("| run | server CPU s | % of a core | events delivered | write → event p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!("| no stream (reference) | {idle:.2} | {:.2} % | — | — | — | — |", idle / span * 100.0);
    println!(
        "| {} streams | {busy:.2} | {:.2} % | {} of {} | {:.1} | {:.1} | {:.1} |",
        args.streams,
        busy / span * 100.0,
        delays.len(),
        delays.len() + missing,
        at(0.5),
        at(0.99),
        delays.last().copied().unwrap_or(f64::NAN),
    );
    println!(
        "\nthe streams' own cost: {:.2} % of a core ({:.3} ms of CPU per stream per write)",
        (busy - idle) / span * 100.0,
        (busy - idle) * 1e3 / (args.streams.max(1) * written.len().max(1)) as f64,
    );
    if let (Some(before), Some(open)) = (rss_before, rss_open) {
        println!(
            "memory: replica B's RSS {:.1} MiB before the streams, {:.1} MiB with {} open on {rooms} room(s): {:.1} KiB per stream",
            before as f64 / 1024.0,
            open as f64 / 1024.0,
            args.streams,
            open.saturating_sub(before) as f64 / args.streams.max(1) as f64,
        );
    }
    holder.stop().await;
    if let Some(writer) = writer.as_mut() {
        writer.stop().await;
    }
    Ok(())
}

/// One write a second for `span`; returns each change's sequence number with when its write
/// was answered. (A room's changes are numbered from 1, one per write here.)
async fn write_every_second(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    span: Duration,
) -> Result<Vec<(u64, Instant)>, BenchError> {
    let mut answered = Vec::new();
    let started = Instant::now();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    while started.elapsed() < span {
        every.tick().await;
        let response =
            client.post(format!("{base}/tasks?room={code}")).json(&json!({ "title": "tick" })).send().await?;
        let at = Instant::now();
        if !response.status().is_success() {
            return Err(BenchError::unexpected("POST /tasks", response.status().to_string()));
        }
        let changes: Value =
            client.get(format!("{base}/rooms/{code}/changes?since=0&limit=1")).send().await?.json().await?;
        answered.push((changes["latest"].as_u64().unwrap_or(0), at));
    }
    Ok(answered)
}

/// Reads one stream until aborted, noting when each change arrived.
async fn follow(
    client: &reqwest::Client,
    url: &str,
    index: usize,
    arrivals: Option<&Arrivals>,
    connected: &tokio::sync::mpsc::Sender<()>,
) -> Result<(), BenchError> {
    let mut response = client.get(url).send().await?;
    if !response.status().is_success() {
        return Err(BenchError::unexpected("GET /rooms/{code}/events", response.status().to_string()));
    }
    let _ = connected.send(()).await;
    let mut partial = String::new();
    while let Some(chunk) = response.chunk().await? {
        let now = Instant::now();
        partial.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = partial.find('\n') {
            let line: String = partial.drain(..=end).collect();
            if let Some(arrivals) = arrivals
                && let Some(seq) = line.strip_prefix("id: ").and_then(|id| id.trim().parse::<u64>().ok())
            {
                arrivals.lock().unwrap_or_else(PoisonError::into_inner).insert((index, seq), now);
            }
        }
    }
    Ok(())
}

/// CPU seconds (user + system) the process has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32, ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces): state is
    // the 3rd field overall, utime the 14th, stime the 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (field(11) + field(12)) / ticks_per_second
}

/// Clock ticks per second of `/proc` times (`getconf CLK_TCK`; 100 on Linux when unknown).
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}
