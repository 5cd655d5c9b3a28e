//! taskcore served from this process on a free loopback port, on the store given, with the
//! production router and limits.

use std::net::SocketAddr;
use std::sync::Arc;

use taskcore::TaskStore;
use taskcore_http::{AppState, BoundServer, ServerConfig};

use crate::BenchError;

/// Serves `store` until the process ends; returns the address.
pub async fn serve(store: Arc<dyn TaskStore>) -> Result<SocketAddr, BenchError> {
    let config = ServerConfig::default().bind(SocketAddr::from(([127, 0, 0, 1], 0)));
    let server = BoundServer::bind(config, AppState::new(store)).await?;
    let addr = server.local_addr()?;
    tokio::spawn(server.serve(std::future::pending()));
    Ok(addr)
}
