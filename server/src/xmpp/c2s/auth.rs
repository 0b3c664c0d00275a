//! SASL on a client stream: which mechanisms to offer, and one exchange
//! driven step by step between the client's messages, the pure mechanisms
//! of [`crate::sasl`] and the accounts service.

use jid::BareJid;
use roost_common::config::Config;

use super::C2sShared;
use crate::sasl::{self, ChannelBinding, Mechanism, SaslFailure, ScramHash, ScramServer};

/// What to answer after a client message.
pub enum SaslStep {
    Challenge(Vec<u8>),
    Success {
        user: BareJid,
        additional: Option<Vec<u8>>,
    },
    Failure(&'static str, Option<String>),
}

impl From<SaslFailure> for SaslStep {
    fn from(f: SaslFailure) -> Self {
        SaslStep::Failure(f.condition(), None)
    }
}

/// The mechanisms offered on a stream, strongest first: PLAIN only over
/// TLS, -PLUS only with channel binding, and only those the config allows.
pub fn offered(config: &Config, secure: bool, channel_binding: bool) -> Vec<Mechanism> {
    sasl::offered_mechanisms(secure, channel_binding, secure)
        .into_iter()
        .filter(|m| {
            config.auth.mechanisms.is_empty()
                || config.auth.mechanisms.iter().any(|n| n == m.name())
        })
        .collect()
}

/// An exchange waiting for the client's next message.
pub enum SaslExchange {
    /// PLAIN without an initial response: waiting for the credentials.
    Plain,
    /// SCRAM without an initial response: waiting for client-first.
    ScramFirst(ScramServer, ScramHash),
    /// SCRAM after server-first: waiting for client-final. `user` is known
    /// only if the account exists.
    ScramFinal(ScramServer, Option<BareJid>),
}

impl SaslExchange {
    /// Starts `mechanism` with an optional initial response; returns the
    /// exchange to continue (if any) and the answer.
    pub async fn start(
        shared: &C2sShared,
        host: &str,
        mechanism: &str,
        initial: Option<Vec<u8>>,
        secure: bool,
        channel_binding: Option<Vec<u8>>,
    ) -> (Option<SaslExchange>, SaslStep) {
        let config = &shared.xmpp.config;
        let offered = offered(config, secure, channel_binding.is_some());
        let Some(mechanism) = Mechanism::from_name(mechanism).filter(|m| offered.contains(m))
        else {
            return (None, SaslFailure::InvalidMechanism.into());
        };
        let Some(hash) = mechanism.scram_hash() else {
            return match initial {
                None => (Some(SaslExchange::Plain), SaslStep::Challenge(Vec::new())),
                Some(message) => (None, plain(shared, host, &message).await),
            };
        };
        let server_offers_plus = offered.iter().any(|m| m.is_plus());
        let binding = channel_binding
            .filter(|_| mechanism.is_plus())
            .map(ChannelBinding::tls_exporter);
        let scram = ScramServer::new(hash, mechanism.is_plus(), binding, server_offers_plus)
            .with_decoy_iterations(config.auth.scram_iterations);
        match initial {
            None => (
                Some(SaslExchange::ScramFirst(scram, hash)),
                SaslStep::Challenge(Vec::new()),
            ),
            Some(message) => scram_first(shared, host, scram, hash, &message).await,
        }
    }

    /// Continues the exchange with the client's response.
    pub async fn step(
        self,
        shared: &C2sShared,
        host: &str,
        response: Vec<u8>,
    ) -> (Option<SaslExchange>, SaslStep) {
        match self {
            SaslExchange::Plain => (None, plain(shared, host, &response).await),
            SaslExchange::ScramFirst(scram, hash) => {
                scram_first(shared, host, scram, hash, &response).await
            }
            SaslExchange::ScramFinal(mut scram, user) => {
                match (scram.client_final(&response), user) {
                    (Ok(server_final), Some(user)) => (
                        None,
                        SaslStep::Success {
                            user,
                            additional: Some(server_final),
                        },
                    ),
                    (Ok(_), None) => (None, SaslFailure::NotAuthorized.into()),
                    (Err(failure), _) => (None, failure.into()),
                }
            }
        }
    }
}

async fn scram_first(
    shared: &C2sShared,
    host: &str,
    mut scram: ScramServer,
    hash: ScramHash,
    message: &[u8],
) -> (Option<SaslExchange>, SaslStep) {
    let first = match scram.client_first(message) {
        Ok(first) => first,
        Err(failure) => return (None, failure.into()),
    };
    let accounts = &shared.xmpp.services.accounts;
    let user = accounts
        .parse_jid(&format!("{}@{host}", first.username))
        .ok();
    if let (Some(authzid), Some(user)) = (&first.authzid, &user)
        && accounts.parse_jid(authzid).ok().as_ref() != Some(user)
    {
        return (None, SaslFailure::InvalidAuthzid.into());
    }
    let credentials = match &user {
        Some(user) => match accounts.scram_credentials(user, hash).await {
            Ok(credentials) => credentials,
            Err(e) => {
                tracing::error!("SCRAM credentials lookup failed: {e}");
                return (None, SaslFailure::TemporaryAuthFailure.into());
            }
        },
        None => None,
    };
    let challenge = scram.server_first(credentials.as_ref());
    let user = user.filter(|_| credentials.is_some());
    (
        Some(SaslExchange::ScramFinal(scram, user)),
        SaslStep::Challenge(challenge),
    )
}

async fn plain(shared: &C2sShared, host: &str, message: &[u8]) -> SaslStep {
    let (authzid, authcid, password) = match sasl::parse_plain(message) {
        Ok(parts) => parts,
        Err(failure) => return failure.into(),
    };
    let accounts = &shared.xmpp.services.accounts;
    let Ok(user) = accounts.parse_jid(&format!("{authcid}@{host}")) else {
        return SaslFailure::NotAuthorized.into();
    };
    if let Some(authzid) = authzid
        && accounts.parse_jid(&authzid).ok() != Some(user.clone())
    {
        return SaslFailure::InvalidAuthzid.into();
    }
    match accounts.verify_plain(&user, &password).await {
        Ok(true) => SaslStep::Success {
            user,
            additional: None,
        },
        Ok(false) => SaslFailure::NotAuthorized.into(),
        Err(e) => {
            tracing::error!("PLAIN verification failed: {e}");
            SaslFailure::TemporaryAuthFailure.into()
        }
    }
}
