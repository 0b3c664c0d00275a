//! Clients with access to an account (placeholder types until the service
//! lands in this issue).

/// A client's id: its SASL2 `<user-agent id>`, or one made for a legacy
/// client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(s: &str) -> Option<ClientId> {
        roost_sasl::sasl2::is_client_id(s).then(|| ClientId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Password,
    Fast,
}

#[derive(Debug, Clone, Default)]
pub struct UserAgent {
    pub software: Option<String>,
    pub device: Option<String>,
}
