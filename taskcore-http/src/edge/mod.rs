//! The edge of the service: what stands between the internet and the handlers.
//!
//! | defence | where | limit (flag) | refusal |
//! |---|---|---|---|
//! | slow or idle connections | the accept loop ([`BoundServer::serve`](crate::BoundServer::serve)) | `--header-timeout`, `--idle-timeout` | connection closed |
//! | too many connections | accept loop | `--max-connections` | 503 `too_many_connections`, closed |
//! | one client hoarding connections | accept loop | `--max-connections-per-client` | 503 `too_many_connections_from_client`, closed |
//! | guessing room codes | [`Edge`] | `--room-misses-per-minute`, `--room-miss-burst` | 429 `too_many_room_misses` + `Retry-After` |
//! | creating rooms in bulk | [`Edge`] | `--rooms-per-minute` | 429 `too_many_rooms_created` + `Retry-After` |
//! | holding event streams | [`Edge`] | `--streams-per-room`, `--streams-per-client` | 429 `too_many_streams_in_room` / `too_many_streams_for_client` |
//! | forged request ids | [`Edge`] | `[A-Za-z0-9._-]{1,64}` | replaced by a generated id |
//! | framing, sniffing, referrers | [`Edge`] | [`UI_CSP`], [`API_CSP`] and friends | — |
//! | codes in logs | [`request_span`], [`RedactedUri`] | — | codes logged as [`room_tag`]s |
//! | health checks crowding out | [`StoreHealth`] | one check in flight | — |
//!
//! Every refusal also counts in [`EDGE_REFUSALS_TOTAL`], labelled with its `code`.
//!
//! Clients are told apart by [`ClientAddr`]: the TCP peer, or the `X-Forwarded-For` client
//! when the peer is one of `--trusted-proxies`. Every per-client table is bounded.

/// Requests and connections the edge refused, by `reason` (the refusal's `code`, such as
/// `too_many_room_misses` or `too_many_connections`): a rising rate is an attack, or limits set
/// too low.
pub const EDGE_REFUSALS_TOTAL: &str = "taskcore_edge_refusals_total";

/// Counts one refusal into `metrics`.
fn count_refusal(metrics: &crate::metrics::Metrics, reason: &'static str) {
    metrics.record(|| metrics::counter!(EDGE_REFUSALS_TOTAL, "reason" => reason).increment(1));
}

mod args;
mod client_addr;
mod connections;
mod guarded_body;
mod health_check;
mod layer;
mod rate_limit;
mod redact;
mod request_id;
mod security_headers;
mod stream_caps;

#[cfg(feature = "server")]
pub use args::EdgeArgs;
pub use args::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
    DEFAULT_ROOM_MISSES, DEFAULT_ROOMS_CREATED, DEFAULT_STREAMS_PER_CLIENT, DEFAULT_STREAMS_PER_ROOM,
    DEFAULT_TRACKED_CLIENTS, EdgeConfig, parse_duration,
};
pub use client_addr::{Cidr, CidrError, ClientAddr, TrustedProxies, limiter_key};
pub(crate) use connections::{ConnectionLimits, serve};
pub use health_check::StoreHealth;
pub use layer::{Edge, RoomMiss};
pub use rate_limit::Rate;
pub use redact::{RedactedUri, request_span, room_tag};
pub use request_id::{MAX_REQUEST_ID_LEN, is_acceptable as is_acceptable_request_id};
pub use security_headers::{API_CSP, UI_CSP};
