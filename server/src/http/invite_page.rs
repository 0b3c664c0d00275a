//! `GET /invite/TOKEN`: the page a person opens from an invite link. It
//! names the service and offers the `xmpp:` link that XMPP apps open. An
//! unknown, used or expired token gets the "invite invalid" page (404).

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;
use crate::services::Services;

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    service: &'a str,
    uri: &'a str,
    expires: String,
}

#[derive(Template)]
#[template(path = "invite_invalid.html")]
struct InvalidPage;

pub async fn show(
    State(services): State<Services>,
    token: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    // A token that is not even valid UTF-8 is just another unknown invite.
    let found = match token {
        Ok(Path(token)) => services.invites.find_valid(&token).await?,
        Err(_) => None,
    };
    let (status, html) = match &found {
        Some(invite) => (
            StatusCode::OK,
            InvitePage {
                service: &invite.host,
                uri: &invite.uri,
                expires: roost_common::time::utc_minutes(invite.expires_at),
            }
            .render(),
        ),
        None => (StatusCode::NOT_FOUND, InvalidPage.render()),
    };
    let html = html.map_err(|e| {
        tracing::error!("invite page template failed: {e}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "page rendering failed",
        )
    })?;
    let mut response = (status, Html(html)).into_response();
    let h = response.headers_mut();
    // The token is in the URL: never leak it to other sites, never let
    // anything from elsewhere run on the page.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
