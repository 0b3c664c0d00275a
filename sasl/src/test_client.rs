//! A minimal SCRAM client, for tests and benchmarks: it drives [`ScramServer`] the
//! way a real client would, so round trips (and the accounts service's
//! stored credentials) can be checked without a network.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{SaslFailure, ScramCredentials, ScramHash, ScramServer};

/// The client's part of every nonce.
pub const CLIENT_NONCE: &str = "cLiEnTnOnCe";

pub struct ScramClient {
    hash: ScramHash,
    password: String,
    gs2_header: String,
    channel_binding: Vec<u8>,
    client_first_bare: String,
    expected_server_final: Option<Vec<u8>>,
}

impl ScramClient {
    /// A client logging in as `username` with `gs2_header` (such as `n,,`)
    /// and, for `p=`, the channel binding data it sees.
    pub fn new(
        hash: ScramHash,
        username: &str,
        password: &str,
        gs2_header: &str,
        channel_binding: &[u8],
    ) -> ScramClient {
        let username = username.replace('=', "=3D").replace(',', "=2C");
        ScramClient {
            hash,
            password: password.to_owned(),
            gs2_header: gs2_header.to_owned(),
            channel_binding: channel_binding.to_vec(),
            client_first_bare: format!("n={username},r={CLIENT_NONCE}"),
            expected_server_final: None,
        }
    }

    pub fn first(&self) -> Vec<u8> {
        format!("{}{}", self.gs2_header, self.client_first_bare).into_bytes()
    }

    /// The client-final message answering `server_first`.
    pub fn last(&mut self, server_first: &[u8]) -> Vec<u8> {
        let server_first = std::str::from_utf8(server_first).unwrap();
        let mut nonce = "";
        let mut salt = Vec::new();
        let mut iterations = 0;
        for attribute in server_first.split(',') {
            let (name, value) = attribute.split_at(2);
            match name {
                "r=" => nonce = value,
                "s=" => salt = STANDARD.decode(value).unwrap(),
                "i=" => iterations = value.parse().unwrap(),
                _ => {}
            }
        }
        let mut cbind_input = self.gs2_header.clone().into_bytes();
        cbind_input.extend(&self.channel_binding);
        let without_proof = format!("c={},r={nonce}", STANDARD.encode(cbind_input));
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let prepared = stringprep::saslprep(&self.password).unwrap();
        let salted = self.hash.hi(prepared.as_bytes(), &salt, iterations);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        let stored_key = self.hash.h(&client_key);
        let signature = self.hash.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = self.hash.hmac(&salted, b"Server Key");
        let server_signature = self.hash.hmac(&server_key, auth_message.as_bytes());
        self.expected_server_final =
            Some(format!("v={}", STANDARD.encode(server_signature)).into_bytes());
        format!("{without_proof},p={}", STANDARD.encode(proof)).into_bytes()
    }

    /// The whole exchange against `server`, with the credentials the
    /// server's caller found; checks the server's signature on success.
    pub fn log_in(
        &mut self,
        server: &mut ScramServer,
        credentials: Option<&ScramCredentials>,
    ) -> Result<(), SaslFailure> {
        server.client_first(&self.first())?;
        let server_first = server.server_first(credentials);
        let last = self.last(&server_first);
        let server_final = server.client_final(&last)?;
        assert_eq!(Some(server_final), self.expected_server_final);
        Ok(())
    }
}
