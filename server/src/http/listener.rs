//! The HTTP accept loop: hyper's HTTP/1 server under the `[http]` limits
//! on connections, instead of `axum::serve`, which has none (no header
//! size or read timeout, no bound on connections).
//!
//! Per connection: headers larger than `max_header_size` are answered 431
//! and the connection closed; headers not complete within `read_timeout`
//! (a slowloris trickling them, or a keep-alive connection left idle)
//! close it, and so does a write of an answer that makes no progress for
//! as long (a client that sends requests but reads no answers), with
//! each connection's buffers bounded. At most `max_connections` are open; one more is closed as
//! soon as it is accepted, which costs nothing, and such closures are
//! logged as a summary. Stopping lets requests in flight finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use roost_common::config::HttpConfig;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

use super::write_deadline::WriteDeadline;

/// Each connection's read and write buffer: twice the largest headers,
/// and at least 64 KiB (hyper needs 8 KiB).
fn buffer_size(config: &HttpConfig) -> usize {
    (2 * config.max_header_size).max(64 * 1024)
}

/// How often connections closed over the limit are summed up in the log.
const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, then waits for
/// the connections' requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: &HttpConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(config.max_connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.read_timeout)
        .max_header_size(config.max_header_size)
        // hyper's default (about 400 KiB) is what a client that pipelines
        // requests without reading the answers could make each connection
        // hold; this is room for the largest headers and a few answers.
        .max_buf_size(buffer_size(config));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut report = tokio::time::interval(REPORT_INTERVAL);
    let mut refused = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("HTTP accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(open) = connections.clone().try_acquire_owned() else {
                    refused += 1;
                    continue;
                };
                // Handlers that check who calls (the roster refresh) find
                // the peer's address as `ConnectInfo`.
                let app = app.clone();
                let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(request)
                });
                let io = TokioIo::new(WriteDeadline::new(tcp, config.read_timeout));
                let connection = graceful.watch(http.serve_connection(io, service));
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!("HTTP connection from {peer}: {e}");
                    }
                    drop(open);
                });
            }
            _ = report.tick() => {
                if refused > 0 {
                    tracing::warn!(
                        "HTTP, last {REPORT_INTERVAL:?}: {refused} connections closed at once \
                         (over http.max_connections)"
                    );
                    refused = 0;
                }
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
