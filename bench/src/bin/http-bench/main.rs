//! `http-bench`: wrk workloads on taskcore beside, in the same run, the original Flask app it
//! replaces and a minimal axum handler serving tasks from memory, printed as a markdown table
//! with ratios; plus the same operations called on `TaskManager` directly.
//!
//! ```text
//! cargo run --release -p taskcore-bench --features redis,postgres -- \
//!     --store sqlite:///var/tmp/bench.db --seconds 5 \
//!     --flask-dir /var/tmp/flask-ref --flask-python /var/tmp/flask-venv/bin/python \
//!     --only list,mixed
//! ```
//!
//! Without `--flask-dir` (or `TASKCORE_BENCH_FLASK_DIR`) the original's columns are left out.
//! How to get the original: see the `flask` module of this crate. Needs `wrk`
//! (`apt-get install -y wrk`). Only loopback traffic; every run is bounded in time.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on the terminal

mod run;
mod targets;

use std::path::PathBuf;

use clap::Parser;
use taskcore_bench::flask::FlaskConfig;
use taskcore_bench::report;
use taskcore_bench::workload::Selection;

/// The allocator of `taskcore-server`, so the service runs as it does in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load benchmark of taskcore beside the original Flask app and a minimal axum handler.
#[derive(Debug, Parser)]
#[command(name = "http-bench")]
pub(crate) struct Args {
    /// Store URL for the service under test: memory:, sqlite://FILE, redis://…?prefix=…,
    /// postgres://…?schema=… (backend settings as the URL's query parameters).
    #[arg(long, env = "TASKCORE_BENCH_STORE", default_value = "memory:")]
    store: String,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Seconds of unmeasured wrk load on each server before each measured run (0: none).
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Seconds wrk waits for one response before counting it as an error (its latency then
    /// goes unrecorded): keep it above the slowest server's latency.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Concurrent connections per wrk run.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Workloads to run, comma-separated: health, list (= list100,list10k), list100, list10k,
    /// page, filter, stats, mixed, create, update, direct, all.
    #[arg(long, default_value = "all")]
    only: Selection,
    /// Checkout of the original Flask TaskManagerAPI (holding app.py); without it the
    /// original is not measured.
    #[arg(long, env = "TASKCORE_BENCH_FLASK_DIR")]
    flask_dir: Option<PathBuf>,
    /// Python of a venv with Flask 3, gunicorn and psycopg2-binary.
    #[arg(long, env = "TASKCORE_BENCH_FLASK_PYTHON", default_value = "python3")]
    flask_python: PathBuf,
    /// The original's WSGI application.
    #[arg(long, env = "TASKCORE_BENCH_FLASK_APP", default_value = "app:app")]
    flask_app: String,
}

impl Args {
    fn flask(&self) -> Option<FlaskConfig> {
        let dir = self.flask_dir.clone()?;
        Some(FlaskConfig { dir, python: self.flask_python.clone(), app: self.flask_app.clone() })
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("http-bench: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("http-bench: {}", report(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
