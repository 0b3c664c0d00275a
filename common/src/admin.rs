//! The admin protocol: what `roostctl` (one-shot or REPL) asks of `roostd`
//! over the Unix socket, and what it gets back.
//!
//! One request frame gets exactly one response frame carrying the same `id`.
//! Frames are JSON objects, one per line (see [`crate::frame`]). Every frame
//! carries the protocol version `v`; a server answers a frame of another
//! version with [`ErrorKind::UnsupportedVersion`] instead of guessing.
//!
//! Replies are data, not text: the client decides how to show them (a table,
//! Prosody-compatible tab-separated lines, or JSON), so the wire format stays
//! stable while the presentation evolves.

use serde::{Deserialize, Serialize};

mod archive;
mod audit;
mod operations;
mod sessions;

pub use archive::{ArchivePurgeInfo, ArchiveSizeInfo};
pub use audit::{
    AuditAction, AuditActor, AuditEntry, AuditQuery, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT,
};
pub use operations::{BackupInfo, ReloadReport};
pub use sessions::{HostSessions, ListenerInfo, SessionInfo, StatusInfo};

/// The version of this protocol spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest request frame roostd accepts, in bytes: requests are small.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;

/// Largest response frame a client accepts, in bytes. Responses carry
/// lists (every account of a host), so they may be large; the bound only
/// protects a client from a runaway peer.
pub const MAX_RESPONSE_LEN: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFrame {
    pub v: u32,
    pub id: u64,
    pub request: Request,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Asks for the server's version; used to check that a socket is alive.
    Hello,
    /// Lists the virtual hosts roostd serves, as configured (the shell
    /// completes account JIDs from them).
    HostList,
    /// Creates an invite API key for `host`.
    ApiKeyCreate {
        host: String,
        name: Option<String>,
        /// Lifetime in seconds; `None` for a key that never expires.
        expires_in_secs: Option<u64>,
    },
    ApiKeyList {
        host: String,
    },
    ApiKeyDelete {
        host: String,
        id: String,
    },
    /// Creates an account; `role` defaults to [`Role::User`].
    UserCreate {
        jid: String,
        password: Password,
        role: Option<Role>,
    },
    /// Sets a new password for an account.
    UserPassword {
        jid: String,
        password: Password,
    },
    /// Deletes an account with everything it owns (roster, offline messages).
    UserDelete {
        jid: String,
    },
    /// Lists the accounts of a host.
    UserList {
        host: String,
    },
    UserSetRole {
        jid: String,
        role: Role,
    },
    /// Creates an invite for `host`, recorded as made by an admin.
    InviteCreate {
        host: String,
        kind: InviteType,
        /// The local account whose contact the holder becomes; required
        /// for [`InviteType::Contact`] and [`InviteType::Both`].
        inviter: Option<String>,
        /// Lifetime in seconds; `None` for the configured expiry.
        ttl_secs: Option<u64>,
        /// How many times it may be used; at least 1.
        uses: u32,
    },
    /// Lists the pending invites of a host: not expired, with uses left.
    /// With `all`, also those used up but not yet expired (roostd keeps
    /// them until then so that their redemptions can be seen).
    InviteList {
        host: String,
        /// Left out when false, so a plain list keeps the wire shape older
        /// roostd builds read.
        #[serde(default, skip_serializing_if = "is_false")]
        all: bool,
    },
    /// One invite of a host in detail, by its numeric id or by its token,
    /// whatever its status.
    InviteShow {
        host: String,
        invite: String,
    },
    /// Deletes an invite by its numeric id or by its token.
    InviteRevoke {
        host: String,
        invite: String,
    },
    /// Lists the clients that have access to an account (issue 9): every
    /// installation that logged in with the password since it last changed,
    /// or holds a FAST token, or is connected.
    UserClients {
        jid: String,
    },
    /// Revokes one client's access: ends its sessions and deletes its FAST
    /// tokens. `client` is an id as [`ClientInfo::id`] shows it
    /// (`client/ID`).
    UserRevokeClient {
        jid: String,
        client: String,
    },
    /// An account's roster, delegated (issue 10) or kept locally.
    RosterShow {
        jid: String,
    },
    /// Fetches these accounts' rosters again from their hosts' roster
    /// service, as `POST /roster_admin/refresh` does; every JID must be on
    /// a host with roster delegation.
    RosterRefresh {
        jids: Vec<String>,
    },
    // Issue 12: reload and backup.
    /// Reads the configuration file, the TLS certificate and key again and
    /// applies what can change while running, as SIGHUP does.
    Reload,
    /// Writes a consistent copy of the database to `path` (absolute, on
    /// roostd's host, not existing yet) while roostd keeps serving.
    Backup {
        path: String,
    },
    // Issue 12: status and sessions.
    /// What roostd is and does: version, uptime, sessions by host, memory,
    /// database size, listeners.
    Status,
    /// The bound client sessions; `filter` is a host (its sessions), a
    /// bare JID (the account's) or a full JID (that session); `None` for
    /// every session.
    C2sList {
        filter: Option<String>,
    },
    /// Ends the session of a full JID, or every session of a bare JID,
    /// with a stream error carrying `reason` (a default text when `None`).
    C2sClose {
        jid: String,
        reason: Option<String>,
    },
    // Issue 12: the audit log.
    /// The audit log's entries that match, newest first.
    Audit {
        query: AuditQuery,
    },
    // Issue 13: the message archive.
    /// How many messages and bytes an account's archive holds, and the
    /// times of its oldest and newest message.
    ArchiveSize {
        jid: String,
    },
    /// Deletes an account's archived messages older than `before_secs`
    /// seconds, or all of them when `None`.
    ArchivePurge {
        jid: String,
        before_secs: Option<u64>,
    },
}

/// What an invite lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteType {
    /// Register one account.
    Account,
    /// Become a contact of the inviter.
    Contact,
    /// Register, then become a contact of the inviter.
    Both,
}

impl InviteType {
    pub const ALL: [InviteType; 3] = [InviteType::Account, InviteType::Contact, InviteType::Both];

    /// The type's name: on the wire and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            InviteType::Account => "account",
            InviteType::Contact => "contact",
            InviteType::Both => "both",
        }
    }

    pub fn from_name(name: &str) -> Option<InviteType> {
        InviteType::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether an inviter must be named.
    pub fn needs_inviter(self) -> bool {
        self != InviteType::Account
    }
}

impl std::fmt::Display for InviteType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A password on its way to roostd. On the wire it is a plain JSON string;
/// in `Debug` output (logs, test failures) it is never shown.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// What an account may do. Admins get the admin commands over XMPP (issue 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::User, Role::Admin];

    /// The role's name: on the wire, in the database, on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseFrame {
    pub v: u32,
    /// The id of the request this answers; 0 when the request could not be read.
    pub id: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(Reply),
    Error(AdminError),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Hello {
        server_version: String,
    },
    /// The virtual hosts roostd serves, in the order of its configuration.
    Hosts {
        hosts: Vec<String>,
    },
    ApiKeyCreated {
        /// The whole key, `ID/SECRET`. The secret is shown this once only.
        key: String,
        info: ApiKeyInfo,
    },
    ApiKeys {
        keys: Vec<ApiKeyInfo>,
    },
    Deleted,
    /// The command was carried out and has nothing to report.
    Done,
    UserCreated {
        /// The account's JID as stored: normalised (nodeprep, lower-case host).
        jid: String,
    },
    Users {
        users: Vec<UserInfo>,
    },
    InviteCreated {
        invite: CreatedInviteInfo,
    },
    Invites {
        invites: Vec<InviteInfo>,
    },
    Invite {
        invite: InviteInfo,
    },
    Clients {
        clients: Vec<ClientInfo>,
    },
    /// What revoking a client did. With `password_reset_required`, the
    /// client had logged in with the account's password: its sessions and
    /// tokens are gone, but only a new password keeps it out.
    ClientRevoked {
        sessions_ended: u32,
        fast_tokens_deleted: u32,
        password_reset_required: bool,
    },
    Roster {
        roster: RosterInfo,
    },
    /// What a roster refresh did: `updated` + `errors` = the distinct JIDs
    /// asked for, and `failures` says why each error happened.
    RosterRefreshed {
        updated: u32,
        errors: u32,
        failures: Vec<RosterRefreshFailure>,
    },
    // Issue 12: reload and backup.
    Reloaded {
        report: ReloadReport,
    },
    BackedUp {
        backup: BackupInfo,
    },
    // Issue 12: status and sessions.
    Status {
        status: StatusInfo,
    },
    /// Sorted by JID.
    C2sSessions {
        sessions: Vec<SessionInfo>,
    },
    /// How many sessions `c2s close` ended (at least one: none is an error).
    C2sClosed {
        sessions_ended: u32,
    },
    // Issue 12: the audit log.
    /// Audit log entries, newest first.
    Audit {
        entries: Vec<AuditEntry>,
    },
    // Issue 13: the message archive.
    ArchiveSize {
        size: ArchiveSizeInfo,
    },
    ArchivePurged {
        purge: ArchivePurgeInfo,
    },
}

/// An account's roster as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterInfo {
    /// The account, normalised.
    pub jid: String,
    /// The roster comes from the host's roster service (issue 10).
    pub delegated: bool,
    /// When the stored copy was last fetched from the service (Unix
    /// seconds); `None` for a local roster or one never fetched.
    pub fetched_at: Option<i64>,
    /// The roster version clients see (`ver`).
    pub version: i64,
    /// By contact JID.
    pub items: Vec<RosterItemInfo>,
}

/// One contact in a roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterItemInfo {
    pub jid: String,
    pub name: Option<String>,
    /// `none`, `to`, `from` or `both` (RFC 6121).
    pub subscription: String,
    /// A subscription request to the contact is pending.
    pub ask: bool,
    /// The contact's subscription request is pre-approved.
    pub approved: bool,
    pub groups: Vec<String>,
}

/// A JID whose roster could not be refreshed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterRefreshFailure {
    pub jid: String,
    pub reason: String,
}

/// One client with access to an account (Prosody's mod_client_management).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// `client/ID`: what `user revoke_client` takes. ID is the client's
    /// SASL2 `<user-agent id>`, or an id roostd made for a legacy client
    /// (one that only bound a resource).
    pub id: String,
    /// From SASL2 `<user-agent><software>`.
    pub software: Option<String>,
    /// From SASL2 `<user-agent><device>`.
    pub device: Option<String>,
    /// Unix seconds.
    pub first_seen: i64,
    /// Unix seconds; updated at most once a minute.
    pub last_seen: i64,
    /// How it still has access, in this order: password, then FAST.
    pub auth: Vec<ClientAuth>,
    /// A session of this client is connected now.
    pub connected: bool,
    /// The full JID of its latest session.
    pub jid: Option<String>,
    /// Known by its resource only (no SASL2 client id): resources are
    /// public and may be reused by another installation.
    pub legacy: bool,
}

/// A way a client got access to an account, as `<auth>` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// It presented the account's password (since the password last changed).
    Password,
    /// It holds a FAST token that still works.
    Fast,
}

impl ClientAuth {
    /// The name on the wire, in tables and in `<auth>` (`<password/>`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Password => "password",
            ClientAuth::Fast => "fast",
        }
    }
}

/// A new invite with its links. The token is in the links only: roostd
/// keeps its hash, so this is the one time it can be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedInviteInfo {
    /// The landing page.
    pub url: String,
    /// The `xmpp:` URI.
    pub uri: String,
    pub id: i64,
    /// Unix seconds.
    pub expires_at: i64,
    pub kind: InviteType,
    pub uses: u32,
}

/// What an admin may know of an invite: everything but its token, which
/// roostd does not have.
///
/// The fields after `uses_left` came later; they default when missing so
/// that answers of older roostd builds (which listed pending invites only
/// and recorded no redemptions) still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    pub id: i64,
    pub kind: InviteType,
    /// `admin`, `api/token/ID` for one made with an API key, or the full
    /// JID of the user who made it over XMPP.
    pub creator: String,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: i64,
    /// `None` for any number of uses until it expires.
    pub uses_left: Option<u32>,
    #[serde(default)]
    pub status: InviteStatus,
    /// The local account whose contact the holder becomes (contact
    /// invites), or the user who made an account invite over XMPP; told
    /// when the invite is used. `None` for an admin's or API key's account
    /// invite.
    #[serde(default)]
    pub inviter: Option<String>,
    /// Every use so far, oldest first.
    #[serde(default)]
    pub redemptions: Vec<RedemptionInfo>,
}

/// Where an invite stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    /// Not expired, with uses left: its link works.
    #[default]
    Pending,
    /// No uses left. Kept until it expires, to show who used it.
    Used,
    /// Past its expiry with uses left; about to be purged.
    Expired,
}

impl InviteStatus {
    /// The status's name: on the wire and in text output.
    pub fn as_str(self) -> &'static str {
        match self {
            InviteStatus::Pending => "pending",
            InviteStatus::Used => "used",
            InviteStatus::Expired => "expired",
        }
    }
}

impl std::fmt::Display for InviteStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One use of an invite: the account that registered with it, or that
/// became the inviter's contact through it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedemptionInfo {
    /// A bare JID.
    pub jid: String,
    /// Unix seconds.
    pub redeemed_at: i64,
}

/// What an admin may know of an account: everything but its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub jid: String,
    pub role: Role,
    /// Unix seconds.
    pub created_at: i64,
}

/// What an admin may know of an API key: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub host: String,
    pub name: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub invites_created: u64,
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AdminError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AdminError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AdminError {
            kind,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The frame could not be read, or its arguments are invalid.
    BadRequest,
    UnsupportedVersion,
    TooLarge,
    UnknownHost,
    NotFound,
    /// What was to be created exists already.
    Conflict,
    /// The peer is not allowed to use the socket.
    Forbidden,
    /// The server failed; details are in its log.
    Internal,
}

impl RequestFrame {
    /// Reads one request frame as roostd does. A frame that is not a
    /// request, or is of another protocol version, gets the error to answer
    /// with and the `id` to answer it under: the frame's when one can be
    /// read (0 otherwise), so a client can still match the answer to its
    /// request.
    pub fn read(line: &[u8]) -> Result<RequestFrame, (u64, AdminError)> {
        let request: RequestFrame = crate::frame::decode(line).map_err(|e| {
            let id = crate::frame::decode::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v.get("id")?.as_u64())
                .unwrap_or(0);
            let error = AdminError::new(ErrorKind::BadRequest, format!("malformed request: {e}"));
            (id, error)
        })?;
        if request.v != PROTOCOL_VERSION {
            let error = AdminError::new(
                ErrorKind::UnsupportedVersion,
                format!(
                    "protocol version {} is not supported; this roostd speaks version \
                     {PROTOCOL_VERSION}",
                    request.v
                ),
            );
            return Err((request.id, error));
        }
        Ok(request)
    }
}

impl ResponseFrame {
    pub fn ok(id: u64, reply: Reply) -> Self {
        ResponseFrame {
            v: PROTOCOL_VERSION,
            id,
            outcome: Outcome::Ok(reply),
        }
    }

    pub fn error(id: u64, error: AdminError) -> Self {
        ResponseFrame {
            v: PROTOCOL_VERSION,
            id,
            outcome: Outcome::Error(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_or_answered() {
        let read = |line: &str| RequestFrame::read(line.as_bytes());
        let request = read(r#"{"v":1,"id":7,"request":"hello"}"#).unwrap();
        assert_eq!((request.id, request.request), (7, Request::Hello));
        let refusal = |line: &str| {
            let (id, error) = read(line).unwrap_err();
            (id, error.kind)
        };
        assert_eq!(
            refusal(r#"{"v":1,"id":9,"request":"no_such"}"#),
            (9, ErrorKind::BadRequest),
            "the id is kept when the request cannot be read"
        );
        assert_eq!(refusal("not json"), (0, ErrorKind::BadRequest));
        assert_eq!(
            refusal(r#"{"v":2,"id":3,"request":"hello"}"#),
            (3, ErrorKind::UnsupportedVersion)
        );
    }

    #[test]
    fn request_wire_shape_is_stable() {
        let frame = RequestFrame {
            v: 1,
            id: 3,
            request: Request::ApiKeyDelete {
                host: "example.com".into(),
                id: "abc".into(),
            },
        };
        let json = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"id":3,"request":{"api_key_delete":{"host":"example.com","id":"abc"}}}"#
        );
        assert_eq!(serde_json::from_str::<RequestFrame>(&json).unwrap(), frame);
        let hello = serde_json::to_string(&RequestFrame {
            v: 1,
            id: 1,
            request: Request::Hello,
        })
        .unwrap();
        assert_eq!(hello, r#"{"v":1,"id":1,"request":"hello"}"#);
    }

    #[test]
    fn response_wire_shape_is_stable() {
        let err = ResponseFrame::error(9, AdminError::new(ErrorKind::NotFound, "key not found"));
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"v":1,"id":9,"outcome":{"error":{"kind":"not_found","message":"key not found"}}}"#
        );
        let ok = ResponseFrame::ok(2, Reply::Deleted);
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"v":1,"id":2,"outcome":{"ok":"deleted"}}"#
        );
    }

    /// Serialises `request` in frame 5, checks the JSON and that it reads back.
    fn assert_request(request: Request, expected: &str) {
        let frame = RequestFrame {
            v: 1,
            id: 5,
            request,
        };
        let json = serde_json::to_string(&frame).unwrap();
        assert_eq!(json, format!(r#"{{"v":1,"id":5,"request":{expected}}}"#));
        assert_eq!(serde_json::from_str::<RequestFrame>(&json).unwrap(), frame);
    }

    #[test]
    fn archive_wire_shapes_are_stable() {
        assert_request(
            Request::ArchiveSize {
                jid: "ann@school.example".into(),
            },
            r#"{"archive_size":{"jid":"ann@school.example"}}"#,
        );
        assert_request(
            Request::ArchivePurge {
                jid: "ann@school.example".into(),
                before_secs: Some(86400),
            },
            r#"{"archive_purge":{"jid":"ann@school.example","before_secs":86400}}"#,
        );
        let reply = Reply::ArchivePurged {
            purge: ArchivePurgeInfo {
                jid: "ann@school.example".into(),
                removed: 3,
            },
        };
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"archive_purged":{"purge":{"jid":"ann@school.example","removed":3}}}"#
        );
    }

    #[test]
    fn roster_wire_shapes_are_stable() {
        assert_request(
            Request::RosterShow {
                jid: "ann@school.example".into(),
            },
            r#"{"roster_show":{"jid":"ann@school.example"}}"#,
        );
        assert_request(
            Request::RosterRefresh {
                jids: vec!["ann@school.example".into(), "bo@school.example".into()],
            },
            r#"{"roster_refresh":{"jids":["ann@school.example","bo@school.example"]}}"#,
        );
        let reply = Reply::RosterRefreshed {
            updated: 1,
            errors: 1,
            failures: vec![RosterRefreshFailure {
                jid: "bo@school.example".into(),
                reason: "timed out".into(),
            }],
        };
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"roster_refreshed":{"updated":1,"errors":1,"failures":[{"jid":"bo@school.example","reason":"timed out"}]}}"#
        );
    }

    #[test]
    fn user_request_wire_shapes_are_stable() {
        assert_request(
            Request::UserCreate {
                jid: "alice@example.com".into(),
                password: Password("s3cret".into()),
                role: Some(Role::Admin),
            },
            r#"{"user_create":{"jid":"alice@example.com","password":"s3cret","role":"admin"}}"#,
        );
        assert_request(
            Request::UserCreate {
                jid: "alice@example.com".into(),
                password: Password("s3cret".into()),
                role: None,
            },
            r#"{"user_create":{"jid":"alice@example.com","password":"s3cret","role":null}}"#,
        );
        assert_request(
            Request::UserPassword {
                jid: "alice@example.com".into(),
                password: Password("n3w".into()),
            },
            r#"{"user_password":{"jid":"alice@example.com","password":"n3w"}}"#,
        );
        assert_request(
            Request::UserDelete {
                jid: "alice@example.com".into(),
            },
            r#"{"user_delete":{"jid":"alice@example.com"}}"#,
        );
        assert_request(
            Request::UserList {
                host: "example.com".into(),
            },
            r#"{"user_list":{"host":"example.com"}}"#,
        );
        assert_request(
            Request::UserSetRole {
                jid: "alice@example.com".into(),
                role: Role::User,
            },
            r#"{"user_set_role":{"jid":"alice@example.com","role":"user"}}"#,
        );
    }

    #[test]
    fn user_reply_wire_shapes_are_stable() {
        let shapes = [
            (Reply::Done, r#""done""#),
            (
                Reply::UserCreated {
                    jid: "alice@example.com".into(),
                },
                r#"{"user_created":{"jid":"alice@example.com"}}"#,
            ),
            (
                Reply::Users {
                    users: vec![UserInfo {
                        jid: "alice@example.com".into(),
                        role: Role::Admin,
                        created_at: 1_700_000_000,
                    }],
                },
                r#"{"users":{"users":[{"jid":"alice@example.com","role":"admin","created_at":1700000000}]}}"#,
            ),
        ];
        for (reply, expected) in shapes {
            let frame = ResponseFrame::ok(4, reply);
            let json = serde_json::to_string(&frame).unwrap();
            assert_eq!(
                json,
                format!(r#"{{"v":1,"id":4,"outcome":{{"ok":{expected}}}}}"#)
            );
            assert_eq!(serde_json::from_str::<ResponseFrame>(&json).unwrap(), frame);
        }
    }

    #[test]
    fn invite_request_wire_shapes_are_stable() {
        assert_request(
            Request::InviteCreate {
                host: "example.com".into(),
                kind: InviteType::Both,
                inviter: Some("bob@example.com".into()),
                ttl_secs: Some(3600),
                uses: 2,
            },
            r#"{"invite_create":{"host":"example.com","kind":"both","inviter":"bob@example.com","ttl_secs":3600,"uses":2}}"#,
        );
        assert_request(
            Request::InviteCreate {
                host: "example.com".into(),
                kind: InviteType::Account,
                inviter: None,
                ttl_secs: None,
                uses: 1,
            },
            r#"{"invite_create":{"host":"example.com","kind":"account","inviter":null,"ttl_secs":null,"uses":1}}"#,
        );
        assert_request(
            Request::InviteList {
                host: "example.com".into(),
                all: false,
            },
            r#"{"invite_list":{"host":"example.com"}}"#,
        );
        assert_request(
            Request::InviteList {
                host: "example.com".into(),
                all: true,
            },
            r#"{"invite_list":{"host":"example.com","all":true}}"#,
        );
        assert_request(
            Request::InviteShow {
                host: "example.com".into(),
                invite: "12".into(),
            },
            r#"{"invite_show":{"host":"example.com","invite":"12"}}"#,
        );
        assert_request(
            Request::InviteRevoke {
                host: "example.com".into(),
                invite: "12".into(),
            },
            r#"{"invite_revoke":{"host":"example.com","invite":"12"}}"#,
        );
    }

    #[test]
    fn invite_reply_wire_shapes_are_stable() {
        let shapes = [
            (
                Reply::InviteCreated {
                    invite: CreatedInviteInfo {
                        url: "https://example.com/invite/T".into(),
                        uri: "xmpp:example.com?register;preauth=T".into(),
                        id: 7,
                        expires_at: 1_700_000_000,
                        kind: InviteType::Account,
                        uses: 1,
                    },
                },
                r#"{"invite_created":{"invite":{"url":"https://example.com/invite/T","uri":"xmpp:example.com?register;preauth=T","id":7,"expires_at":1700000000,"kind":"account","uses":1}}}"#,
            ),
            (
                Reply::Invites {
                    invites: vec![InviteInfo {
                        id: 7,
                        kind: InviteType::Contact,
                        creator: "admin".into(),
                        created_at: 1_600_000_000,
                        expires_at: 1_700_000_000,
                        uses_left: None,
                        status: InviteStatus::Pending,
                        inviter: Some("bob@example.com".into()),
                        redemptions: vec![RedemptionInfo {
                            jid: "carol@example.com".into(),
                            redeemed_at: 1_650_000_000,
                        }],
                    }],
                },
                r#"{"invites":{"invites":[{"id":7,"kind":"contact","creator":"admin","created_at":1600000000,"expires_at":1700000000,"uses_left":null,"status":"pending","inviter":"bob@example.com","redemptions":[{"jid":"carol@example.com","redeemed_at":1650000000}]}]}}"#,
            ),
            (
                Reply::Invite {
                    invite: InviteInfo {
                        id: 8,
                        kind: InviteType::Account,
                        creator: "api/token/k1".into(),
                        created_at: 1_600_000_000,
                        expires_at: 1_700_000_000,
                        uses_left: Some(0),
                        status: InviteStatus::Used,
                        inviter: None,
                        redemptions: Vec::new(),
                    },
                },
                r#"{"invite":{"invite":{"id":8,"kind":"account","creator":"api/token/k1","created_at":1600000000,"expires_at":1700000000,"uses_left":0,"status":"used","inviter":null,"redemptions":[]}}}"#,
            ),
        ];
        for (reply, expected) in shapes {
            let frame = ResponseFrame::ok(4, reply);
            let json = serde_json::to_string(&frame).unwrap();
            assert_eq!(
                json,
                format!(r#"{{"v":1,"id":4,"outcome":{{"ok":{expected}}}}}"#)
            );
            assert_eq!(serde_json::from_str::<ResponseFrame>(&json).unwrap(), frame);
        }
        for kind in InviteType::ALL {
            assert_eq!(InviteType::from_name(kind.as_str()), Some(kind));
        }
        for status in [
            InviteStatus::Pending,
            InviteStatus::Used,
            InviteStatus::Expired,
        ] {
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{status}\"")
            );
        }
        assert_eq!(InviteType::from_name("account_and_contact"), None);
    }

    #[test]
    fn older_invite_answers_still_read() {
        // What roostd answered before invites recorded their redemptions:
        // pending invites only, without status, inviter or redemptions.
        let old = r#"{"v":1,"id":4,"outcome":{"ok":{"invites":{"invites":[{"id":7,"kind":"contact","creator":"admin","created_at":1600000000,"expires_at":1700000000,"uses_left":2}]}}}}"#;
        let frame: ResponseFrame = serde_json::from_str(old).unwrap();
        let Outcome::Ok(Reply::Invites { invites }) = frame.outcome else {
            panic!("not an invite list: {frame:?}");
        };
        assert_eq!(invites[0].status, InviteStatus::Pending);
        assert_eq!(invites[0].inviter, None);
        assert!(invites[0].redemptions.is_empty());
        assert_eq!(invites[0].uses_left, Some(2));
    }

    #[test]
    fn host_list_wire_shapes_are_stable() {
        assert_request(Request::HostList, r#""host_list""#);
        let frame = ResponseFrame::ok(
            4,
            Reply::Hosts {
                hosts: vec!["example.com".into(), "example.org".into()],
            },
        );
        let json = serde_json::to_string(&frame).unwrap();
        assert_eq!(
            json,
            r#"{"v":1,"id":4,"outcome":{"ok":{"hosts":{"hosts":["example.com","example.org"]}}}}"#
        );
        assert_eq!(serde_json::from_str::<ResponseFrame>(&json).unwrap(), frame);
    }

    #[test]
    fn status_and_session_wire_shapes_are_stable() {
        assert_request(Request::Status, r#""status""#);
        assert_request(
            Request::C2sList { filter: None },
            r#"{"c2s_list":{"filter":null}}"#,
        );
        assert_request(
            Request::C2sClose {
                jid: "alice@example.com/phone".into(),
                reason: Some("spam".into()),
            },
            r#"{"c2s_close":{"jid":"alice@example.com/phone","reason":"spam"}}"#,
        );
        let shapes = [
            (
                Reply::Status {
                    status: StatusInfo {
                        version: "0.1.0".into(),
                        started_at: 1_700_000_000,
                        uptime_secs: 60,
                        hosts: vec![HostSessions {
                            host: "example.com".into(),
                            sessions: 2,
                        }],
                        memory_rss_bytes: Some(4096),
                        database_bytes: 8192,
                        listeners: ListenerInfo {
                            c2s: vec!["0.0.0.0:5222".into()],
                            c2s_direct_tls: vec![],
                            http: "127.0.0.1:5280".into(),
                            admin_socket: "/var/lib/roost/roostd.sock".into(),
                            metrics: vec!["127.0.0.1:5290".into()],
                        },
                    },
                },
                r#"{"status":{"status":{"version":"0.1.0","started_at":1700000000,"uptime_secs":60,"hosts":[{"host":"example.com","sessions":2}],"memory_rss_bytes":4096,"database_bytes":8192,"listeners":{"c2s":["0.0.0.0:5222"],"c2s_direct_tls":[],"http":"127.0.0.1:5280","admin_socket":"/var/lib/roost/roostd.sock","metrics":["127.0.0.1:5290"]}}}}"#,
            ),
            (
                Reply::C2sSessions {
                    sessions: vec![SessionInfo {
                        jid: "alice@example.com/phone".into(),
                        address: "192.0.2.1:40000".into(),
                        tls: Some("TLSv1.3".into()),
                        mechanism: "SCRAM-SHA-256-PLUS".into(),
                        software: Some("Conversations".into()),
                        device: None,
                        since: 1_700_000_000,
                        idle_secs: 5,
                        hibernated: true,
                    }],
                },
                r#"{"c2s_sessions":{"sessions":[{"jid":"alice@example.com/phone","address":"192.0.2.1:40000","tls":"TLSv1.3","mechanism":"SCRAM-SHA-256-PLUS","software":"Conversations","device":null,"since":1700000000,"idle_secs":5,"hibernated":true}]}}"#,
            ),
            (
                Reply::C2sClosed { sessions_ended: 2 },
                r#"{"c2s_closed":{"sessions_ended":2}}"#,
            ),
        ];
        for (reply, expected) in shapes {
            let json = serde_json::to_string(&reply).unwrap();
            assert_eq!(json, expected);
            assert_eq!(serde_json::from_str::<Reply>(&json).unwrap(), reply);
        }
    }

    #[test]
    fn roles_and_passwords() {
        for role in Role::ALL {
            assert_eq!(Role::from_name(role.as_str()), Some(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!(Role::from_name("root"), None);
        let bad = r#"{"v":1,"id":1,"request":{"user_set_role":{"jid":"a@b","role":"root"}}}"#;
        assert!(serde_json::from_str::<RequestFrame>(bad).is_err());
        let request = Request::UserPassword {
            jid: "a@b".into(),
            password: Password("hunter2".into()),
        };
        assert!(!format!("{request:?}").contains("hunter2"));
    }
}
