//! `GET /invite/TOKEN`: the page a person opens from an invite link
//! (Prosody's mod_invites_page with mod_register_apps).
//!
//! It names the service and the inviter, recommends client apps (each with
//! the button that suits it, see [`super::apps`]), offers the `xmpp:` link
//! and its QR code, and links to web registration. A contact-only invite
//! gets its own page, "Add alice@host as a contact", without registration
//! (Prosody shows such invites as expired). An unknown, used or expired
//! token, a missing one (`/invite/`) and any other path under `/invite/`
//! get the "invite invalid" page (404).

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::HttpState;
use super::apps::{self, AppCard, Offer};
use super::pages::{self, Referrer};
use super::qr;
use crate::services::ServiceError;
use crate::services::invites;

#[derive(Template)]
#[template(path = "invite.html")]
struct InvitePage<'a> {
    site: String,
    inviter: Option<String>,
    /// A contact invite that does not let its holder register.
    contact_only: bool,
    uri: &'a str,
    qr: Option<String>,
    /// The web registration page, relative to this one.
    register: Option<String>,
    apps: Vec<AppCard>,
    expires: String,
}

/// What the page needs to know about the invite, whichever kind it is.
struct Shown {
    host: String,
    inviter: Option<String>,
    contact_only: bool,
    uri: String,
    expires_at: i64,
}

pub async fn show(
    State(state): State<HttpState>,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    // A token that is not even valid UTF-8 is just another unknown invite.
    let Ok(Path(token)) = token else {
        return pages::invalid_invite();
    };
    let shown = match find(&state, &token).await {
        Ok(Some(shown)) => shown,
        Ok(None) => return pages::invalid_invite(),
        Err(()) => return pages::unavailable(),
    };
    let site = pages::site_name(&state.config, &shown.host);
    // Relative, so the link works under any prefix a reverse proxy adds;
    // tokens are base64url, safe in a path.
    let register = format!("{token}/register");
    let offer = if shown.contact_only {
        Offer::Contact { uri: &shown.uri }
    } else {
        Offer::Register {
            uri: &shown.uri,
            register: &register,
        }
    };
    let page = InvitePage {
        site,
        inviter: shown.inviter,
        contact_only: shown.contact_only,
        uri: &shown.uri,
        qr: qr::svg(&shown.uri),
        register: (!shown.contact_only).then_some(register.clone()),
        apps: apps::cards(&state.config.invite_page.get().apps, offer),
        expires: roost_common::time::utc_minutes(shown.expires_at),
    };
    let mut response = pages::html(StatusCode::OK, page.render(), Referrer::None);
    // As Prosody does: lets a client that fetched the link find the URI.
    if let Ok(link) = HeaderValue::from_str(&format!("<{}>; rel=\"alternate\"", shown.uri)) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// The invite behind `token` if it is valid now, whatever its kind. `Err`
/// when storage fails.
async fn find(state: &HttpState, token: &str) -> Result<Option<Shown>, ()> {
    match state.services.invites.find_valid(token).await {
        Ok(Some(invite)) => Ok(Some(Shown {
            contact_only: !invite.kind.allows_registration(),
            inviter: invites::inviter_of(invite.kind, invite.jid, None),
            host: invite.host,
            uri: invite.uri,
            expires_at: invite.expires_at,
        })),
        Ok(None) => Ok(None),
        Err(ServiceError::Storage(e)) => {
            tracing::warn!("invite page: storage failed: {e}");
            Err(())
        }
        Err(_) => Ok(None),
    }
}
