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
mod limits;
pub(crate) mod listener;
mod pages;
mod qr;
mod register;
mod request_metrics;
mod roster_admin;
mod write_deadline;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use roost_common::config::Config;
use roost_common::jid::DomainName;
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

/// Every route, with the services and the config (what pages show and
/// the `[http]` limits).
pub fn router(services: Services, config: Arc<Config>) -> Router {
    let limits = limits::RequestLimits::new(&config.http);
    // Routes that read no body, or one no larger than `max_body_size`;
    // those added after the layer below read bodies under limits of their
    // own.
    let limited = Router::new()
        .route(
            "/invites_api",
            get(invites_api::create)
                .options(invites_api::preflight)
                .fallback(invites_api::method_not_allowed)
                .layer(axum::middleware::map_response(invites_api::cors)),
        )
        .route("/invite/{token}", get(invite_page::show))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            limits.clone(),
            limits::body_size,
        ));
    limited
        .route(
            "/invite/{token}/register",
            get(register::form)
                .post(register::submit)
                .layer(DefaultBodyLimit::max(register::BODY_LIMIT)),
        )
        .route(
            "/roster_admin/refresh",
            post(roster_admin::refresh_many).fallback(roster_admin::method_not_allowed),
        )
        .route(
            "/roster_admin/refresh/{username}",
            get(roster_admin::refresh_one).fallback(roster_admin::method_not_allowed),
        )
        .layer(DefaultBodyLimit::max(limits.max_body_size()))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            limits::requests,
        ))
        // Outermost, so the limits' own answers (503, 413) are counted too.
        .layer(axum::middleware::from_fn_with_state(
            services.metrics.clone(),
            request_metrics::count,
        ))
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

/// A `Host` header's name without its port.
fn host_without_port(host: &str) -> Option<DomainName> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    DomainName::parse(name).ok()
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    roost_http_proto::headers::bearer_token(value)
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    services: Services,
    config: Arc<Config>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(services, config.clone());
    listener::serve(listener, app, &config.http, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::{host_without_port, is_under_invite};

    #[test]
    fn host_header() {
        assert_eq!(
            host_without_port("Example.com:5280").unwrap().as_str(),
            "example.com"
        );
        assert_eq!(
            host_without_port("localhost").unwrap().as_str(),
            "localhost"
        );
        assert!(host_without_port("[::1]:5280").is_none());
    }

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
