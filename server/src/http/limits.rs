//! What one HTTP request may cost, checked before any handler runs: how
//! many requests are handled at once, the size of a body on routes without
//! a limit of their own, and the time a body may take to arrive.
//!
//! Header size and header time are hyper's to enforce, per connection
//! ([`super::listener`]); these limits need the request.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use roost_common::config::HttpConfig;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use super::ApiError;

/// The `[http]` limits on requests, shared by every connection.
pub struct RequestLimits {
    handling: Arc<Semaphore>,
    max_body_size: usize,
    read_timeout: Duration,
}

impl RequestLimits {
    pub fn new(config: &HttpConfig) -> Arc<RequestLimits> {
        Arc::new(RequestLimits {
            handling: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            max_body_size: config.max_body_size,
            read_timeout: config.read_timeout,
        })
    }

    /// The body limit routes without their own get (axum's
    /// `DefaultBodyLimit`, for extractors).
    pub fn max_body_size(&self) -> usize {
        self.max_body_size
    }
}

/// Every request: answered 503 at once when `max_concurrent_requests` are
/// being handled (waiting would only pile them up), and its body must have
/// arrived within `read_timeout` of the request's start; a body still
/// arriving then ends in an error the handler answers with a 4xx.
pub async fn requests(
    State(limits): State<Arc<RequestLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_handling) = limits.handling.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the server is handling too many requests; try again shortly",
        )
        .retry_after("1")
        .into_response();
    };
    let deadline = Instant::now() + limits.read_timeout;
    let request = request.map(|body| Body::new(DeadlineBody::new(body, deadline)));
    next.run(request).await
}

/// Routes without a body limit of their own: a body announced larger than
/// `max_body_size` is answered 413 before the handler runs. (One sent
/// chunked is not read by these routes at all.)
pub async fn body_size(
    State(limits): State<Arc<RequestLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > limits.max_body_size as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the request body is larger than {} bytes",
                limits.max_body_size
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// A request body that fails once its deadline has passed: a client that
/// trickles a body holds a request slot no longer than that.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
}

impl DeadlineBody {
    fn new(inner: Body, deadline: Instant) -> DeadlineBody {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }
}

/// The body did not arrive within `http.read_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut.into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
