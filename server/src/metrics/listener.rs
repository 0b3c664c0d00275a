//! The metrics listener: `GET /metrics` and nothing else, on the
//! `[metrics] bind` addresses, through the HTTP front door's accept loop
//! (`http/listener.rs`) under fixed limits of its own: a scraper or two
//! need few connections, and anyone else who reaches the port may hold no
//! more than these.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use roost_common::config::HttpConfig;
use tokio::net::TcpListener;

use super::{CONTENT_TYPE, Metrics, Sampled};

/// Connections open at once; one more is closed as soon as it is accepted.
const MAX_CONNECTIONS: usize = 32;

/// The `[http]`-style limits of the metrics listener.
fn limits(bind: SocketAddr) -> HttpConfig {
    HttpConfig {
        bind,
        public_url: None,
        max_header_size: 16 * 1024,
        // A scrape has no body; none is read.
        max_body_size: 1024,
        read_timeout: Duration::from_secs(10),
        max_connections: MAX_CONNECTIONS,
        max_concurrent_requests: MAX_CONNECTIONS,
    }
}

/// Binds every `[metrics] bind` address (none: the endpoint is off).
pub async fn bind(addrs: &[SocketAddr]) -> anyhow::Result<Vec<TcpListener>> {
    use anyhow::Context as _;
    let mut listeners = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for metrics scrapes on {addr}"))?;
        listeners.push(listener);
    }
    Ok(listeners)
}

#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    sampled: Arc<Sampled>,
}

/// Serves scrapes on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    sampled: Arc<Sampled>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = limits(listener.local_addr()?);
    let app = Router::new()
        .route("/metrics", get(scrape))
        .fallback(not_found)
        .with_state(Scrape { metrics, sampled });
    crate::http::listener::serve(listener, app, &limits, shutdown).await
}

async fn scrape(State(scrape): State<Scrape>) -> Response {
    let text = scrape.metrics.render(&scrape.sampled);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found; metrics are at /metrics\n",
    )
        .into_response()
}
