//! SASL on a client stream: which mechanisms to offer, and one exchange
//! driven step by step between the client's messages, the pure mechanisms
//! of [`roost_sasl`] and the accounts service.
//!
//! Each password check is a login attempt of the limiter in
//! [`crate::services::auth_limits`]: it begins as soon as the username is
//! known (SCRAM's client-first message, PLAIN's only message), before any
//! credentials are looked up or PBKDF2 runs, and ends with the answer. A
//! refused attempt gets `temporary-auth-failure` saying when to retry.
//!
//! Every exchange that ends here, in success, failure or refusal, is
//! counted for the metrics once ([`SaslExchange::start`] and
//! [`SaslExchange::step`]), for legacy SASL and SASL2 alike; FAST logins
//! are counted in [`super::fast`].

use std::net::IpAddr;
use std::time::Duration;

use jid::BareJid;
use roost_common::config::Config;

use super::C2sShared;
use super::transport::Transport;
use crate::metrics::{LoginOutcome, OTHER_MECHANISM};
use crate::services::auth_limits::Attempt;
use roost_sasl::{self as sasl, ChannelBinding, Mechanism, SaslFailure, ScramServer};

/// What to answer after a client message.
pub enum SaslStep {
    Challenge(Vec<u8>),
    Success {
        user: BareJid,
        mechanism: Mechanism,
        additional: Option<Vec<u8>>,
    },
    Failure(&'static str, Option<String>),
    /// Refused by the login limiter: `temporary-auth-failure` with this
    /// text, saying when to retry.
    Refused(String),
}

impl SaslStep {
    /// How a login ended at this step; `None` while it goes on.
    pub fn outcome(&self) -> Option<LoginOutcome> {
        match self {
            SaslStep::Challenge(_) => None,
            SaslStep::Success { .. } => Some(LoginOutcome::Success),
            SaslStep::Failure(..) => Some(LoginOutcome::Failure),
            SaslStep::Refused(_) => Some(LoginOutcome::Refused),
        }
    }
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
    ScramFirst(ScramServer, Mechanism),
    /// SCRAM after server-first: waiting for client-final. `user` is known
    /// only if the account exists; the attempt is settled by the proof.
    /// The account the attempt counts against travels along: the attempt
    /// itself begins only with the proof (see [`scram_first`]).
    ScramFinal(ScramServer, Mechanism, Option<BareJid>, String),
}

/// Where the client is: the limiter counts attempts per address.
#[derive(Clone, Copy)]
pub struct Client<'a> {
    pub host: &'a str,
    pub ip: IpAddr,
}

impl SaslExchange {
    /// Starts `mechanism` with an optional initial response; returns the
    /// exchange to continue (if any) and the answer.
    pub async fn start(
        shared: &C2sShared,
        client: Client<'_>,
        mechanism: &str,
        initial: Option<Vec<u8>>,
        transport: &Transport,
    ) -> (Option<SaslExchange>, SaslStep) {
        let (exchange, step) = Self::open(shared, client, mechanism, initial, transport).await;
        let label = Mechanism::from_name(mechanism).map_or(OTHER_MECHANISM, Mechanism::name);
        count(shared, label, &step);
        (exchange, step)
    }

    /// Continues the exchange with the client's response.
    pub async fn step(
        self,
        shared: &C2sShared,
        client: Client<'_>,
        response: Vec<u8>,
    ) -> (Option<SaslExchange>, SaslStep) {
        let label = self
            .mechanism()
            .map_or(Mechanism::Plain.name(), Mechanism::name);
        let (exchange, step) = self.next(shared, client, response).await;
        count(shared, label, &step);
        (exchange, step)
    }

    /// The SCRAM mechanism of the exchange; `None` for PLAIN.
    fn mechanism(&self) -> Option<Mechanism> {
        match self {
            SaslExchange::Plain => None,
            SaslExchange::ScramFirst(_, mechanism) | SaslExchange::ScramFinal(_, mechanism, ..) => {
                Some(*mechanism)
            }
        }
    }

    async fn open(
        shared: &C2sShared,
        client: Client<'_>,
        mechanism: &str,
        initial: Option<Vec<u8>>,
        transport: &Transport,
    ) -> (Option<SaslExchange>, SaslStep) {
        let config = &shared.xmpp.config;
        let offered = offered(config, transport.is_tls(), transport.has_tls_exporter());
        let Some(mechanism) = Mechanism::from_name(mechanism).filter(|m| offered.contains(m))
        else {
            return (None, SaslFailure::InvalidMechanism.into());
        };
        let Some(hash) = mechanism.scram_hash() else {
            return match initial {
                None => (Some(SaslExchange::Plain), SaslStep::Challenge(Vec::new())),
                Some(message) => (None, plain(shared, client, &message).await),
            };
        };
        let server_offers_plus = offered.iter().any(|m| m.is_plus());
        // Exported only for a -PLUS mechanism, the one that binds to it.
        let binding = mechanism
            .is_plus()
            .then(|| transport.tls_exporter())
            .flatten()
            .map(ChannelBinding::tls_exporter);
        let scram = ScramServer::new(hash, mechanism.is_plus(), binding, server_offers_plus);
        match initial {
            None => (
                Some(SaslExchange::ScramFirst(scram, mechanism)),
                SaslStep::Challenge(Vec::new()),
            ),
            Some(message) => scram_first(shared, client, scram, mechanism, &message).await,
        }
    }

    async fn next(
        self,
        shared: &C2sShared,
        client: Client<'_>,
        response: Vec<u8>,
    ) -> (Option<SaslExchange>, SaslStep) {
        match self {
            SaslExchange::Plain => (None, plain(shared, client, &response).await),
            SaslExchange::ScramFirst(scram, mechanism) => {
                scram_first(shared, client, scram, mechanism, &response).await
            }
            SaslExchange::ScramFinal(mut scram, mechanism, user, account) => {
                // Checked and settled with no await in between: parallel
                // proofs get no more guesses than one.
                let attempt = match begin(shared, client, &account) {
                    Ok(attempt) => attempt,
                    Err(refusal) => return (None, refusal),
                };
                match (scram.client_final(&response), user) {
                    (Ok(server_final), Some(user)) => {
                        attempt.succeeded();
                        (
                            None,
                            SaslStep::Success {
                                user,
                                mechanism,
                                additional: Some(server_final),
                            },
                        )
                    }
                    (Ok(_), None) | (Err(SaslFailure::NotAuthorized), _) => {
                        attempt.failed();
                        (None, SaslFailure::NotAuthorized.into())
                    }
                    // A malformed message tested no password: dropping the
                    // attempt gives its place back.
                    (Err(failure), _) => (None, failure.into()),
                }
            }
        }
    }
}

/// The account an attempt is counted against: the normalised JID, or the
/// name as sent when it is none.
fn account_name(user: Option<&BareJid>, username: &str, host: &str) -> String {
    user.map_or_else(|| format!("{username}@{host}"), BareJid::to_string)
}

/// Begins a login attempt, or the answer refusing it.
pub fn begin(shared: &C2sShared, client: Client<'_>, account: &str) -> Result<Attempt, SaslStep> {
    shared
        .xmpp
        .services
        .auth_limits
        .begin(client.ip, account)
        .map_err(refused)
}

/// `temporary-auth-failure`, saying when to retry.
fn refused(retry_after: Duration) -> SaslStep {
    SaslStep::Refused(format!(
        "too many failed attempts; retry in {} s",
        retry_after.as_secs().max(1)
    ))
}

/// Counts a login that ended with `step`, under `mechanism` (one of
/// ours, or [`OTHER_MECHANISM`]).
pub fn count(shared: &C2sShared, mechanism: &'static str, step: &SaslStep) {
    if let Some(outcome) = step.outcome() {
        shared.xmpp.services.metrics.login(mechanism, outcome);
    }
}

async fn scram_first(
    shared: &C2sShared,
    client: Client<'_>,
    mut scram: ScramServer,
    mechanism: Mechanism,
    message: &[u8],
) -> (Option<SaslExchange>, SaslStep) {
    let hash = mechanism.scram_hash().expect("a SCRAM mechanism");
    let first = match scram.client_first(message) {
        Ok(first) => first,
        Err(failure) => return (None, failure.into()),
    };
    let host = client.host;
    let accounts = &shared.xmpp.services.accounts;
    let user = accounts
        .parse_jid(&format!("{}@{host}", first.username))
        .ok();
    if let (Some(authzid), Some(user)) = (&first.authzid, &user)
        && accounts.parse_jid(authzid).ok().as_ref() != Some(user)
    {
        return (None, SaslFailure::InvalidAuthzid.into());
    }
    // Refused at once when the pair or the address is locked, before any
    // storage look-up. The attempt itself is counted with the proof, in
    // `step`: an exchange left open after server-first holds no place, so
    // stalled exchanges cannot lock an account out.
    let account = account_name(user.as_ref(), &first.username, host);
    if let Err(refusal) = begin(shared, client, &account) {
        return (None, refusal);
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
    if credentials.is_none() {
        match accounts.decoy_secret().await {
            Ok(secret) => {
                scram = scram.with_decoy(secret, shared.xmpp.config.auth.scram_iterations);
            }
            Err(e) => {
                tracing::error!("SCRAM decoy secret unavailable: {e}");
                return (None, SaslFailure::TemporaryAuthFailure.into());
            }
        }
    }
    let challenge = scram.server_first(credentials.as_ref());
    let user = user.filter(|_| credentials.is_some());
    (
        Some(SaslExchange::ScramFinal(scram, mechanism, user, account)),
        SaslStep::Challenge(challenge),
    )
}

async fn plain(shared: &C2sShared, client: Client<'_>, message: &[u8]) -> SaslStep {
    let (authzid, authcid, password) = match sasl::parse_plain(message) {
        Ok(parts) => parts,
        Err(failure) => return failure.into(),
    };
    let host = client.host;
    let accounts = &shared.xmpp.services.accounts;
    let user = accounts.parse_jid(&format!("{authcid}@{host}")).ok();
    if let (Some(authzid), Some(user)) = (&authzid, &user)
        && accounts.parse_jid(authzid).ok().as_ref() != Some(user)
    {
        return SaslFailure::InvalidAuthzid.into();
    }
    // Counted before PBKDF2 runs: a refused guess costs no CPU.
    let attempt = match begin(shared, client, &account_name(user.as_ref(), &authcid, host)) {
        Ok(attempt) => attempt,
        Err(refusal) => return refusal,
    };
    let Some(user) = user else {
        attempt.failed();
        return SaslFailure::NotAuthorized.into();
    };
    match accounts.verify_plain(&user, &password).await {
        Ok(true) => {
            attempt.succeeded();
            SaslStep::Success {
                user,
                mechanism: Mechanism::Plain,
                additional: None,
            }
        }
        Ok(false) => {
            attempt.failed();
            SaslFailure::NotAuthorized.into()
        }
        Err(e) => {
            tracing::error!("PLAIN verification failed: {e}");
            SaslFailure::TemporaryAuthFailure.into()
        }
    }
}
