//! [`AppState`]: what every handler shares — the task manager over the (metered) store, the
//! start time for `uptime`, and the draining flag that readiness reports during shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use taskcore::{CacheOptions, RoomCode, TaskManager, TaskStore};

use tokio::sync::broadcast;

use crate::edge::StoreHealth;
use crate::observed_store::ObservedStore;

/// Shared state of the service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The domain facade, over the observed store.
    pub tasks: TaskManager,
    observed: ObservedStore,
    started: Instant,
    draining: Arc<AtomicBool>,
    /// The single-flight storage check of `/health` and `/readyz`.
    store_health: StoreHealth,
    room_embed_bytes: usize,
}

/// How many bytes of tasks a room object embeds by default (1 MiB): about 2,500 typical tasks.
pub const DEFAULT_ROOM_EMBED_BYTES: usize = 1024 * 1024;

impl AppState {
    /// State over `store` with the system clock and a read cache with default bounds.
    pub fn new(store: Arc<dyn TaskStore>) -> Self {
        Self::with_manager(TaskManager::new(store).with_cache(CacheOptions::default()))
    }

    /// State over a manager's store and clock (tests pass one with a manual clock). The store is
    /// wrapped in an [`ObservedStore`] for metrics and live events.
    pub fn with_manager(tasks: TaskManager) -> Self {
        let observed = ObservedStore::new(Arc::clone(tasks.store()));
        let tasks = tasks.with_store(Arc::new(observed.clone()));
        crate::metrics::prometheus(); // the recorder must exist before the first metric is set
        metrics::gauge!(crate::metrics::BUILD_INFO, "version" => crate::VERSION, "backend" => tasks.store().backend())
            .set(1.0);
        Self {
            tasks,
            observed,
            started: Instant::now(),
            draining: Arc::new(AtomicBool::new(false)),
            store_health: StoreHealth::default(),
            room_embed_bytes: DEFAULT_ROOM_EMBED_BYTES,
        }
    }

    /// With a byte budget for the tasks a room object embeds (`GET /rooms/{code}`, joins);
    /// past it the room says `"tasks_truncated": true` with a `next_cursor` for `GET /tasks`.
    pub fn room_embed_bytes(mut self, bytes: usize) -> Self {
        self.room_embed_bytes = bytes;
        self
    }

    /// The byte budget of embedded task lists.
    pub fn embed_budget(&self) -> usize {
        self.room_embed_bytes
    }

    /// A receiver of the codes of rooms written to through this state from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RoomCode> {
        self.observed.subscribe()
    }

    /// Seconds since the state was made.
    pub fn uptime_seconds(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The storage check shared by `/health` and `/readyz` (one in flight at a time).
    pub fn store_health(&self) -> &StoreHealth {
        &self.store_health
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
