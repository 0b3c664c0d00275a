//! The admin command grammar, defined once as a clap derive tree.
//!
//! [`AdminCommand`] is every command that talks to `roostd`. It is mounted
//! under two roots: [`Cli`], the `roostctl` command line (global options plus
//! `shell`), and [`ReplLine`], one line typed at `roostctl shell` (plus
//! `quit`). Both roots parse the admin commands with the same clap
//! definition, so help, errors, man pages and completions can never disagree
//! with what the shell accepts. New command groups (`user`, `invite`) are new
//! variants of [`AdminCommand`] and appear in both places at once.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueHint};
use roost_common::admin::Request;
use roost_common::config::parse_duration;

/// roostctl's exit statuses, for `--help` and the EXIT STATUS section of
/// the man pages.
pub const EXIT_STATUSES: [(u8, &str); 4] = [
    (0, "the command succeeded"),
    (
        1,
        "roostd refused the command (reason on stderr), or output failed",
    ),
    (
        2,
        "usage error: unknown command, bad argument, unreadable config",
    ),
    (
        3,
        "roostd unreachable, or the connection broke before an answer",
    ),
];

/// The environment variables roostctl reads, for `--help` and the
/// ENVIRONMENT section of the man pages.
pub const ENVIRONMENT: [(&str, &str); 3] = [
    (
        "ROOST_CONFIG",
        "config file naming the admin socket, as --config",
    ),
    (
        "ROOST_SOCKET",
        "admin socket, when there is no --socket or config file",
    ),
    (
        "XDG_STATE_HOME",
        "the shell keeps roost/shell_history here [default: ~/.local/state]",
    ),
];

/// The text after `roostctl --help`: exit statuses and environment.
fn root_after_help() -> String {
    let mut text = String::from("Exit status:\n");
    for (code, meaning) in EXIT_STATUSES {
        text.push_str(&format!("  {code}  {meaning}\n"));
    }
    text.push_str("\nEnvironment:\n");
    for (name, meaning) in ENVIRONMENT {
        text.push_str(&format!("  {name:<14}  {meaning}\n"));
    }
    text
}

/// Administer a running roostd.
///
/// roostctl sends one admin command to roostd over its Unix admin socket and
/// prints the answer. roostctl shell opens an interactive shell that takes
/// the same commands, one per line.
///
/// Prosody's spellings work too: roostctl mod_invites_api list HOST is
/// roostctl invites-api list HOST, and roostctl shell CMD... runs a single
/// shell command as prosodyctl shell does.
///
/// The admin socket is, in order: --socket; the socket named by the config
/// file given with --config or ROOST_CONFIG; ROOST_SOCKET; ./data/roostd.sock.
#[derive(Debug, Parser)]
#[command(
    name = "roostctl",
    version,
    subcommand_required = true,
    arg_required_else_help = true,
    after_help = root_after_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(subcommand)]
    pub command: CliCommand,
}

// Where to find roostd; roostctl resolves these in the order the long
// about of `Cli` gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ConnectionArgs {
    /// roostd's admin socket [default: from the config file, else
    /// $ROOST_SOCKET, else ./data/roostd.sock]
    #[arg(long, value_name = "PATH", value_hint = ValueHint::AnyPath, global = true)]
    pub socket: Option<PathBuf>,

    /// roostd's configuration file; its admin socket is used
    #[arg(
        short,
        long,
        value_name = "FILE",
        value_hint = ValueHint::FilePath,
        env = "ROOST_CONFIG",
        global = true,
        hide_env_values = true
    )]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Args)]
pub struct OutputArgs {
    /// Print JSON instead of text
    ///
    /// create prints {"key", "id", "host", "name", "created_at", "expires_at",
    /// "last_used_at", "invites_created"}; list prints an array of such
    /// objects without "key"; delete prints {"deleted": ID, "host": HOST}.
    /// Times are Unix seconds, or null when there is none.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    #[command(flatten)]
    Admin(AdminCommand),

    /// Open the interactive admin shell, or run one shell command
    ///
    /// Without COMMAND, reads commands line by line: at a "roost> " prompt
    /// with history and tab completion when standard input is a terminal,
    /// silently from standard input otherwise (so a script can pipe
    /// commands in). Every roostctl command is a shell command, typed
    /// without "roostctl", for example: invites-api list example.com. Type
    /// help to list them, help CMD to explain one, and quit, exit or Ctrl-D
    /// to leave; Ctrl-C discards the line being typed. An error is reported
    /// on one line and the shell goes on. Reading from a pipe, the exit
    /// status is that of the last command that failed, or 0.
    ///
    /// With COMMAND, runs that one command and exits, exactly as roostctl
    /// COMMAND would.
    ///
    /// The shell keeps one connection to roostd open and reconnects when
    /// roostd restarts. History is kept in
    /// $XDG_STATE_HOME/roost/shell_history, by default
    /// ~/.local/state/roost/shell_history.
    Shell(ShellArgs),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct ShellArgs {
    /// One command to run instead of opening the shell, as typed at the
    /// shell's prompt
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// One line typed at roostctl shell: an admin command, help or quit.
#[derive(Debug, Parser)]
#[command(
    name = "roost",
    no_binary_name = true,
    subcommand_value_name = "COMMAND",
    subcommand_help_heading = "Commands",
    help_template = "{all-args}"
)]
pub struct ReplLine {
    #[command(flatten)]
    pub output: OutputArgs,

    #[command(subcommand)]
    pub command: ReplCommand,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ReplCommand {
    #[command(flatten)]
    Admin(AdminCommand),

    /// Leave the shell (also: exit, Ctrl-D)
    #[command(alias = "exit")]
    Quit,
}

/// Every command that is sent to roostd.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AdminCommand {
    /// Manage the keys of the HTTP invite API
    ///
    /// An API key lets a web service create invites for one virtual host
    /// over HTTP. Prosody's name for this, mod_invites_api, is accepted as
    /// well.
    #[command(subcommand, visible_alias = "mod_invites_api")]
    InvitesApi(InvitesApiCommand),
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum InvitesApiCommand {
    /// Create an API key and print it as ID/SECRET
    ///
    /// The secret is shown only this once: roostd keeps only its hash.
    Create {
        #[command(flatten)]
        host: HostArg,

        /// A label to tell the key from others, such as the service using it
        #[arg(allow_hyphen_values = true)]
        name: Option<String>,

        /// How long the key works: seconds, or 30m, 12h, 7d, 1w
        /// [default: until deleted]
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        expires_in: Option<Duration>,
    },

    /// List the API keys of a host
    ///
    /// On a terminal, a table. Otherwise one ID<TAB>NAME line per key, as
    /// prosodyctl prints them (<unknown> for a key without a name), so
    /// scripts written for Prosody keep working; --json gives every detail.
    List {
        #[command(flatten)]
        host: HostArg,
    },

    /// Delete an API key; it stops working at once
    Delete {
        #[command(flatten)]
        host: HostArg,

        /// The key's ID: the part of the key before the slash
        // IDs are base64url and may start with '-'.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

/// A virtual host, passed to roostd as typed: roostd is the one that knows
/// which hosts it serves, and refuses the others (exit status 1).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HostArg {
    /// The virtual host, such as example.com
    #[arg(value_name = "HOST")]
    pub host: String,
}

impl AdminCommand {
    /// The admin-protocol request that carries out this command.
    pub fn request(&self) -> Request {
        match self {
            AdminCommand::InvitesApi(cmd) => match cmd {
                InvitesApiCommand::Create {
                    host,
                    name,
                    expires_in,
                } => Request::ApiKeyCreate {
                    host: host.host.clone(),
                    name: name.clone(),
                    expires_in_secs: expires_in.map(|d| d.as_secs()),
                },
                InvitesApiCommand::List { host } => Request::ApiKeyList {
                    host: host.host.clone(),
                },
                InvitesApiCommand::Delete { host, id } => Request::ApiKeyDelete {
                    host: host.host.clone(),
                    id: id.clone(),
                },
            },
        }
    }

    /// The command's words, as typed, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            AdminCommand::InvitesApi(InvitesApiCommand::Create { .. }) => "invites-api create",
            AdminCommand::InvitesApi(InvitesApiCommand::List { .. }) => "invites-api list",
            AdminCommand::InvitesApi(InvitesApiCommand::Delete { .. }) => "invites-api delete",
        }
    }
}

/// A key lifetime. Durations under a second would be sent as zero, which
/// the protocol cannot tell from "now", so they are refused here.
fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let lifetime = parse_duration(text)?;
    if lifetime.as_secs() == 0 {
        return Err(format!("'{text}' is shorter than a second"));
    }
    Ok(lifetime)
}

#[cfg(test)]
mod tests;
