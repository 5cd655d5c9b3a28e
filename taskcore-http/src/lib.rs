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
//! use taskcore::StoreOptions;
//! use taskcore_http::{AppState, BoundServer, ServerConfig, shutdown_signal, store};
//!
//! let store = store::open("sqlite://tasks.db?durability=normal", StoreOptions::default().change_retention(50_000)).await?;
//! let config = ServerConfig::default().bind(([127, 0, 0, 1], 8080).into());
//! let server = BoundServer::bind(config, AppState::new(store)).await?;
//! server.serve(shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! Nothing process-wide is installed by this library: each [`AppState`] records its metrics
//! into a Prometheus registry of its own, which its `/metrics` renders; an application with its
//! own recorder passes [`Metrics::global`] to [`AppState::with_metrics`]. The log subscriber,
//! the allocator and the command line belong to the `taskcore-server` binary (feature
//! `server`).
//!
//! ## Feature flags
//!
//! The backend features forward to the [`taskcore-store`](store) facade's features of the same
//! name; each backend's settings go in the URL's query string.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `server` | yes | the `taskcore-server` binary and what only it needs (`clap`, `tracing-subscriber`, `mimalloc`) |
//! | (none) | — | `memory:` (always; nothing persists) |
//! | `sqlite` | yes | `sqlite://path/file.db?durability=normal&busy_timeout=5s`, `sqlite::memory:` |
//! | `postgres` | no | `postgres://user:password@host/db?schema=taskcore&pool_size=10` |
//! | `redis` | no | `redis://[user:password@]host:port[/db]?prefix=taskcore`, `redis+cluster://h1:p1,h2:p2/?replica_acks=1` |

mod announcing_store;
mod app;
mod conditional;
mod config;
mod csv_body;
mod dto;
pub mod edge;
mod error;
mod extract;
mod layers;
mod listing_body;
pub mod metrics;
mod observed_store;
mod openapi;
mod room_feeds;
pub mod routes;
mod server;
mod state;
mod version;

pub use announcing_store::AnnouncingStore;
pub use app::router;
pub use config::{DEFAULT_BIND, Limits, ServerConfig};
pub use dto::{
    ChangeJson, ChangesJson, CreateRoomBody, CreateTaskBody, CreatedRoom, DeletedTask, JoinRoomBody, JoinedRoom,
    PriorityCountsJson, RoomJson, StatsJson, TaskJson, TaskList, TaskMessage, TaskRef, UpdateTaskBody,
};
#[cfg(feature = "server")]
pub use edge::EdgeArgs;
pub use edge::{Edge, EdgeConfig};
pub use error::{ApiError, ApiResult, ErrorBody};
pub use metrics::Metrics;
pub use observed_store::ObservedStore;
pub use openapi::{ApiDoc, openapi_json};
pub use server::{BoundServer, ServeError, shutdown_signal};
pub use state::{AppState, DEFAULT_ROOM_EMBED_BYTES};
/// The store facade this crate's `sqlite`, `redis` and `postgres` features switch on: open the
/// store the server serves with [`store::open`] (`sqlite://…`, `redis://…`, `postgres://…`,
/// `memory:`), settings in the URL's query string.
pub use taskcore_store as store;
pub use version::VERSION;
