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
use axum::http::Uri;
use axum::response::{IntoResponse as _, Response};
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
        .route(
            "/invite/{token}/register",
            get(register::form)
                .post(register::submit)
                .layer(DefaultBodyLimit::max(register::BODY_LIMIT)),
        )
        .fallback(not_found)
        .with_state(HttpState { services, config })
}

/// A path no route serves. A truncated invite link (`/invite/`) or any
/// other path under `/invite` gets the friendly "invite invalid" page, as
/// an unknown token does, since a person followed it; the rest the API's
/// JSON 404.
async fn not_found(uri: Uri) -> Response {
    if is_under_invite(uri.path()) {
        pages::invalid_invite()
    } else {
        error::not_found().await.into_response()
    }
}

fn is_under_invite(path: &str) -> bool {
    path == "/invite" || path.starts_with("/invite/")
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

#[cfg(test)]
mod tests {
    use super::is_under_invite;

    #[test]
    fn paths_under_invite() {
        for path in ["/invite", "/invite/", "/invite/a/b", "/invite/TOKEN/"] {
            assert!(is_under_invite(path), "{path}");
        }
        for path in ["/", "/invites", "/invites_api/x", "/inviter"] {
            assert!(!is_under_invite(path), "{path}");
        }
    }
}
