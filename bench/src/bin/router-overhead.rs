//! `router-overhead`: the cost of the service's middleware and handlers per request, without
//! sockets: the same `GET /health` sent with `oneshot` to the real router and to a minimal
//! axum router, alternating batches, reported as time per request and as a ratio.
//!
//! ```text
//! cargo run --release -p taskcore-bench --bin router-overhead
//! ```

#![allow(clippy::print_stdout)] // a benchmark reports on the terminal

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use serde_json::json;
use taskcore::MemoryStore;
use taskcore_http::{AppState, Limits, router};
use tower::ServiceExt;

fn batch_size() -> u32 {
    std::env::var("BATCH").ok().and_then(|b| b.parse().ok()).unwrap_or(20_000)
}
const ROUNDS: u32 = 5;

/// The allocator of `taskcore-server`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let ours = router(AppState::new(Arc::new(MemoryStore::new())), Limits::default());
    let reference = axum::Router::new().route(
        "/health",
        get(|| async {
            Json(json!({ "status": "healthy", "timestamp": "2026-01-01T00:00:00Z", "version": "0", "uptime": 1 }))
        }),
    );
    let (mut ours_total, mut reference_total) = (Duration::ZERO, Duration::ZERO);
    // ONLY=ours or ONLY=reference runs one side, for profiling it alone.
    let only = std::env::var("ONLY").unwrap_or_default();
    for _ in 0..ROUNDS {
        if only != "ours" {
            reference_total += batch(&reference).await;
        }
        if only != "reference" {
            ours_total += batch(&ours).await;
        }
    }
    let per = |total: Duration| total.as_nanos() as f64 / f64::from(batch_size() * ROUNDS);
    let (ours_ns, reference_ns) = (per(ours_total), per(reference_total));
    println!("GET /health in-process: ours {ours_ns:.0} ns/request, minimal axum {reference_ns:.0} ns/request");
    println!("throughput ratio (reference time / ours): {:.2}", reference_ns / ours_ns);
}

async fn batch(app: &axum::Router) -> Duration {
    let started = Instant::now();
    for _ in 0..batch_size() {
        let request = Request::builder().uri("/health").body(Body::empty()).unwrap_or_default();
        let response = app.clone().oneshot(request).await;
        assert!(response.is_ok_and(|r| r.status().is_success()));
    }
    started.elapsed()
}
