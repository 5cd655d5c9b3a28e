//! Prometheus metrics: the process-wide recorder and the names of every metric the service exports (the
//! monitoring files and their tests refer to these).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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

const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus recorder, installed on first use. Its upkeep (draining
/// histogram buffers) runs on a background thread every 5 seconds.
pub fn prometheus() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::park_timeout(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "metrics upkeep thread did not start");
        }
        handle
    })
}
