//! The admin protocol's view of a running roostd (issue 12): `status` and
//! the live client sessions that `c2s list` shows and `c2s close` ends.

use serde::{Deserialize, Serialize};

/// What `roostctl status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusInfo {
    /// roostd's version.
    pub version: String,
    /// When roostd started, Unix seconds.
    pub started_at: i64,
    /// Seconds since it started.
    pub uptime_secs: u64,
    /// Every served host with its bound sessions, in configuration order.
    pub hosts: Vec<HostSessions>,
    /// roostd's resident memory in bytes; `None` where the system does not
    /// tell (no `/proc`).
    pub memory_rss_bytes: Option<u64>,
    /// The database's size on disk in bytes: the file, its write-ahead log
    /// and its shared-memory index.
    pub database_bytes: u64,
    pub listeners: ListenerInfo,
}

/// One served host and how many sessions are bound on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSessions {
    pub host: String,
    pub sessions: u64,
}

/// Where roostd listens, as bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenerInfo {
    /// Client connections that start in plain text (STARTTLS), `ip:port`.
    pub c2s: Vec<String>,
    /// Client connections in TLS from the first byte (XEP-0368).
    pub c2s_direct_tls: Vec<String>,
    /// The HTTP listener (invite pages, invite API).
    pub http: String,
    /// The admin socket's path.
    pub admin_socket: String,
    /// The OpenMetrics endpoint's addresses (none when turned off); absent
    /// from older roostd builds.
    #[serde(default)]
    pub metrics: Vec<String>,
}

/// One bound client session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The full JID.
    pub jid: String,
    /// The client's address, `ip:port` (`[ip]:port` for IPv6).
    pub address: String,
    /// `TLSv1.3`, `TLSv1.2`; `None` for a plain-text connection.
    pub tls: Option<String>,
    /// The SASL mechanism it logged in with (`SCRAM-SHA-256-PLUS`,
    /// `PLAIN`, `HT-SHA-256-EXPR`, ...).
    pub mechanism: String,
    /// SASL2 `<user-agent><software>`, when the client gave one.
    pub software: Option<String>,
    /// SASL2 `<user-agent><device>`, when the client gave one.
    pub device: Option<String>,
    /// When it bound, Unix seconds.
    pub since: i64,
    /// Seconds since the client last sent a stanza (or bound, before its
    /// first one).
    pub idle_secs: u64,
    /// The connection was lost and the session waits to be resumed
    /// (XEP-0198); `address` and `tls` are the lost connection's.
    #[serde(default)]
    pub hibernated: bool,
}
