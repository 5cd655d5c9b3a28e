//! The same operations called on `TaskManager` directly, from as many concurrent callers as
//! wrk has connections: what the store costs without HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use taskcore::{NewTask, RoomCode, TaskManager, TaskPatch, TaskQuery};

use crate::wrk::Measured;

/// One operation, repeated.
#[derive(Debug, Clone)]
pub enum Op {
    /// Create a task in the room.
    Create(RoomCode),
    /// List the room with this query.
    List(RoomCode, TaskQuery),
    /// Rename one of the room's first 100 tasks.
    Update(RoomCode),
    /// The room's statistics.
    Stats(RoomCode),
}

/// Runs `op` from `workers` concurrent tasks for `seconds`; latencies are not recorded.
pub async fn rate(tasks: &TaskManager, workers: u32, seconds: u64, op: Op) -> Measured {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut handles = Vec::new();
    for _ in 0..workers {
        let (tasks, op, done, errors) = (tasks.clone(), op.clone(), Arc::clone(&done), Arc::clone(&errors));
        handles.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let ok = match &op {
                    Op::Create(code) => {
                        tasks.create_task(code, &NewTask::titled("direct").priority("high"), None).await.is_ok()
                    }
                    Op::List(code, query) => tasks.list_tasks(code, query).await.is_ok(),
                    Op::Update(code) => {
                        let n = done.load(Ordering::Relaxed);
                        let patch =
                            TaskPatch { title: taskcore::Patch::Set(format!("direct {n}")), ..TaskPatch::default() };
                        tasks.update_task(code, n % 100 + 1, &patch).await.is_ok()
                    }
                    Op::Stats(code) => tasks.stats(code).await.is_ok(),
                };
                let counter = if ok { &done } else { &errors };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
    #[allow(clippy::cast_precision_loss)]
    let rps = done.load(Ordering::Relaxed) as f64 / seconds.max(1) as f64;
    Measured {
        rps,
        p50_ms: 0.0,
        p99_ms: 0.0,
        errors: errors.load(Ordering::Relaxed),
        requests: done.load(Ordering::Relaxed),
    }
}
