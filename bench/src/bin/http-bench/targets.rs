//! The servers one run measures, started and seeded alike: taskcore on the store under test
//! (in this process), the original Flask app (a gunicorn child, when configured) and the axum
//! reference (in this process, serving copies of taskcore's own task objects).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use taskcore::{RoomCode, StoreOptions, TaskManager, TaskStore};
use taskcore_bench::flask::FlaskApp;
use taskcore_bench::{BenchError, in_process, reference, seed};

use crate::Args;

/// Tasks in the small room.
pub(crate) const SMALL: u64 = 100;
/// Tasks in the large room.
pub(crate) const LARGE: u64 = 10_000;

/// One server and the codes of its seeded rooms.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// The room of [`SMALL`] tasks.
    pub(crate) small: String,
    /// The room of [`LARGE`] tasks, when a workload needs it.
    pub(crate) large: Option<String>,
    /// An empty room that `POST /tasks` fills.
    pub(crate) writes: String,
}

/// taskcore's seeded rooms, for the direct `TaskManager` calls.
#[derive(Debug, Clone)]
pub(crate) struct StoreRooms {
    /// The room of [`SMALL`] tasks.
    pub(crate) small: RoomCode,
    /// The room of [`LARGE`] tasks, when seeded.
    pub(crate) large: Option<RoomCode>,
    /// The room `POST /tasks` fills.
    pub(crate) writes: RoomCode,
}

/// Everything a run measures.
#[derive(Debug)]
pub(crate) struct Targets {
    /// taskcore on the store under test.
    pub(crate) ours: Target,
    /// The original, when `--flask-dir` was given.
    pub(crate) original: Option<Target>,
    /// The minimal axum reference.
    pub(crate) axum: Target,
    /// taskcore's `TaskManager`, for the direct rows.
    pub(crate) tasks: TaskManager,
    /// taskcore's store, for its group-commit counters.
    pub(crate) store: Arc<dyn TaskStore>,
    /// The small, large and writes rooms as `TaskManager` knows them.
    pub(crate) rooms: StoreRooms,
    /// The store's backend name.
    pub(crate) backend: &'static str,
    /// What a reader of the table should know: seeding times, body sizes.
    pub(crate) notes: Vec<String>,
    /// The original's process.
    flask: Option<FlaskApp>,
}

impl Targets {
    /// Stops the original, if it runs (the in-process servers end with the process).
    pub(crate) async fn stop(self) {
        if let Some(flask) = self.flask {
            flask.stop().await;
        }
    }
}

/// Opens the store, seeds every server and starts them.
pub(crate) async fn start(args: &Args, large: bool) -> Result<Targets, BenchError> {
    let mut notes = Vec::new();
    let client = seed::client()?;
    let store = taskcore_http::store::open(&args.store, StoreOptions::default()).await?;
    let backend = store.backend();
    let tasks = TaskManager::new(Arc::clone(&store));
    eprintln!("seeding taskcore ({backend}) …");
    let started = Instant::now();
    let small = seed::room_in_store(&tasks, SMALL).await?;
    let large = if large { Some(seed::room_in_store(&tasks, LARGE).await?) } else { None };
    let writes = tasks.create_room("writer").await?.code;
    notes.push(format!("taskcore seeded through TaskManager in {:.1} s", started.elapsed().as_secs_f64()));
    let addr = in_process::serve(Arc::clone(&store)).await?;
    let ours = Target {
        addr,
        small: small.to_string(),
        large: large.as_ref().map(ToString::to_string),
        writes: writes.to_string(),
    };

    let mut rooms = HashMap::new();
    for (code, count) in rooms_of(&ours) {
        let (listed, bytes) = seed::listing(&client, &format!("http://{addr}"), &code).await?;
        check_count("taskcore", listed.len(), count)?;
        notes.push(format!("GET /tasks ({count}) body: taskcore {bytes} bytes"));
        rooms.insert(code, listed);
    }
    let axum = Target { addr: reference::start(rooms).await?, ..ours.clone() };

    let (original, flask) = match args.flask() {
        None => {
            notes.push(
                "original Flask app: not measured (give --flask-dir and --flask-python, or TASKCORE_BENCH_FLASK_DIR \
                 and TASKCORE_BENCH_FLASK_PYTHON)"
                    .to_owned(),
            );
            (None, None)
        }
        Some(config) => {
            let log = std::env::temp_dir().join(format!("taskcore-bench-flask-{}.log", std::process::id()));
            let app = FlaskApp::start(&config, &log).await?;
            eprintln!("seeding the original (gunicorn pid {}, log {}) …", app.id(), app.log().display());
            let started = Instant::now();
            let base = app.base();
            let small = seed::room_over_http(&client, &base, SMALL).await?;
            let large = if large.is_some() { Some(seed::room_over_http(&client, &base, LARGE).await?) } else { None };
            let writes = seed::room_over_http(&client, &base, 0).await?;
            notes.push(format!("original seeded over HTTP in {:.1} s", started.elapsed().as_secs_f64()));
            let target = Target { addr: app.addr(), small, large, writes };
            for (code, count) in rooms_of(&target) {
                let (listed, bytes) = seed::listing(&client, &base, &code).await?;
                check_count("the original", listed.len(), count)?;
                notes.push(format!("GET /tasks ({count}) body: original {bytes} bytes"));
            }
            (Some(target), Some(app))
        }
    };
    Ok(Targets {
        ours,
        original,
        axum,
        tasks,
        store,
        rooms: StoreRooms { small, large, writes },
        backend,
        notes,
        flask,
    })
}

fn rooms_of(target: &Target) -> Vec<(String, usize)> {
    let mut rooms = vec![(target.small.clone(), usize::try_from(SMALL).unwrap_or(usize::MAX))];
    if let Some(large) = &target.large {
        rooms.push((large.clone(), usize::try_from(LARGE).unwrap_or(usize::MAX)));
    }
    rooms
}

fn check_count(server: &str, got: usize, want: usize) -> Result<(), BenchError> {
    if got == want {
        Ok(())
    } else {
        Err(BenchError::unexpected(format!("{server}'s seeded room"), format!("{got} tasks listed, {want} created")))
    }
}
