//! Carries out one parsed admin command: the request, the answer, the output.
//! A one-shot `roostctl CMD` and a shell line both end up here, which is
//! why they cannot behave differently.

use std::io::{self, Write};
use std::time::Duration;

use roost_common::admin::{Password, Reply, Request};

use crate::client::{AdminClient, ClientError};
use crate::grammar::{
    AdminCommand, ArchiveCommand, C2sCommand, InviteCommand, InvitesApiCommand, RosterCommand,
    UserCommand,
};
use crate::output::clients::{self, Revocation};
use crate::output::roster::{self, Refresh};
use crate::output::{self, Style, invites, operations, qr, sessions, status, users};
use crate::output::{archive, audit};
use crate::password::{PasswordError, PasswordReader};

/// How long `roster refresh` waits for its answer: roostd answers within
/// the roster service's `timeout` plus a second, and the config allows at
/// most five minutes (`roster_delegation.HOST.timeout`).
pub const REFRESH_ANSWER_TIMEOUT: Duration = Duration::from_secs(5 * 60 + 10);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "roostd answered {command} with a {reply} reply; are roostctl and roostd the same version?"
    )]
    UnexpectedReply {
        command: &'static str,
        reply: &'static str,
    },
    #[error("cannot write the output: {0}")]
    Output(#[source] io::Error),
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// `user revoke_client` ended what the client held, but it logged in
    /// with the account's password and can do so again.
    #[error(
        "Password reset required: the client logged in with the account's password; \
         only a new one keeps it out (user password {jid})"
    )]
    PasswordResetRequired { jid: String },
    /// `roster refresh` refreshed some rosters, or none, but not all.
    #[error("rosters not refreshed: {errors} of {asked}")]
    RosterRefreshFailed { errors: u32, asked: u32 },
    /// Options that cannot go together; nothing was sent.
    #[error("{0}")]
    Usage(&'static str),
    /// roostd wrote a backup this process cannot see where roostd says it
    /// is: roostd has a file system view of its own.
    #[error(
        "roostd wrote {path} ({bytes} bytes), but roostctl does not find it there: roostd \
         sees the file system its own way (under systemd: PrivateTmp, ProtectSystem); \
         back up into a directory roostd may write, such as one in the unit's \
         ReadWritePaths or its StateDirectory"
    )]
    BackupOutOfSight { path: String, bytes: u64 },
}

impl Error {
    /// The exit status documented in `roostctl --help`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Client(e) => e.exit_code(),
            Error::UnexpectedReply { .. } => 3,
            Error::Output(_)
            | Error::PasswordResetRequired { .. }
            | Error::RosterRefreshFailed { .. }
            | Error::BackupOutOfSight { .. } => 1,
            // Nothing was sent: like a missing argument.
            Error::Password(_) | Error::Usage(_) => 2,
        }
    }

    /// A reader that went away (`roostctl ... | head`) needs no message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Sends `command` to roostd and writes the answer to `out` in `style`.
/// A command that sets a password gets it from `passwords` first.
pub fn execute(
    client: &mut AdminClient,
    command: &AdminCommand,
    style: Style,
    out: &mut dyn Write,
    passwords: &mut dyn PasswordReader,
) -> Result<(), Error> {
    if style == Style::Json
        && matches!(
            command,
            AdminCommand::Invite(InviteCommand::Create { qr: true, .. })
        )
    {
        // --json is global, so clap cannot tell it conflicts from either side.
        return Err(Error::Usage("--qr cannot be used with --json"));
    }
    let password = command
        .password_input()
        .map(|input| passwords.read(&input))
        .transpose()?;
    let reply = call(client, command, password)?;
    let text = match (command, reply) {
        (
            AdminCommand::InvitesApi(InvitesApiCommand::Create { .. }),
            Reply::ApiKeyCreated { key, info },
        ) => output::created(&key, &info, style),
        (AdminCommand::InvitesApi(InvitesApiCommand::List { host }), Reply::ApiKeys { keys }) => {
            output::key_list(&host.host, &keys, style)
        }
        (AdminCommand::InvitesApi(InvitesApiCommand::Delete { host, id }), Reply::Deleted) => {
            output::deleted(&host.host, id, style)
        }
        (AdminCommand::User(UserCommand::Create { .. }), Reply::UserCreated { jid }) => {
            users::created(&jid, style)
        }
        (AdminCommand::User(UserCommand::Password { jid, .. }), Reply::Done) => {
            users::password_set(&jid.jid, style)
        }
        (AdminCommand::User(UserCommand::Delete { jid }), Reply::Deleted) => {
            users::deleted(&jid.jid, style)
        }
        (AdminCommand::User(UserCommand::List { host }), Reply::Users { users }) => {
            users::list(&host.host, &users, style)
        }
        (AdminCommand::User(UserCommand::SetRole { jid, role }), Reply::Done) => {
            users::role_set(&jid.jid, *role, style)
        }
        (AdminCommand::User(UserCommand::Clients { jid }), Reply::Clients { clients: list }) => {
            clients::list(&jid.jid, &list, style)
        }
        (
            AdminCommand::User(UserCommand::RevokeClient { jid, client }),
            Reply::ClientRevoked {
                sessions_ended,
                fast_tokens_deleted,
                password_reset_required,
            },
        ) => {
            let outcome = Revocation {
                sessions_ended,
                fast_tokens_deleted,
                password_reset_required,
            };
            write(out, &clients::revoked(&jid.jid, client, outcome, style))?;
            return if password_reset_required {
                Err(Error::PasswordResetRequired {
                    jid: jid.jid.clone(),
                })
            } else {
                Ok(())
            };
        }
        (AdminCommand::Roster(RosterCommand::Show { .. }), Reply::Roster { roster: info }) => {
            roster::show(&info, style)
        }
        (
            AdminCommand::Roster(RosterCommand::Refresh { .. }),
            Reply::RosterRefreshed {
                updated,
                errors,
                failures,
            },
        ) => {
            let outcome = Refresh {
                updated,
                errors,
                failures: &failures,
            };
            write(out, &roster::refreshed(outcome, style))?;
            return if errors > 0 {
                Err(Error::RosterRefreshFailed {
                    errors,
                    asked: updated.saturating_add(errors),
                })
            } else {
                Ok(())
            };
        }
        (
            AdminCommand::Invite(InviteCommand::Create { qr: with_qr, .. }),
            Reply::InviteCreated { invite },
        ) => {
            let mut text = invites::created(&invite, style);
            if *with_qr {
                // A landing page URL always fits; `None` would only drop the picture.
                text.extend(qr::terminal(&invite.url, style == Style::Table));
            }
            text
        }
        (AdminCommand::Reload, Reply::Reloaded { report }) => operations::reloaded(&report, style),
        (AdminCommand::Backup { .. }, Reply::BackedUp { backup }) => {
            // roostctl checks what it is told: roostd may have written into
            // a private /tmp that no one else sees and that goes with it.
            let seen = std::fs::metadata(&backup.path).map(|m| m.len());
            if seen.ok() != Some(backup.bytes) {
                return Err(Error::BackupOutOfSight {
                    path: backup.path,
                    bytes: backup.bytes,
                });
            }
            operations::backed_up(&backup, style)
        }
        (
            AdminCommand::Invite(InviteCommand::List { host, all }),
            Reply::Invites { invites: list },
        ) => invites::list(&host.host, &list, *all, style),
        (AdminCommand::Invite(InviteCommand::Show { .. }), Reply::Invite { invite }) => {
            invites::show(&invite, style)
        }
        (AdminCommand::Invite(InviteCommand::Revoke { host, invite }), Reply::Deleted) => {
            invites::revoked(&host.host, invite, style)
        }
        (AdminCommand::Status, Reply::Status { status: info }) => status::show(&info, style),
        (AdminCommand::C2s(C2sCommand::List { filter }), Reply::C2sSessions { sessions: list }) => {
            sessions::list(filter.as_deref(), &list, style)
        }
        (
            AdminCommand::C2s(C2sCommand::Close { session, .. }),
            Reply::C2sClosed { sessions_ended },
        ) => sessions::closed(session, sessions_ended, style),
        (AdminCommand::Audit(_), Reply::Audit { entries }) => audit::list(&entries, style),
        (AdminCommand::Archive(ArchiveCommand::Size { .. }), Reply::ArchiveSize { size }) => {
            archive::size(&size, style)
        }
        (AdminCommand::Archive(ArchiveCommand::Purge { .. }), Reply::ArchivePurged { purge }) => {
            archive::purged(&purge, style)
        }
        (command, reply) => {
            return Err(Error::UnexpectedReply {
                command: command.name(),
                reply: reply_kind(&reply),
            });
        }
    };
    write(out, &text)
}

/// How long `backup` waits for its answer: a copy of a few gigabytes
/// takes minutes; roostd keeps serving meanwhile.
pub const BACKUP_ANSWER_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// Sends the command's request. A roster refresh waits for the roster
/// services, up to their longest configurable timeout, and a backup for
/// the copy, so they get longer than other commands before roostctl gives
/// up.
fn call(
    client: &mut AdminClient,
    command: &AdminCommand,
    password: Option<Password>,
) -> Result<Reply, ClientError> {
    let request = command.request(password);
    let longer = match request {
        Request::RosterRefresh { .. } => REFRESH_ANSWER_TIMEOUT,
        Request::Backup { .. } => BACKUP_ANSWER_TIMEOUT,
        _ => return client.call(request),
    };
    let usual = client.timeout();
    client.set_timeout(usual.max(longer));
    let reply = client.call(request);
    client.set_timeout(usual);
    reply
}

fn write(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

/// Names a reply without its contents, which may include a secret.
fn reply_kind(reply: &Reply) -> &'static str {
    match reply {
        Reply::Hello { .. } => "hello",
        Reply::Hosts { .. } => "host list",
        Reply::ApiKeyCreated { .. } => "key created",
        Reply::ApiKeys { .. } => "key list",
        Reply::Deleted => "deleted",
        Reply::Done => "done",
        Reply::UserCreated { .. } => "user created",
        Reply::Users { .. } => "user list",
        Reply::InviteCreated { .. } => "invite created",
        Reply::Invites { .. } => "invite list",
        Reply::Invite { .. } => "invite",
        Reply::Clients { .. } => "client list",
        Reply::ClientRevoked { .. } => "client revoked",
        Reply::Roster { .. } => "roster",
        Reply::RosterRefreshed { .. } => "roster refreshed",
        Reply::Reloaded { .. } => "reloaded",
        Reply::BackedUp { .. } => "backed up",
        Reply::Status { .. } => "status",
        Reply::C2sSessions { .. } => "session list",
        Reply::C2sClosed { .. } => "sessions closed",
        Reply::Audit { .. } => "audit log",
        Reply::ArchiveSize { .. } => "archive size",
        Reply::ArchivePurged { .. } => "archive purged",
    }
}

#[cfg(test)]
mod tests;
