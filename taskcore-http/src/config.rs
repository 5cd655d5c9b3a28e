//! [`ServerConfig`] and [`Limits`]: how the server serves — where it listens, what a request may
//! cost, how it shuts down. Every field is used by [`BoundServer`](crate::BoundServer); the
//! store is not part of it (open one with [`store::open`](crate::store::open) and hand it over
//! in an [`AppState`](crate::AppState)). The binary fills it from flags and `TASKCORE_*`
//! environment variables; embedders build it in code.

use std::net::SocketAddr;
use std::time::Duration;

use crate::edge::EdgeConfig;

/// The address served when none is given (the original service's port).
pub const DEFAULT_BIND: &str = "0.0.0.0:5125";

/// Limits the router enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { request_timeout: Duration::from_secs(30), body_limit: 64 * 1024 }
    }
}

/// Settings of one server process.
///
/// ```
/// use std::time::Duration;
/// use taskcore_http::ServerConfig;
/// let config = ServerConfig::default().bind(([127, 0, 0, 1], 0).into()).shutdown_grace(Duration::from_secs(3));
/// assert_eq!(config.bind.port(), 0);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Where to listen (default [`DEFAULT_BIND`]).
    pub bind: SocketAddr,
    /// Request limits.
    pub limits: Limits,
    /// How long in-flight requests get to finish after the shutdown signal (default 10 s).
    pub shutdown_grace: Duration,
    /// How long the server keeps serving after the shutdown signal with `/readyz` at 503, before
    /// it stops accepting: time for a load balancer's health check to take it out of the pool,
    /// so that no request is sent on a connection the server is about to close. 0 (the
    /// default) stops at once.
    pub shutdown_delay: Duration,
    /// Connection limits, rate limits and stream caps (see [`crate::edge`]).
    pub edge: EdgeConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], 5125)),
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(10),
            shutdown_delay: Duration::ZERO,
            edge: EdgeConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Listening on `addr`.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// With these request limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// With this shutdown grace period.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// With this shutdown delay.
    pub fn shutdown_delay(mut self, delay: Duration) -> Self {
        self.shutdown_delay = delay;
        self
    }

    /// With these connection limits, rate limits and stream caps.
    pub fn edge(mut self, edge: EdgeConfig) -> Self {
        self.edge = edge;
        self
    }
}
