//! [`GuardedBody`]: a response body that holds a value until the body is finished or dropped —
//! how a connection knows a response is still being sent, and how an event-stream slot stays
//! taken exactly as long as the stream lives.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};

/// `inner`, keeping `guard` alive as long as the body is.
#[derive(Debug)]
pub(crate) struct GuardedBody<G> {
    inner: Body,
    _guard: G,
}

impl<G: Send + Unpin + 'static> GuardedBody<G> {
    /// `inner` as a [`Body`] that drops `guard` with it.
    pub(crate) fn wrap(inner: Body, guard: G) -> Body {
        Body::new(Self { inner, _guard: guard })
    }
}

impl<G: Unpin> HttpBody for GuardedBody<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
