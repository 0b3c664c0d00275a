//! `GET /invites_api`: create an account invite with an API key
//! (mod_invites_api). The key comes from `Authorization: Bearer KEY` or
//! from `?key=KEY`; the answer is `201 Created` with the landing page in
//! `Location` (and a JSON body), or `303 See Other` to it with `redirect`.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roost_http_proto::invites_api::{InviteApiQuery, KeyProblem, presented_key};
use serde::Serialize;

use super::error::ApiError;
use crate::metrics::InviteCreatedBy;
use crate::services::Services;

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
    let params = InviteApiQuery::parse(query.as_deref());
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().unwrap_or(""));
    let key = presented_key(authorization, params.key).map_err(|problem| {
        let code = match problem {
            KeyProblem::Missing => "missing_key",
            KeyProblem::NotBearer => "invalid_key",
        };
        ApiError::new(StatusCode::UNAUTHORIZED, code, problem.to_string())
    })?;
    let for_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(super::host_without_port)
        .filter(|h| services.hosts.serves(h));
    let invite = services.api_keys.create_invite(&key, for_host).await?;
    services.metrics.invites.created(InviteCreatedBy::Api);
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
