//! `GET /invites_api`: create an account invite with an API key
//! (mod_invites_api). The key comes from `Authorization: Bearer KEY` or
//! from `?key=KEY`; the answer is `201 Created` with the landing page in
//! `Location` (and a JSON body), or `303 See Other` to it with `redirect`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::ApiError;
use crate::services::Services;

/// The parameters we read from the query string; others are ignored.
#[derive(Default)]
struct Params {
    key: Option<String>,
    redirect: bool,
}

impl Params {
    fn parse(query: Option<&str>) -> Params {
        let mut params = Params::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*name {
                "key" => params.key = Some(value.into_owned()),
                // Prosody redirects for any value; an explicit "no" is honoured here.
                "redirect" => {
                    params.redirect = !matches!(&*value.to_ascii_lowercase(), "false" | "0" | "no")
                }
                _ => {}
            }
        }
        params
    }
}

#[derive(Serialize)]
struct Created<'a> {
    url: &'a str,
    uri: &'a str,
    expires_at: i64,
}

pub async fn create(
    State(services): State<Services>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    if method == Method::HEAD {
        // HEAD must be safe; running GET here would create an invite.
        return Ok(method_not_allowed().await);
    }
    let params = Params::parse(query.as_deref());
    let key = presented_key(&headers, params.key)?;
    let for_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(super::host_without_port)
        .filter(|h| services.hosts.serves(h));
    let invite = services.api_keys.create_invite(&key, for_host).await?;
    let location = HeaderValue::from_str(&invite.landing_url)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "bad URL"))?;
    if params.redirect {
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response());
    }
    let body = Created {
        url: &invite.landing_url,
        uri: &invite.uri,
        expires_at: invite.expires_at,
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

/// The key from the Authorization header if there is one, else from `?key=`.
fn presented_key(headers: &HeaderMap, from_query: Option<String>) -> Result<String, ApiError> {
    let Some(auth) = headers.get(header::AUTHORIZATION) else {
        return from_query.filter(|k| !k.is_empty()).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_key",
                "an API key is required: send 'Authorization: Bearer KEY' or '?key=KEY'",
            )
        });
    };
    let auth = auth.to_str().unwrap_or("");
    match auth.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_key",
            "the Authorization header must be 'Bearer KEY'",
        )),
    }
}

pub async fn preflight() -> StatusCode {
    StatusCode::OK
}

pub async fn method_not_allowed() -> Response {
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "use GET to create an invite",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, OPTIONS"));
    response
}

/// CORS headers on every answer of the API, errors included, so browser
/// apps can call it with the key in the Authorization header and read the
/// Location of the new invite.
pub async fn cors(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("OPTIONS, GET"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type, Authorization"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("Location"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("7200"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_values() {
        assert!(Params::parse(Some("redirect=true")).redirect);
        assert!(Params::parse(Some("key=a&redirect=")).redirect);
        assert!(!Params::parse(Some("redirect=false")).redirect);
        assert!(!Params::parse(None).redirect);
        assert_eq!(Params::parse(Some("key=a%2Fb")).key.as_deref(), Some("a/b"));
    }

    #[test]
    fn authorization_header() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a/b"),
        );
        assert_eq!(presented_key(&h, Some("x/y".into())).unwrap(), "a/b");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic a/b"));
        assert!(presented_key(&h, Some("x/y".into())).is_err());
        assert!(presented_key(&HeaderMap::new(), None).is_err());
        assert_eq!(
            presented_key(&HeaderMap::new(), Some("x/y".into())).unwrap(),
            "x/y"
        );
    }
}
