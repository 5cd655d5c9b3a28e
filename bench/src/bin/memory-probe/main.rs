//! `memory-probe`: how much memory a real `taskcore-server` needs for whole-room reads. It fills
//! one room on a SQLite file with tasks whose descriptions are as large as the API allows
//! (10,000 four-byte characters, about 40 KB), then, each on a freshly started server, sends
//! concurrent `GET /rooms/{code}` and concurrent unpaged `GET /tasks?room=`, and reports the
//! server's resident memory before and its peak (`VmHWM` of `/proc/<pid>/status`) after.
//!
//! ```text
//! cargo build --release -p taskcore-http --bin taskcore-server
//! cargo run --release -p taskcore-bench --bin memory-probe -- --tasks 2500 --readers 8
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on the terminal

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use taskcore_bench::{BenchError, report, seed};
use tokio::task::JoinSet;

use taskcore_bench::server::{Server, default_binary};

/// A four-byte UTF-8 character (U+1D11E, musical G clef): the most bytes per counted character.
const WIDE_CHAR: char = '\u{1D11E}';

/// Peak memory of `taskcore-server` under concurrent whole-room reads.
#[derive(Debug, Parser)]
#[command(name = "memory-probe")]
struct Args {
    /// The server binary (default: $CARGO_TARGET_DIR/release/taskcore-server, else
    /// target/release/taskcore-server).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Tasks in the room.
    #[arg(long, default_value_t = 2_500)]
    tasks: u64,
    /// Characters per description (each 4 bytes in UTF-8).
    #[arg(long, default_value_t = taskcore::MAX_DESCRIPTION_CHARS)]
    description_chars: usize,
    /// Concurrent readers per probe.
    #[arg(long, default_value_t = 8)]
    readers: usize,
    /// Concurrent creates while filling.
    #[arg(long, default_value_t = 8)]
    fill_concurrency: usize,
    /// `--body-limit` for the server (its default when not given).
    #[arg(long)]
    body_limit: Option<usize>,
    /// The SQLite file (default: a temporary one, removed afterwards).
    #[arg(long)]
    db: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("memory-probe: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("memory-probe: {}", report(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), BenchError> {
    let binary = args.server.clone().unwrap_or_else(default_binary);
    if !binary.is_file() {
        return Err(BenchError::Setup(format!(
            "no server binary at {}: cargo build --release -p taskcore-http --bin taskcore-server, or give --server",
            binary.display()
        )));
    }
    let dir = tempfile::tempdir()?;
    let db = args.db.clone().unwrap_or_else(|| dir.path().join("probe.db"));
    let log = dir.path().join("server.log");
    let client = seed::client()?;
    let store_url = format!("sqlite://{}", db.display());
    let server_args: Vec<String> =
        args.body_limit.map(|limit| vec!["--body-limit".to_owned(), limit.to_string()]).unwrap_or_default();

    let mut server = Server::start(&binary, &store_url, &server_args, &log).await?;
    let description: String = std::iter::repeat_n(WIDE_CHAR, args.description_chars).collect();
    eprintln!("filling a room with {} tasks of {} description bytes …", args.tasks, description.len());
    let started = Instant::now();
    let code = fill(&client, &server.base(), args.tasks, &description, args.fill_concurrency).await?;
    let filled = started.elapsed();
    let after_fill = server.memory();
    server.stop().await;

    println!(
        "server {}; room of {} tasks with {}-byte descriptions ({} characters) filled over HTTP in {:.1} s (server RSS then {}, peak {})",
        binary.display(),
        args.tasks,
        description.len(),
        args.description_chars,
        filled.as_secs_f64(),
        mib(after_fill.0),
        mib(after_fill.1)
    );
    println!(
        "\n| {} concurrent reads, fresh server each | status | body each | RSS before | peak RSS (VmHWM) | RSS after | seconds |",
        args.readers
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, path) in
        [("`GET /rooms/{code}`", format!("/rooms/{code}")), ("`GET /tasks?room=`", format!("/tasks?room={code}"))]
    {
        let mut server = Server::start(&binary, &store_url, &server_args, &log).await?;
        let _ = client.get(format!("{}/health", server.base())).send().await?;
        let before = server.memory();
        let started = Instant::now();
        let outcome = read_concurrently(&client, &format!("{}{path}", server.base()), args.readers).await;
        let elapsed = started.elapsed();
        let peak = server.memory();
        let alive = server.running();
        server.stop().await;
        let (status, bytes) = match outcome {
            Ok((statuses, bytes)) => (statuses, format!("{:.1} MB", mb(bytes))),
            Err(error) => (format!("failed: {}", report(&error)), "—".to_owned()),
        };
        let status = if alive { status } else { format!("{status}; server died") };
        println!(
            "| {name} | {status} | {bytes} | {} | {} | {} | {:.1} |",
            mib(before.0),
            mib(peak.1),
            mib(peak.0),
            elapsed.as_secs_f64()
        );
    }
    println!("\nRSS in MiB from /proc/<pid>/status (VmRSS, VmHWM); body sizes in MB (10^6 bytes).");
    Ok(())
}

/// A new room filled with `count` tasks carrying `description`; returns its code.
async fn fill(
    client: &reqwest::Client,
    base: &str,
    count: u64,
    description: &str,
    concurrency: usize,
) -> Result<String, BenchError> {
    let code = seed::empty_room_over_http(client, base, "probe").await?;
    let mut running = JoinSet::new();
    for i in 0..count {
        if running.len() >= concurrency.max(1)
            && let Some(done) = running.join_next().await
        {
            done.map_err(|e| BenchError::Setup(format!("fill failed: {e}")))??;
        }
        let (client, url) = (client.clone(), format!("{base}/tasks?room={code}"));
        let body = json!({ "title": format!("big task {i}"), "description": description, "priority": "medium" });
        running.spawn(async move {
            let response = client.post(url).json(&body).send().await?;
            let status = response.status();
            if !status.is_success() {
                let text = response.text().await.unwrap_or_default();
                return Err(BenchError::unexpected("POST /tasks", format!("{status}: {text}")));
            }
            Ok(())
        });
    }
    while let Some(done) = running.join_next().await {
        done.map_err(|e| BenchError::Setup(format!("fill failed: {e}")))??;
    }
    Ok(code)
}

/// `readers` concurrent GETs of `url`, bodies streamed and counted, not kept; returns the
/// statuses seen and the size of one body.
async fn read_concurrently(client: &reqwest::Client, url: &str, readers: usize) -> Result<(String, usize), BenchError> {
    let mut running = JoinSet::new();
    for _ in 0..readers {
        let (client, url) = (client.clone(), url.to_owned());
        running.spawn(async move {
            let mut response = client.get(url).timeout(Duration::from_secs(300)).send().await?;
            let status = response.status().as_u16();
            let mut bytes = 0;
            while let Some(chunk) = response.chunk().await? {
                bytes += chunk.len();
            }
            Ok::<_, BenchError>((status, bytes))
        });
    }
    let mut statuses = std::collections::BTreeMap::new();
    let mut size = 0;
    while let Some(done) = running.join_next().await {
        let (status, bytes) = done.map_err(|e| BenchError::Setup(format!("reader failed: {e}")))??;
        *statuses.entry(status).or_insert(0) += 1;
        size = size.max(bytes);
    }
    let statuses: Vec<_> = statuses.iter().map(|(status, n)| format!("{n}× {status}")).collect();
    Ok((statuses.join(", "), size))
}

/// KiB as MiB, or `?`.
fn mib(kib: Option<u64>) -> String {
    #[allow(clippy::cast_precision_loss)]
    kib.map_or_else(|| "?".to_owned(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

fn mb(bytes: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let bytes = bytes as f64;
    bytes / 1e6
}
