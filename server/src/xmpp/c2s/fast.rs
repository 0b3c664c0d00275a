//! A FAST login (XEP-0484) inside SASL2: the client proves it holds a token
//! issued to this client id earlier, in one message and without PBKDF2.
//!
//! It is a login attempt of the limiter like a password check: refused at
//! once while the pair or the address is locked, counted when the token
//! does not match. An expired or superseded token is not counted: a client
//! that slept through a rotation is not a guesser.

use jid::BareJid;
use roost_sasl::SaslFailure;
use roost_sasl::fast::{self, FastMechanism};

use super::C2sShared;
use super::auth::{self, Client, SaslStep};
use crate::services::clients::ClientId;
use crate::services::fast_tokens::FastRefusal;

/// What a FAST login gives besides the usual success.
pub struct FastSuccess {
    pub user: BareJid,
    /// The server's proof, for `<additional-data>`.
    pub responder: Vec<u8>,
    /// The token is old enough to be replaced in this `<success>`.
    pub rotate: bool,
}

pub async fn login(
    shared: &C2sShared,
    client: Client<'_>,
    mechanism: FastMechanism,
    client_id: &ClientId,
    message: &[u8],
    channel_binding: &[u8],
    invalidate: bool,
) -> Result<FastSuccess, SaslStep> {
    let response = fast::parse_response(message).map_err(SaslStep::from)?;
    let accounts = &shared.xmpp.services.accounts;
    let account = format!("{}@{}", response.username, client.host);
    let attempt = auth::begin(shared, client, &account)?;
    let Ok(user) = accounts.parse_jid(&account) else {
        attempt.failed();
        return Err(SaslFailure::NotAuthorized.into());
    };
    let outcome = shared
        .xmpp
        .services
        .fast_tokens
        .authenticate(
            &user,
            client_id,
            mechanism,
            channel_binding,
            &response.initiator,
            invalidate,
        )
        .await;
    match outcome {
        Ok(login) => {
            attempt.succeeded();
            Ok(FastSuccess {
                user,
                responder: login.responder.to_vec(),
                rotate: login.rotate,
            })
        }
        Err(FastRefusal::NotAuthorized) => {
            attempt.failed();
            Err(SaslFailure::NotAuthorized.into())
        }
        Err(FastRefusal::CredentialsExpired) => Err(SaslFailure::CredentialsExpired.into()),
        Err(FastRefusal::Storage(e)) => {
            tracing::error!("FAST token check failed: {e}");
            Err(SaslFailure::TemporaryAuthFailure.into())
        }
    }
}
