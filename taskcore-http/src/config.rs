//! [`ServerConfig`]: everything the server can be told, with defaults. The binary fills it from
//! flags and `TASKCORE_*` environment variables; embedders build it in code.

use std::net::SocketAddr;
use std::time::Duration;

use crate::app::Limits;
use crate::edge::EdgeConfig;

/// The store URL used when none is given: an SQLite file in the working directory.
pub const DEFAULT_STORE_URL: &str = "sqlite://taskcore.db";

/// The address served when none is given (the original service's port).
pub const DEFAULT_BIND: &str = "0.0.0.0:5125";

/// How the server logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Settings of one server process.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Which store to open (see [`store::open`](crate::store::open)).
    pub store_url: String,
    /// Request limits.
    pub limits: Limits,
    /// How long in-flight requests get to finish after SIGTERM/SIGINT.
    pub shutdown_grace: Duration,
    /// How long the server keeps serving after SIGTERM with `/readyz` at 503, before it stops
    /// accepting: time for a load balancer's health check to take it out of the pool, so that
    /// no request is sent on a connection the server is about to close. 0 stops at once.
    pub shutdown_delay: Duration,
    /// How many changes each room's feed keeps.
    pub change_retention: u64,
    /// Connection limits, rate limits and stream caps (see [`crate::edge`]).
    pub edge: EdgeConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], 5125)),
            store_url: DEFAULT_STORE_URL.to_owned(),
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(10),
            shutdown_delay: Duration::ZERO,
            change_retention: taskcore::DEFAULT_CHANGE_RETENTION,
            edge: EdgeConfig::default(),
        }
    }
}
