//! `taskcore-bench`: the pieces the benchmark binaries share. Each binary measures something
//! beside a reference run in the same process or on the same machine at the same time, so
//! figures are read as ratios rather than as absolute numbers of a shared machine.
//!
//! | binary | what it measures |
//! |---|---|
//! | `http-bench` | wrk workloads on taskcore, the original Flask app and a minimal axum handler |
//! | `redis-search` | Redis busy time per `GET /tasks?q=` on a 10,000-task room (feature `redis`) |
//! | `memory-probe` | peak RSS of a real `taskcore-server` under concurrent whole-room reads |
//! | `router-overhead` | middleware cost per request, in-process, against a bare router |
//! | `stream-cost` | CPU of a real `taskcore-server` holding many live event streams, and how late a write through another replica reaches them |
//!
//! Only loopback traffic; every run is bounded in time; every process started is stopped by
//! its own id.

pub mod direct;
pub mod error;
pub mod flask;
pub mod in_process;
pub mod lua;
pub mod process;
pub mod reference;
pub mod seed;
pub mod server;
pub mod table;
pub mod workload;
pub mod wrk;

#[cfg(feature = "redis")]
pub mod redis_stats;

pub use error::{BenchError, report};
