//! The accept loop, in place of `axum::serve`, for what it does not offer: a header-read
//! timeout, an idle timeout, and a cap on open connections.
//!
//! - **Header timeout**: a connection on which no request has begun within `header_timeout`
//!   of being accepted is closed (a client that connects and sends nothing, or trickles its
//!   first request); after that, hyper closes an HTTP/1 connection whose next request head has
//!   not fully arrived within `header_timeout`. hyper starts that timer whenever it waits for a
//!   request head, so it also bounds how long a kept-alive HTTP/1 connection may wait for its
//!   next request.
//! - **Idle timeout**: a connection (HTTP/1 or HTTP/2) with no request in flight and no
//!   response being sent for `idle_timeout` is shut down gracefully.
//! - **Connection caps**: at most `max_connections` connections are served at once, and at
//!   most `max_per_client` from one client address (IPv4, or IPv6 /64; trusted proxies are
//!   exempt: they carry many clients). One more is answered `503` with a JSON body
//!   (`too_many_connections` / `too_many_connections_from_client`) in a single non-blocking
//!   write and closed at once, so it costs no task, no buffer and no waiting.
//!
//! Each connection's requests carry `ConnectInfo<SocketAddr>` with the peer address.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::http;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::Service;

use crate::edge::client_addr::{TrustedProxies, limiter_key};
use crate::edge::guarded_body::GuardedBody;
use crate::metrics::Metrics;

/// Limits on connections; `Duration::ZERO` turns a timeout off, `max_per_client` 0 the
/// per-client cap.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionLimits {
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_per_client: usize,
    pub(crate) trusted_proxies: TrustedProxies,
}

/// The answer to a connection over the cap.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 82\r\n\r\n\
{\"error\":\"the server has too many open connections\",\"code\":\"too_many_connections\"}";

/// The answer to a connection over the per-client cap.
const TOO_MANY_FROM_CLIENT: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 1\r\nconnection: close\r\ncontent-length: 97\r\n\r\n\
{\"error\":\"too many open connections from this address\",\"code\":\"too_many_connections_from_client\"}";

/// Serves `app` on `listener` until `stop` completes; then stops accepting, asks every
/// connection to finish (idle ones close at once, busy ones after their response) and waits
/// up to `grace` for them.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
    grace: Duration,
    metrics: Metrics,
) {
    let total = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let slots = Arc::new(Semaphore::new(total));
    let builder = Arc::new(builder(&limits));
    let per_client = PerClient::new(limits.max_per_client);
    let (closing_tx, closing) = watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
        };
        let client_slot = if limits.trusted_proxies.trusts(peer.ip()) {
            None
        } else {
            match per_client.admit(limiter_key(peer.ip())) {
                Ok(slot) => slot,
                Err(()) => {
                    refuse(&stream, TOO_MANY_FROM_CLIENT, "too_many_connections_from_client", &metrics);
                    continue;
                }
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refuse(&stream, TOO_MANY_CONNECTIONS, "too_many_connections", &metrics);
            continue;
        };
        let connection = Connection {
            app: app.clone(),
            builder: Arc::clone(&builder),
            header_timeout: limits.header_timeout,
            idle_timeout: limits.idle_timeout,
            closing: closing.clone(),
        };
        tokio::spawn(async move {
            connection.run(stream, peer).await;
            drop((slot, client_slot));
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let all_closed = slots.acquire_many(u32::try_from(total).unwrap_or(u32::MAX));
    if tokio::time::timeout(grace, all_closed).await.is_err() {
        tracing::warn!(?grace, "in-flight requests did not finish in time; stopping");
    }
}

fn builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    let header_timeout = (!limits.header_timeout.is_zero()).then_some(limits.header_timeout);
    builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Accept errors: a connection that died before it was accepted is nothing; running out of
/// file descriptors or memory is logged and waited out briefly (retrying at once would spin).
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::warn!(%error, "accepting a connection failed; retrying shortly");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Over a cap: one non-blocking write of a 503, then close.
fn refuse(stream: &TcpStream, answer: &[u8], reason: &'static str, metrics: &Metrics) {
    let _ = stream.try_write(answer);
    crate::edge::count_refusal(metrics, reason);
    tracing::debug!("connection refused: a connection cap is reached");
}

/// Open connections per client address.
#[derive(Debug)]
struct PerClient {
    cap: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerClient {
    fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self { cap, open: Mutex::default() })
    }

    /// A slot for one more connection of `client` (`None` when there is no cap), or `Err`.
    fn admit(self: &Arc<Self>, client: IpAddr) -> Result<Option<ClientSlot>, ()> {
        if self.cap == 0 {
            return Ok(None);
        }
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(client).or_default();
        if *count >= self.cap {
            return Err(());
        }
        *count += 1;
        Ok(Some(ClientSlot { table: Arc::clone(self), client }))
    }
}

/// One connection of a client; frees its slot when dropped.
#[derive(Debug)]
struct ClientSlot {
    table: Arc<PerClient>,
    client: IpAddr,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

struct Connection {
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    header_timeout: Duration,
    idle_timeout: Duration,
    closing: watch::Receiver<bool>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = ConnService { app: self.app.clone(), peer, activity: Arc::clone(&activity) };
        let connection =
            self.builder.serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
        let mut connection = std::pin::pin!(connection);
        let mut shutting_down = false;
        // Until the first request begins, hyper has no timer running (the HTTP version is not
        // even known yet): a connection that sends nothing, or too little, is dropped here.
        let mut awaiting_first = !self.header_timeout.is_zero();
        let first_deadline = tokio::time::sleep(self.header_timeout);
        let mut first_deadline = std::pin::pin!(first_deadline);
        loop {
            tokio::select! {
                () = &mut first_deadline, if awaiting_first => {
                    if !activity.has_begun() {
                        tracing::debug!(%peer, "no request within the header timeout; closing");
                        return;
                    }
                    awaiting_first = false;
                }
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    return;
                }
                () = activity.idle(self.idle_timeout), if !shutting_down => {
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
                _ = self.closing.wait_for(|closing| *closing), if !shutting_down => {
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// What a connection is doing: requests in flight (until their response body is sent) and
/// when it last finished one.
#[derive(Debug)]
struct Activity {
    origin: Instant,
    begun: AtomicBool,
    in_flight: AtomicUsize,
    last_millis: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            begun: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            last_millis: AtomicU64::new(0),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.begun.store(true, Ordering::SeqCst);
        Busy(Arc::clone(self))
    }

    fn has_begun(&self) -> bool {
        self.begun.load(Ordering::SeqCst)
    }

    fn now_millis(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Resolves once the connection has been idle for `limit` (never when `limit` is zero).
    async fn idle(&self, limit: Duration) {
        if limit.is_zero() {
            return std::future::pending().await;
        }
        loop {
            let wait = if self.in_flight.load(Ordering::SeqCst) > 0 {
                limit
            } else {
                let idle =
                    Duration::from_millis(self.now_millis().saturating_sub(self.last_millis.load(Ordering::SeqCst)));
                if idle >= limit {
                    return;
                }
                limit - idle
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// One request in flight; dropped with its response body.
#[derive(Debug)]
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.last_millis.store(self.0.now_millis(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The router as one connection sees it: requests get the peer address, and each counts as
/// activity until its response body is done.
#[derive(Clone)]
struct ConnService {
    app: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl<B> Service<http::Request<B>> for ConnService
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.app, cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let busy = self.activity.begin();
        let response = self.app.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| GuardedBody::wrap(body, busy)))
        })
    }
}
