//! `taskcore-server`: serve the API (default), check a running server's health (for container
//! health checks, without curl), apply the store's migrations and exit, or export and import the
//! store's rooms as a dump (backups, moves between backends).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use std::sync::Arc;

use taskcore::{CacheOptions, StoreOptions, TaskManager, TaskStore};
use taskcore_http::{AppState, BoundServer, EdgeArgs, Limits, ServerConfig, shutdown_signal};
use taskcore_store::redact_url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod legacy_env;
mod transfer;

/// The service allocates per request (routing, headers, JSON); mimalloc makes that cheaper than
/// glibc's malloc (callgrind on in-process `GET /health`: 18% fewer instructions per request).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The store URL used when none is given: an SQLite file in the working directory.
const DEFAULT_STORE_URL: &str = "sqlite://taskcore.db";

/// How the server logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The taskcore HTTP server.
#[derive(Debug, Parser)]
#[command(name = "taskcore-server", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Ask a running server for /health; exit 0 when healthy, 1 otherwise.
    Healthcheck {
        /// The URL to check; defaults to /health on the port of --bind, on 127.0.0.1.
        #[arg(long, env = "TASKCORE_HEALTHCHECK_URL")]
        url: Option<String>,
        /// Seconds to wait for an answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Open the store (applying its migrations) and exit.
    Migrate,
    /// Write the store's rooms as a dump (JSON Lines, one consistent snapshot per room, taken
    /// while the server keeps running) to standard output or --output.
    Export {
        /// A room to export (repeat for more); every room when none is given.
        #[arg(long = "room", value_name = "CODE")]
        rooms: Vec<String>,
        /// Write the dump to this file (written under FILE.partial and renamed once whole); a
        /// directory gets a new file named after the backend and the time, for scheduled backups.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Load a dump from standard input or --input into the store, each room all or nothing.
    Import {
        /// Read the dump from this file.
        #[arg(long, short)]
        input: Option<PathBuf>,
        /// What to do with a room whose code the store already has.
        #[arg(long, value_enum, default_value_t = transfer::ConflictArg::Fail)]
        on_conflict: transfer::ConflictArg,
    },
}

#[derive(Debug, clap::Args)]
struct Settings {
    /// Address to listen on.
    #[arg(long, env = "TASKCORE_BIND", default_value = taskcore_http::DEFAULT_BIND, global = true)]
    bind: SocketAddr,
    /// Store URL: sqlite://FILE, redis://HOST:PORT/DB, redis+cluster://H1:P1,H2:P2/, postgres://…, memory: — backend settings
    /// as query parameters (?durability=normal, ?prefix=…, ?schema=…, pool sizes, timeouts).
    /// TASKCORE_SQLITE_DURABILITY, TASKCORE_POSTGRES_SCHEMA and TASKCORE_REDIS_PREFIX still
    /// apply when the URL does not set the parameter.
    #[arg(long = "store", env = "TASKCORE_STORE_URL", default_value = DEFAULT_STORE_URL, global = true)]
    store_url: String,
    /// Runtime worker threads (default: one per core).
    #[arg(long, env = "TASKCORE_WORKER_THREADS", global = true)]
    worker_threads: Option<usize>,
    /// Seconds a request may take before it is answered 408.
    #[arg(long, env = "TASKCORE_REQUEST_TIMEOUT", default_value_t = 30, global = true)]
    request_timeout: u64,
    /// Largest request body in bytes.
    #[arg(long, env = "TASKCORE_BODY_LIMIT", default_value_t = 64 * 1024, global = true)]
    body_limit: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "TASKCORE_SHUTDOWN_GRACE", default_value_t = 10, global = true)]
    shutdown_grace: u64,
    /// Seconds to keep serving after SIGTERM with /readyz at 503 (for load balancers to notice).
    #[arg(long, env = "TASKCORE_SHUTDOWN_DELAY", default_value_t = 0, global = true)]
    shutdown_delay: u64,
    /// Changes kept per room in the change feed.
    #[arg(long, env = "TASKCORE_CHANGE_RETENTION", default_value_t = taskcore::DEFAULT_CHANGE_RETENTION, global = true)]
    change_retention: u64,
    /// Most tasks one room may hold at a time (deleted ones do not count); a create beyond it
    /// answers 409 `quota_exceeded`.
    #[arg(long, env = "TASKCORE_MAX_TASKS_PER_ROOM", default_value_t = taskcore::store::DEFAULT_MAX_TASKS_PER_ROOM, global = true)]
    max_tasks_per_room: u64,
    /// Most members one room may have; a join beyond it answers 409 `quota_exceeded`.
    #[arg(long, env = "TASKCORE_MAX_MEMBERS_PER_ROOM", default_value_t = taskcore::store::DEFAULT_MAX_MEMBERS_PER_ROOM, global = true)]
    max_members_per_room: u64,
    /// Bytes of rooms the read cache keeps in memory (least recently used rooms are evicted;
    /// a room over half of it is read from the store). 0 turns the cache off.
    #[arg(long, env = "TASKCORE_CACHE_BYTES", default_value_t = taskcore::DEFAULT_CACHE_BYTES, global = true)]
    cache_bytes: usize,
    /// Bytes of tasks a room object embeds (GET /rooms/{code}, joins); past it the room says
    /// `tasks_truncated` with a `next_cursor` for GET /tasks.
    #[arg(long, env = "TASKCORE_ROOM_EMBED_BYTES", default_value_t = taskcore_http::DEFAULT_ROOM_EMBED_BYTES, global = true)]
    room_embed_bytes: usize,
    /// Log format.
    #[arg(long, env = "TASKCORE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    log_format: LogFormat,
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `taskcore_http=debug,info`.
    #[arg(long, env = "TASKCORE_LOG", default_value = "info", global = true)]
    log: String,
    #[command(flatten)]
    edge: EdgeArgs,
}

impl Settings {
    fn server_config(&self) -> ServerConfig {
        ServerConfig::default()
            .bind(self.bind)
            .limits(Limits { request_timeout: Duration::from_secs(self.request_timeout), body_limit: self.body_limit })
            .shutdown_grace(Duration::from_secs(self.shutdown_grace))
            .shutdown_delay(Duration::from_secs(self.shutdown_delay))
            .edge(self.edge.config())
    }

    /// The store URL with the legacy environment variables applied.
    fn store_url(&self) -> String {
        legacy_env::apply(&self.store_url)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.settings);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(threads) = cli.settings.worker_threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = match runtime.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(&cli.settings).await,
            Command::Migrate => migrate(&cli.settings).await,
            Command::Healthcheck { url, timeout } => healthcheck(&cli.settings, url, timeout).await,
            Command::Export { rooms, output } => match open_store(&cli.settings).await {
                Ok(store) => transfer::export(store.as_ref(), &rooms, output.as_deref()).await,
                Err(code) => code,
            },
            Command::Import { input, on_conflict } => match open_store(&cli.settings).await {
                Ok(store) => transfer::import(store.as_ref(), input.as_deref(), on_conflict.into()).await,
                Err(code) => code,
            },
        }
    })
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

/// The store of --store, with the quotas and retention of the settings.
async fn open_store(settings: &Settings) -> Result<Arc<dyn TaskStore>, ExitCode> {
    let url = settings.store_url();
    let options = StoreOptions::default()
        .change_retention(settings.change_retention)
        .max_tasks_per_room(settings.max_tasks_per_room)
        .max_members_per_room(settings.max_members_per_room);
    match taskcore_store::open(&url, options).await {
        Ok(store) => {
            tracing::info!(store = %redact_url(&url), backend = store.backend(), "store open");
            Ok(store)
        }
        Err(error) => Err(fail("cannot open the store", &error)),
    }
}

async fn serve(settings: &Settings) -> ExitCode {
    let store = match open_store(settings).await {
        Ok(store) => store,
        Err(code) => return code,
    };
    let tasks = match TaskManager::new(store).with_room_code_length(settings.edge.room_code_length) {
        Ok(tasks) => tasks.with_cache(CacheOptions::default().max_bytes(settings.cache_bytes)),
        Err(error) => return fail("invalid --room-code-length", &error),
    };
    // The state records its metrics into a registry of its own, which /metrics renders: nothing
    // else in this process records metrics, so no global recorder is needed.
    let state = AppState::with_manager(tasks).room_embed_bytes(settings.room_embed_bytes);
    let server = match BoundServer::bind(settings.server_config(), state).await {
        Ok(server) => server,
        Err(error) => return fail("cannot start", &error),
    };
    match server.local_addr() {
        Ok(addr) => tracing::info!(%addr, version = taskcore_http::VERSION, "listening on {addr}"),
        Err(error) => return fail("cannot read the bound address", &error),
    }
    match server.serve(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => fail("server failed", &error),
    }
}

async fn migrate(settings: &Settings) -> ExitCode {
    let url = settings.store_url();
    match taskcore_store::open(&url, StoreOptions::default()).await {
        Ok(store) => {
            tracing::info!(store = %redact_url(&url), backend = store.backend(), "store is migrated");
            ExitCode::SUCCESS
        }
        Err(error) => fail("migration failed", &error),
    }
}

/// A minimal HTTP/1.1 GET over loopback: enough for a container health check, no client crate.
async fn healthcheck(settings: &Settings, url: Option<String>, timeout: u64) -> ExitCode {
    let url = url.unwrap_or_else(|| format!("http://127.0.0.1:{}/health", settings.bind.port()));
    let Some((host_port, path)) = url.strip_prefix("http://").map(|rest| match rest.split_once('/') {
        Some((host, path)) => (host.to_owned(), format!("/{path}")),
        None => (rest.to_owned(), "/".to_owned()),
    }) else {
        tracing::error!(%url, "healthcheck URL must start with http://");
        return ExitCode::FAILURE;
    };
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(&host_port).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = vec![0_u8; 64];
        let read = stream.read(&mut head).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&head[..read]).into_owned())
    };
    match tokio::time::timeout(Duration::from_secs(timeout), check).await {
        Ok(Ok(head)) if head.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(Ok(head)) => {
            tracing::error!(status = head.lines().next().unwrap_or(""), "unhealthy");
            ExitCode::FAILURE
        }
        Ok(Err(error)) => fail("health check failed", &error),
        Err(_) => {
            tracing::error!(timeout, "health check timed out");
            ExitCode::FAILURE
        }
    }
}

fn fail(what: &str, error: &dyn std::error::Error) -> ExitCode {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error = %chain, "{what}");
    ExitCode::FAILURE
}
