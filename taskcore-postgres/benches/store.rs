//! `cargo bench -p taskcore-postgres`: the store's operations beside a bare sqlx reference,
//! measured in the same run against the same server and schema.
//!
//! The reference is what an application would write by hand with sqlx: a table `ref_tasks`
//! with the same columns and indexes as `tasks` (`LIKE tasks INCLUDING ALL`) holding the same
//! 100,000 seeded tasks, a plain `INSERT` with a client-side number, a plain `SELECT … LIMIT 50`,
//! a `GROUP BY` count for statistics and a primary-key `SELECT` — no room lock, no change feed,
//! no counters, no idempotency, no validation. The ratio is what the store's guarantees cost.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it does a few iterations only, to
//! prove it still works. The server is `TASKCORE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); everything happens in a fresh schema that is
//! dropped at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark program: a failed step aborts it, and it reports on stdout"
)]

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor, PgPool, Row};
use taskcore::store::unix_micros;
use taskcore::{NewTask, Priority, RoomCode, SortDir, SortKey, StatusFilter, Tag, TaskManager, TaskQuery};
use taskcore_postgres::{PgConfig, PgStore};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::task::JoinSet;

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00:00 UTC);
const SEEDED: i64 = 100_000;
const WRITERS: usize = 8;
const COLUMNS: &str = "number, id, title, description, priority, due, tags, assignee, completed, completed_at, \
     created_at, updated_at, version";

/// One measured operation: median latency of sequential calls, or mean time per operation of
/// concurrent ones, through the store and by hand.
struct Figure {
    what: &'static str,
    store: Duration,
    reference: Duration,
    reference_is: &'static str,
}

/// How many alternating rounds concurrent measurements run in.
const ROUNDS: usize = 4;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Median latency of `store` and `reference` called alternately, one call each per iteration
/// (so background load on a shared machine hits both alike), after a warm-up on other keys.
async fn pair<S, SF, R, RF>(iterations: usize, mut store: S, mut reference: R) -> (Duration, Duration)
where
    S: FnMut(usize) -> SF,
    SF: Future<Output = ()>,
    R: FnMut(usize) -> RF,
    RF: Future<Output = ()>,
{
    for i in iterations..iterations + iterations / 10 {
        store(i).await;
        reference(i).await;
    }
    let (mut ours, mut theirs) = (Vec::with_capacity(iterations), Vec::with_capacity(iterations));
    for i in 0..iterations {
        let start = Instant::now();
        store(i).await;
        ours.push(start.elapsed());
        let start = Instant::now();
        reference(i).await;
        theirs.push(start.elapsed());
    }
    (median(ours), median(theirs))
}

/// Mean time per operation of `WRITERS` concurrent workers calling `op(worker, i)` for each
/// `i` of `range`.
async fn concurrently<F, Fut>(range: std::ops::Range<usize>, op: F) -> Duration
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let start = Instant::now();
    let mut workers = JoinSet::new();
    for worker in 0..WRITERS {
        let (op, range) = (op.clone(), range.clone());
        workers.spawn(async move {
            for i in range.skip(worker).step_by(WRITERS) {
                op(worker, i).await;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    start.elapsed()
}

/// [`concurrently`] for the store and the reference, alternating in [`ROUNDS`] rounds.
async fn pair_concurrent<S, SF, R, RF>(iterations: usize, store: S, reference: R) -> (Duration, Duration)
where
    S: Fn(usize, usize) -> SF + Clone + Send + 'static,
    SF: Future<Output = ()> + Send,
    R: Fn(usize, usize) -> RF + Clone + Send + 'static,
    RF: Future<Output = ()> + Send,
{
    let (mut ours, mut theirs) = (Duration::ZERO, Duration::ZERO);
    let per_round = iterations / ROUNDS;
    for round in 0..ROUNDS {
        let range = round * per_round..(round + 1) * per_round;
        ours += concurrently(range.clone(), store.clone()).await;
        theirs += concurrently(range, reference.clone()).await;
    }
    let n = u32::try_from(per_round * ROUNDS).unwrap();
    (ours / n, theirs / n)
}

async fn reference_insert(pool: PgPool, room: i64, number: i64) {
    {
        let title = format!("bench {number}");
        sqlx::query(
            "INSERT INTO ref_tasks (room_id, number, id, title, description, priority, due, tags, assignee, \
             assignee_key, completed, completed_at, created_at, updated_at, version, title_key, search) \
             VALUES ($1, $2, $3, $4, '', 2, $5, $6, NULL, NULL, false, NULL, $7, $7, 1, $8, $9)",
        )
        .bind(room)
        .bind(number)
        .bind(uuid::Uuid::now_v7())
        .bind(&title)
        .bind(taskcore::store::NO_DUE_DATE)
        .bind(vec!["x".to_owned()])
        .bind(unix_micros(NOW))
        .bind(title.to_lowercase())
        .bind(taskcore::store::search_text_of(&title, ""))
        .execute(&pool)
        .await
        .unwrap();
    }
}

/// Decodes a reference row as the store would, minus validation.
fn decode(row: &sqlx::postgres::PgRow) -> (i64, uuid::Uuid, String, Vec<String>, i64) {
    (row.get(0), row.get(1), row.get(2), row.get(6), row.get(12))
}

/// One room's listings, measured through the store and by hand.
struct List<'a> {
    tasks: &'a TaskManager,
    code: &'a RoomCode,
    pool: &'a PgPool,
    room: i64,
    iterations: usize,
}

impl List<'_> {
    /// The store listing `query` (50 items) beside the reference `SELECT` with `filter_order`
    /// (a `WHERE` continuation and an `ORDER BY`) and `LIMIT 50`.
    async fn figure(&self, what: &'static str, query: TaskQuery, filter_order: &str) -> Figure {
        let sql = format!("SELECT {COLUMNS} FROM ref_tasks WHERE room_id = $1 AND {filter_order} LIMIT 50");
        let (store, reference) = pair(
            self.iterations,
            |_| {
                let (tasks, code, query) = (self.tasks.clone(), self.code.clone(), query.clone());
                async move {
                    assert_eq!(tasks.list_tasks(&code, &query).await.unwrap().items.len(), 50);
                }
            },
            |_| {
                let (pool, sql, room) = (self.pool.clone(), sql.clone(), self.room);
                async move {
                    let rows = sqlx::query(&sql).bind(room).fetch_all(&pool).await.unwrap();
                    assert_eq!(rows.iter().map(decode).count(), 50);
                }
            },
        )
        .await;
        Figure { what, store, reference, reference_is: "SELECT … LIMIT 50 (no count)" }
    }
}

async fn run(iterations: usize) -> Vec<Figure> {
    let url = std::env::var("TASKCORE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let schema = format!("tc_bench_{}", uuid::Uuid::now_v7().simple());
    let store =
        PgStore::open_with(PgConfig::new(&url).schema(&schema).pool_size(WRITERS as u32)).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable ({e}): `pg_ctlcluster 15 main start` or set TASKCORE_TEST_POSTGRES_URL")
        });
    let options: PgConnectOptions = url.parse().unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32)
        .connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .unwrap();
    let tasks = TaskManager::new(Arc::new(store.clone()));

    // The read room: 100,000 tasks, in the store and (same rows) in the reference table.
    let big = tasks.create_room("alice").await.unwrap();
    tasks.join_room(&big.code, "bob").await.unwrap();
    let big_id: i64 = sqlx::query_scalar("SELECT id FROM rooms WHERE code = $1")
        .bind(big.code.as_str())
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(include_str!("../tests/common/seed_tasks.sql"))
        .bind(big_id)
        .bind(SEEDED)
        .bind(unix_micros(NOW))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(include_str!("../tests/common/seed_counters.sql")).bind(big_id).execute(&pool).await.unwrap();
    pool.execute("CREATE TABLE ref_tasks (LIKE tasks INCLUDING ALL)").await.unwrap();
    pool.execute("INSERT INTO ref_tasks SELECT * FROM tasks").await.unwrap();
    pool.execute("VACUUM ANALYZE tasks").await.unwrap();
    pool.execute("VACUUM ANALYZE ref_tasks").await.unwrap();

    let mut figures = Vec::new();

    // Creates, one at a time, into an empty room.
    let room = tasks.create_room("alice").await.unwrap();
    let input = NewTask::titled("bench").priority("high").tags(["x"]);
    let ref_room = 1_000_000;
    let (store_create, ref_create) = pair(
        iterations,
        |_| {
            let (tasks, code, input) = (tasks.clone(), room.code.clone(), input.clone());
            async move {
                tasks.create_task(&code, &input, None).await.unwrap();
            }
        },
        |i| reference_insert(pool.clone(), ref_room, i as i64),
    )
    .await;
    figures.push(Figure {
        what: "create (sequential)",
        store: store_create,
        reference: ref_create,
        reference_is: "one INSERT",
    });

    // Creates from 8 concurrent writers into one room: they take turns on the room's row lock.
    let one_room = tasks.create_room("alice").await.unwrap();
    let (t, code, inp) = (tasks.clone(), one_room.code.clone(), input.clone());
    let p = pool.clone();
    let (store_one, ref_one) = pair_concurrent(
        iterations,
        move |_, _| {
            let (tasks, code, input) = (t.clone(), code.clone(), inp.clone());
            async move {
                tasks.create_task(&code, &input, None).await.unwrap();
            }
        },
        move |_, i| reference_insert(p.clone(), ref_room + 1, i as i64),
    )
    .await;
    figures.push(Figure {
        what: "create (8 writers, one room), per op",
        store: store_one,
        reference: ref_one,
        reference_is: "8 clients, one INSERT each",
    });

    // Creates from 8 concurrent writers, each into its own room: no shared lock.
    let mut rooms: Vec<RoomCode> = Vec::new();
    for _ in 0..WRITERS {
        rooms.push(tasks.create_room("alice").await.unwrap().code);
    }
    let (t, inp) = (tasks.clone(), input.clone());
    let p = pool.clone();
    let (store_many, ref_many) = pair_concurrent(
        iterations,
        move |worker, _| {
            let (tasks, code, input) = (t.clone(), rooms[worker].clone(), inp.clone());
            async move {
                tasks.create_task(&code, &input, None).await.unwrap();
            }
        },
        move |worker, i| reference_insert(p.clone(), ref_room + 2 + worker as i64, i as i64),
    )
    .await;
    figures.push(Figure {
        what: "create (8 writers, 8 rooms), per op",
        store: store_many,
        reference: ref_many,
        reference_is: "8 clients, one INSERT each",
    });

    // 50 pending high-priority tasks of 100,000 by due date (matched count from the counters).
    let query =
        TaskQuery::default().status(StatusFilter::Pending).priority(Priority::High).sort(SortKey::Due, SortDir::Asc);
    let by_due = "NOT completed AND priority = 2 ORDER BY due, number";
    let list = List { tasks: &tasks, code: &big.code, pool: &pool, room: big_id, iterations };
    figures.push(list.figure("list 50 of 100k: pending + high, by due", query, by_due).await);
    // 50 tasks of 100,000 with a tag, by title (matched needs a count over the tag index).
    let query = TaskQuery::default().tag(Tag::parse("t3").unwrap()).sort(SortKey::Title, SortDir::Asc);
    let by_title = "tags @> ARRAY['t3'] ORDER BY title_key, number";
    figures.push(list.figure("list 50 of 100k: tag, by title, with count", query, by_title).await);

    // Statistics of the 100,000-task room.
    let (store_stats, ref_stats) = pair(
        iterations.min(200),
        |_| {
            let (tasks, code) = (tasks.clone(), big.code.clone());
            async move {
                assert_eq!(tasks.stats(&code).await.unwrap().total, 100_000);
            }
        },
        |_| {
            let pool = pool.clone();
            async move {
                let rows = sqlx::query(
                    "SELECT completed, priority, count(*) FROM ref_tasks WHERE room_id = $1 \
                     GROUP BY completed, priority",
                )
                .bind(big_id)
                .fetch_all(&pool)
                .await
                .unwrap();
                let overdue: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM ref_tasks WHERE room_id = $1 AND NOT completed AND due < $2",
                )
                .bind(big_id)
                .bind(unix_micros(NOW))
                .fetch_one(&pool)
                .await
                .unwrap();
                assert_eq!(rows.iter().map(|r| r.get::<i64, _>(2)).sum::<i64>(), 100_000);
                assert!(overdue > 0);
            }
        },
    )
    .await;
    figures.push(Figure {
        what: "stats of a 100k-task room",
        store: store_stats,
        reference: ref_stats,
        reference_is: "GROUP BY count + overdue count",
    });

    // One task by number.
    let (store_get, ref_get) = pair(
        iterations,
        |i| {
            let (tasks, code) = (tasks.clone(), big.code.clone());
            async move {
                tasks.task(&code, (i as u64 * 7919) % 100_000 + 1).await.unwrap();
            }
        },
        |i| {
            let pool = pool.clone();
            async move {
                let row = sqlx::query(&format!("SELECT {COLUMNS} FROM ref_tasks WHERE room_id = $1 AND number = $2"))
                    .bind(big_id)
                    .bind((i as i64 * 7919) % 100_000 + 1)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                decode(&row);
            }
        },
    )
    .await;
    figures.push(Figure { what: "get one task", store: store_get, reference: ref_get, reference_is: "SELECT by key" });

    store.close().await;
    pool.execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str()).await.unwrap();
    pool.close().await;
    figures
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let iterations = if bench { 2_000 } else { 20 };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let figures = runtime.block_on(run(iterations));
    println!(
        "\n{iterations} iterations per operation (stats: at most 200) after {} warm-up; sequential rows: median latency, \
         store and reference calls alternating; concurrent rows: mean time per operation, {ROUNDS} alternating rounds\n",
        iterations / 10
    );
    println!("| operation | taskcore-postgres | bare sqlx reference | reference is | ratio |");
    println!("|---|---:|---:|---|---:|");
    for f in &figures {
        println!(
            "| {} | {:.0} µs | {:.0} µs | {} | {:.2}× |",
            f.what,
            micros(f.store),
            micros(f.reference),
            f.reference_is,
            micros(f.store) / micros(f.reference)
        );
    }
}
