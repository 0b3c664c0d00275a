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
    /// When it succeeded: revocations and password changes made after
    /// this keep the connection from binding.
    pub at: Instant,
}
