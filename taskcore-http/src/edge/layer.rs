//! [`Edge`]: the per-request defences in front of the router, as one tower service.
//!
//! For every request it resolves the [`ClientAddr`], drops an unacceptable `X-Request-Id`, and
//! adds the security headers to the response. Then, by route:
//! - `POST /rooms`: at most [`EdgeConfig::rooms_created`] per client (429 `too_many_rooms_created`);
//! - every request that names a room (`/rooms/…`, `/tasks…`): refused while the client has
//!   used up [`EdgeConfig::room_misses`] — room codes that named no room (429
//!   `too_many_room_misses`); each such miss (a 404 for the room) counts;
//! - `GET /rooms/{code}/events`: at most [`EdgeConfig::streams_per_room`] open streams per room
//!   and [`EdgeConfig::streams_per_client`] per client (429 `too_many_streams_in_room` /
//!   `too_many_streams_for_client`).
//!
//! Every refusal is a JSON error with a `code` and, for rates, `Retry-After`.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::Service;

use crate::edge::client_addr::{ClientAddr, TrustedProxies, limiter_key};
use crate::edge::guarded_body::GuardedBody;
use crate::edge::rate_limit::{Decision, KeyedLimiter};
use crate::edge::stream_caps::{StreamCaps, StreamPermit, StreamRefusal};
use crate::edge::{EdgeConfig, request_id, security_headers};
use crate::error::{ApiError, ErrorBody};
use crate::metrics::Metrics;

/// Marks a response that answered "no such room" to a room code: the edge counts it as a miss
/// of the client. Set by [`ApiError`]'s response.
#[derive(Debug, Clone, Copy)]
pub struct RoomMiss;

/// The edge defences, shared by every connection of a server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Edge {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    trusted: TrustedProxies,
    misses: Option<KeyedLimiter>,
    creations: Option<KeyedLimiter>,
    streams: Arc<StreamCaps>,
    metrics: Metrics,
}

/// Marks a response the edge refused, with the refusal's code, so that it is counted once.
#[derive(Debug, Clone, Copy)]
struct Refused(&'static str);

impl Edge {
    /// The defences `config` describes, with empty state; refusals count into `metrics`
    /// ([`EDGE_REFUSALS_TOTAL`](crate::edge::EDGE_REFUSALS_TOTAL)).
    pub fn new(config: &EdgeConfig, metrics: Metrics) -> Self {
        let shared = Shared {
            trusted: config.trusted_proxies.clone(),
            misses: KeyedLimiter::new(config.room_misses, config.tracked_clients),
            creations: KeyedLimiter::new(config.rooms_created, config.tracked_clients),
            streams: StreamCaps::new(config.streams_per_room, config.streams_per_client),
            metrics,
        };
        Self { inner: Arc::new(shared) }
    }

    /// `router` behind these defences.
    pub fn wrap(&self, router: Router) -> Router {
        Router::new().fallback_service(EdgeService { edge: self.clone(), inner: router })
    }
}

/// See [`Edge`].
#[derive(Debug, Clone)]
pub(crate) struct EdgeService<S> {
    edge: Edge,
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a request is, for the edge.
enum Kind {
    CreateRoom,
    RoomLookup,
    Events(String),
    Other,
}

fn classify(method: &Method, path: &str) -> Kind {
    if path == "/rooms" {
        return if method == Method::POST { Kind::CreateRoom } else { Kind::Other };
    }
    if let Some(rest) = path.strip_prefix("/rooms/") {
        if method == Method::GET
            && let Some(code) = rest.strip_suffix("/events")
            && !code.contains('/')
        {
            return Kind::Events(code.trim().to_ascii_uppercase());
        }
        return Kind::RoomLookup;
    }
    if path == "/tasks" || path.starts_with("/tasks/") { Kind::RoomLookup } else { Kind::Other }
}

impl<S> Service<Request> for EdgeService<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let shared = Arc::clone(&self.edge.inner);
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let client = peer.map(|peer| shared.trusted.client(peer, request.headers()));
        if let Some(client) = client {
            request.extensions_mut().insert(ClientAddr(client));
        }
        let key = limiter_key(client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)));
        request_id::sanitize(request.headers_mut());

        let mut permit: Option<StreamPermit> = None;
        let refusal = match classify(request.method(), request.uri().path()) {
            Kind::CreateRoom => match shared.creations.as_ref().map(|l| l.take(key)) {
                Some(Decision::Limited(wait)) => Some(too_many_rooms(wait)),
                _ => None,
            },
            Kind::RoomLookup => lookup_refusal(&shared, key),
            Kind::Events(room) => lookup_refusal(&shared, key).or_else(|| match shared.streams.acquire(room, key) {
                Ok(slot) => {
                    permit = Some(slot);
                    None
                }
                Err(which) => Some(too_many_streams(which, shared.streams.limits())),
            }),
            Kind::Other => None,
        };
        if let Some(mut response) = refusal {
            if let Some(Refused(code)) = response.extensions().get::<Refused>() {
                crate::edge::count_refusal(&shared.metrics, code);
            }
            security_headers::apply(response.headers_mut());
            return Box::pin(std::future::ready(Ok(response)));
        }

        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            if response.extensions().get::<RoomMiss>().is_some()
                && let Some(misses) = &shared.misses
            {
                misses.record(key);
            }
            if let Some(permit) = permit.filter(|_| response.status().is_success()) {
                response = response.map(|body| GuardedBody::wrap(body, permit));
            }
            security_headers::apply(response.headers_mut());
            Ok(response)
        })
    }
}

fn lookup_refusal(shared: &Shared, key: IpAddr) -> Option<Response> {
    match shared.misses.as_ref().map(|l| l.check(key)) {
        Some(Decision::Limited(wait)) => Some(limited(
            "too_many_room_misses",
            "too many room codes that name no room were tried from this address; wait before looking up rooms again",
            wait,
        )),
        _ => None,
    }
}

fn too_many_rooms(wait: Duration) -> Response {
    limited("too_many_rooms_created", "too many rooms created from this address; wait before creating another", wait)
}

fn too_many_streams(which: StreamRefusal, (per_room, per_client): (usize, usize)) -> Response {
    let (code, message) = match which {
        StreamRefusal::Room => {
            ("too_many_streams_in_room", format!("this room already has {per_room} open event streams"))
        }
        StreamRefusal::Client => {
            ("too_many_streams_for_client", format!("this address already has {per_client} open event streams"))
        }
    };
    limited(code, message, Duration::from_secs(5))
}

/// 429 with `code`, `message` and `Retry-After` (whole seconds, at least 1).
fn limited(code: &'static str, message: impl Into<String>, wait: Duration) -> Response {
    let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorBody::new(code, message)).into_response();
    response.extensions_mut().insert(Refused(code));
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_by_path() {
        assert!(matches!(classify(&Method::POST, "/rooms"), Kind::CreateRoom));
        assert!(matches!(classify(&Method::GET, "/rooms"), Kind::Other));
        assert!(matches!(classify(&Method::GET, "/rooms/ABCDEF"), Kind::RoomLookup));
        assert!(matches!(classify(&Method::POST, "/rooms/join"), Kind::RoomLookup));
        assert!(matches!(classify(&Method::GET, "/tasks"), Kind::RoomLookup));
        assert!(matches!(classify(&Method::PUT, "/tasks/3"), Kind::RoomLookup));
        assert!(matches!(classify(&Method::GET, "/rooms/abcdef/events"), Kind::Events(code) if code == "ABCDEF"));
        for other in ["/", "/tasks.html", "/health", "/assets/app.css", "/metrics"] {
            assert!(matches!(classify(&Method::GET, other), Kind::Other), "{other}");
        }
    }
}
