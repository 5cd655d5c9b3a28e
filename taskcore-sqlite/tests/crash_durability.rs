//! Crash durability: a child process creates tasks as fast as it can (16 concurrent callers,
//! so group commits hold many writes) and prints each number once its create is acknowledged;
//! the parent kills it with SIGKILL at a random moment, reopens the file and checks that every
//! acknowledged task is there, that numbering is dense, and that `PRAGMA integrity_check` says
//! `ok`. Run for both durability settings: both must survive a process crash.
//!
//! This test has its own `main` (`harness = false`): the same binary is the child when
//! `TASKCORE_CRASH_CHILD` is set.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;

use rand::Rng;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};
use taskcore::{NewTask, RoomCode, TaskManager, TaskStore};
use taskcore_sqlite::{Durability, SqliteConfig, SqliteStore};

const CHILD_URL: &str = "TASKCORE_CRASH_CHILD";
const CHILD_ROOM: &str = "TASKCORE_CRASH_ROOM";
const CHILD_DURABILITY: &str = "TASKCORE_CRASH_DURABILITY";
/// A child that is never killed stops here, so a broken parent leaves no process behind.
const CHILD_MAX_CREATES: usize = 200_000;
const CHILD_CALLERS: usize = 16;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    match std::env::var(CHILD_URL) {
        Ok(url) => runtime.block_on(child(url)),
        Err(_) => {
            for durability in ["full", "normal"] {
                runtime.block_on(acknowledged_creates_survive_sigkill(durability));
                writeln!(std::io::stdout(), "test acknowledged_creates_survive_sigkill ({durability}) ... ok")
                    .expect("stdout");
            }
            // The summary line cargo's harness would print, for CI logs that count them.
            writeln!(std::io::stdout(), "test result: ok. 2 passed; 0 failed; 0 ignored").expect("stdout");
        }
    }
}

fn config(url: &str, durability: &str) -> SqliteConfig {
    SqliteConfig::new(url).durability(Durability::from_str(durability).expect("durability"))
}

/// The child: creates tasks from many callers and reports each acknowledged number on stdout.
async fn child(url: String) {
    let durability = std::env::var(CHILD_DURABILITY).expect("durability");
    let code = RoomCode::parse(&std::env::var(CHILD_ROOM).expect("room")).expect("room code");
    let store = SqliteStore::open_with(config(&url, &durability)).await.expect("child opens the store");
    let tasks = TaskManager::new(Arc::new(store));
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..CHILD_CALLERS {
        let (tasks, code) = (tasks.clone(), code.clone());
        callers.spawn(async move {
            for i in 0..CHILD_MAX_CREATES / CHILD_CALLERS {
                let created = tasks.create_task(&code, &NewTask::titled(format!("c{caller} #{i}")), None).await;
                let number = created.expect("create").task().number;
                // One write(2) per line (stdout is line-buffered): a line is all there or absent.
                writeln!(std::io::stdout().lock(), "{number}").expect("report");
            }
        });
    }
    while let Some(done) = callers.join_next().await {
        done.expect("caller");
    }
}

/// The parent's check for one durability setting.
async fn acknowledged_creates_survive_sigkill(durability: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let store = SqliteStore::open_with(config(&url, durability)).await.expect("open");
    let code = TaskManager::new(Arc::new(store.clone())).create_room("alice").await.expect("room").code;
    store.close().await;

    let kill_after = rand::rng().random_range(100..3_000);
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .env(CHILD_URL, &url)
        .env(CHILD_ROOM, code.as_str())
        .env(CHILD_DURABILITY, durability)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let mut reports = BufReader::new(child.stdout.take().expect("child stdout"));
    let mut acknowledged = BTreeSet::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = reports.read_until(b'\n', &mut line).expect("read child output");
        if read == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            continue; // a torn last line is not a report
        }
        let number: u64 = std::str::from_utf8(&line).expect("utf-8").trim().parse().expect("a task number");
        acknowledged.insert(number);
        if acknowledged.len() == kill_after {
            child.kill().expect("SIGKILL the child");
        }
    }
    let status = child.wait().expect("child exit");
    assert_eq!(status.signal(), Some(9), "the child was killed by SIGKILL mid-run, not finished: {status:?}");
    assert!(acknowledged.len() >= kill_after, "{} reports before the kill", acknowledged.len());

    let store = SqliteStore::open_with(config(&url, durability)).await.expect("reopen after the crash");
    for &number in &acknowledged {
        if let Err(error) = store.task(&code, number).await {
            panic!("{durability}: acknowledged task {number} lost after SIGKILL: {error:?}");
        }
    }
    let page = TaskManager::new(Arc::new(store.clone()))
        .list_tasks(&code, &taskcore::TaskQuery::default().limit(1))
        .await
        .expect("list");
    let last = *acknowledged.last().expect("some acknowledged");
    assert!(page.total >= last, "{durability}: {} tasks stored, {last} acknowledged", page.total);
    let newest = store.task(&code, page.total).await.expect("numbers are dense: the newest is the count");
    assert_eq!(newest.number, page.total);
    store.close().await;

    let mut conn = SqliteConnectOptions::from_str(&url).expect("url").connect().await.expect("raw connection");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.expect("check");
    assert_eq!(check, "ok", "{durability}: integrity_check");
    conn.close().await.expect("close");
    writeln!(
        std::io::stdout(),
        "{durability}: killed after {} acknowledged creates ({} stored); all present, integrity ok",
        acknowledged.len(),
        page.total
    )
    .expect("stdout");
}
