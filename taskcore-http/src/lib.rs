//! # taskcore-http
//!
//! The HTTP service of taskcore: a thin axum API over [`taskcore::TaskManager`], compatible
//! with the original Flask "TaskManagerAPI" (same paths, methods, status codes and JSON keys)
//! plus cursors, `ETag`/`If-Match`, `Idempotency-Key`, a change feed and an OpenAPI document;
//! `/health`, `/livez`, `/readyz` and Prometheus `/metrics`; and the `taskcore-server` binary.
//!
//! Handlers only translate HTTP to [`TaskManager`](taskcore::TaskManager) calls and back; every
//! rule lives in `taskcore`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use taskcore_http::{AppState, BoundServer, ServerConfig, shutdown_signal, store};
//!
//! let config = ServerConfig { store_url: "memory:".into(), ..ServerConfig::default() };
//! let store = store::open(&config.store_url, taskcore::StoreOptions::default()).await?;
//! let server = BoundServer::bind(config, AppState::new(store)).await?;
//! server.serve(shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Feature flags
//!
//! The backend features forward to the [`taskcore-store`](store) facade's features of the same
//! name; each backend's settings go in the URL's query string.
//!
//! | feature | default | store URL schemes it adds |
//! |---|---|---|
//! | (none) | — | `memory:` (always; nothing persists) |
//! | `sqlite` | yes | `sqlite://path/file.db?durability=normal&busy_timeout=5s`, `sqlite::memory:` |
//! | `postgres` | no | `postgres://user:password@host/db?schema=taskcore&pool_size=10` |
//! | `redis` | no | `redis://[user:password@]host:port[/db]?prefix=taskcore` |

mod app;
mod conditional;
mod config;
mod dto;
pub mod edge;
mod error;
mod extract;
mod layers;
mod listing_body;
pub mod metrics;
mod observed_store;
mod openapi;
pub mod routes;
mod server;
mod state;

pub use app::{Limits, router};
pub use config::{DEFAULT_BIND, DEFAULT_STORE_URL, LogFormat, ServerConfig};
pub use dto::{
    ChangeJson, ChangesJson, CreateRoomBody, CreateTaskBody, CreatedRoom, DeletedTask, JoinRoomBody, JoinedRoom,
    PriorityCountsJson, RoomJson, StatsJson, TaskJson, TaskList, TaskMessage, TaskRef, UpdateTaskBody,
};
pub use edge::{Edge, EdgeArgs, EdgeConfig};
pub use error::{ApiError, ApiResult, ErrorBody};
pub use observed_store::ObservedStore;
pub use openapi::ApiDoc;
pub use server::{BoundServer, ServeError, shutdown_signal};
pub use state::{AppState, DEFAULT_ROOM_EMBED_BYTES};
/// The store facade this crate's `sqlite`, `redis` and `postgres` features switch on: open the
/// store the server serves with [`store::open`] (`sqlite://…`, `redis://…`, `postgres://…`,
/// `memory:`), settings in the URL's query string.
pub use taskcore_store as store;

/// The version of this build.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
