//! The roster service's refresh endpoint (issue 10, Prosody's
//! mod_http_roster_admin): `POST /roster_admin/refresh` with a JSON array
//! of usernames, `GET /roster_admin/refresh/USERNAME` for one. The host is
//! the one the `Host` header names (or the only delegated host, when it
//! names none of ours); it must delegate its rosters.
//!
//! Unlike Prosody, which answers anyone, callers must come from the host's
//! `refresh_allow` addresses (and bring its secret when one is set, which
//! a request forwarded by a proxy always needs); the
//! body is read only after that, up to `refresh_body_limit`. The answer
//! comes when the work is done, within the backend's timeout. No CORS: a
//! web page has no business calling it.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use roost_http_proto::roster_refresh;
use serde::Serialize;

use super::ApiError;
use crate::services::Services;
use crate::services::roster_delegation::{RefreshDenied, RefreshOutcome};

/// The seed's answer: `status` is "error" only when nothing was updated.
#[derive(Serialize)]
pub struct Summary {
    status: &'static str,
    message: String,
    updated: u32,
    errors: u32,
}

impl From<RefreshOutcome> for Summary {
    fn from(outcome: RefreshOutcome) -> Summary {
        let errors = u32::try_from(outcome.failures.len()).unwrap_or(u32::MAX);
        // Each failed fetch was logged where it failed, once.
        let message = if errors == 0 {
            "roster update complete".to_owned()
        } else {
            format!("roster update complete; {errors} could not be refreshed (see the server log)")
        };
        Summary {
            status: if errors > 0 && outcome.updated == 0 {
                "error"
            } else {
                "ok"
            },
            message,
            updated: outcome.updated,
            errors,
        }
    }
}

pub async fn refresh_many(
    State(services): State<Services>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Summary>, ApiError> {
    let host = admitted(&services, &headers, peer)?;
    let limit = services
        .roster_delegation
        .refresh_body_limit(&host)
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        bad_request(format!(
            "the body could not be read or is larger than {limit} bytes"
        ))
    })?;
    let usernames = roster_refresh::parse_usernames(&bytes)
        .ok_or_else(|| bad_request("the body must be a JSON array of usernames".into()))?;
    let outcome = services
        .roster_delegation
        .refresh(&host, &usernames)
        .await?;
    Ok(Json(outcome.into()))
}

pub async fn refresh_one(
    State(services): State<Services>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Result<Json<Summary>, ApiError> {
    let host = admitted(&services, &headers, peer)?;
    let outcome = services
        .roster_delegation
        .refresh(&host, std::slice::from_ref(&username))
        .await?;
    Ok(Json(outcome.into()))
}

pub async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "POST a JSON array of usernames to /roster_admin/refresh, or GET /roster_admin/refresh/USERNAME",
    )
    .into_response()
}

/// The delegated host the request is for, if this caller may refresh it.
fn admitted(
    services: &Services,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<String, ApiError> {
    let named = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(super::host_without_port);
    let host = services
        .roster_delegation
        .refresh_host(named.as_ref().map(|h| h.as_str()))
        .unwrap_or_default();
    services
        .roster_delegation
        .check_refresh_caller(
            &host,
            peer.ip(),
            super::bearer_token(headers),
            proxied(headers),
        )
        .map_err(|denied| {
            let status = match denied {
                RefreshDenied::NotDelegated => StatusCode::NOT_FOUND,
                RefreshDenied::Address | RefreshDenied::Secret | RefreshDenied::Proxied => {
                    StatusCode::FORBIDDEN
                }
            };
            let code = if status == StatusCode::NOT_FOUND {
                "not_found"
            } else {
                "forbidden"
            };
            ApiError::new(status, code, denied.to_string())
        })?;
    Ok(host)
}

/// Whether a proxy says it forwarded the request (the usual headers).
fn proxied(headers: &HeaderMap) -> bool {
    ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name))
}

fn bad_request(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}
