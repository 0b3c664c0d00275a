//! The audit log's types on the admin protocol (issue 12): who did what to
//! what, when, and how it ended. [`AuditAction`] is the one definition of
//! the actions: roostd stores their names, `roostctl audit` prints them and
//! its `--action` filter accepts exactly them.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Most entries one `audit` request returns.
pub const MAX_AUDIT_LIMIT: u32 = 10_000;
/// Entries an `audit` request returns when it names no limit.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;

/// Who made a change or caused a security event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AuditActor {
    /// A command on the admin socket, by the process of this uid.
    Admin { uid: u32 },
    /// An invite API key, by its public id (never its secret).
    ApiKey { id: String },
    /// A logged-in XMPP user, by bare JID.
    Xmpp { jid: String },
    /// The web registration form, by the client's address.
    Web { address: IpAddr },
    /// An XMPP connection that has not logged in (in-band registration, a
    /// login attempt), by its address.
    Connection { address: IpAddr },
    /// roostd itself.
    Server,
}

impl AuditActor {
    /// The kind's name, as stored and printed.
    pub fn kind(&self) -> &'static str {
        match self {
            AuditActor::Admin { .. } => "admin",
            AuditActor::ApiKey { .. } => "api_key",
            AuditActor::Xmpp { .. } => "xmpp",
            AuditActor::Web { .. } => "web",
            AuditActor::Connection { .. } => "connection",
            AuditActor::Server => "server",
        }
    }

    /// Who within the kind: a uid, key id, JID or address; empty for the
    /// server.
    pub fn name(&self) -> String {
        match self {
            AuditActor::Admin { uid } => uid.to_string(),
            AuditActor::ApiKey { id } => id.clone(),
            AuditActor::Xmpp { jid } => jid.clone(),
            AuditActor::Web { address } | AuditActor::Connection { address } => address.to_string(),
            AuditActor::Server => String::new(),
        }
    }

    /// The actor from its stored kind and name; `None` for a pair no
    /// roostd writes.
    pub fn from_parts(kind: &str, name: &str) -> Option<AuditActor> {
        Some(match kind {
            "admin" => AuditActor::Admin {
                uid: name.parse().ok()?,
            },
            "api_key" => AuditActor::ApiKey { id: name.into() },
            "xmpp" => AuditActor::Xmpp { jid: name.into() },
            "web" => AuditActor::Web {
                address: name.parse().ok()?,
            },
            "connection" => AuditActor::Connection {
                address: name.parse().ok()?,
            },
            "server" => AuditActor::Server,
            _ => return None,
        })
    }
}

impl std::fmt::Display for AuditActor {
    /// `KIND:NAME`, or `server`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditActor::Server => f.write_str("server"),
            other => write!(f, "{}:{}", other.kind(), other.name()),
        }
    }
}

/// Defines [`AuditAction`] with its dotted names in one place.
macro_rules! audit_actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// What was done. The dotted names are stored, printed and filtered on.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum AuditAction {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl AuditAction {
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }
        }
    };
}

audit_actions! {
    /// An invite API key was created.
    ApiKeyCreate => "api_key.create",
    /// An invite API key was deleted.
    ApiKeyDelete => "api_key.delete",
    /// An invite was created (by an admin, an API key or a user).
    InviteCreate => "invite.create",
    /// An invite was revoked.
    InviteRevoke => "invite.revoke",
    /// An invite was used; the detail names the door.
    InviteRedeem => "invite.redeem",
    /// An account was created without an invite (admin, open registration).
    AccountCreate => "account.create",
    /// An account was deleted (by an admin or by its user).
    AccountDelete => "account.delete",
    /// An account's password was changed.
    AccountPassword => "account.password",
    /// An account's role was changed.
    AccountRole => "account.role",
    /// A client's access to an account was revoked.
    ClientRevoke => "client.revoke",
    /// Rosters were fetched again from their roster service.
    RosterRefresh => "roster.refresh",
    /// Logins from an address, or for an account from an address, started
    /// being refused.
    LoginLockout => "login.lockout",
    /// A process of another uid was refused the admin socket.
    AdminConnect => "admin.connect",
    /// Sessions were ended by an admin (`c2s close`); the detail has the
    /// count and the reason given.
    SessionClose => "session.close",
    /// The configuration and certificate were read again (SIGHUP or
    /// `roostctl reload`); the detail lists what changed.
    ServerReload => "server.reload",
    /// A copy of the database was written (`roostctl backup`); the subject
    /// is the file.
    DatabaseBackup => "database.backup",
    /// Messages were deleted from an account's archive (`roostctl archive
    /// purge`); the detail has how many and from before when.
    ArchivePurge => "archive.purge",
}

impl AuditAction {
    pub fn from_name(name: &str) -> Option<AuditAction> {
        AuditAction::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == name)
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Increases with every entry: newer entries have larger ids.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor: AuditActor,
    pub action: AuditAction,
    /// The virtual host concerned, when there is one.
    pub host: Option<String>,
    /// The account concerned, when there is one.
    pub jid: Option<String>,
    /// What was acted on besides the account: an invite's numeric id, a
    /// key's id, a client id, an address.
    pub subject: Option<String>,
    /// `ok`, or a short code saying why it was refused or failed.
    pub outcome: String,
    /// More about it (an invite's door, a new role), when there is more.
    pub detail: Option<String>,
}

/// Which entries `roostctl audit` asks for; every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub host: Option<String>,
    /// The account concerned, or the XMPP user who acted.
    pub jid: Option<String>,
    /// Only entries at most this many seconds old.
    pub since_secs: Option<u64>,
    pub action: Option<AuditAction>,
    /// At most this many entries, newest first; [`DEFAULT_AUDIT_LIMIT`]
    /// when absent, never more than [`MAX_AUDIT_LIMIT`].
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for &action in AuditAction::ALL {
            assert_eq!(AuditAction::from_name(action.as_str()), Some(action));
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
        assert_eq!(AuditAction::from_name("invite"), None);
    }

    #[test]
    fn actors_round_trip_through_their_parts() {
        let actors = [
            AuditActor::Admin { uid: 1000 },
            AuditActor::ApiKey { id: "k1".into() },
            AuditActor::Xmpp {
                jid: "a@example.com".into(),
            },
            AuditActor::Web {
                address: "192.0.2.1".parse().unwrap(),
            },
            AuditActor::Connection {
                address: "2001:db8::1".parse().unwrap(),
            },
            AuditActor::Server,
        ];
        for actor in actors {
            assert_eq!(
                AuditActor::from_parts(actor.kind(), &actor.name()),
                Some(actor.clone())
            );
        }
        assert_eq!(AuditActor::from_parts("admin", "root"), None);
    }
}
