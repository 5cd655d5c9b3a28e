//! Prometheus metrics: the names of every metric the service exports (the monitoring files and
//! their tests refer to these), and [`Metrics`], the handle saying where they are recorded.
//! Library code installs nothing process-wide: by default each [`AppState`](crate::AppState)
//! records into a Prometheus registry of its own, which its `/metrics` renders.

use std::fmt;
use std::sync::Arc;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Requests served, by `method`, `route` (the template, such as `/tasks/{id}`) and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// Request latency histogram in seconds, by `method` and `route`.
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";
/// Requests being served right now.
pub const HTTP_REQUESTS_IN_FLIGHT: &str = "http_requests_in_flight";
/// Storage operation latency histogram in seconds, by `backend`, `op` and `outcome`
/// (`ok` or the error kind).
pub const STORE_OPERATION_DURATION: &str = "taskcore_store_operation_duration_seconds";
/// 1 while the last storage health check passed, 0 after it failed.
pub const STORE_UP: &str = "taskcore_store_up";
/// Tasks created (not counting idempotent replays).
pub const TASKS_CREATED_TOTAL: &str = "taskcore_tasks_created_total";
/// Tasks completed.
pub const TASKS_COMPLETED_TOTAL: &str = "taskcore_tasks_completed_total";
/// Always 1, labelled with `version` and `backend`.
pub const BUILD_INFO: &str = "taskcore_build_info";

/// Rooms held by the read cache.
pub const CACHE_ROOMS: &str = "taskcore_cache_rooms";
/// Estimated bytes held by the read cache.
pub const CACHE_BYTES: &str = "taskcore_cache_bytes";
/// Reads of the cache, by `result`: `hit` (answered from memory) or `bypass` (room too large,
/// read from the store).
pub const CACHE_READS_TOTAL: &str = "taskcore_cache_reads_total";
/// Rooms loaded into the cache from the store.
pub const CACHE_LOADS_TOTAL: &str = "taskcore_cache_loads_total";
/// Changes applied to cached rooms from their feeds.
pub const CACHE_CHANGES_APPLIED_TOTAL: &str = "taskcore_cache_changes_applied_total";
/// Rooms evicted from the cache to stay within its bound.
pub const CACHE_EVICTIONS_TOTAL: &str = "taskcore_cache_evictions_total";

/// Transactions the store's group commit committed (stores that batch writes: SQLite, PostgreSQL).
pub const STORE_WRITE_BATCHES_TOTAL: &str = "taskcore_store_write_batches_total";
/// Writes those transactions carried: divided by [`STORE_WRITE_BATCHES_TOTAL`], the mean batch
/// size.
pub const STORE_BATCHED_WRITES_TOTAL: &str = "taskcore_store_batched_writes_total";

/// The metrics above that only stores batching writes into shared transactions export (their
/// [`TaskStore::write_stats`](taskcore::TaskStore::write_stats) is `Some`).
pub const GROUP_COMMIT_METRICS: &[&str] = &[STORE_WRITE_BATCHES_TOTAL, STORE_BATCHED_WRITES_TOTAL];

/// Every metric name above, for checks that dashboards and alerts only use names that exist.
pub const ALL_METRICS: &[&str] = &[
    HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS_IN_FLIGHT,
    STORE_OPERATION_DURATION,
    STORE_UP,
    TASKS_CREATED_TOTAL,
    TASKS_COMPLETED_TOTAL,
    BUILD_INFO,
    CACHE_ROOMS,
    CACHE_BYTES,
    CACHE_READS_TOTAL,
    CACHE_LOADS_TOTAL,
    CACHE_CHANGES_APPLIED_TOTAL,
    CACHE_EVICTIONS_TOTAL,
    STORE_WRITE_BATCHES_TOTAL,
    STORE_BATCHED_WRITES_TOTAL,
];

/// Publishes the read cache's state (at scrape time: the cache keeps its own counters).
#[allow(clippy::cast_precision_loss)] // gauges are f64; byte counts stay exact far beyond RAM sizes
pub fn publish_cache(stats: taskcore::CacheStats) {
    metrics::gauge!(CACHE_ROOMS).set(stats.rooms as f64);
    metrics::gauge!(CACHE_BYTES).set(stats.bytes as f64);
    metrics::counter!(CACHE_READS_TOTAL, "result" => "hit").absolute(stats.hits);
    metrics::counter!(CACHE_READS_TOTAL, "result" => "bypass").absolute(stats.bypasses);
    metrics::counter!(CACHE_LOADS_TOTAL).absolute(stats.loads);
    metrics::counter!(CACHE_CHANGES_APPLIED_TOTAL).absolute(stats.changes_applied);
    metrics::counter!(CACHE_EVICTIONS_TOTAL).absolute(stats.evictions);
}

/// Publishes the store's group-commit counters (at scrape time: the store keeps them).
pub fn publish_write_stats(stats: taskcore::WriteStats) {
    metrics::counter!(STORE_WRITE_BATCHES_TOTAL).absolute(stats.batches);
    metrics::counter!(STORE_BATCHED_WRITES_TOTAL).absolute(stats.operations);
}

const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A Prometheus recorder with the service's latency buckets, not installed anywhere: an
/// application that wants the service's metrics in its own global registry installs it
/// (`metrics::set_global_recorder`) and passes its handle to [`Metrics::global`].
pub fn recorder() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
        .unwrap_or_else(|_| PrometheusBuilder::new())
        .build_recorder()
}

/// Where the service records its metrics and what `/metrics` renders. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    sink: Sink,
    handle: Option<PrometheusHandle>,
}

#[derive(Clone)]
enum Sink {
    /// A registry of this handle alone.
    Own(Arc<PrometheusRecorder>),
    /// Whatever global recorder the application installed.
    Global,
}

impl Metrics {
    /// A Prometheus registry of its own (the default of [`AppState`](crate::AppState)): nothing
    /// global is touched, and `/metrics` renders exactly this service's metrics.
    pub fn prometheus() -> Self {
        let recorder = recorder();
        let handle = recorder.handle();
        Self { sink: Sink::Own(Arc::new(recorder)), handle: Some(handle) }
    }

    /// The application's global recorder: the service records through the `metrics` facade
    /// into whatever recorder the application installed, and `/metrics` renders `handle` (the
    /// handle of that recorder, when it is Prometheus's; `None`: `/metrics` answers 404 and the
    /// application exports its metrics its own way).
    pub fn global(handle: Option<PrometheusHandle>) -> Self {
        Self { sink: Sink::Global, handle }
    }

    /// The Prometheus handle `/metrics` renders, if any.
    pub fn handle(&self) -> Option<&PrometheusHandle> {
        self.handle.as_ref()
    }

    /// Moves recorded histogram samples into their buckets, bounding memory between scrapes.
    /// [`BoundServer::serve`](crate::BoundServer::serve) does this every few seconds; an
    /// application serving [`router`](crate::router) itself calls it now and then (a scrape of
    /// `/metrics` does it too).
    pub fn run_upkeep(&self) {
        if let Some(handle) = &self.handle {
            handle.run_upkeep();
        }
    }

    /// Runs `record` with this handle's recorder as the `metrics` macros' target.
    pub(crate) fn record<T>(&self, record: impl FnOnce() -> T) -> T {
        match &self.sink {
            Sink::Own(recorder) => metrics::with_local_recorder(recorder.as_ref(), record),
            Sink::Global => record(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::prometheus()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sink = match self.sink {
            Sink::Own(_) => "own registry",
            Sink::Global => "global recorder",
        };
        f.debug_struct("Metrics").field("sink", &sink).field("renders", &self.handle.is_some()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_registries_are_separate_and_global_is_untouched() {
        let (a, b) = (Metrics::prometheus(), Metrics::prometheus());
        a.record(|| metrics::counter!(TASKS_CREATED_TOTAL).increment(1));
        let rendered = |m: &Metrics| m.handle().map(PrometheusHandle::render).unwrap_or_default();
        assert!(rendered(&a).contains("taskcore_tasks_created_total 1"), "{}", rendered(&a));
        assert!(!rendered(&b).contains(TASKS_CREATED_TOTAL));
        assert!(Metrics::global(None).handle().is_none());
    }
}
