//! Carries out one parsed admin command: the request, the answer, the output.
//! A one-shot `roostctl CMD` and a shell line both end up here, which is
//! why they cannot behave differently.

use std::io::{self, Write};

use roost_common::admin::Reply;

use crate::client::{AdminClient, ClientError};
use crate::grammar::{AdminCommand, InvitesApiCommand};
use crate::output::{self, Style};

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
}

impl Error {
    /// The exit status documented in `roostctl --help`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Client(e) => e.exit_code(),
            Error::UnexpectedReply { .. } => 3,
            Error::Output(_) => 1,
        }
    }

    /// A reader that went away (`roostctl ... | head`) needs no message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// Sends `command` to roostd and writes the answer to `out` in `style`.
pub fn execute(
    client: &mut AdminClient,
    command: &AdminCommand,
    style: Style,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let reply = client.call(command.request())?;
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
        (command, reply) => {
            return Err(Error::UnexpectedReply {
                command: command.name(),
                reply: reply_kind(&reply),
            });
        }
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

/// Names a reply without its contents, which may include a secret.
fn reply_kind(reply: &Reply) -> &'static str {
    match reply {
        Reply::Hello { .. } => "hello",
        Reply::ApiKeyCreated { .. } => "key created",
        Reply::ApiKeys { .. } => "key list",
        Reply::Deleted => "deleted",
    }
}

#[cfg(test)]
mod tests;
