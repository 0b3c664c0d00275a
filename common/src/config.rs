//! `roostd`'s configuration file (TOML), shared with `roostctl` so that
//! `roostctl --config FILE` finds the admin socket exactly where `roostd`
//! puts it.
//!
//! Every option has a default, so an empty file (or none) is a working
//! configuration. Unknown options and bad values are errors that name the
//! file, the line and the option: a typo must never be silently ignored.
//! Relative paths in a file are relative to the file's directory; the
//! built-in defaults are relative to the working directory.

mod archive;
mod live;
mod roster_delegation;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::jid::DomainName;

pub use archive::{ArchiveConfig, ArchiveHostConfig, ArchivePolicy};
pub use live::Live;
pub use roster_delegation::{AddressPrefix, RosterDelegationConfig, RosterUrl};

/// The longest `auth.failure_window`: a lock longer than a week punishes
/// the owner more than the guesser.
const MAX_FAILURE_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// The longest `fast.token_lifetime`: a token is a password-equivalent
/// secret on a device, which should not outlive a year unused.
const MAX_FAST_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// The most `limits.clients_per_account`: listing reads every record.
const MAX_CLIENTS_PER_ACCOUNT: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database, the generated certificate and the admin socket live.
    pub data_dir: PathBuf,
    /// The virtual hosts this server serves.
    pub hosts: Vec<DomainName>,
    /// Accounts (`user@host`) with admin rights on their own host, besides
    /// those given the admin role with `roostctl user set-role`.
    pub admins: Vec<String>,
    /// Changes on reload.
    pub log_level: LogLevel,
    pub log_format: LogFormat,
    pub http: HttpConfig,
    pub c2s: C2sConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub admin: AdminConfig,
    pub invites: InvitesConfig,
    pub registration: RegistrationConfig,
    /// Changes on reload.
    pub invite_page: Live<InvitePageConfig>,
    pub storage: StorageConfig,
    /// Changes on reload.
    pub limits: Live<LimitsConfig>,
    pub fast: FastConfig,
    pub metrics: MetricsConfig,
    pub audit: AuditConfig,
    /// The message archive (XEP-0313).
    pub archive: ArchiveConfig,
    /// Hosts whose rosters an external HTTP service keeps.
    pub roster_delegation: BTreeMap<DomainName, RosterDelegationConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct C2sConfig {
    /// Addresses for client connections (STARTTLS).
    pub bind: Vec<SocketAddr>,
    /// Addresses for direct TLS (XEP-0368); none by default.
    pub direct_tls_bind: Vec<SocketAddr>,
    /// Refuse authentication before TLS (Prosody's c2s_require_encryption).
    pub require_encryption: bool,
    /// Largest stanza before authentication, in bytes.
    pub max_stanza_size_unauthenticated: usize,
    /// Largest stanza after authentication, in bytes.
    pub max_stanza_size: usize,
    /// Time from connect to a bound resource, TLS handshake included.
    #[serde(deserialize_with = "duration")]
    pub negotiation_timeout: Duration,
    /// A write to a client that makes no progress for this long ends the
    /// session.
    #[serde(deserialize_with = "duration")]
    pub write_timeout: Duration,
    /// Bytes that may wait for one session that is not reading; past it
    /// the session ends with `resource-constraint`.
    pub max_queued_bytes: usize,
    /// Resources one account may have bound at once (ejabberd's
    /// `max_user_sessions`).
    pub max_sessions_per_account: usize,
    /// Connections not yet authenticated (TLS handshake included) held at
    /// once; a new one past it ends the oldest of the address holding the
    /// most.
    pub max_unauthenticated_connections: usize,
    /// Connections not yet authenticated from one source address (IPv6:
    /// per /64); a new one past it is closed at once.
    pub max_unauthenticated_per_address: usize,
    /// How long a session with stream management (XEP-0198) waits for its
    /// client to resume after the connection was lost (Prosody's
    /// `smacks_hibernation_time`).
    #[serde(deserialize_with = "duration")]
    pub resume_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain; without it (and `key`) a self-signed
    /// certificate is generated into the data directory on first start.
    pub certificate: Option<PathBuf>,
    /// PEM private key for `certificate`.
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// PBKDF2 iterations for new SCRAM credentials.
    pub scram_iterations: u32,
    /// Failed logins allowed per source address (IPv6: per /64) and
    /// account in `failure_window`; past that, that pair is refused. 0: off.
    pub max_failures_per_account: u32,
    /// Failed logins allowed per source address across accounts in
    /// `failure_window`, against sweeps over many names; accounts that
    /// logged in from the address before are exempt. 0: off.
    pub max_failures_per_address: u32,
    /// The sliding window failures are counted in.
    #[serde(deserialize_with = "duration")]
    pub failure_window: Duration,
    /// SASL mechanisms that may be offered (a subset of SCRAM-SHA-256-PLUS,
    /// SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, PLAIN); empty for all.
    pub mechanisms: Vec<String>,
    /// Refuse logins without a SASL2 client id (legacy SASL, and SASL2
    /// without `<user-agent id>`), as Prosody's `enforce_client_ids`.
    pub enforce_client_ids: bool,
}

/// FAST tokens (XEP-0484): logins without the password.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FastConfig {
    /// How long a token works after it was issued (Prosody's
    /// `sasl2_fast_token_ttl`).
    #[serde(deserialize_with = "duration")]
    pub token_lifetime: Duration,
    /// A login with a token older than this is given a new one (Prosody's
    /// `sasl2_fast_token_min_ttl`).
    #[serde(deserialize_with = "duration")]
    pub rotate_after: Duration,
}
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// Base of the links handed out (invite pages); without a trailing slash.
    /// Defaults to `http://` + `bind`.
    pub public_url: Option<String>,
    /// Bytes of a request's start line and headers; past it, 431.
    pub max_header_size: usize,
    /// Bytes of a request body on routes without a limit of their own;
    /// past it, 413.
    pub max_body_size: usize,
    /// Time a client has to send a request's headers (and, on an idle
    /// keep-alive connection, to start the next one), and again its body.
    #[serde(deserialize_with = "duration")]
    pub read_timeout: Duration,
    /// Connections held open at once; one more is closed at once.
    pub max_connections: usize,
    /// Requests being handled at once; one more is answered 503.
    pub max_concurrent_requests: usize,
}

/// The OpenMetrics endpoint (`GET /metrics`), on a listener of its own so
/// that it need not be reachable where the invite pages are.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Addresses of the metrics listener; empty turns it off.
    pub bind: Vec<SocketAddr>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Defaults to `roostd.sock` in the data directory.
    pub socket: Option<PathBuf>,
}

/// The audit log (issue 12).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// How long entries are kept; older ones are deleted in the background.
    #[serde(deserialize_with = "duration")]
    pub retention: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            retention: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvitesConfig {
    #[serde(deserialize_with = "duration")]
    pub expiry: Duration,
    /// Non-admin users' contact invites also let the invited person register
    /// an account here (Prosody's `allow_user_invites`).
    pub allow_user_invites: bool,
    /// Non-admin users may create contact invites at all (Prosody's
    /// `allow_contact_invites`).
    pub allow_contact_invites: bool,
    /// The inviter gets a chat message from the server when their invite is used.
    pub notify_inviter: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// In-band registration needs a valid invite (Prosody's
    /// `registration_invite_only`); `false` opens registration to anyone.
    pub invite_only: bool,
    /// Shortest password accepted at registration, in characters.
    pub min_password_length: usize,
    /// Accounts one source address (IPv6: per /64) may register per hour
    /// without an invite, when registration is open. 0: no limit.
    pub max_registrations_per_address: u32,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvitePageConfig {
    /// The service name shown on invite and registration pages; defaults to
    /// the host name.
    pub site_name: Option<String>,
    /// Recommended client apps, in the order shown.
    pub apps: Vec<AppConfig>,
}

/// A client app recommended on the invite page (mod_register_apps).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub name: String,
    /// Platforms it runs on, e.g. `["Android"]`, `["Windows", "Linux"]`.
    pub platforms: Vec<String>,
    /// One sentence about it.
    #[serde(default)]
    pub text: String,
    /// Where to get it.
    pub download_url: String,
    /// It can open an `xmpp:…;preauth=` link and register with the token.
    #[serde(default)]
    pub supports_preauth_uri: bool,
    /// A download link that hands the invite to the app once installed;
    /// `{uri}` is replaced by the URL-encoded invite URI.
    #[serde(default)]
    pub magic_link: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub synchronous: Synchronous,
    /// Nice steps the threads serving connections run below the storage
    /// thread, so that accepted writes drain before more is read (0 to 19).
    pub priority: u8,
}

/// What one account (or one of its sessions) may cost: each bound is
/// enforced by the service that owns the data, and refused with an RFC 6120
/// stanza error naming the limit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Most items in one account's roster.
    pub roster_items: usize,
    /// Most entities one session may have sent directed presence to at once.
    pub directed_presences: usize,
    /// Most invites a non-admin user may create with ad-hoc commands in 24 hours.
    pub user_invites_per_day: usize,
    /// Most offline messages kept from one sender for one recipient.
    pub offline_messages_per_sender: usize,
    /// Most bytes of offline messages kept for one recipient.
    pub offline_bytes: u64,
    /// Most client records kept per account; past it the least recently
    /// seen ones that are not connected are forgotten, with their FAST tokens.
    pub clients_per_account: usize,
}

/// SQLite's `synchronous` setting: how hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// A commit is in the OS before it is acknowledged: it survives a crash
    /// of `roostd` (even `kill -9`), not a power cut.
    Normal,
    /// Every commit is fsynced: it survives a power cut too.
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people: time, level, message and fields on one line.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(crate::DEFAULT_DATA_DIR),
            hosts: vec![DomainName::parse("localhost").expect("valid")],
            log_level: LogLevel::Info,
            log_format: LogFormat::Text,
            http: HttpConfig::default(),
            c2s: C2sConfig::default(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            admins: Vec::new(),
            admin: AdminConfig::default(),
            invites: InvitesConfig::default(),
            registration: RegistrationConfig::default(),
            invite_page: Live::default(),
            storage: StorageConfig::default(),
            limits: Live::default(),
            fast: FastConfig::default(),
            metrics: MetricsConfig::default(),
            audit: AuditConfig::default(),
            archive: ArchiveConfig::default(),
            roster_delegation: BTreeMap::new(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            roster_items: 1000,
            directed_presences: 500,
            user_invites_per_day: 10,
            offline_messages_per_sender: 100,
            offline_bytes: 10 * 1024 * 1024,
            clients_per_account: 100,
        }
    }
}

impl Default for FastConfig {
    fn default() -> Self {
        FastConfig {
            token_lifetime: Duration::from_secs(21 * 24 * 3600),
            rotate_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 5280)),
            public_url: None,
            max_header_size: 16 * 1024,
            max_body_size: 64 * 1024,
            read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_concurrent_requests: 128,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            bind: vec![SocketAddr::from(([127, 0, 0, 1], 5290))],
        }
    }
}

impl Default for C2sConfig {
    fn default() -> Self {
        C2sConfig {
            bind: vec![SocketAddr::from(([127, 0, 0, 1], 5222))],
            direct_tls_bind: Vec::new(),
            require_encryption: true,
            max_stanza_size_unauthenticated: 10_000,
            max_stanza_size: 256 * 1024,
            negotiation_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            max_queued_bytes: 2 * 1024 * 1024,
            max_sessions_per_account: 10,
            max_unauthenticated_connections: 1000,
            max_unauthenticated_per_address: 100,
            resume_timeout: Duration::from_secs(300),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            scram_iterations: 10_000,
            max_failures_per_account: 5,
            max_failures_per_address: 50,
            failure_window: Duration::from_secs(15 * 60),
            mechanisms: Vec::new(),
            enforce_client_ids: false,
        }
    }
}

impl Default for InvitesConfig {
    fn default() -> Self {
        InvitesConfig {
            expiry: Duration::from_secs(7 * 24 * 3600),
            allow_user_invites: false,
            allow_contact_invites: true,
            notify_inviter: true,
        }
    }
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            invite_only: true,
            min_password_length: 8,
            max_registrations_per_address: 3,
        }
    }
}

impl Default for InvitePageConfig {
    fn default() -> Self {
        InvitePageConfig {
            site_name: None,
            apps: default_apps(),
        }
    }
}

/// The apps recommended when the config names none: well-kept clients with
/// invite support, one or more per platform.
fn default_apps() -> Vec<AppConfig> {
    let app = |name: &str, platforms: &[&str], text: &str, url: &str, preauth: bool| AppConfig {
        name: name.to_owned(),
        platforms: platforms.iter().map(|p| (*p).to_owned()).collect(),
        text: text.to_owned(),
        download_url: url.to_owned(),
        supports_preauth_uri: preauth,
        magic_link: None,
    };
    vec![
        AppConfig {
            magic_link: Some(
                "https://play.google.com/store/apps/details?id=eu.siacs.conversations&referrer={uri}"
                    .to_owned(),
            ),
            ..app(
                "Conversations",
                &["Android"],
                "Conversations is a Jabber/XMPP client for Android 6.0+ smartphones.",
                "https://play.google.com/store/apps/details?id=eu.siacs.conversations",
                true,
            )
        },
        app(
            "Monal",
            &["iOS", "macOS"],
            "A modern open-source chat client for iPhone, iPad and Mac.",
            "https://apps.apple.com/app/monal-free-xmpp-chat/id317711500",
            true,
        ),
        app(
            "Siskin IM",
            &["iOS"],
            "A lightweight and powerful XMPP client for iPhone and iPad.",
            "https://apps.apple.com/app/siskin-im/id1153516838",
            true,
        ),
        app(
            "Dino",
            &["Linux"],
            "A modern open-source chat client for the desktop.",
            "https://dino.im/#download",
            false,
        ),
        app(
            "Gajim",
            &["Windows", "Linux"],
            "A fully-featured XMPP chat client for the desktop.",
            "https://gajim.org/download/",
            false,
        ),
    ]
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            synchronous: Synchronous::Normal,
            priority: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl Config {
    /// Reads `path`, or returns the defaults when there is no file.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base).map_err(|(line, message)| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            message,
        })
    }

    /// Parses config text; relative paths are taken relative to `base`.
    /// Errors carry the 1-based line and a message naming the option.
    pub fn parse(text: &str, base: &Path) -> Result<Config, (usize, String)> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            (line, e.message().trim().to_owned())
        })?;
        if config.hosts.is_empty() {
            return Err((
                line_of_key(text, "hosts"),
                "hosts: at least one host is needed".into(),
            ));
        }
        if let Some(url) = &config.http.public_url {
            let trimmed = url.trim_end_matches('/');
            let rest = trimmed
                .strip_prefix("https://")
                .or_else(|| trimmed.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(['?', '#', ' '])) {
                return Err((
                    line_of_key(text, "public_url"),
                    format!("http.public_url: '{url}' is not an http:// or https:// URL"),
                ));
            }
            config.http.public_url = Some(trimmed.to_owned());
        }
        if config.tls.certificate.is_some() != config.tls.key.is_some() {
            return Err((
                line_of_key(text, "[tls]"),
                "tls: give both certificate and key, or neither".into(),
            ));
        }
        if config.c2s.max_queued_bytes < config.c2s.max_stanza_size {
            return Err((
                line_of_key(text, "max_queued_bytes"),
                "c2s.max_queued_bytes: at least c2s.max_stanza_size, or the largest stanza could never be delivered".into(),
            ));
        }
        for (key, value) in [
            ("negotiation_timeout", config.c2s.negotiation_timeout),
            ("write_timeout", config.c2s.write_timeout),
            ("resume_timeout", config.c2s.resume_timeout),
        ] {
            if value > Duration::from_secs(24 * 3600) {
                return Err((line_of_key(text, key), format!("c2s.{key}: at most 1 day")));
            }
        }
        for (key, value) in [
            (
                "max_sessions_per_account",
                config.c2s.max_sessions_per_account,
            ),
            (
                "max_unauthenticated_connections",
                config.c2s.max_unauthenticated_connections,
            ),
            (
                "max_unauthenticated_per_address",
                config.c2s.max_unauthenticated_per_address,
            ),
        ] {
            if value == 0 {
                return Err((line_of_key(text, key), format!("c2s.{key}: at least 1")));
            }
        }
        check_http_limits(&config.http)
            .map_err(|(key, message)| (line_of_key(text, key), message))?;
        if config.auth.scram_iterations < 4096 {
            return Err((
                line_of_key(text, "scram_iterations"),
                "auth.scram_iterations: at least 4096 (RFC 7677)".into(),
            ));
        }
        if config.auth.failure_window > MAX_FAILURE_WINDOW {
            return Err((
                line_of_key(text, "failure_window"),
                "auth.failure_window: at most 7 days".into(),
            ));
        }
        if config.auth.failure_window.is_zero() {
            return Err((
                line_of_key(text, "failure_window"),
                "auth.failure_window: at least 1 second".into(),
            ));
        }
        const MECHANISMS: [&str; 5] = [
            "SCRAM-SHA-256-PLUS",
            "SCRAM-SHA-256",
            "SCRAM-SHA-1-PLUS",
            "SCRAM-SHA-1",
            "PLAIN",
        ];
        if let Some(bad) = config
            .auth
            .mechanisms
            .iter()
            .find(|m| !MECHANISMS.contains(&m.as_str()))
        {
            return Err((
                line_of_key(text, "mechanisms"),
                format!(
                    "auth.mechanisms: unknown mechanism '{bad}' (known: {})",
                    MECHANISMS.join(", ")
                ),
            ));
        }
        for admin in &mut config.admins {
            let host = admin
                .split_once('@')
                .filter(|(user, _)| !user.is_empty() && !user.contains('/'))
                .and_then(|(_, host)| DomainName::parse(host).ok());
            match host {
                Some(host) if config.hosts.contains(&host) => {}
                Some(host) => {
                    return Err((
                        line_of_key(text, "admins"),
                        format!("admins: '{admin}' is not on a configured host ({host})"),
                    ));
                }
                None => {
                    return Err((
                        line_of_key(text, "admins"),
                        format!("admins: '{admin}' is not an account JID (user@host)"),
                    ));
                }
            }
        }
        if config.storage.priority > 19 {
            return Err((
                line_of_key(text, "priority"),
                "storage.priority: at most 19 (nice steps)".into(),
            ));
        }
        if config.registration.min_password_length > 1024 {
            return Err((
                line_of_key(text, "min_password_length"),
                "registration.min_password_length: at most 1024".into(),
            ));
        }
        let limits = config.limits.get();
        for (key, value) in [
            ("roster_items", limits.roster_items as u64),
            ("directed_presences", limits.directed_presences as u64),
            (
                "offline_messages_per_sender",
                limits.offline_messages_per_sender as u64,
            ),
            ("offline_bytes", limits.offline_bytes),
            ("clients_per_account", limits.clients_per_account as u64),
        ] {
            if value == 0 {
                return Err((line_of_key(text, key), format!("limits.{key}: at least 1")));
            }
        }
        if limits.clients_per_account > MAX_CLIENTS_PER_ACCOUNT {
            return Err((
                line_of_key(text, "clients_per_account"),
                format!("limits.clients_per_account: at most {MAX_CLIENTS_PER_ACCOUNT}"),
            ));
        }
        if config.fast.token_lifetime > MAX_FAST_TOKEN_LIFETIME {
            return Err((
                line_of_key(text, "token_lifetime"),
                "fast.token_lifetime: at most 365 days".into(),
            ));
        }
        if config.fast.rotate_after >= config.fast.token_lifetime {
            return Err((
                line_of_key(text, "rotate_after"),
                "fast.rotate_after: shorter than fast.token_lifetime, or tokens expire before they are replaced".into(),
            ));
        }
        if let Some(app) = config
            .invite_page
            .get()
            .apps
            .iter()
            .find(|a| a.name.trim().is_empty() || !a.download_url.starts_with("http"))
        {
            return Err((
                line_of_key(text, "[[invite_page.apps]]"),
                format!(
                    "invite_page.apps: '{}' needs a name and an http(s) download_url",
                    app.name
                ),
            ));
        }
        config
            .archive
            .check()
            .map_err(|(key, message)| (line_of_key(text, key), message))?;
        if let Some(host) = config
            .archive
            .hosts
            .keys()
            .find(|h| !config.hosts.contains(h))
        {
            return Err((
                line_of_table(text, "archive.hosts", host.as_str()),
                format!("archive.hosts.\"{host}\": not one of the configured hosts"),
            ));
        }
        for (host, delegation) in &mut config.roster_delegation {
            let line = line_of_table(text, "roster_delegation", host.as_str());
            if !config.hosts.contains(host) {
                return Err((
                    line,
                    format!("roster_delegation.\"{host}\": not one of the configured hosts"),
                ));
            }
            delegation.check().map_err(|(option, e)| {
                (
                    line_in_table(text, line, option),
                    format!("roster_delegation.\"{host}\".{option}: {e}"),
                )
            })?;
            for path in delegation.paths_mut() {
                *path = base.join(&*path);
            }
        }
        config.data_dir = base.join(&config.data_dir);
        for path in [&mut config.tls.certificate, &mut config.tls.key]
            .into_iter()
            .flatten()
        {
            *path = base.join(&*path);
        }
        if let Some(socket) = &config.admin.socket {
            config.admin.socket = Some(base.join(socket));
        }
        Ok(config)
    }

    pub fn socket_path(&self) -> PathBuf {
        self.admin
            .socket
            .clone()
            .unwrap_or_else(|| self.data_dir.join(crate::DEFAULT_SOCKET_NAME))
    }

    /// Where the self-signed certificate and its key go when none is configured.
    pub fn generated_tls_paths(&self) -> (PathBuf, PathBuf) {
        (
            self.data_dir.join("tls-cert.pem"),
            self.data_dir.join("tls-key.pem"),
        )
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("roost.sqlite3")
    }

    /// The base of public links, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.http.bind))
    }

    pub fn serves(&self, host: &DomainName) -> bool {
        self.hosts.contains(host)
    }

    /// Whether `host`'s rosters come from a roster service.
    pub fn delegates_rosters(&self, host: &str) -> bool {
        self.roster_delegation.keys().any(|h| h.as_str() == host)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The `[http]` limits' bounds: each must let an ordinary request through.
fn check_http_limits(http: &HttpConfig) -> Result<(), (&'static str, String)> {
    if !(1024..=1024 * 1024).contains(&http.max_header_size) {
        return Err((
            "max_header_size",
            "http.max_header_size: between 1024 and 1048576 bytes".into(),
        ));
    }
    if http.read_timeout.is_zero() || http.read_timeout > Duration::from_secs(3600) {
        return Err((
            "read_timeout",
            "http.read_timeout: at least 1 second and at most 1 hour".into(),
        ));
    }
    for (key, value) in [
        ("max_connections", http.max_connections),
        ("max_concurrent_requests", http.max_concurrent_requests),
        ("max_body_size", http.max_body_size),
    ] {
        if value == 0 {
            return Err((key, format!("http.{key}: at least 1")));
        }
    }
    Ok(())
}

fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map_or(1, |i| i + 1)
}

/// The line of a `[table."key"]` header (any quoting), else of the table's name.
fn line_of_table(text: &str, table: &str, key: &str) -> usize {
    text.lines()
        .position(|l| !l.trim_start().starts_with('#') && l.contains(table) && l.contains(key))
        .map_or_else(|| line_of_key(text, table), |i| i + 1)
}

/// The line of `key` in the table whose header is on line `table`, else
/// the header's.
fn line_in_table(text: &str, table: usize, key: &str) -> usize {
    text.lines()
        .enumerate()
        .skip(table)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(table, |(i, _)| i + 1)
}

/// Accepts a whole number of seconds or a human duration such as `"7d"`,
/// `"12h"` or `"1week 2days"`.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

/// The longest lifetime an invite or API key may be asked for: a hundred
/// years. Longer ones are refused rather than cut, and this keeps every
/// expiry time far from overflowing.
pub const MAX_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `lifetime` if it is at most [`MAX_LIFETIME`]; else a message saying so.
pub fn check_lifetime(lifetime: Duration) -> Result<Duration, String> {
    if lifetime > MAX_LIFETIME {
        return Err(format!(
            "a lifetime of {} s is longer than the longest allowed, 100 years",
            lifetime.as_secs()
        ));
    }
    Ok(lifetime)
}

/// Parses a positive duration as accepted everywhere in Roost (config and
/// command line): plain seconds, or humantime syntax (`30m`, `7d`, `1w`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let parsed = match t.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(t)
            .map_err(|e| format!("'{text}' is not a duration ({e}); try 3600, 30m, 12h or 7d"))?,
    };
    if parsed.is_zero() {
        return Err(format!("'{text}' is not a positive duration"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("", Path::new("/etc/roost")).unwrap();
        assert_eq!(c.hosts, vec![DomainName::parse("localhost").unwrap()]);
        assert_eq!(c.data_dir, Path::new("/etc/roost/./data"));
        assert_eq!(c.socket_path(), Path::new("/etc/roost/./data/roostd.sock"));
        assert_eq!(c.public_url(), "http://127.0.0.1:5280");
        assert_eq!(c.invites.expiry, Duration::from_secs(604800));
        assert!(!c.invites.allow_user_invites);
        assert!(c.invites.allow_contact_invites);
        assert!(c.invites.notify_inviter);
        assert!(c.registration.invite_only);
        assert_eq!(c.registration.min_password_length, 8);
        assert!(c.admins.is_empty());
        assert!(
            c.invite_page
                .get()
                .apps
                .iter()
                .any(|a| a.name == "Conversations")
        );
        assert_eq!(c.limits.get().roster_items, 1000);
        assert_eq!(c.limits.get().offline_bytes, 10 * 1024 * 1024);
        assert_eq!(c.limits.get().clients_per_account, 100);
        assert_eq!(c.fast.token_lifetime, Duration::from_secs(21 * 86400));
        assert_eq!(c.fast.rotate_after, Duration::from_secs(86400));
        assert!(!c.auth.enforce_client_ids);
        assert_eq!(c.metrics.bind, vec!["127.0.0.1:5290".parse().unwrap()]);
        let off = Config::parse("[metrics]\nbind = []", Path::new(".")).unwrap();
        assert!(off.metrics.bind.is_empty());
    }

    #[test]
    fn the_example_config_states_the_defaults() {
        let example = include_str!("../../roost.example.toml");
        let parsed = Config::parse(example, Path::new("")).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn a_host_may_keep_its_archive_for_another_time() {
        let text = "hosts = [\"a.test\", \"b.test\"]\n[archive]\nretention = \"100d\"\n\
                    [archive.hosts.\"b.test\"]\nretention = \"30d\"\n";
        let c = Config::parse(text, Path::new(".")).unwrap();
        let day = 24 * 3600;
        let (a, b) = (
            DomainName::parse("a.test").unwrap(),
            DomainName::parse("b.test").unwrap(),
        );
        assert_eq!(c.archive.retention_of(&a), Duration::from_secs(100 * day));
        assert_eq!(c.archive.retention_of(&b), Duration::from_secs(30 * day));
    }

    #[test]
    fn configured_apps_replace_the_defaults() {
        let text = "[[invite_page.apps]]\nname = \"Cheogram\"\nplatforms = [\"Android\"]\n\
                    download_url = \"https://cheogram.com\"\n";
        let c = Config::parse(text, Path::new(".")).unwrap();
        assert_eq!(c.invite_page.get().apps.len(), 1);
        assert_eq!(c.invite_page.get().apps[0].name, "Cheogram");
        assert!(!c.invite_page.get().apps[0].supports_preauth_uri);
    }

    #[test]
    fn unknown_option_names_line_and_option() {
        let text = "hosts = [\"a.test\"]\n\n[http]\nbnd = \"127.0.0.1:1\"\n";
        let (line, msg) = Config::parse(text, Path::new(".")).unwrap_err();
        assert_eq!(line, 4);
        assert!(msg.contains("bnd"), "{msg}");
    }

    #[test]
    fn bad_values_are_errors() {
        for (text, needle) in [
            ("[invites]\nexpiry = \"7 parsecs\"", "duration"),
            ("log_level = \"loud\"", "loud"),
            ("hosts = [\"bad host\"]", "bad host"),
            ("hosts = []", "hosts"),
            ("[http]\npublic_url = \"ftp://x\"", "public_url"),
            ("[http]\nbind = \"nowhere\"", "socket address"),
            ("[tls]\ncertificate = \"c.pem\"", "both"),
            ("[auth]\nscram_iterations = 10", "4096"),
            ("[auth]\nfailure_window = 0", "at least 1 second"),
            ("[auth]\nfailure_window = \"30d\"", "at most 7 days"),
            ("[auth]\nmechanisms = [\"DIGEST-MD5\"]", "DIGEST-MD5"),
            ("[c2s]\nbind = \"127.0.0.1:5222\"", "sequence"),
            ("[metrics]\nbind = \"127.0.0.1:5290\"", "sequence"),
            ("[metrics]\nenabled = false", "enabled"),
            ("[c2s]\nmax_queued_bytes = 1000", "max_stanza_size"),
            ("[c2s]\nmax_sessions_per_account = 0", "at least 1"),
            (
                "[c2s]\nmax_unauthenticated_connections = 0",
                "c2s.max_unauthenticated_connections: at least 1",
            ),
            (
                "[c2s]\nmax_unauthenticated_per_address = 0",
                "c2s.max_unauthenticated_per_address: at least 1",
            ),
            ("[http]\nmax_header_size = 100", "http.max_header_size"),
            ("[http]\nread_timeout = 0", "http.read_timeout"),
            ("[http]\nread_timeout = \"2h\"", "at most 1 hour"),
            ("[http]\nmax_connections = 0", "http.max_connections"),
            ("[http]\nmax_body_size = 0", "http.max_body_size"),
            (
                "[http]\nmax_concurrent_requests = 0",
                "http.max_concurrent_requests",
            ),
            ("[c2s]\nwrite_timeout = \"0s\"", "positive"),
            (
                "[c2s]\nnegotiation_timeout = \"1000000000d\"",
                "at most 1 day",
            ),
            ("admins = [\"nobody\"]", "user@host"),
            ("admins = [\"a@elsewhere.test\"]", "configured host"),
            ("[registration]\nmin_password_length = 5000", "1024"),
            ("[storage]\npriority = 20", "storage.priority: at most 19"),
            ("[storage]\npriority = -1", "u8"),
            ("[invites]\nallow_user_invites = \"yes\"", "bool"),
            ("[limits]\nroster_items = 0", "limits.roster_items"),
            ("[limits]\noffline_bytes = -1", "u64"),
            ("[limits]\nrooster_items = 5", "rooster_items"),
            ("[limits]\nclients_per_account = 0", "at least 1"),
            ("[limits]\nclients_per_account = 20000", "at most 10000"),
            ("[fast]\ntoken_lifetime = \"400d\"", "at most 365 days"),
            (
                "[fast]\nrotate_after = \"30d\"",
                "shorter than fast.token_lifetime",
            ),
            ("[fast]\nrotate_after = \"0s\"", "positive"),
            ("[auth]\nenforce_client_ids = 1", "bool"),
            ("[archive]\ndefault = \"sometimes\"", "sometimes"),
            ("[archive]\nretention = \"4000d\"", "at most 10 years"),
            (
                "[archive]\nmax_messages_per_account = 0",
                "archive.max_messages_per_account: at least 1",
            ),
            ("[archive]\nmax_message_bytes = 2000000", "at most 1048576"),
            (
                "[archive.hosts.\"other.test\"]\nretention = \"30d\"",
                "not one of the configured hosts",
            ),
            (
                "[roster_delegation.\"localhost\"]\nurl = \"http://app/contacts\"",
                "exactly once",
            ),
            (
                "[roster_delegation.\"other.test\"]\nurl = \"http://app/%s\"",
                "not one of the configured hosts",
            ),
            (
                "[roster_delegation.\"localhost\"]\nurl = \"http://app/%s\"\ntimeout = \"1h\"",
                "roster_delegation.\"localhost\".timeout",
            ),
            (
                "[roster_delegation.\"localhost\"]\nurl = \"http://app/%s\"\nrefresh_allow = [\"x\"]",
                "refresh_allow",
            ),
            (
                "[roster_delegation.\"localhost\"]\nurl = \"http://app/%s\"\nmax_concurrent_requests = 0",
                "max_concurrent_requests",
            ),
            ("[roster_delegation.\"localhost\"]\ntimeout = 5", "url"),
            (
                "[[invite_page.apps]]\nname = \"X\"\nplatforms = []\ndownload_url = \"ftp://x\"",
                "download_url",
            ),
        ] {
            let (_, msg) = Config::parse(text, Path::new(".")).unwrap_err();
            assert!(msg.contains(needle), "{text:?} gave {msg:?}");
        }
    }

    #[test]
    fn roster_delegation_per_host() {
        let text = "hosts = [\"school.example\", \"b.test\"]\n\
                    [roster_delegation.\"school.example\"]\n\
                    url = \"https://app.example/contacts/%s\"\n\
                    authorization_file = \"backend.secret\"\n\
                    refresh_allow = [\"10.0.0.0/8\"]\n";
        let c = Config::parse(text, Path::new("/etc/roost")).unwrap();
        let host = DomainName::parse("school.example").unwrap();
        let d = &c.roster_delegation[&host];
        assert_eq!(
            d.url.for_user("ann").as_deref(),
            Some("https://app.example/contacts/ann")
        );
        assert_eq!(d.timeout, Duration::from_secs(5));
        assert_eq!(
            d.authorization_file.as_deref(),
            Some(Path::new("/etc/roost/backend.secret"))
        );
        assert!(d.refresh_allow[0].contains("10.1.2.3".parse().unwrap()));
        assert_eq!(d.refresh_body_limit, 1024 * 1024);
        assert_eq!(d.max_concurrent_requests, 16);
        assert_eq!(c.roster_delegation.len(), 1);
    }

    #[test]
    fn a_comment_naming_the_table_is_not_its_line() {
        let text = "hosts = [\"a.test\"]\n# see [roster_delegation.\"a.test\"] below\n\
                    [roster_delegation.\"a.test\"]\nurl = \"http://app/%s\"\ntimeout = \"1h\"\n";
        let (line, msg) = Config::parse(text, Path::new(".")).unwrap_err();
        assert_eq!(line, 5, "{msg}");
    }

    #[test]
    fn a_bad_roster_url_names_its_line() {
        let text = "hosts = [\"a.test\"]\n\n[roster_delegation.\"a.test\"]\ntimeout = \"2s\"\n\
                    url = \"http://app/contacts\"\n";
        let (line, msg) = Config::parse(text, Path::new(".")).unwrap_err();
        assert_eq!(line, 5, "{msg}");
        assert!(
            msg.starts_with("roster_delegation.\"a.test\".url: 'http://app/contacts'"),
            "{msg}"
        );
    }

    #[test]
    fn lifetimes_are_at_most_a_hundred_years() {
        assert_eq!(check_lifetime(MAX_LIFETIME), Ok(MAX_LIFETIME));
        for too_long in [MAX_LIFETIME + Duration::from_secs(1), Duration::MAX] {
            let error = check_lifetime(too_long).unwrap_err();
            assert!(error.contains("100 years"), "{error}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604800));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
