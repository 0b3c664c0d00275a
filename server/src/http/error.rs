//! The one place where service errors become HTTP answers: a 4xx status
//! (503 when storage fails) and a short JSON body `{"error": CODE, "message": TEXT}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::services::ServiceError;
use crate::storage::StorageError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// `Retry-After`, in seconds, for an answer that says "not now".
    retry_after: Option<&'static str>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Tells the client to retry after `seconds`.
    pub fn retry_after(mut self, seconds: &'static str) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let (status, code) = match &e {
            ServiceError::Invalid(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ServiceError::UnknownHost(_) | ServiceError::NotFound(_) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ServiceError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ServiceError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "invalid_key"),
            ServiceError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ServiceError::Storage(inner) => {
                inner.log_refusal("an HTTP request");
                let message = match inner {
                    StorageError::Full => {
                        "the server's storage is full; nothing was stored, try again later"
                    }
                    _ => {
                        "the server cannot store data right now; nothing was stored, try again later"
                    }
                };
                // A minute is a fair guess for an operator to make room,
                // and keeps retries slow.
                return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
                    .retry_after("60");
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(Body {
                error: self.code,
                message: &self.message,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.code == "missing_key" {
                "Bearer realm=\"roost\""
            } else {
                "Bearer realm=\"roost\", error=\"invalid_token\""
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
}
