//! Benchmark of `SqliteStore`, each figure beside a reference measured in the same run, on the
//! same file, with the same durability settings:
//!
//! - creates/s with 64 concurrent callers vs a naive loop of one sqlx transaction per insert;
//! - a filtered page of 50 in a room of 100,000 tasks vs a bare sqlx query returning the same rows;
//! - stats of that room vs the aggregate a naive store would run;
//! - a task by number vs a bare sqlx primary-key select.
//!
//! `cargo bench -p taskcore-sqlite --bench store` (release build; about a minute on 2 cores).
//! `BENCH_TASKS=20000` shrinks the big room for a quick run.

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use taskcore::{
    ManualClock, NewTask, Priority, RoomCode, SortDir, SortKey, StatusFilter, Tag, TaskManager, TaskQuery, TaskStore,
};
use taskcore_sqlite::{Durability, SqliteConfig, SqliteStore};
use time::macros::datetime;
use time::{Duration as Span, OffsetDateTime};
use tokio::task::JoinSet;

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00:00 UTC);
const CALLERS: usize = 64;
const COLUMNS: &str = "number, id, title, description, priority, due, tags, assignee, completed, completed_at, \
     created_at, updated_at, version";

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn out(line: &str) {
    use std::io::Write;
    let _ignored = writeln!(std::io::stdout().lock(), "{line}");
}

fn main() -> BenchResult {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run())
}

async fn run() -> BenchResult {
    let big: usize = std::env::var("BENCH_TASKS").ok().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    machine();
    out("\n| measurement | taskcore-sqlite | reference | ratio |\n|---|---|---|---|");
    for durability in [Durability::Full, Durability::Normal] {
        creates(durability).await?;
    }
    reads(big).await?;
    Ok(())
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| info.lines().find(|l| l.starts_with("model name")).map(|l| l.to_owned()))
        .and_then(|line| line.split(':').nth(1).map(|m| m.trim().to_owned()))
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    out(&format!("machine: {cores} cores, {cpu}; SQLite bundled with sqlx 0.8 (libsqlite3-sys 0.30)"));
}

fn name(durability: Durability) -> &'static str {
    match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    }
}

/// A raw pool on the same file with the store's pragmas.
async fn raw_pool(url: &str, durability: Durability, connections: u32) -> BenchResult<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30))
        .synchronous(match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Normal => SqliteSynchronous::Normal,
        });
    Ok(SqlitePoolOptions::new().max_connections(connections).connect_with(options).await?)
}

async fn open(durability: Durability) -> BenchResult<(tempfile::TempDir, String, SqliteStore)> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = SqliteStore::open_with(SqliteConfig::new(&url).durability(durability)).await?;
    Ok((dir, url, store))
}

fn manager(store: &SqliteStore) -> TaskManager {
    TaskManager::new(Arc::new(store.clone())).with_clock(Arc::new(ManualClock::new(NOW)))
}

fn input(i: usize) -> NewTask {
    let mut task = NewTask::titled(format!("Task {i}: {}", ["review", "write", "call", "plan"][i % 4]))
        .description(format!("details of task {i}"))
        .priority(["low", "medium", "high"][i % 3])
        .tags([format!("tag{}", i % 20)]);
    if !i.is_multiple_of(4) {
        let hours = (i as i64 * 7919) % (24 * 360) - 24 * 180; // spread over a year around NOW
        task = task.due_date(taskcore::format_timestamp(NOW + Span::hours(hours)));
    }
    task
}

/// Runs `total` creates from [`CALLERS`] concurrent callers; returns the elapsed time.
async fn create_concurrently(tasks: &TaskManager, code: &RoomCode, total: usize) -> BenchResult<Duration> {
    let start = Instant::now();
    let mut callers = JoinSet::new();
    for caller in 0..CALLERS {
        let (tasks, code) = (tasks.clone(), code.clone());
        callers.spawn(async move {
            for i in (caller..total).step_by(CALLERS) {
                tasks.create_task(&code, &input(i), None).await?;
            }
            Ok::<(), taskcore::Error>(())
        });
    }
    while let Some(done) = callers.join_next().await {
        done??;
    }
    Ok(start.elapsed())
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// One naive insert: its own sqlx transaction around one `INSERT` of a task row.
async fn naive_insert(pool: &SqlitePool, room_id: i64, number: i64) -> BenchResult {
    let title = format!("Task {number}: naive");
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO tasks (room_id, number, id, title, description, priority, due, tags, assignee, \
         assignee_key, completed, completed_at, created_at, updated_at, version, title_key, search) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0, NULL, ?, ?, 1, ?, ?)",
    )
    .bind(room_id)
    .bind(number)
    .bind(uuid::Uuid::now_v7().as_bytes().to_vec())
    .bind(&title)
    .bind("details")
    .bind(number % 3)
    .bind(taskcore::store::NO_DUE_DATE)
    .bind(format!("[\"tag{}\"]", number % 20))
    .bind(taskcore::store::unix_micros(NOW))
    .bind(taskcore::store::unix_micros(NOW))
    .bind(title.to_lowercase())
    .bind(format!("{}\ndetails", title.to_lowercase()))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Creates/s of the store (64 concurrent callers) and of the naive loop, measured in
/// alternating rounds on one file so that load from elsewhere hits both alike.
async fn creates(durability: Durability) -> BenchResult {
    const ROUNDS: usize = 4;
    let (_dir, url, store) = open(durability).await?;
    let tasks = manager(&store);
    let room = tasks.create_room("bench").await?;
    let pool = raw_pool(&url, durability, 1).await?;
    let reference_room = tasks.create_room("naive").await?;
    let room_id: i64 = sqlx::query_scalar("SELECT id FROM rooms WHERE code = ?")
        .bind(reference_room.code.as_str())
        .fetch_one(&pool)
        .await?;
    let (store_per_round, naive_per_round) = if durability == Durability::Full { (5_000, 500) } else { (5_000, 2_500) };
    let (mut ours, mut naive) = (Duration::ZERO, Duration::ZERO);
    let mut number = 0;
    for _ in 0..ROUNDS {
        ours += create_concurrently(&tasks, &room.code, store_per_round).await?;
        let start = Instant::now();
        for _ in 0..naive_per_round {
            number += 1;
            naive_insert(&pool, room_id, number).await?;
        }
        naive += start.elapsed();
    }
    let ours = per_second(ROUNDS * store_per_round, ours);
    let naive = per_second(ROUNDS * naive_per_round, naive);
    out(&format!(
        "| creates/s, {CALLERS} concurrent callers, synchronous={} | {ours:.0} /s | {naive:.0} /s (loop, one sqlx transaction per insert) | {:.1}× |",
        name(durability),
        ours / naive
    ));
    pool.close().await;
    store.close().await;
    Ok(())
}

/// Mean times of `ours` and `reference`, run in alternating blocks of `block` calls (after a
/// warm-up block each) so that both see the same machine.
async fn paired<A, AF, B, BF, T, U>(
    blocks: usize,
    block: usize,
    mut ours: A,
    mut reference: B,
) -> BenchResult<(Duration, Duration)>
where
    A: FnMut(usize) -> AF,
    AF: std::future::Future<Output = BenchResult<T>>,
    B: FnMut(usize) -> BF,
    BF: std::future::Future<Output = BenchResult<U>>,
{
    let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
    for round in 0..=blocks {
        let start = Instant::now();
        for i in 0..block {
            black_box(ours(round * block + i).await?);
        }
        let ours_time = start.elapsed();
        let start = Instant::now();
        for i in 0..block {
            black_box(reference(round * block + i).await?);
        }
        if round > 0 {
            a += ours_time;
            b += start.elapsed();
        }
    }
    let calls = u32::try_from(blocks * block)?;
    Ok((a / calls, b / calls))
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

async fn reads(big: usize) -> BenchResult {
    let (_dir, url, store) = open(Durability::Full).await?;
    let tasks = manager(&store);
    let room = tasks.create_room("bench").await?;
    let seeding = create_concurrently(&tasks, &room.code, big).await?;
    let mut completers = JoinSet::new();
    for caller in 0..CALLERS {
        let (tasks, code) = (tasks.clone(), room.code.clone());
        completers.spawn(async move {
            for number in (1..=big as u64).skip(caller).step_by(CALLERS).filter(|n| n.is_multiple_of(2)) {
                tasks.complete_task(&code, number, None).await?;
            }
            Ok::<(), taskcore::Error>(())
        });
    }
    while let Some(done) = completers.join_next().await {
        done??;
    }
    // Another room shares the file, as in production.
    let other = tasks.create_room("other").await?;
    create_concurrently(&tasks, &other.code, 5_000).await?;
    out(&format!(
        "| seeding: {big} creates, {CALLERS} callers, synchronous=FULL | {:.0} /s | | |",
        per_second(big, seeding)
    ));

    let pool = raw_pool(&url, Durability::Full, 4).await?;
    let room_id: i64 =
        sqlx::query_scalar("SELECT id FROM rooms WHERE code = ?").bind(room.code.as_str()).fetch_one(&pool).await?;

    // A filtered page: pending high-priority tasks, soonest due first.
    let query =
        TaskQuery::default().status(StatusFilter::Pending).priority(Priority::High).sort(SortKey::Due, SortDir::Asc);
    let bare_sql = format!(
        "SELECT {COLUMNS} FROM tasks WHERE room_id = ? AND completed = 0 AND priority = 2 ORDER BY due, number LIMIT 50"
    );
    list_pair(&store, &pool, &room, room_id, &query, &bare_sql, "pending + high priority, by due").await?;
    // A tag filter: the listing counts its matches in SQL.
    let tagged = TaskQuery::default().tag(Tag::parse("tag7")?);
    let bare_sql = format!(
        "SELECT {COLUMNS} FROM tasks WHERE room_id = ? AND number IN \
         (SELECT number FROM task_tags WHERE room_id = ?1 AND tag = 'tag7') ORDER BY number LIMIT 50"
    );
    list_pair(&store, &pool, &room, room_id, &tagged, &bare_sql, "tag, by number").await?;

    // Stats: maintained counters + an index range for overdue vs a naive aggregate.
    let (ours, naive) = paired(
        5,
        40,
        |_| async { Ok(store.counts(&room.code, NOW).await?) },
        |_| async {
            Ok(sqlx::query(
                "SELECT COUNT(*), SUM(completed), SUM(priority = 0), SUM(priority = 1), SUM(priority = 2), \
                 SUM(completed = 0 AND due < ?2) FROM tasks WHERE room_id = ?1",
            )
            .bind(room_id)
            .bind(taskcore::store::unix_micros(NOW))
            .fetch_one(&pool)
            .await?
            .get::<i64, _>(0))
        },
    )
    .await?;
    let counts = store.counts(&room.code, NOW).await?;
    out(&format!(
        "| stats of {big} tasks ({} overdue) | {} | {} (one aggregate over the room) | {:.1}× |",
        counts.overdue,
        micros(ours),
        micros(naive),
        naive.as_secs_f64() / ours.as_secs_f64()
    ));

    // A task by number.
    let pick = |i: usize| ((i * 7919) % big) as u64 + 1;
    let by_number = format!("SELECT {COLUMNS} FROM tasks WHERE room_id = ? AND number = ?");
    let (ours, bare) = paired(
        10,
        1_000,
        |i| {
            let (store, code) = (&store, &room.code);
            async move { Ok(store.task(code, pick(i)).await?) }
        },
        |i| {
            let (pool, sql) = (&pool, &by_number);
            async move { Ok(sqlx::query(sql).bind(room_id).bind(pick(i) as i64).fetch_one(pool).await?.len()) }
        },
    )
    .await?;
    out(&format!(
        "| get by number | {} | {} (bare primary-key select) | {:.2}× |",
        micros(ours),
        micros(bare),
        bare.as_secs_f64() / ours.as_secs_f64()
    ));
    pool.close().await;
    store.close().await;
    Ok(())
}

async fn list_pair(
    store: &SqliteStore,
    pool: &SqlitePool,
    room: &taskcore::Room,
    room_id: i64,
    query: &TaskQuery,
    bare_sql: &str,
    label: &str,
) -> BenchResult {
    if std::env::var_os("BENCH_PLANS").is_some() {
        let bare_plan = sqlx::query(&format!("EXPLAIN QUERY PLAN {bare_sql}")).bind(room_id).fetch_all(pool).await?;
        let bare_plan: Vec<String> = bare_plan.iter().map(|row| row.get(3)).collect();
        out(&format!(
            "plan of ours: {:?}\nplan of bare: {bare_plan:?}",
            store.explain_listing(&room.code, query, NOW).await?
        ));
    }
    let page = store.list_tasks(&room.code, query, NOW).await?;
    let rows = sqlx::query(bare_sql).bind(room_id).fetch_all(pool).await?;
    let bare_numbers: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    let page_numbers: Vec<i64> = page.items.iter().map(|t| t.number as i64).collect();
    assert_eq!(page_numbers, bare_numbers, "both return the same 50 rows");
    let (ours, bare) = paired(
        10,
        200,
        |_| async { Ok(store.list_tasks(&room.code, query, NOW).await?) },
        |_| async {
            let rows = sqlx::query(bare_sql).bind(room_id).fetch_all(pool).await?;
            // Read every column, as a caller of the bare query would.
            let mut width = 0;
            for row in &rows {
                let (number, id, title, description): (i64, Vec<u8>, String, String) =
                    (row.get(0), row.get(1), row.get(2), row.get(3));
                let tags: String = row.get(6);
                width += number as usize + id.len() + title.len() + description.len() + tags.len();
                width += (row.get::<i64, _>(4) + row.get::<i64, _>(5) + row.get::<i64, _>(10) + row.get::<i64, _>(12))
                    as usize;
            }
            Ok(width)
        },
    )
    .await?;
    out(&format!(
        "| list 50 of {} matching ({label}) | {} | {} (bare sqlx query, same rows) | {:.2}× |",
        page.matched,
        micros(ours),
        micros(bare),
        bare.as_secs_f64() / ours.as_secs_f64()
    ));
    Ok(())
}
