//! The service's own tower layers, written as plain `Service` wrappers that call their inner
//! service directly (axum's `from_fn` clones the whole inner route per request, which cost more
//! than everything else a `/health` request does):
//! [`HttpMetricsLayer`] records request metrics per route template, [`JsonErrorsLayer`] gives
//! every error response a JSON body, and [`SequentialRequestId`] makes cheap, unique request ids.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::error::{ApiError, ErrorBody};
use crate::metrics::{HTTP_REQUEST_DURATION, HTTP_REQUESTS_IN_FLIGHT, HTTP_REQUESTS_TOTAL, Metrics};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Records [`HTTP_REQUESTS_TOTAL`], [`HTTP_REQUEST_DURATION`] and [`HTTP_REQUESTS_IN_FLIGHT`]
/// by method, route template and status into its [`Metrics`]. Apply it as a route layer, where
/// the template is known.
#[derive(Debug, Clone)]
pub(crate) struct HttpMetricsLayer {
    metrics: Metrics,
}

impl HttpMetricsLayer {
    /// Records into `metrics`.
    pub(crate) fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics { inner, metrics: self.metrics.clone() }
    }
}

/// See [`HttpMetricsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct HttpMetrics<S> {
    inner: S,
    metrics: Metrics,
}

impl<S> Service<Request> for HttpMetrics<S>
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

    fn call(&mut self, request: Request) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
        let method = method_label(request.method());
        let in_flight = self.metrics.record(|| metrics::gauge!(HTTP_REQUESTS_IN_FLIGHT));
        in_flight.increment(1.0);
        let started = Instant::now();
        let response = self.inner.call(request);
        let recorder = self.metrics.clone();
        Box::pin(async move {
            let response = response.await;
            in_flight.decrement(1.0);
            let status = response.as_ref().map_or(500, |r| r.status().as_u16());
            let elapsed = started.elapsed().as_secs_f64();
            recorder.record(|| {
                metrics::histogram!(HTTP_REQUEST_DURATION, "method" => method, "route" => route.clone()).record(elapsed);
                metrics::counter!(HTTP_REQUESTS_TOTAL, "method" => method, "route" => route, "status" => status.to_string())
                    .increment(1);
            });
            response
        })
    }
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Gives every error response that is not JSON yet (405 from routing, 408 from the timeout,
/// 413 from the body limit, …) a JSON body naming the problem.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JsonErrorsLayer;

impl<S> Layer<S> for JsonErrorsLayer {
    type Service = JsonErrors<S>;
    fn layer(&self, inner: S) -> Self::Service {
        JsonErrors { inner }
    }
}

/// See [`JsonErrorsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct JsonErrors<S> {
    inner: S,
}

impl<S> Service<Request> for JsonErrors<S>
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

    fn call(&mut self, request: Request) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(json_error_body(response).await)
        })
    }
}

async fn json_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed on this endpoint"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "the body must be JSON"),
        s if s.is_server_error() => ("internal", "internal server error"),
        _ => ("bad_request", "the request is not valid"),
    };
    let (parts, body) = response.into_parts();
    let detail = if status.is_client_error() { plain_text(body).await } else { None };
    let message = detail.map_or_else(|| message.to_owned(), |d| format!("{message}: {d}"));
    let mut rebuilt = ApiError::new(status, ErrorBody::new(code, message)).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            rebuilt.headers_mut().insert(name, value.clone());
        }
    }
    rebuilt
}

async fn plain_text(body: axum::body::Body) -> Option<String> {
    let bytes = axum::body::to_bytes(body, 4096).await.ok()?;
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Request ids `<process>-<counter>`: a random 8-hex-digit prefix per process (so replicas do
/// not collide) and a counter, instead of a random UUID per request.
#[derive(Debug, Clone)]
pub(crate) struct SequentialRequestId {
    prefix: Arc<str>,
    counter: Arc<AtomicU64>,
}

impl Default for SequentialRequestId {
    fn default() -> Self {
        let prefix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(8).collect();
        Self { prefix: prefix.into(), counter: Arc::default() }
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix)).ok().map(RequestId::new)
    }
}
