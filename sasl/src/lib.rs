//! SASL server mechanisms (RFC 4422): pure state machines, no I/O, no
//! runtime and no storage inside.
//!
//! The c2s listener picks the mechanisms to offer ([`offered_mechanisms`]),
//! feeds the client's messages to a [`ScramServer`] or to [`parse_plain`],
//! and looks credentials up through the accounts service in between. Nothing
//! here blocks, awaits or touches a socket, so every rule (GS2 header,
//! channel binding, downgrade protection, nonces, proofs) is tested with the
//! RFC test vectors alone.
//!
//! Every failure is a [`SaslFailure`], whose [`condition`](SaslFailure::condition)
//! is the RFC 6120 §6.5 element to send.

pub mod bind2;
mod credentials;
pub mod fast;
mod gs2;
mod mechanism;
mod plain;
pub mod sasl2;
mod scram;
pub mod test_client;

pub use credentials::{PasswordError, SALT_LEN, ScramCredentials, ScramHash};
pub use gs2::{ChannelBinding, TLS_EXPORTER, TLS_EXPORTER_LABEL, TLS_EXPORTER_LEN};
pub use mechanism::{Mechanism, offered_mechanisms};
pub use plain::parse_plain;
pub use scram::{ClientFirst, DECOY_SECRET_LEN, ScramServer};

/// Why an authentication failed, as the RFC 6120 §6.5 conditions name it.
///
/// The variants carry no detail on purpose: what goes back to the client
/// must not tell an unknown user from a wrong password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SaslFailure {
    /// The client aborted the exchange (`<abort/>`).
    #[error("the client aborted the authentication")]
    Aborted,
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("the credentials have expired")]
    CredentialsExpired,
    /// The mechanism needs TLS and the stream has none.
    #[error("the mechanism requires an encrypted stream")]
    EncryptionRequired,
    /// A base64 payload could not be decoded.
    #[error("the data is not valid base64")]
    IncorrectEncoding,
    #[error("the authorization identity is not valid for these credentials")]
    InvalidAuthzid,
    #[error("the mechanism is not supported or not offered")]
    InvalidMechanism,
    /// The message does not follow the mechanism's syntax.
    #[error("the message is malformed")]
    MalformedRequest,
    #[error("the mechanism is weaker than the server allows")]
    MechanismTooWeak,
    /// Wrong credentials, unknown user, or a channel binding that does not
    /// match: the client is told nothing more.
    #[error("not authorized")]
    NotAuthorized,
    #[error("temporary authentication failure")]
    TemporaryAuthFailure,
}

impl SaslFailure {
    /// The name of the RFC 6120 §6.5 condition element.
    pub fn condition(self) -> &'static str {
        match self {
            SaslFailure::Aborted => "aborted",
            SaslFailure::AccountDisabled => "account-disabled",
            SaslFailure::CredentialsExpired => "credentials-expired",
            SaslFailure::EncryptionRequired => "encryption-required",
            SaslFailure::IncorrectEncoding => "incorrect-encoding",
            SaslFailure::InvalidAuthzid => "invalid-authzid",
            SaslFailure::InvalidMechanism => "invalid-mechanism",
            SaslFailure::MalformedRequest => "malformed-request",
            SaslFailure::MechanismTooWeak => "mechanism-too-weak",
            SaslFailure::NotAuthorized => "not-authorized",
            SaslFailure::TemporaryAuthFailure => "temporary-auth-failure",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SaslFailure;

    #[test]
    fn conditions_are_rfc_6120_names() {
        let all = [
            (SaslFailure::Aborted, "aborted"),
            (SaslFailure::AccountDisabled, "account-disabled"),
            (SaslFailure::CredentialsExpired, "credentials-expired"),
            (SaslFailure::EncryptionRequired, "encryption-required"),
            (SaslFailure::IncorrectEncoding, "incorrect-encoding"),
            (SaslFailure::InvalidAuthzid, "invalid-authzid"),
            (SaslFailure::InvalidMechanism, "invalid-mechanism"),
            (SaslFailure::MalformedRequest, "malformed-request"),
            (SaslFailure::MechanismTooWeak, "mechanism-too-weak"),
            (SaslFailure::NotAuthorized, "not-authorized"),
            (SaslFailure::TemporaryAuthFailure, "temporary-auth-failure"),
        ];
        for (failure, name) in all {
            assert_eq!(failure.condition(), name);
        }
    }
}
