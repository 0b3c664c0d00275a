//! The admin protocol: what `roostctl` (one-shot or REPL) asks of `roostd`
//! over the Unix socket, and what it gets back.
//!
//! One request frame gets exactly one response frame carrying the same `id`.
//! Frames are JSON objects, one per line (see [`crate::frame`]). Every frame
//! carries the protocol version `v`; a server answers a frame of another
//! version with [`ErrorKind::UnsupportedVersion`] instead of guessing.
//!
//! Replies are data, not text: the client decides how to show them (a table,
//! Prosody-compatible tab-separated lines, or JSON), so the wire format stays
//! stable while the presentation evolves.

use serde::{Deserialize, Serialize};

/// The version of this protocol spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest request or response frame either side accepts, in bytes.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFrame {
    pub v: u32,
    pub id: u64,
    pub request: Request,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Asks for the server's version; used to check that a socket is alive.
    Hello,
    /// Creates an invite API key for `host`.
    ApiKeyCreate {
        host: String,
        name: Option<String>,
        /// Lifetime in seconds; `None` for a key that never expires.
        expires_in_secs: Option<u64>,
    },
    ApiKeyList {
        host: String,
    },
    ApiKeyDelete {
        host: String,
        id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseFrame {
    pub v: u32,
    /// The id of the request this answers; 0 when the request could not be read.
    pub id: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(Reply),
    Error(AdminError),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Hello {
        server_version: String,
    },
    ApiKeyCreated {
        /// The whole key, `ID/SECRET`. The secret is shown this once only.
        key: String,
        info: ApiKeyInfo,
    },
    ApiKeys {
        keys: Vec<ApiKeyInfo>,
    },
    Deleted,
}

/// What an admin may know of an API key: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub host: String,
    pub name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub invites_created: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AdminError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AdminError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AdminError {
            kind,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The frame could not be read, or its arguments are invalid.
    BadRequest,
    UnsupportedVersion,
    TooLarge,
    UnknownHost,
    NotFound,
    /// What was to be created exists already.
    Conflict,
    /// The peer is not allowed to use the socket.
    Forbidden,
    /// The server failed; details are in its log.
    Internal,
}

impl ResponseFrame {
    pub fn ok(id: u64, reply: Reply) -> Self {
        ResponseFrame {
            v: PROTOCOL_VERSION,
            id,
            outcome: Outcome::Ok(reply),
        }
    }

    pub fn error(id: u64, error: AdminError) -> Self {
        ResponseFrame {
            v: PROTOCOL_VERSION,
            id,
            outcome: Outcome::Error(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_shape_is_stable() {
        let frame = RequestFrame {
            v: 1,
            id: 3,
            request: Request::ApiKeyDelete {
                host: "example.com".into(),
                id: "abc".into(),
            },
        };
        let json = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"id":3,"request":{"api_key_delete":{"host":"example.com","id":"abc"}}}"#
        );
        assert_eq!(serde_json::from_str::<RequestFrame>(&json).unwrap(), frame);
        let hello = serde_json::to_string(&RequestFrame {
            v: 1,
            id: 1,
            request: Request::Hello,
        })
        .unwrap();
        assert_eq!(hello, r#"{"v":1,"id":1,"request":"hello"}"#);
    }

    #[test]
    fn response_wire_shape_is_stable() {
        let err = ResponseFrame::error(9, AdminError::new(ErrorKind::NotFound, "key not found"));
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"v":1,"id":9,"outcome":{"error":{"kind":"not_found","message":"key not found"}}}"#
        );
        let ok = ResponseFrame::ok(2, Reply::Deleted);
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"v":1,"id":2,"outcome":{"ok":"deleted"}}"#
        );
    }
}
