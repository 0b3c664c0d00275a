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
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use subtle::ConstantTimeEq as _;

use super::HttpState;
use super::apps::{self, Offer};
use super::pages::{self, Referrer};
use super::qr;
use crate::services::ServiceError;
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
    let csrf = cookie_values(&headers, CSRF_COOKIE)
        .find(|v| is_csrf_value(v))
        .map(str::to_owned)
        .unwrap_or_else(|| secrets::random_id(CSRF_BYTES));
    let form = Form {
        state: &state,
        token: &token,
        invite: &invite,
        app: app_name(&state, query.as_deref()),
        csrf: &csrf,
    };
    let mut response = form.render(StatusCode::OK, "", None);
    set_cookie(&mut response, &csrf_cookie(&state, &csrf));
    response
}

pub async fn submit(
    State(state): State<HttpState>,
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
    let Ok(fields) = parse_form(&body) else {
        return bad_request();
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let csrf = field("csrf").unwrap_or("");
    if !cookie_values(&headers, CSRF_COOKIE).any(|c| csrf_matches(c, csrf)) {
        return forbidden(
            "The form's security check failed. Allow cookies for this site, reload the \
             registration page and try again.",
        );
    }
    // Phone keyboards like to add a space after a word; it is never meant.
    let username = field("user").unwrap_or("").trim();
    let password = field("password").unwrap_or("");
    let form = Form {
        state: &state,
        token: &token,
        invite: &invite,
        app: app_name(&state, query.as_deref()),
        csrf,
    };
    let refuse =
        |message: &str| form.render(StatusCode::UNPROCESSABLE_ENTITY, username, Some(message));
    if username.is_empty() || password.is_empty() {
        return refuse("Please fill in all fields.");
    }
    // The confirmation is optional for clients that post without it.
    if field("password2").is_some_and(|again| again != password) {
        return refuse("The two passwords do not match.");
    }
    let jid = match state
        .services
        .onboarding
        .register(&invite.host, &token, username, password)
        .await
    {
        Ok(jid) => jid,
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
    let mut apps = apps::cards(&state.config.invite_page.apps, Offer::Download);
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
fn app_name<'a>(state: &'a HttpState, query: Option<&str>) -> Option<&'a str> {
    let wanted = form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "app")
        .map(|(_, v)| v.into_owned())?;
    state
        .config
        .invite_page
        .apps
        .iter()
        .find(|a| apps::app_id(&a.name) == wanted)
        .map(|a| a.name.as_str())
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

/// The values of every cookie called `name` in the request (a browser may
/// send several, from different paths).
fn cookie_values<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then_some(v)
        })
}

fn is_csrf_value(v: &str) -> bool {
    v.len() == CSRF_LEN && secrets::is_base64url(v)
}

/// Whether the cookie's value and the form's are one well-formed value, in
/// time that does not depend on where they differ.
fn csrf_matches(cookie: &str, field: &str) -> bool {
    is_csrf_value(cookie)
        && cookie.len() == field.len()
        && bool::from(cookie.as_bytes().ct_eq(field.as_bytes()))
}

/// A POST without `Origin` (older browsers, scripts) is judged by the CSRF
/// value alone; one with an `Origin` must come from us: the public URL's
/// origin, or the origin whose host part is the `Host` the request was sent
/// to (`Origin: null`, sent by sandboxed or privacy-hardened contexts,
/// is not ours).
fn origin_allowed(origin: Option<&str>, host: Option<&str>, public_url: &str) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim();
    if origin.eq_ignore_ascii_case(origin_of(public_url)) {
        return true;
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h.trim()))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

fn is_form_content_type(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Parses an `application/x-www-form-urlencoded` body strictly: browsers
/// percent-encode everything outside visible ASCII, so a raw byte outside
/// it, a `%` not followed by two hex digits, or a value that is not UTF-8
/// once decoded means the body is not a form (lenient parsers would turn it
/// into replacement characters and register a name nobody typed).
fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, ()> {
    if !body.iter().all(|b| b.is_ascii_graphic()) {
        return Err(());
    }
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

fn decode(s: &[u8]) -> Result<String, ()> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = s.get(i + 1).copied().and_then(hex).ok_or(())?;
                let lo = s.get(i + 2).copied().and_then(hex).ok_or(())?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(body: &str) -> Vec<(String, String)> {
        parse_form(body.as_bytes()).unwrap()
    }

    #[test]
    fn forms_parse_as_browsers_send_them() {
        assert_eq!(
            pairs("user=Alice+B&password=p%26%3D%25%C3%A9&&empty=&flag"),
            [
                ("user".into(), "Alice B".into()),
                ("password".into(), "p&=%é".into()),
                ("empty".into(), String::new()),
                ("flag".into(), String::new()),
            ]
        );
        assert_eq!(pairs(""), []);
        assert_eq!(pairs("a%2Bb=%2b"), [("a+b".into(), "+".into())]);
    }

    #[test]
    fn malformed_forms_are_refused() {
        for body in [
            &b"user=%zz"[..],
            b"user=%4",
            b"user=%",
            b"user=%ff",      // not UTF-8 once decoded
            b"user=\xc3\xa9", // raw non-ASCII
            b"user=a b",      // raw space
            b"user=a\nb",
            b"user=%C3", // cut UTF-8 sequence
        ] {
            assert!(
                parse_form(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn csrf_values_compare_exactly() {
        let v = secrets::random_id(CSRF_BYTES);
        assert!(is_csrf_value(&v));
        assert!(csrf_matches(&v, &v.clone()));
        let mut other = v.clone().into_bytes();
        other[23] = if other[23] == b'A' { b'B' } else { b'A' };
        let other = String::from_utf8(other).unwrap();
        assert!(!csrf_matches(&v, &other));
        assert!(!csrf_matches(&v, &v[..23]));
        assert!(!csrf_matches(&v, ""));
        assert!(!csrf_matches("", ""), "an empty cookie never matches");
        assert!(!csrf_matches("short", "short"), "nor a malformed one");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; roost_csrf=X; b=2"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("roost_csrf=Y"));
        let found: Vec<_> = cookie_values(&headers, CSRF_COOKIE).collect();
        assert_eq!(found, ["X", "Y"]);
        assert_eq!(cookie_values(&HeaderMap::new(), CSRF_COOKIE).count(), 0);
    }

    #[test]
    fn origins() {
        let public = "https://chat.example/base";
        assert_eq!(origin_of(public), "https://chat.example");
        assert_eq!(origin_of("http://127.0.0.1:5280"), "http://127.0.0.1:5280");
        // No Origin: the CSRF value decides.
        assert!(origin_allowed(None, None, public));
        assert!(origin_allowed(Some("https://chat.example"), None, public));
        assert!(origin_allowed(Some("HTTPS://Chat.Example"), None, public));
        // Behind a proxy the public URL may differ; the Host the browser
        // used is ours too.
        assert!(origin_allowed(
            Some("http://127.0.0.1:5280"),
            Some("127.0.0.1:5280"),
            public
        ));
        assert!(!origin_allowed(
            Some("https://evil.example"),
            Some("chat.example"),
            public
        ));
        assert!(!origin_allowed(Some("null"), Some("chat.example"), public));
        assert!(!origin_allowed(
            Some("http://127.0.0.1:5281"),
            Some("127.0.0.1:5280"),
            public
        ));
        assert!(!origin_allowed(
            Some("chat.example"),
            Some("chat.example"),
            public
        ));
    }

    #[test]
    fn content_types() {
        assert!(is_form_content_type(Some(
            "application/x-www-form-urlencoded"
        )));
        assert!(is_form_content_type(Some(
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
        )));
        assert!(!is_form_content_type(Some(
            "multipart/form-data; boundary=x"
        )));
        assert!(!is_form_content_type(Some("application/json")));
        assert!(!is_form_content_type(None));
    }
}
