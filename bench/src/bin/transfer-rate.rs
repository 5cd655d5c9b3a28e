//! `transfer-rate`: how fast `taskcore-server export` and `import` move one big room, and the
//! peak memory of each, beside a reference measured in the same run — reading and parsing the
//! same dump without any store, the floor an import cannot beat.
//!
//! Builds a dump of one room of `--tasks` realistic tasks (titles, descriptions, tags,
//! assignees, due dates, completed and updated tasks), imports it with the release binary into
//! `--store` (default: a fresh SQLite file), exports it back, and checks the export is the
//! dump, line for line. Peak resident memory is the child's `VmHWM`.
//!
//! ```text
//! cargo build --release -p taskcore-http --bin taskcore-server
//! cargo build --release -p taskcore-bench --bin transfer-rate
//! $CARGO_TARGET_DIR/release/transfer-rate --tasks 100000
//! $CARGO_TARGET_DIR/release/transfer-rate --store 'postgres://postgres@127.0.0.1/postgres?schema=transfer_bench'
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on the terminal

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use taskcore::dump::{DumpReader, DumpWriter};
use taskcore::{Clock, MemberName, NewTask, Room, RoomCode, RoomSnapshot, SystemClock, Task};
use taskcore_bench::process::proc_status_kib;
use taskcore_bench::server::default_binary;
use taskcore_bench::{BenchError, report};

/// Export and import throughput of one big room.
#[derive(Debug, Parser)]
#[command(name = "transfer-rate")]
struct Args {
    /// The server binary (default: $CARGO_TARGET_DIR/release/taskcore-server).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Store URL to import into and export from; it must not hold the room (default: a
    /// temporary SQLite file).
    #[arg(long)]
    store: Option<String>,
    /// Tasks in the room.
    #[arg(long, default_value_t = 100_000)]
    tasks: u64,
}

/// One measured step.
struct Step {
    seconds: f64,
    peak_mib: Option<f64>,
}

fn main() {
    let args = Args::parse();
    if let Err(error) = run(&args) {
        eprintln!("transfer-rate: {}", report(&error));
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), BenchError> {
    let binary = args.server.clone().unwrap_or_else(default_binary);
    let dir = tempfile::tempdir().map_err(|e| BenchError::Setup(format!("temporary directory: {e}")))?;
    let store = args.store.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let dump = dir.path().join("room.jsonl");
    let started = Instant::now();
    write_dump(&dump, args.tasks)?;
    let bytes = std::fs::metadata(&dump).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "dump of {} tasks, {:.1} MiB, written in {:.2} s",
        args.tasks,
        mib(bytes),
        started.elapsed().as_secs_f64()
    );

    let parse = parse_only(&dump)?;
    let import = measure(&binary, &["import", "--store", &store, "--input", path(&dump)?])?;
    let out = dir.path().join("export.jsonl");
    let export = measure(&binary, &["export", "--store", &store, "--output", path(&out)?])?;
    if body(&out)? != body(&dump)? {
        return Err(BenchError::unexpected("the export", "differs from the imported dump"));
    }

    let tasks = args.tasks as f64;
    println!(
        "| step ({} tasks, {:.1} MiB) | seconds | tasks/s | peak RSS MiB | × parse-only |",
        args.tasks,
        mib(bytes)
    );
    println!("|---|---:|---:|---:|---:|");
    for (name, step) in [("parse the dump, no store (reference)", &parse), ("import", &import), ("export", &export)] {
        let peak = step.peak_mib.map_or_else(|| "–".to_owned(), |m| format!("{m:.1}"));
        println!(
            "| {name} | {:.2} | {:.0} | {peak} | {:.2} |",
            step.seconds,
            tasks / step.seconds,
            parse.seconds / step.seconds
        );
    }
    println!("\nstore: {}; the export equals the dump line for line", taskcore_store_name(&store));
    Ok(())
}

fn taskcore_store_name(url: &str) -> &str {
    url.split(':').next().unwrap_or(url)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn path(path: &Path) -> Result<&str, BenchError> {
    path.to_str().ok_or_else(|| BenchError::Setup(format!("{} is not UTF-8", path.display())))
}

/// A room of `tasks` tasks as a busy team's: a third with due dates, a quarter completed,
/// some updated, one or two tags, an assignee on half.
fn write_dump(dump: &Path, tasks: u64) -> Result<(), BenchError> {
    let setup = |what: &str, e: &dyn std::fmt::Display| BenchError::Setup(format!("{what}: {e}"));
    let at = SystemClock.now().replace_nanosecond(0).map_err(|e| setup("clock", &e))?;
    let members: Vec<MemberName> = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|name| MemberName::parse(name))
        .collect::<Result<_, _>>()
        .map_err(|e| setup("member", &e))?;
    let code = RoomCode::parse("BENCH2").map_err(|e| setup("room code", &e))?;
    let mut room = Room::new(code, members[0].clone(), at);
    room.members = members.clone();
    let mut list: Vec<Task> = Vec::with_capacity(usize::try_from(tasks).unwrap_or(0));
    for n in 1..=tasks {
        let mut input = NewTask::titled(format!("Task {n}: review the quarterly plan"))
            .description(format!(
                "Details of task {n}: check the numbers, write the summary and share it with the team."
            ))
            .priority(["low", "medium", "high"][(n % 3) as usize])
            .tags(if n % 2 == 0 {
                vec!["work".to_owned(), format!("area-{}", n % 20)]
            } else {
                vec!["home".to_owned()]
            });
        if n % 3 == 0 {
            input = input.due_date(format!("2027-{:02}-{:02}", 1 + n % 12, 1 + n % 28));
        }
        if n % 2 == 0 {
            input = input.assignee(members[(n % 4) as usize].as_str().to_owned());
        }
        let mut task = input.validate(at).map_err(|e| setup("task", &e))?.into_task(n);
        if n % 4 == 0 {
            task.completed = true;
            task.completed_at = Some(at);
            task.version = 2;
        }
        list.push(task);
    }
    let snapshot = RoomSnapshot { room, last_number: tasks + 7, last_seq: tasks * 2, tasks: list, keys: Vec::new() };
    let file = File::create(dump).map_err(|e| setup("dump file", &e))?;
    let mut writer = DumpWriter::new(file, "bench", at).map_err(|e| setup("dump", &e))?;
    writer.room(&snapshot).map_err(|e| setup("dump", &e))?;
    writer.finish().map_err(|e| setup("dump", &e))?;
    Ok(())
}

fn parse_only(dump: &Path) -> Result<Step, BenchError> {
    let started = Instant::now();
    let file = File::open(dump).map_err(|e| BenchError::Setup(format!("dump: {e}")))?;
    let mut reader = DumpReader::new(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| BenchError::unexpected("reading the dump", e.to_string()))?;
    while reader.next_room().map_err(|e| BenchError::unexpected("reading the dump", e.to_string()))?.is_some() {}
    Ok(Step { seconds: started.elapsed().as_secs_f64(), peak_mib: None })
}

/// Runs the binary with `args` to the end, its peak resident memory read from /proc while it
/// runs.
#[allow(clippy::disallowed_methods)] // a plain thread polling a child: no async runtime to block
fn measure(binary: &Path, args: &[&str]) -> Result<Step, BenchError> {
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .args(["--log", "warn"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| BenchError::Setup(format!("{}: {e}", binary.display())))?;
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = proc_status_kib(child.id(), "VmHWM") {
            peak_kib = peak_kib.max(kib);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(BenchError::Setup(format!("waiting for {}: {e}", args[0]))),
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let said = child.wait_with_output().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).unwrap_or_default();
    if !status.success() {
        return Err(BenchError::unexpected(format!("taskcore-server {}", args[0]), said));
    }
    eprint!("{said}");
    Ok(Step { seconds, peak_mib: Some(peak_kib as f64 / 1024.0) })
}

/// The dump without its header line.
fn body(dump: &Path) -> Result<String, BenchError> {
    let text = std::fs::read_to_string(dump).map_err(|e| BenchError::Setup(format!("{}: {e}", dump.display())))?;
    Ok(text.split_once('\n').map(|(_, rest)| rest.to_owned()).unwrap_or_default())
}
