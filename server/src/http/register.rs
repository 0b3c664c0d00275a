//! `GET` and `POST /invite/TOKEN/register`: registration in the browser
//! with an account invite (Prosody's mod_invites_register_web, which lives
//! at `/register?t=TOKEN`).
//!
//! The form asks for a username and a password (twice); the onboarding
//! service validates them and, all or nothing, creates the account and
//! takes one use of the invite, so a refused attempt never consumes it. A
//! refusal re-renders the form with one clear message and the username as
//! typed (never the password). An unknown, used or expired token, on GET or
//! POST, gets the "invite invalid" page (404), never a 5xx.
//!
//! CSRF: the form carries a random value that is also set in an
//! `HttpOnly; SameSite=Strict` cookie, and a POST must send both, equal
//! (compared in constant time); a POST whose `Origin` is present and not
//! ours is refused before anything else. Either failure gets a 403 page and
//! changes nothing.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use roost_http_proto::form::{RegistrationForm, is_form_content_type};
use roost_http_proto::headers::{
    cookie_values, is_secret_value, origin_allowed, secret_values_match,
};

use super::HttpState;
use super::apps::{self, Offer};
use super::pages::{self, Referrer};
use super::qr;
use crate::metrics::InviteRedeemedBy;
use crate::services::ServiceError;
use crate::services::audit::Actor;
use crate::services::onboarding::{RegistrationError, RegistrationInvite};
use crate::services::secrets;

/// The largest form body read; ours is well under 1 KiB.
pub const BODY_LIMIT: usize = 16 * 1024;

const CSRF_COOKIE: &str = "roost_csrf";
/// Random bytes in a CSRF value (base64url: 24 characters).
const CSRF_BYTES: usize = 18;
const CSRF_LEN: usize = 24;

#[derive(Template)]
#[template(path = "register.html")]
struct FormPage<'a> {
    site: String,
    host: &'a str,
    inviter: Option<String>,
    /// The app the visitor picked on the landing page, by name.
    app: Option<&'a str>,
    uri: &'a str,
    landing: String,
    username: &'a str,
    error: Option<String>,
    csrf: &'a str,
    min_length: usize,
}

#[derive(Template)]
#[template(path = "registered.html")]
struct DonePage<'a> {
    site: String,
    jid: String,
    inviter: Option<String>,
    account_uri: String,
    qr: Option<String>,
    app: Option<&'a str>,
    apps: Vec<apps::AppCard>,
}

pub async fn form(
    State(state): State<HttpState>,
    token: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (token, invite) = match invite(&state, token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    // Keep a value the browser already has, so two tabs of the same form
    // do not invalidate each other.
    let csrf = cookie_values(cookie_headers(&headers), CSRF_COOKIE)
        .find(|v| is_secret_value(v, CSRF_LEN))
        .map(str::to_owned)
        .unwrap_or_else(|| secrets::random_id(CSRF_BYTES));
    let app = app_name(&state, query.as_deref());
    let form = Form {
        state: &state,
        token: &token,
        invite: &invite,
        app: app.as_deref(),
        csrf: &csrf,
    };
    let mut response = form.render(StatusCode::OK, "", None);
    set_cookie(&mut response, &csrf_cookie(&state, &csrf));
    response
}

pub async fn submit(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    token: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (token, invite) = match invite(&state, token).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if !origin_allowed(
        header_str(&headers, header::ORIGIN),
        header_str(&headers, header::HOST),
        &state.config.public_url(),
    ) {
        return forbidden("This form was sent from another site.");
    }
    let body = match body {
        Ok(body) => body,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return pages::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much data",
                "The form sent more data than a registration needs.",
            );
        }
        Err(_) => return bad_request(),
    };
    if !is_form_content_type(header_str(&headers, header::CONTENT_TYPE)) {
        return pages::message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unexpected form",
            "The form must be sent as application/x-www-form-urlencoded.",
        );
    }
    let Ok(fields) = RegistrationForm::parse(&body) else {
        return bad_request();
    };
    let csrf = fields.csrf.as_str();
    if !cookie_values(cookie_headers(&headers), CSRF_COOKIE)
        .any(|c| secret_values_match(c, csrf, CSRF_LEN))
    {
        return forbidden(
            "The form's security check failed. Allow cookies for this site, reload the \
             registration page and try again.",
        );
    }
    let username = fields.username.as_str();
    let password = fields.password.as_str();
    let app = app_name(&state, query.as_deref());
    let form = Form {
        state: &state,
        token: &token,
        invite: &invite,
        app: app.as_deref(),
        csrf,
    };
    let refuse =
        |message: &str| form.render(StatusCode::UNPROCESSABLE_ENTITY, username, Some(message));
    if username.is_empty() || password.is_empty() {
        return refuse("Please fill in all fields.");
    }
    if fields.passwords_differ() {
        return refuse("The two passwords do not match.");
    }
    let jid = match state
        .services
        .onboarding
        .register(
            &Actor::Web { address: peer.ip() },
            &invite.host,
            &token,
            username,
            password,
        )
        .await
    {
        Ok(jid) => {
            state
                .services
                .metrics
                .invites
                .redeemed(InviteRedeemedBy::Web);
            jid
        }
        Err(RegistrationError::UsernameInvalid) => {
            return refuse("This username contains invalid characters.");
        }
        Err(RegistrationError::UsernameTaken) => {
            return refuse("This username is already in use.");
        }
        Err(RegistrationError::WeakPassword(message)) => {
            return refuse(&format!("{message}."));
        }
        Err(e) => return failure(e),
    };
    let account_uri = format!("xmpp:{jid}");
    let app = form.app;
    let mut apps = apps::cards(&state.config.invite_page.get().apps, Offer::Download);
    // The app picked on the landing page comes first.
    if let Some(picked) = apps.iter().position(|a| Some(a.name.as_str()) == app) {
        apps[..=picked].rotate_right(1);
    }
    let page = DonePage {
        site: pages::site_name(&state.config, &invite.host),
        jid: jid.to_string(),
        inviter: invite.inviter.as_ref().map(|j| j.to_string()),
        qr: qr::svg(&account_uri),
        account_uri,
        app,
        apps,
    };
    let mut response = pages::html(StatusCode::OK, page.render(), Referrer::SameOrigin);
    // The form is done with; drop its cookie.
    set_cookie(
        &mut response,
        &format!("{CSRF_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict"),
    );
    response
}

/// The form page, with what every rendering of it needs.
struct Form<'a> {
    state: &'a HttpState,
    token: &'a str,
    invite: &'a RegistrationInvite,
    app: Option<&'a str>,
    csrf: &'a str,
}

impl Form<'_> {
    fn render(&self, status: StatusCode, username: &str, error: Option<&str>) -> Response {
        let page = FormPage {
            site: pages::site_name(&self.state.config, &self.invite.host),
            host: &self.invite.host,
            inviter: self.invite.inviter.as_ref().map(|j| j.to_string()),
            app: self.app,
            uri: &self.invite.uri,
            // From /invite/TOKEN/register, `../TOKEN` is the landing page.
            landing: format!("../{}", self.token),
            username,
            error: error.map(str::to_owned),
            csrf: self.csrf,
            min_length: self.state.config.registration.min_password_length,
        };
        pages::html(status, page.render(), Referrer::SameOrigin)
    }
}

/// The token from the path and its invite, if it lets its holder register
/// now; else the page to answer with.
async fn invite(
    state: &HttpState,
    token: Result<Path<String>, PathRejection>,
) -> Result<(String, RegistrationInvite), Response> {
    let Ok(Path(token)) = token else {
        return Err(pages::invalid_invite());
    };
    match state.services.onboarding.registration_invite(&token).await {
        Ok(invite) => Ok((token, invite)),
        Err(e) => Err(failure(e)),
    }
}

/// The page for a registration refused for another reason than the form's
/// fields: the invite is gone (404), or storage failed (503).
fn failure(e: RegistrationError) -> Response {
    match e {
        RegistrationError::Service(ServiceError::Storage(e)) => {
            tracing::warn!("web registration: storage failed: {e}");
            pages::unavailable()
        }
        // Used up or expired between showing the form and sending it, or
        // any other reason the invite cannot be used: it is invalid now.
        _ => pages::invalid_invite(),
    }
}

fn forbidden(text: &str) -> Response {
    pages::message(StatusCode::FORBIDDEN, "Request refused", text)
}

fn bad_request() -> Response {
    pages::message(
        StatusCode::BAD_REQUEST,
        "Bad request",
        "The form data could not be read. Reload the registration page and try again.",
    )
}

/// The configured app named by `?app=ID` (see [`apps::app_id`]), if any.
fn app_name(state: &HttpState, query: Option<&str>) -> Option<String> {
    let wanted = form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "app")
        .map(|(_, v)| v.into_owned())?;
    state
        .config
        .invite_page
        .get()
        .apps
        .iter()
        .find(|a| apps::app_id(&a.name) == wanted)
        .map(|a| a.name.clone())
}

fn csrf_cookie(state: &HttpState, value: &str) -> String {
    // No `Path`: the browser then scopes the cookie to /invite/TOKEN, the
    // directory of the form's URL, whatever prefix a reverse proxy adds in
    // front, and forms of two different invites do not share one value.
    let secure = if state.config.public_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{CSRF_COOKIE}={value}; HttpOnly; SameSite=Strict{secure}")
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request's `Cookie` headers that are text.
fn cookie_headers(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_values_we_make_are_csrf_values() {
        let v = secrets::random_id(CSRF_BYTES);
        assert!(is_secret_value(&v, CSRF_LEN), "{v}");
        assert!(secret_values_match(&v, &v.clone(), CSRF_LEN));
    }
}
