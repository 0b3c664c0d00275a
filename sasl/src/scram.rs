//! The server side of a SCRAM exchange (RFC 5802, RFC 7677), with channel
//! binding (the `-PLUS` variants) over `tls-exporter` (RFC 9266).
//!
//! ```text
//! client-first  ──► client_first()   → username, authzid
//!                   (caller looks the credentials up)
//! server-first  ◄── server_first()
//! client-final  ──► client_final()   → server-final "v=…" or a failure
//! ```
//!
//! For an unknown user, [`ScramServer::server_first`] answers with a salt
//! derived from the username (nodeprepped, as account names are) under the
//! server's decoy secret ([`ScramServer::with_decoy`]; kept across restarts
//! by the caller) and the configured iteration count, so the reply looks
//! like a real user's and is the same every time it is asked; the exchange
//! then fails at the proof, exactly as a wrong password does.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

use super::gs2::{self, CbFlag};
use super::{ChannelBinding, SALT_LEN, SaslFailure, ScramCredentials, ScramHash};

/// Random bytes in the server's part of the nonce (RFC 5802 asks for
/// enough to be unpredictable; 24 bytes are 32 base64 characters).
const SERVER_NONCE_BYTES: usize = 24;

/// Decoy iterations until [`ScramServer::with_decoy`] says otherwise:
/// roostd's default `auth.scram_iterations`.
const DEFAULT_DECOY_ITERATIONS: u32 = 10_000;

/// Length of the secret that decoy salts are derived from, in bytes.
pub const DECOY_SECRET_LEN: usize = 32;

/// What the client's first message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFirst {
    /// The authentication identity: `=2C`/`=3D` decoded, SASLprepped. For
    /// XMPP, the local part of the account's JID (before nodeprep).
    pub username: String,
    /// The identity to act as, if the client named one.
    pub authzid: Option<String>,
}

/// One SCRAM exchange, server side. Feed it the client's messages in order;
/// after a failure, or out of order, every later step fails too.
pub struct ScramServer {
    hash: ScramHash,
    plus: bool,
    channel_binding: Option<ChannelBinding>,
    server_offers_plus: bool,
    decoy_iterations: u32,
    /// `None`: a secret that lives as long as the process.
    decoy_secret: Option<[u8; DECOY_SECRET_LEN]>,
    fixed_nonce: Option<String>,
    state: State,
}

enum State {
    Start,
    ClientFirst {
        /// What `c=` must decode to: the GS2 header, then the binding data.
        cbind_input: Vec<u8>,
        client_first_bare: String,
        client_nonce: String,
        username: String,
    },
    ServerFirst {
        cbind_input: Vec<u8>,
        nonce: String,
        /// client-first-bare "," server-first ","
        auth_message_prefix: String,
        credentials: ScramCredentials,
        /// False for the stand-in credentials of an unknown user.
        real: bool,
    },
    /// Finished, successfully or not.
    Over,
}

impl ScramServer {
    /// A new exchange for SCRAM with `hash`; `plus` when the client chose
    /// the `-PLUS` variant. `channel_binding` is the stream's binding data
    /// (none without TLS, or when the TLS library cannot export it);
    /// `server_offers_plus` says whether `-PLUS` was offered on this
    /// stream, which turns a client's `y` flag into a detected downgrade.
    pub fn new(
        hash: ScramHash,
        plus: bool,
        channel_binding: Option<ChannelBinding>,
        server_offers_plus: bool,
    ) -> ScramServer {
        ScramServer {
            hash,
            plus,
            channel_binding,
            server_offers_plus,
            decoy_iterations: DEFAULT_DECOY_ITERATIONS,
            decoy_secret: None,
            fixed_nonce: None,
            state: State::Start,
        }
    }

    /// What unknown users are shown: salts derived from `secret`, which
    /// must stay the same across restarts (or a probe could tell existing
    /// accounts, whose salts do not change, from the others), and
    /// `iterations`, which should be `auth.scram_iterations` so they look
    /// like the accounts created with it. Without this, a secret that
    /// lives as long as the process and that option's default.
    pub fn with_decoy(mut self, secret: [u8; DECOY_SECRET_LEN], iterations: u32) -> ScramServer {
        self.decoy_secret = Some(secret);
        self.decoy_iterations = iterations;
        self
    }

    /// Uses `nonce` as the server's part of the nonce, to replay the RFC
    /// test vectors.
    #[cfg(test)]
    pub(crate) fn with_server_nonce(mut self, nonce: &str) -> ScramServer {
        self.fixed_nonce = Some(nonce.to_owned());
        self
    }

    /// Reads the client-first message (already base64-decoded by the
    /// stream layer) and returns who wants to log in.
    pub fn client_first(&mut self, message: &[u8]) -> Result<ClientFirst, SaslFailure> {
        if !matches!(self.state, State::Start) {
            self.state = State::Over;
            return Err(SaslFailure::MalformedRequest);
        }
        self.state = State::Over;
        let message = std::str::from_utf8(message).map_err(|_| SaslFailure::MalformedRequest)?;
        let (header, bare) = gs2::split_header(message)?;
        let mut cbind_input = header.raw.clone().into_bytes();
        match (&header.flag, self.plus) {
            // A -PLUS mechanism is channel binding; no flag but `p` fits it.
            (CbFlag::Unsupported | CbFlag::ClientOnly, true) => {
                return Err(SaslFailure::MalformedRequest);
            }
            (CbFlag::Bound(_), false) => return Err(SaslFailure::MalformedRequest),
            (CbFlag::Unsupported, false) => {}
            // The client could bind but saw no -PLUS offered while we did
            // offer it: someone removed it on the way.
            (CbFlag::ClientOnly, false) if self.server_offers_plus => {
                return Err(SaslFailure::NotAuthorized);
            }
            (CbFlag::ClientOnly, false) => {}
            (CbFlag::Bound(kind), true) => match &self.channel_binding {
                Some(binding) if binding.kind == kind => cbind_input.extend(&binding.data),
                // No binding data here, or a type we do not support.
                _ => return Err(SaslFailure::NotAuthorized),
            },
        }

        let mut attributes = bare.split(',');
        let username = match attributes.next() {
            Some(name) if name.starts_with("m=") => return Err(SaslFailure::MalformedRequest),
            Some(name) => name
                .strip_prefix("n=")
                .ok_or(SaslFailure::MalformedRequest)?,
            None => return Err(SaslFailure::MalformedRequest),
        };
        let username = gs2::decode_saslname(username)?;
        let username = stringprep::saslprep(&username)
            .map_err(|_| SaslFailure::MalformedRequest)?
            .into_owned();
        if username.is_empty() {
            return Err(SaslFailure::MalformedRequest);
        }
        let client_nonce = attributes
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .filter(|n| is_nonce(n))
            .ok_or(SaslFailure::MalformedRequest)?;
        // Optional extensions are allowed and ignored (RFC 5802 §5.1).
        if !attributes.all(is_attribute) {
            return Err(SaslFailure::MalformedRequest);
        }

        self.state = State::ClientFirst {
            cbind_input,
            client_first_bare: bare.to_owned(),
            client_nonce: client_nonce.to_owned(),
            username: username.clone(),
        };
        Ok(ClientFirst {
            username,
            authzid: header.authzid,
        })
    }

    /// The server-first message, given the user's credentials for this
    /// hash, or `None` when there is no such user (the reply then looks
    /// the same, and [`client_final`](Self::client_final) fails). Called
    /// out of order it returns nothing, and the exchange is over.
    pub fn server_first(&mut self, credentials: Option<&ScramCredentials>) -> Vec<u8> {
        let State::ClientFirst {
            cbind_input,
            client_first_bare,
            client_nonce,
            username,
        } = std::mem::replace(&mut self.state, State::Over)
        else {
            return Vec::new();
        };
        let server_nonce = self.fixed_nonce.clone().unwrap_or_else(|| {
            let mut bytes = [0u8; SERVER_NONCE_BYTES];
            rand::rng().fill_bytes(&mut bytes);
            STANDARD.encode(bytes)
        });
        let nonce = format!("{client_nonce}{server_nonce}");
        let (credentials, real) = match credentials {
            Some(c) => (c.clone(), true),
            None => (self.decoy(&username), false),
        };
        let server_first = format!(
            "r={nonce},s={},i={}",
            STANDARD.encode(&credentials.salt),
            credentials.iterations
        );
        self.state = State::ServerFirst {
            cbind_input,
            nonce,
            auth_message_prefix: format!("{client_first_bare},{server_first},"),
            credentials,
            real,
        };
        server_first.into_bytes()
    }

    /// Checks the client-final message (its channel binding, nonce and
    /// proof) and returns the server-final message, `v=SIGNATURE`, to send
    /// with `<success/>`.
    pub fn client_final(&mut self, message: &[u8]) -> Result<Vec<u8>, SaslFailure> {
        let State::ServerFirst {
            cbind_input,
            nonce,
            auth_message_prefix,
            credentials,
            real,
        } = std::mem::replace(&mut self.state, State::Over)
        else {
            return Err(SaslFailure::MalformedRequest);
        };
        let message = std::str::from_utf8(message).map_err(|_| SaslFailure::MalformedRequest)?;
        // The proof comes last, and is left out of the signed AuthMessage.
        let (without_proof, proof) = message
            .rsplit_once(",p=")
            .ok_or(SaslFailure::MalformedRequest)?;
        let mut attributes = without_proof.split(',');
        let channel = attributes
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .ok_or(SaslFailure::MalformedRequest)?;
        let client_nonce = attributes
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(SaslFailure::MalformedRequest)?;
        if !attributes.all(|a| is_attribute(a) && !a.starts_with("m=")) || proof.contains(',') {
            return Err(SaslFailure::MalformedRequest);
        }
        let channel = STANDARD
            .decode(channel)
            .map_err(|_| SaslFailure::IncorrectEncoding)?;
        let proof = STANDARD
            .decode(proof)
            .map_err(|_| SaslFailure::IncorrectEncoding)?;
        if proof.len() != self.hash.output_len() {
            return Err(SaslFailure::MalformedRequest);
        }
        if channel != cbind_input || client_nonce != nonce {
            return Err(SaslFailure::NotAuthorized);
        }

        let auth_message = format!("{auth_message_prefix}{without_proof}");
        let signature = self
            .hash
            .hmac(&credentials.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let matches: bool = self
            .hash
            .h(&client_key)
            .ct_eq(&credentials.stored_key)
            .into();
        if !(matches && real) {
            return Err(SaslFailure::NotAuthorized);
        }
        let server_signature = self
            .hash
            .hmac(&credentials.server_key, auth_message.as_bytes());
        Ok(format!("v={}", STANDARD.encode(server_signature)).into_bytes())
    }

    /// Stand-in credentials for an unknown user: the salt depends only on
    /// the username as accounts are named (nodeprep, so `Ghost` and `ghost`
    /// get one salt, as they would get one account) and the decoy secret;
    /// the keys are random so no proof can match.
    fn decoy(&self, username: &str) -> ScramCredentials {
        static PROCESS_SECRET: OnceLock<[u8; DECOY_SECRET_LEN]> = OnceLock::new();
        let secret = self.decoy_secret.as_ref().unwrap_or_else(|| {
            PROCESS_SECRET.get_or_init(|| {
                let mut bytes = [0u8; DECOY_SECRET_LEN];
                rand::rng().fill_bytes(&mut bytes);
                bytes
            })
        });
        let name = stringprep::nodeprep(username).unwrap_or(username.into());
        let mut input = self.hash.name().as_bytes().to_vec();
        input.push(0);
        input.extend(name.as_bytes());
        let mut salt = ScramHash::Sha256.hmac(secret, &input);
        salt.truncate(SALT_LEN);
        let random_key = || {
            let mut key = vec![0u8; self.hash.output_len()];
            rand::rng().fill_bytes(&mut key);
            key
        };
        ScramCredentials {
            salt,
            iterations: self.decoy_iterations,
            stored_key: random_key(),
            server_key: random_key(),
        }
    }
}

/// `printable = %x21-2B / %x2D-7E` (no comma), at least one.
fn is_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// `attr-val = ALPHA "=" value`
fn is_attribute(attribute: &str) -> bool {
    let bytes = attribute.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b'='
}

#[cfg(test)]
mod tests;
