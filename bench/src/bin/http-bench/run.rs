//! One run: every picked workload on every server that has it, one table row per workload as
//! soon as it is measured, then what the store's group commit did during taskcore's measured
//! runs (commits per second, writes per commit), then HTTP beside direct `TaskManager` calls.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use taskcore::{TaskQuery, WriteStats};
use taskcore_bench::BenchError;
use taskcore_bench::direct::{self, Op};
use taskcore_bench::lua::Scripts;
use taskcore_bench::table::{self, Row};
use taskcore_bench::workload::Workload;
use taskcore_bench::wrk::{self, Load, Measured};

use crate::Args;
use crate::targets::{self, SMALL, Target, Targets};

/// Which server a request plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Original,
    Axum,
}

/// Runs the picked workloads and prints the tables.
pub(crate) async fn run(args: Args) -> Result<(), BenchError> {
    wrk::check_installed().await?;
    let load =
        Load { seconds: args.seconds, connections: args.connections, threads: args.threads, timeout: args.timeout };
    let warmup = Load { seconds: args.warmup, ..load };
    let targets = targets::start(&args, args.only.needs_large_room()).await?;
    let scripts = Scripts::new()?;
    let with_original = targets.original.is_some();
    println!(
        "store: {} ({}); wrk {} threads, {} connections, {} s per run after {} s of warm-up; load average at start: {}",
        args.store,
        targets.backend,
        load.threads,
        load.connections,
        load.seconds,
        warmup.seconds,
        load_average()
    );
    for note in &targets.notes {
        println!("- {note}");
    }
    println!("\n{}", table::header(with_original));
    let mut ours = HashMap::new();
    let mut short = false;
    let mut batching = Vec::new();
    for workload in Workload::ALL.into_iter().filter(|w| args.only.has(*w) && *w != Workload::Direct) {
        let row = measure(workload, &targets, &scripts, load, warmup, &mut batching).await?;
        println!("{}", table::line(&row, with_original, load.connections));
        let measured = [Some(&row.ours), row.original.as_ref(), row.axum.as_ref()];
        short |= measured.into_iter().flatten().any(|m| m.too_short(load.connections));
        ours.insert(workload, row.ours);
    }
    if !batching.is_empty() {
        println!("\ngroup commit of the store during taskcore's measured runs:\n");
        for line in &batching {
            println!("- {line}");
        }
    }
    println!("\nload average at end: {}", load_average());
    if short {
        println!(
            "(short): fewer than two rounds of {} connections completed, a request took about as long as the run; \
         the rate is unreliable, run longer (--seconds)",
            load.connections
        );
    }
    if args.only.has(Workload::Direct) {
        direct_table(&targets, &ours, load).await;
    }
    targets.stop().await;
    Ok(())
}

/// One workload on every server that has it: taskcore, then the original, then axum. What the
/// store's group commit did during taskcore's measured run goes to `batching`.
async fn measure(
    workload: Workload,
    targets: &Targets,
    scripts: &Scripts,
    load: Load,
    warmup: Load,
    batching: &mut Vec<String>,
) -> Result<Row, BenchError> {
    let stats = || targets.store.write_stats();
    let mut counted = None;
    let ours = run_on(workload, Side::Ours, &targets.ours, scripts, load, warmup, Some((&stats, &mut counted))).await?;
    let ours = ours.ok_or_else(|| BenchError::Setup(format!("{workload}: taskcore has no plan")))?;
    if let Some(line) = counted.and_then(|(before, after, seconds)| group_commit(before, after, seconds)) {
        batching.push(format!("{workload}: {line}"));
    }
    let original = match &targets.original {
        Some(target) => run_on(workload, Side::Original, target, scripts, load, warmup, None).await?,
        None => None,
    };
    let axum = run_on(workload, Side::Axum, &targets.axum, scripts, load, warmup, None).await?;
    Ok(Row { workload: label(workload).to_owned(), ours, original, axum })
}

/// The group-commit counters of a store, and where to put them from before and after the
/// measured run with its length in seconds.
type Counted<'a> = (&'a dyn Fn() -> Option<WriteStats>, &'a mut Option<(WriteStats, WriteStats, f64)>);

async fn run_on(
    workload: Workload,
    side: Side,
    target: &Target,
    scripts: &Scripts,
    load: Load,
    warmup: Load,
    counted: Option<Counted<'_>>,
) -> Result<Option<Measured>, BenchError> {
    let Some((path, script)) = plan(workload, side, target, scripts)? else {
        return Ok(None);
    };
    eprintln!("  {workload} on {side:?} …");
    if warmup.seconds > 0 {
        wrk::run(target.addr, &path, script.as_deref(), warmup).await?;
        settle(target).await?;
    }
    let before = counted.as_ref().and_then(|(stats, _)| stats());
    let started = Instant::now();
    let measured = wrk::run(target.addr, &path, script.as_deref(), load).await?;
    settle(target).await?;
    if let (Some(before), Some((stats, into))) = (before, counted) {
        *into = stats().map(|after| (before, after, started.elapsed().as_secs_f64()));
    }
    Ok(Some(measured))
}

/// "N commits/s, M writes per commit (largest batch bound: the store's)" from the counters
/// before and after a run of `seconds`; nothing when the store committed nothing.
#[allow(clippy::cast_precision_loss)] // counts of one run, far below 2^52
fn group_commit(before: WriteStats, after: WriteStats, seconds: f64) -> Option<String> {
    let batches = after.batches.checked_sub(before.batches).filter(|batches| *batches > 0)?;
    let operations = after.operations.saturating_sub(before.operations);
    Some(format!(
        "{:.0} commits/s, {:.1} writes per commit on average ({operations} writes in {batches} transactions)",
        batches as f64 / seconds.max(f64::EPSILON),
        operations as f64 / batches as f64,
    ))
}

/// Waits until the server has answered what wrk left queued: a one-worker server (the
/// original) would otherwise spend the next run's first seconds on the previous run's backlog.
async fn settle(target: &Target) -> Result<(), BenchError> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(600)).build()?;
    let response = client.get(format!("http://{}/health", target.addr)).send().await?;
    let _ = response.bytes().await?;
    Ok(())
}

/// The path (and Lua script) of `workload` on one server; `None` when it has no such endpoint.
fn plan(
    workload: Workload,
    side: Side,
    target: &Target,
    scripts: &Scripts,
) -> Result<Option<(String, Option<PathBuf>)>, BenchError> {
    let small = &target.small;
    let large = target.large.as_deref().unwrap_or_default();
    let tasks = u32::try_from(SMALL).unwrap_or(u32::MAX);
    let get = |path: String| Ok(Some((path, None)));
    match (workload, side) {
        (Workload::Health, _) => get("/health".to_owned()),
        (Workload::List100, _) => get(format!("/tasks?room={small}")),
        (Workload::List10k, _) => get(format!("/tasks?room={large}")),
        // The original and the reference have no pages, filters or sorting to compare with.
        (Workload::Page, Side::Ours) => get(format!("/tasks?room={large}&limit=50")),
        (Workload::Filter, Side::Ours) => get(format!("/tasks?room={large}&limit=50&priority=high&sort=-due")),
        (Workload::Stats, Side::Ours | Side::Original) => get(format!("/tasks/stats?room={large}")),
        (Workload::Mixed, _) => Ok(Some(("/".to_owned(), Some(scripts.mixed(small, tasks)?)))),
        (Workload::Create, Side::Axum) => Ok(Some(("/echo".to_owned(), Some(scripts.create()?)))),
        (Workload::Create, _) => Ok(Some((format!("/tasks?room={}", target.writes), Some(scripts.create()?)))),
        (Workload::Update, _) => Ok(Some(("/".to_owned(), Some(scripts.update(small, tasks)?)))),
        _ => Ok(None),
    }
}

fn label(workload: Workload) -> &'static str {
    match workload {
        Workload::Health => "`GET /health`",
        Workload::List100 => "`GET /tasks?room=` (100 tasks)",
        Workload::List10k => "`GET /tasks?room=` (10,000 tasks)",
        Workload::Page => "`GET /tasks?limit=50` (10,000)",
        Workload::Filter => "`GET /tasks?priority=high&sort=-due&limit=50` (10,000)",
        Workload::Stats => "`GET /tasks/stats` (10,000)",
        Workload::Mixed => "mixed: 90 % `GET /tasks?room=`, 10 % `PUT /tasks/{n}` (100)",
        Workload::Create => "`POST /tasks` (axum: JSON echo)",
        Workload::Update => "`PUT /tasks/{1..100}` (a new title each time)",
        Workload::Direct => "direct",
    }
}

/// HTTP figures of this run beside the same operation on `TaskManager`, as many callers as
/// wrk had connections.
async fn direct_table(targets: &Targets, ours: &HashMap<Workload, Measured>, load: Load) {
    let rooms = &targets.rooms;
    let mut ops = vec![
        (Workload::Create, "create_task", Op::Create(rooms.writes.clone())),
        (Workload::List100, "list_tasks (100)", Op::List(rooms.small.clone(), TaskQuery::default().limit(100))),
        (Workload::Update, "update_task", Op::Update(rooms.small.clone())),
    ];
    if let Some(large) = &rooms.large {
        ops.push((
            Workload::Page,
            "list_tasks (limit 50 of 10,000)",
            Op::List(large.clone(), TaskQuery::default().limit(50)),
        ));
        ops.push((Workload::Stats, "stats (10,000)", Op::Stats(large.clone())));
    }
    let ops: Vec<_> = ops.into_iter().filter_map(|(w, name, op)| Some((ours.get(&w)?, name, op))).collect();
    if ops.is_empty() {
        return;
    }
    println!("\n{}", table::direct_header());
    for (http, name, op) in ops {
        eprintln!("  direct {name} …");
        let direct = direct::rate(&targets.tasks, load.connections, load.seconds, op).await;
        println!("{}", table::direct_line(name, http, &direct));
    }
}

/// `/proc/loadavg`'s 1, 5 and 15 minute figures.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
