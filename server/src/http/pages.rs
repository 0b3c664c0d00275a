//! What the HTML pages of the invite flow share: the answer's headers (a
//! strict Content-Security-Policy, no caching, no framing), the style
//! sheet, and the error pages (invite invalid, forbidden, bad request,
//! unavailable).
//!
//! Pages are plain HTML with one inline style sheet: no script, no request
//! to any other site, nothing to load but the page itself.

use std::sync::LazyLock;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// The style sheet, inlined into every page by `base.html` (whose include
/// drops the file's final newline, as askama does for every template).
pub const STYLE: &str = include_str!("../../templates/style.css").trim_ascii_end();

/// Allows exactly our style sheet (by hash, so even an injected `<style>`
/// would not apply) and nothing else: no script, image, font or frame, and
/// forms may only post back to us.
static CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// Which `Referrer-Policy` a page is sent with. Invite tokens are in the
/// URLs, so no page ever tells another site where the visitor came from.
#[derive(Debug, Clone, Copy)]
pub enum Referrer {
    /// The landing page: nothing, to anyone.
    None,
    /// Pages with a form: browsers then send the form's real `Origin` with
    /// the POST (under `no-referrer` they send `Origin: null`, which the
    /// CSRF check could not tell from a forged request).
    SameOrigin,
}

/// `rendered` as a page with `status` and the headers every page carries.
pub fn html(status: StatusCode, rendered: askama::Result<String>, referrer: Referrer) -> Response {
    let body = match rendered {
        Ok(body) => body,
        Err(e) => {
            // A template bug, not bad input: log it, answer briefly.
            tracing::error!("page template failed: {e}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!DOCTYPE html><title>Error</title><p>Something went wrong on the server."),
            )
                .into_response();
        }
    };
    let mut response = (status, Html(body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(match referrer {
            Referrer::None => "no-referrer",
            Referrer::SameOrigin => "same-origin",
        }),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, CSP.clone());
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // For browsers without CSP's frame-ancestors: the form must not be
    // framed and clicked through by another site.
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages show invite state (and a new account) that must not be replayed
    // from a cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Template)]
#[template(path = "invite_invalid.html")]
struct InvalidPage;

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
}

/// The "invite invalid" page (404), for unknown, used, expired and
/// contact-only-where-registration-is-asked invites alike: it tells a
/// stranger nothing about which tokens exist.
pub fn invalid_invite() -> Response {
    html(StatusCode::NOT_FOUND, InvalidPage.render(), Referrer::None)
}

/// A short page with a heading and one sentence.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    html(
        status,
        MessagePage { title, text }.render(),
        Referrer::SameOrigin,
    )
}

/// Storage is failing: nothing was done, try again later.
pub fn unavailable() -> Response {
    let mut response = message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again later",
        "The server cannot handle this right now. Nothing was changed; please try again in a minute.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

/// The name pages show for `host`: `invite_page.site_name`, else the host.
pub fn site_name(config: &roost_common::config::Config, host: &str) -> String {
    config
        .invite_page
        .get()
        .site_name
        .clone()
        .unwrap_or_else(|| host.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_inline_exactly_the_hashed_style_sheet() {
        let page = MessagePage {
            title: "T",
            text: "x",
        }
        .render()
        .unwrap();
        assert!(
            page.contains(&format!("<style>{STYLE}</style>")),
            "the CSP hash covers STYLE; the page must carry it byte for byte"
        );
        let csp = CSP.to_str().unwrap();
        assert!(csp.contains("style-src 'sha256-"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
    }

    #[test]
    fn pages_escape_what_they_show() {
        let page = MessagePage {
            title: "<b>",
            text: "\"&'",
        }
        .render()
        .unwrap();
        assert!(!page.contains("<b>"));
        assert!(page.contains("&#60;b&#62;"));
        assert!(page.contains("&#34;&#38;&#39;"));
    }

    #[test]
    fn every_page_gets_the_headers() {
        let r = html(StatusCode::OK, Ok("x".into()), Referrer::None);
        let h = r.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert!(
            h[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none';")
        );
        assert_eq!(invalid_invite().status(), StatusCode::NOT_FOUND);
        assert_eq!(unavailable().headers()[header::RETRY_AFTER], "60");
    }
}
