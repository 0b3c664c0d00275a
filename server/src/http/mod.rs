//! The HTTP front door (axum): the invite API and the invite landing page.
//!
//! Handlers parse the request, call one service method and format the
//! answer; [`error`] turns every service error into its HTTP form.

mod error;
mod invite_page;
mod invites_api;

use std::future::Future;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::services::Services;

pub use error::ApiError;

pub fn router(services: Services) -> Router {
    Router::new()
        .route(
            "/invites_api",
            get(invites_api::create)
                .options(invites_api::preflight)
                .fallback(invites_api::method_not_allowed)
                .layer(axum::middleware::map_response(invites_api::cors)),
        )
        .route("/invite/{token}", get(invite_page::show))
        .fallback(error::not_found)
        .with_state(services)
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(services))
        .with_graceful_shutdown(shutdown)
        .await
}
