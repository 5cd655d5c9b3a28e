//! Running the service: [`serve`] binds, serves until a shutdown signal, then stops accepting,
//! marks itself not ready, and gives in-flight requests a bounded time to finish. Connections
//! are accepted by [`crate::edge`]'s loop (timeouts, connection cap) and pass its defences.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::app::router;
use crate::config::ServerConfig;
use crate::edge::{ConnectionLimits, Edge};
use crate::state::AppState;

/// How often serving moves recorded histogram samples into their buckets.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address could not be bound.
    #[error("could not listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server failed while serving.
    #[error("server error")]
    Io(#[from] std::io::Error),
}

/// A bound server, not yet serving: tells its real address (useful with port 0).
#[derive(Debug)]
pub struct BoundServer {
    listener: TcpListener,
    state: AppState,
    config: ServerConfig,
}

impl BoundServer {
    /// Binds `config.bind`.
    pub async fn bind(config: ServerConfig, state: AppState) -> Result<Self, ServeError> {
        let listener =
            TcpListener::bind(config.bind).await.map_err(|source| ServeError::Bind { addr: config.bind, source })?;
        Ok(Self { listener, state, config })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then drains: `/readyz` answers 503 at once, the server
    /// keeps serving for `shutdown_delay` (while load balancers notice), then new connections
    /// are refused and in-flight requests get `shutdown_grace` to finish. While serving, a task
    /// keeps the state's metrics tidy ([`Metrics::run_upkeep`](crate::metrics::Metrics::run_upkeep)).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServeError> {
        let Self { listener, state, config } = self;
        let metrics = state.metrics().clone();
        let upkeep = tokio::spawn(async move {
            let mut every = tokio::time::interval(METRICS_UPKEEP);
            loop {
                every.tick().await;
                metrics.run_upkeep();
            }
        });
        let _stop_upkeep = AbortOnDrop(upkeep);
        let app = Edge::new(&config.edge, state.metrics().clone()).wrap(router(state.clone(), config.limits));
        let draining = state.clone();
        let delay = config.shutdown_delay;
        let stop = async move {
            shutdown.await;
            draining.start_draining();
            if !delay.is_zero() {
                tracing::info!(
                    ?delay,
                    "shutdown signal received; not ready, still serving while load balancers notice"
                );
                tokio::time::sleep(delay).await;
            }
            tracing::info!("no longer accepting; finishing in-flight requests");
        };
        let limits = ConnectionLimits {
            header_timeout: config.edge.header_timeout,
            idle_timeout: config.edge.idle_timeout,
            max_connections: config.edge.max_connections,
            max_per_client: config.edge.max_connections_per_client,
            trusted_proxies: config.edge.trusted_proxies.clone(),
        };
        crate::edge::serve(listener, app, limits, stop, config.shutdown_grace, state.metrics().clone()).await;
        Ok(())
    }
}

/// Aborts a task when dropped, whichever way serving ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
