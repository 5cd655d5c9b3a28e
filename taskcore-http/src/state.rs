//! [`AppState`]: what every handler shares — the task manager over the store (measured by
//! [`ObservedStore`], announced by [`AnnouncingStore`]), where metrics go, the start time for
//! `uptime`, and the draining flag that readiness reports during shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use taskcore::{CacheOptions, RoomCode, TaskManager, TaskStore};

use tokio::sync::broadcast;

use crate::announcing_store::AnnouncingStore;
use crate::edge::StoreHealth;
use crate::metrics::{BUILD_INFO, Metrics};
use crate::observed_store::ObservedStore;
use crate::room_feeds::RoomFeeds;
use crate::version::VERSION;

/// Shared state of the service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The domain facade, over the observed store.
    pub tasks: TaskManager,
    /// The manager as given, before its store was wrapped.
    given: TaskManager,
    announcing: AnnouncingStore,
    metrics: Metrics,
    started: Instant,
    draining: Arc<AtomicBool>,
    /// The single-flight storage check of `/health` and `/readyz`.
    store_health: StoreHealth,
    room_embed_bytes: usize,
    /// The followers of the rooms that live event streams watch.
    feeds: Arc<RoomFeeds>,
}

/// How many bytes of tasks a room object embeds by default (1 MiB): about 2,500 typical tasks.
pub const DEFAULT_ROOM_EMBED_BYTES: usize = 1024 * 1024;

impl AppState {
    /// State over `store` with the system clock and a read cache with default bounds.
    pub fn new(store: Arc<dyn TaskStore>) -> Self {
        Self::with_manager(TaskManager::new(store).with_cache(CacheOptions::default()))
    }

    /// State over a manager's store and clock (tests pass one with a manual clock). The store is
    /// wrapped in an [`ObservedStore`] (metrics) and an [`AnnouncingStore`] (live events);
    /// metrics go to a Prometheus registry of this state's own ([`Metrics::prometheus`]).
    pub fn with_manager(tasks: TaskManager) -> Self {
        Self::build(tasks, Metrics::prometheus())
    }

    /// The same state recording its metrics into `metrics` instead (for example the
    /// application's global recorder: [`Metrics::global`]). Call it before serving.
    pub fn with_metrics(self, metrics: Metrics) -> Self {
        Self::build(self.given, metrics).room_embed_bytes(self.room_embed_bytes)
    }

    fn build(given: TaskManager, metrics: Metrics) -> Self {
        let observed = ObservedStore::new(Arc::clone(given.store()), metrics.clone());
        let announcing = AnnouncingStore::new(Arc::new(observed));
        let tasks = given.clone().with_store(Arc::new(announcing.clone()));
        let backend = tasks.store().backend();
        metrics.record(|| metrics::gauge!(BUILD_INFO, "version" => VERSION, "backend" => backend).set(1.0));
        Self {
            tasks,
            given,
            announcing,
            metrics,
            started: Instant::now(),
            draining: Arc::new(AtomicBool::new(false)),
            store_health: StoreHealth::default(),
            room_embed_bytes: DEFAULT_ROOM_EMBED_BYTES,
            feeds: Arc::default(),
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

    /// Where this state's metrics go, and what `/metrics` renders.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// A receiver of the codes of rooms written to through this state from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RoomCode> {
        self.announcing.subscribe()
    }

    /// The room followers of the live event streams.
    pub(crate) fn feeds(&self) -> &Arc<RoomFeeds> {
        &self.feeds
    }

    /// How many rooms live event streams follow in this process now (one follower each).
    pub fn followed_rooms(&self) -> usize {
        self.feeds.followed()
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
