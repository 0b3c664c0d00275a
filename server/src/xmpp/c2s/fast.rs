//! A FAST login (XEP-0484) inside SASL2: the client proves it holds a token
//! issued to this client id earlier, in one message and without PBKDF2.
//!
//! It is a login attempt of the limiter like a password check: refused at
//! once while the pair or the address is locked, counted when the token
//! does not match. An expired or superseded token is not counted: a client
//! that slept through a rotation is not a guesser.
//!
//! Each login is counted for the metrics under its `HT-*` mechanism here.

use jid::BareJid;
use roost_sasl::SaslFailure;
use roost_sasl::fast::{self, FastMechanism};

use super::C2sShared;
use super::auth::{self, Client, SaslStep};
use crate::metrics::LoginOutcome;
use crate::services::clients::ClientId;
use crate::services::fast_tokens::{FastRefusal, IssuedToken};

/// What a FAST login gives besides the usual success.
pub struct FastSuccess {
    pub user: BareJid,
    /// The server's proof, for `<additional-data>`.
    pub responder: Vec<u8>,
    /// A new token for this `<success>`: asked for, or the used one was
    /// due for rotation.
    pub token: Option<IssuedToken>,
}

/// What the client sent.
pub struct FastAttempt<'a> {
    pub mechanism: FastMechanism,
    pub client_id: &'a ClientId,
    pub message: &'a [u8],
    pub channel_binding: &'a [u8],
    /// `<fast invalidate='true'/>`.
    pub invalidate: bool,
    /// `<request-token mechanism=…/>`.
    pub requested: Option<FastMechanism>,
}

/// Checks the client's proof; counted for the metrics whatever the end.
pub async fn login(
    shared: &C2sShared,
    client: Client<'_>,
    sent: FastAttempt<'_>,
) -> Result<FastSuccess, SaslStep> {
    let mechanism = sent.mechanism.name();
    let result = check(shared, client, sent).await;
    let metrics = &shared.xmpp.services.metrics;
    match &result {
        Ok(_) => metrics.login(mechanism, LoginOutcome::Success),
        Err(step) => auth::count(shared, mechanism, step),
    }
    result
}

async fn check(
    shared: &C2sShared,
    client: Client<'_>,
    sent: FastAttempt<'_>,
) -> Result<FastSuccess, SaslStep> {
    let response = fast::parse_response(sent.message).map_err(SaslStep::from)?;
    let accounts = &shared.xmpp.services.accounts;
    let given = format!("{}@{}", response.username, client.host);
    let user = accounts.parse_jid(&given).ok();
    // Counted against the account as normalised, as password logins are:
    // `Alice` and `alice` share one budget.
    let account = user.as_ref().map_or(given, BareJid::to_string);
    let attempt = auth::begin(shared, client, &account)?;
    let Some(user) = user else {
        attempt.failed();
        return Err(SaslFailure::NotAuthorized.into());
    };
    let outcome = shared
        .xmpp
        .services
        .fast_tokens
        .authenticate(
            &user,
            sent.client_id,
            sent.mechanism,
            sent.channel_binding,
            &response.initiator,
            sent.invalidate,
            sent.requested,
        )
        .await;
    match outcome {
        Ok(login) => {
            attempt.succeeded();
            Ok(FastSuccess {
                user,
                responder: login.responder.to_vec(),
                token: login.token,
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
