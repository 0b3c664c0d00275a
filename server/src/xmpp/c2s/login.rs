//! What a successful authentication established, kept on the connection
//! until a resource is bound: who, how, and from which client.

use std::time::Instant;

use jid::BareJid;

use crate::services::clients::{AuthMethod, ClientId, UserAgent};

pub struct Login {
    pub user: BareJid,
    pub method: AuthMethod,
    /// The SASL mechanism's name, as recorded for the client.
    pub mechanism: &'static str,
    /// The SASL2 `<user-agent id>`; `None` for legacy SASL, or SASL2
    /// without an id (the client is then known by its resource).
    pub client: Option<ClientId>,
    pub agent: UserAgent,
    /// When the exchange began, before any credential was read: a
    /// revocation or password change after this keeps the connection from
    /// binding, and from getting a FAST token.
    pub at: Instant,
    /// The same moment in Unix milliseconds, as storage compares it.
    pub at_unix_ms: i64,
}

/// When an exchange began, as a [`Login`] records it.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    pub at: Instant,
    pub at_unix_ms: i64,
}

impl Started {
    pub fn now() -> Started {
        Started {
            at: Instant::now(),
            at_unix_ms: crate::services::now_ms(),
        }
    }
}
