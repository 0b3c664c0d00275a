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
                expires: format_utc(invite.expires_at),
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

/// `YYYY-MM-DD HH:MM UTC` without a date library.
fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    // Civil-from-days, after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::format_utc(1_795_300_000), "2026-11-21 22:26 UTC");
        assert_eq!(super::format_utc(951_782_400), "2000-02-29 00:00 UTC");
    }
}
