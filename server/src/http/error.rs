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
        }
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
                return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message);
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
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Storage is failing (a full disk): a minute is a fair guess
            // for an operator to make room, and keeps retries slow.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
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
