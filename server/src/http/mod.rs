//! The HTTP front door (axum): the invite API, the invite landing page and
//! web registration.
//!
//! Handlers parse the request, call one service method and format the
//! answer; [`error`] turns every service error into its HTTP form for the
//! API, [`pages`] does so for HTML pages.

mod apps;
mod error;
mod invite_page;
mod invites_api;
mod pages;
mod qr;
mod register;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::get;
use roost_common::config::Config;
use tokio::net::TcpListener;

use crate::services::Services;

pub use error::ApiError;

/// What handlers can reach: the services, and the config for what pages
/// show (site name, apps, password length, public URL).
#[derive(Clone)]
pub struct HttpState {
    pub services: Services,
    pub config: Arc<Config>,
}

impl FromRef<HttpState> for Services {
    fn from_ref(state: &HttpState) -> Services {
        state.services.clone()
    }
}

/// Every route, with the services and the config (what pages show).
pub fn router(services: Services, config: Arc<Config>) -> Router {
    Router::new()
        .route(
            "/invites_api",
            get(invites_api::create)
                .options(invites_api::preflight)
                .fallback(invites_api::method_not_allowed)
                .layer(axum::middleware::map_response(invites_api::cors)),
        )
        .route("/invite/{token}", get(invite_page::show))
        // A truncated link, or anything else under /invite/: the same
        // friendly page as an unknown token.
        .route("/invite", get(invite_page::invalid))
        .route("/invite/", get(invite_page::invalid))
        .route("/invite/{*rest}", get(invite_page::invalid))
        .route(
            "/invite/{token}/register",
            get(register::form)
                .post(register::submit)
                .layer(DefaultBodyLimit::max(register::BODY_LIMIT)),
        )
        .fallback(error::not_found)
        .with_state(HttpState { services, config })
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    config: Arc<Config>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(services, config))
        .with_graceful_shutdown(shutdown)
        .await
}
