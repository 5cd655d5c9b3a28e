//! [`AppState`]: what every handler shares — the task manager over the (metered) store, the
//! start time for `uptime`, and the draining flag that readiness reports during shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use taskcore::{TaskManager, TaskStore};

use crate::metered_store::MeteredStore;

/// Shared state of the service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The domain facade.
    pub tasks: TaskManager,
    started: Instant,
    draining: Arc<AtomicBool>,
}

impl AppState {
    /// State over `store`, metered; the clock is the system clock.
    pub fn new(store: Arc<dyn TaskStore>) -> Self {
        Self::with_manager(TaskManager::new(Arc::new(MeteredStore::new(store))))
    }

    /// State over an existing manager (tests use one with a manual clock).
    pub fn with_manager(tasks: TaskManager) -> Self {
        metrics::gauge!(crate::metrics::BUILD_INFO, "version" => crate::VERSION, "backend" => tasks.store().backend())
            .set(1.0);
        Self { tasks, started: Instant::now(), draining: Arc::new(AtomicBool::new(false)) }
    }

    /// Seconds since the state was made.
    pub fn uptime_seconds(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Marks the service as shutting down: `/readyz` answers 503 from now on, so load
    /// balancers stop sending new requests while in-flight ones finish.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
