//! The admin command grammar, defined once as a clap derive tree.
//!
//! [`AdminCommand`] is every command that talks to `roostd`. It is mounted
//! under two roots: [`Cli`], the `roostctl` command line (global options plus
//! `shell`), and [`ReplLine`], one line typed at `roostctl shell` (plus
//! `quit`). Both roots parse the admin commands with the same clap
//! definition, so help, errors, man pages and completions can never disagree
//! with what the shell accepts. New command groups (`user`, `invite`,
//! `roster`) are new variants of [`AdminCommand`] and appear in both places
//! at once.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Parser, Subcommand, ValueHint};
use roost_common::admin::{
    AuditAction, AuditQuery, DEFAULT_AUDIT_LIMIT, InviteType, MAX_AUDIT_LIMIT, Password, Request,
    Role,
};
use roost_common::config::{check_lifetime, parse_duration};

/// roostctl's exit statuses, for `--help` and the EXIT STATUS section of
/// the man pages.
pub const EXIT_STATUSES: [(u8, &str); 4] = [
    (0, "the command succeeded"),
    (
        1,
        "refused by roostd or not all done (reason on stderr), or output failed",
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
    /// invites-api create prints {"key", "id", "host", "name", "created_at",
    /// "expires_at", "last_used_at", "invites_created"}; invites-api list an
    /// array of such objects without "key"; invites-api delete
    /// {"deleted": ID, "host": HOST}. Every other command's help gives its
    /// shape. Times are Unix seconds, or null when there is none.
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

    /// Manage user accounts
    ///
    /// An account is a JID such as alice@example.com on one of roostd's
    /// virtual hosts. roostd never stores a password, only SCRAM
    /// credentials derived from it.
    #[command(subcommand)]
    User(UserCommand),

    /// Create, list, show and revoke invites
    ///
    /// An invite is a link that lets its holder register an account, become
    /// a contact of an existing account, or both. roostd keeps only a hash
    /// of each invite's token, so the link is shown once, at creation.
    #[command(subcommand)]
    Invite(InviteCommand),

    /// Show rosters, and fetch delegated ones again
    ///
    /// A roster is an account's contact list. On a host with roster
    /// delegation (a [roster_delegation."HOST"] table in the config),
    /// rosters come from an external service and their users cannot change
    /// them; on other hosts roostd keeps them as users edit them.
    #[command(subcommand)]
    Roster(RosterCommand),

    /// Show the size of an account's message archive, or delete from it
    ///
    /// The message archive (XEP-0313) keeps a copy of each chat message for
    /// its sender and its recipient, so that their clients can fetch the
    /// history. roostd deletes messages past [archive] retention by itself,
    /// and an account's oldest ones past its bounds; these commands are
    /// for looking and for deleting earlier.
    #[command(subcommand)]
    Archive(ArchiveCommand),

    /// Reload the TLS certificate and the options that can change live
    ///
    /// roostd reads its configuration file, certificate and key again, as
    /// on SIGHUP, and applies log_level, [tls], [limits] and [invite_page]
    /// at once, keeping every session. Any other option that differs is
    /// named as needing a restart and keeps its running value. A file that
    /// does not parse, or a certificate that does not load or match its
    /// key, changes nothing and is the error (exit 1). Prints what changed;
    /// --json prints {"changed": [LINE], "needs_restart": [OPTION]}.
    Reload,

    /// Write a consistent copy of the database while roostd serves
    ///
    /// roostd writes FILE itself (so it must be writable by roostd's user),
    /// mode 0600, and never overwrites one that exists. The copy is a
    /// snapshot of one moment, checked before it is given its name; to
    /// restore, stop roostd and put it in place of roost.sqlite3 in the
    /// data directory (README, "Backup and restore"). Prints FILE; --json
    /// prints {"path", "bytes", "millis"}.
    Backup {
        /// Where to write it; a relative path is taken from the current
        /// directory
        #[arg(value_name = "FILE", value_parser = absolute_path)]
        file: String,
    },
    // Issue 12: status and sessions.
    /// Show what roostd is doing: version, uptime, sessions, memory, listeners
    ///
    /// Version, when roostd started and how long it has been up, each
    /// served host with its bound client sessions, roostd's resident memory
    /// (as /proc/self/statm tells; unknown where there is none), the
    /// database's size on disk (the file with its write-ahead log), and
    /// where roostd listens. On a terminal, one field per line. Otherwise
    /// FIELD<TAB>VALUE lines: version, started_at and uptime_secs (Unix
    /// seconds, seconds), one host<TAB>HOST<TAB>SESSIONS line per host,
    /// memory_rss_bytes (empty when unknown), database_bytes, then one
    /// c2s<TAB>ADDRESS, c2s_direct_tls<TAB>ADDRESS line per listener,
    /// http<TAB>ADDRESS, admin_socket<TAB>PATH and one metrics<TAB>ADDRESS
    /// line per metrics listener. --json gives {"version",
    /// "started_at", "uptime_secs", "hosts": [{"host", "sessions"}],
    /// "memory_rss_bytes", "database_bytes", "listeners": {"c2s",
    /// "c2s_direct_tls", "http", "admin_socket", "metrics"}}, memory_rss_bytes null
    /// when unknown.
    Status,

    /// List and end client sessions
    ///
    /// A client session is one connection with a bound resource: a full
    /// JID such as alice@example.com/phone. Prosody's spelling, roostctl
    /// shell c2s show, works too.
    #[command(subcommand)]
    C2s(C2sCommand),

    /// Show the audit log: who changed what, and security events
    ///
    /// roostd records every change made through the admin socket, an
    /// invite API key or by a user over XMPP or the web form, and login
    /// lock-outs, each once: when, who (admin:UID for a command on the
    /// admin socket, api_key:ID, xmpp:JID, web:ADDRESS for the
    /// registration form, connection:ADDRESS for an XMPP client not logged
    /// in, server), the action, the host, the account, the subject (an
    /// invite's number, a key's id, a client, an address) and the outcome
    /// (ok, or a short code saying why it was refused). Commands that only
    /// read (list, show, this one) are not recorded; neither is any
    /// password, key secret or invite token. Entries are kept for
    /// audit.retention of the config (90 days by default).
    ///
    /// Newest first, at most --limit. Filters combine: --host, --jid (the
    /// account concerned, or the XMPP user who acted), --since (at most
    /// this old), --action. On a terminal a table; otherwise one
    /// TIME<TAB>ACTOR<TAB>ACTION<TAB>HOST<TAB>JID<TAB>SUBJECT<TAB>OUTCOME<TAB>DETAIL
    /// line per entry, TIME as 2026-01-31T12:00:00Z and empty fields for
    /// none. --json gives an array of {"id", "at", "actor_kind", "actor",
    /// "action", "host", "jid", "subject", "outcome", "detail"}, at in
    /// Unix seconds, absent values null, actor "" for the server.
    Audit(AuditArgs),
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum C2sCommand {
    /// List the bound client sessions, by JID
    ///
    /// Without an argument every session; with a host that host's; with an
    /// account's JID (alice@example.com) its sessions; with a full JID
    /// (alice@example.com/phone) that session. On a terminal, a table.
    /// Otherwise one
    /// JID<TAB>ADDRESS<TAB>TLS<TAB>MECHANISM<TAB>SOFTWARE<TAB>DEVICE<TAB>SINCE<TAB>IDLE<TAB>STATE
    /// line per session: ADDRESS ip:port, TLS the version (TLSv1.3) or
    /// empty for plain text, MECHANISM the SASL mechanism it logged in
    /// with, SOFTWARE and DEVICE what the client said it is when it logged
    /// in with SASL2 (empty otherwise), SINCE when it bound in Unix seconds,
    /// IDLE the seconds since the client last sent a stanza, STATE
    /// connected, or hibernated while a session with stream management
    /// waits for its client to resume it after losing its connection.
    /// --json gives an array of {"jid", "address", "tls", "mechanism",
    /// "software", "device", "since", "idle_secs", "state"}, tls, software
    /// and device null when there is none. Exit status 1 for a host roostd does not serve or an
    /// invalid JID.
    #[command(visible_alias = "show")]
    List {
        /// A host, an account (user@host) or a session (user@host/resource)
        #[arg(value_name = "HOST|JID")]
        filter: Option<String>,
    },

    /// End a session, or every session of an account
    ///
    /// A full JID (alice@example.com/phone) ends that session, a bare JID
    /// (alice@example.com) every session of the account. Each client gets
    /// a policy-violation stream error carrying the reason (by default
    /// "Your session was ended by an administrator"); nothing keeps it from
    /// logging in again: to keep it out, use user revoke_client, user
    /// password or user delete. Prints "ended N sessions"; --json prints
    /// {"jid", "sessions_ended"}. Exit status 1 when there is no such
    /// session (nothing to end), for an invalid JID or a host roostd does
    /// not serve.
    Close {
        /// The session (user@host/resource) or account (user@host) to end
        #[arg(value_name = "JID")]
        session: String,

        /// What the client is told: up to 1024 bytes, no control characters
        /// but tabs and line breaks
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct AuditArgs {
    /// Only entries about this virtual host
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Only entries about this account, or made by this XMPP user
    #[arg(long, value_name = "JID")]
    pub jid: Option<String>,

    /// Only entries at most this old: seconds, or 30m, 12h, 7d, 1w
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<Duration>,

    /// Only entries of this action
    #[arg(long, value_name = "ACTION", value_parser = audit_action_parser())]
    pub action: Option<AuditAction>,

    /// At most this many entries, the newest
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_AUDIT_LIMIT,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_AUDIT_LIMIT))
    )]
    pub limit: u32,
}

/// The audit actions by their dotted names, as roostd records them.
fn audit_action_parser() -> impl clap::builder::TypedValueParser<Value = AuditAction> {
    PossibleValuesParser::new(AuditAction::ALL.iter().map(|a| a.as_str()))
        .try_map(|name| AuditAction::from_name(&name).ok_or("unknown action"))
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ArchiveCommand {
    /// How many messages an account's archive holds, their size and age
    ///
    /// On a terminal, the count, the size and the times of the oldest and
    /// newest message. Otherwise FIELD<TAB>VALUE lines: jid, messages,
    /// bytes (the messages as stored), oldest and newest (Unix seconds,
    /// empty when the archive is empty). --json gives {"jid", "messages",
    /// "bytes", "oldest", "newest"}, times null when empty. Exit status 1
    /// when there is no such account.
    Size {
        #[command(flatten)]
        jid: JidArg,
    },

    /// Delete an account's archived messages: all, or those older than a time
    ///
    /// With --before DURATION the messages older than that (seconds, or
    /// 30m, 12h, 7d, 1w); with --all every one. One of them is needed.
    /// Recorded in the audit log as archive.purge. Prints "removed N
    /// messages"; when piped removed<TAB>N; --json gives {"jid",
    /// "removed"}. Exit status 1 when there is no such account.
    Purge {
        #[command(flatten)]
        jid: JidArg,

        /// Only messages older than this: seconds, or 30m, 12h, 7d, 1w
        #[arg(
            long,
            value_name = "DURATION",
            value_parser = parse_duration,
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        before: Option<Duration>,

        /// Every message of the account
        #[arg(long)]
        all: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum RosterCommand {
    /// Show an account's roster: contacts, names, subscriptions, groups
    ///
    /// Any account's roster, delegated or kept by roostd, as roostd has it
    /// stored (for a delegated one: the last copy fetched from the
    /// service), by contact JID. On a terminal, a line saying whether the
    /// roster is delegated and when it was last fetched, then a table.
    /// Otherwise one JID<TAB>NAME<TAB>SUBSCRIPTION<TAB>ASK<TAB>APPROVED<TAB>GROUPS
    /// line per contact: NAME empty for none, SUBSCRIPTION none, to, from
    /// or both, ASK yes when a subscription request to the contact is
    /// pending, APPROVED yes when the contact's request is pre-approved,
    /// GROUPS the groups joined with commas (use --json when group names
    /// may contain commas); nothing for an empty roster. --json gives
    /// {"jid", "delegated", "fetched_at", "version", "items": [{"jid",
    /// "name", "subscription", "ask", "approved", "groups"}]}, fetched_at
    /// in Unix seconds or null (a local roster, or one never fetched), name
    /// null for none. Exit status 1 when there is no such account.
    Show {
        #[command(flatten)]
        jid: JidArg,
    },

    /// Fetch delegated rosters again from their roster service
    ///
    /// Does what POST /roster_admin/refresh on roostd's HTTP listener does:
    /// each account's roster is fetched again and stored, and its connected
    /// clients are sent the changes. Every JID must be on a host with
    /// roster delegation; otherwise nothing is fetched and the command
    /// fails (exit status 1). An account that does not exist counts as
    /// updated: its first login fetches its roster. A JID given twice
    /// counts once; one command takes as many JIDs as fit in the 64 KiB an
    /// admin request may have (two thousand or so), more is a usage error
    /// (exit status 2). Prints "updated N, errors M" and, for each failure,
    /// the JID and why; when piped, FIELD<TAB>VALUE lines: updated<TAB>N,
    /// errors<TAB>M, then one failed<TAB>JID<TAB>REASON line per failure.
    /// --json gives {"updated", "errors", "failures": [{"jid", "reason"}]}.
    /// Exit status 1 when any roster could not be refreshed, after printing
    /// the counts and the failures.
    Refresh {
        /// The accounts, such as ann@school.example
        #[arg(value_name = "JID", required = true)]
        jids: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum InviteCommand {
    /// Create an invite and print its landing page URL
    ///
    /// An account invite (the default) lets its holder register one account
    /// on HOST. A contact invite makes its holder a contact of the inviter,
    /// a local account named with --inviter; both does the two. The link is
    /// shown only this once. --json prints {"url", "uri", "id",
    /// "expires_at", "kind", "uses"}, the time in Unix seconds.
    Create {
        #[command(flatten)]
        host: HostArg,

        /// What the invite lets its holder do
        #[arg(
            long = "type",
            value_name = "TYPE",
            value_parser = invite_type_parser(),
            default_value = "account"
        )]
        kind: InviteType,

        /// The account whose contact the invited person becomes, such as
        /// alice@HOST (required for --type contact and both)
        #[arg(
            long,
            value_name = "JID",
            required_if_eq_any = [("kind", "contact"), ("kind", "both")]
        )]
        inviter: Option<String>,

        /// How long the invite works: seconds, or 30m, 12h, 7d, 1w
        /// [default: invites.expiry of the config]
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        ttl: Option<Duration>,

        /// How many times the invite may be used
        #[arg(
            long,
            value_name = "N",
            default_value_t = 1,
            value_parser = clap::value_parser!(u32).range(1..)
        )]
        uses: u32,

        /// Also print the link as a QR code, to scan with a phone (not
        /// with --json)
        #[arg(long)]
        qr: bool,
    },

    /// List the pending invites of a host, oldest first, with who used them
    ///
    /// Pending: not expired, with uses left. Each invite shows who redeemed
    /// it so far and when (a multi-use invite may have been used already).
    /// Tokens are not shown: roostd keeps only their hashes. On a terminal,
    /// a table. Otherwise one
    /// ID<TAB>KIND<TAB>EXPIRES<TAB>CREATOR<TAB>STATUS<TAB>USED_BY line per
    /// invite, EXPIRES in Unix seconds, USED_BY a space-separated list of
    /// JID,SECONDS (empty when unused); --json gives an array of {"id",
    /// "kind", "creator", "created_at", "expires_at", "uses_left", "status",
    /// "inviter", "redemptions": [{"jid", "redeemed_at"}]} (uses_left null
    /// for unlimited, inviter null for none).
    List {
        #[command(flatten)]
        host: HostArg,

        /// Also list used-up invites; roostd keeps them until they expire
        #[arg(long)]
        all: bool,
    },

    /// Show one invite in detail, with who used it and when
    ///
    /// Any invite roostd still has: pending, used up (kept until it
    /// expires) or expired (until roostd purges it, within minutes). On a
    /// terminal, one field per line. Otherwise FIELD<TAB>VALUE lines, times
    /// in Unix seconds, and one redemption<TAB>JID<TAB>SECONDS line per use;
    /// --json gives one object as invite list --json does.
    Show {
        #[command(flatten)]
        host: HostArg,

        /// The invite's id, as invite list shows it, or its token: the last
        /// part of its link
        // Tokens are base64url and may start with '-'.
        #[arg(value_name = "ID_OR_TOKEN", allow_hyphen_values = true)]
        invite: String,
    },

    /// Revoke an invite; its link stops working at once
    ///
    /// Prints nothing; --json prints {"revoked": ID_OR_TOKEN, "host": HOST}.
    Revoke {
        #[command(flatten)]
        host: HostArg,

        /// The invite's id, as invite list shows it, or its token: the last
        /// part of its link
        // Tokens are base64url and may start with '-'.
        #[arg(value_name = "ID_OR_TOKEN", allow_hyphen_values = true)]
        invite: String,
    },
}

/// `account`, `contact` or `both`.
fn invite_type_parser() -> impl clap::builder::TypedValueParser<Value = InviteType> {
    PossibleValuesParser::new(InviteType::ALL.map(InviteType::as_str))
        .try_map(|name| InviteType::from_name(&name).ok_or("unknown invite type"))
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

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum UserCommand {
    /// Create an account
    ///
    /// On a terminal the password is asked for twice and not shown. Scripts
    /// give it with --password-stdin, as one line on standard input (in a
    /// script piped to roostctl shell: the script's next line). Prints
    /// nothing; --json prints {"jid": JID}.
    Create {
        #[command(flatten)]
        jid: JidArg,

        /// What the account may do [default: user]
        #[arg(long, value_name = "ROLE", value_parser = role_parser())]
        role: Option<Role>,

        #[command(flatten)]
        password: PasswordArgs,
    },

    /// Set a new password for an account
    ///
    /// Asked for as by user create. Prints nothing; --json prints
    /// {"jid": JID}.
    Password {
        #[command(flatten)]
        jid: JidArg,

        #[command(flatten)]
        password: PasswordArgs,
    },

    /// Delete an account with its roster and offline messages
    ///
    /// Prints nothing; --json prints {"deleted": JID}.
    Delete {
        #[command(flatten)]
        jid: JidArg,
    },

    /// List the accounts of a host
    ///
    /// On a terminal, a table. Otherwise one JID per line; --json gives an
    /// array of {"jid", "role", "created_at"}, the time in Unix seconds.
    List {
        #[command(flatten)]
        host: HostArg,
    },

    /// Make an account an admin or a plain user
    ///
    /// Prints nothing; --json prints {"jid": JID, "role": ROLE}.
    SetRole {
        #[command(flatten)]
        jid: JidArg,

        /// The new role
        #[arg(value_name = "ROLE", value_parser = role_parser())]
        role: Role,
    },

    /// List the clients that have access to an account
    ///
    /// A client is one installation of an XMPP app: known by the id it
    /// gave when it logged in (SASL2), or by its resource for an app that
    /// gave none. Listed are those that logged in with the account's
    /// password since it last changed, hold a FAST token, or are connected
    /// now, oldest use first. On a terminal, a table. Otherwise one
    /// ID<TAB>SOFTWARE<TAB>DEVICE<TAB>FIRST_SEEN<TAB>LAST_SEEN<TAB>AUTH<TAB>CONNECTED
    /// line per client: times in Unix seconds, AUTH a comma-separated list
    /// of password and fast (empty for none), CONNECTED yes or no,
    /// SOFTWARE and DEVICE empty when unknown. --json gives an array of
    /// {"id", "software", "device", "first_seen", "last_seen", "auth",
    /// "connected", "jid", "legacy"} (software, device and jid null when
    /// unknown; jid is the full JID of its latest session; legacy true for
    /// a client known by its resource only). Prosody's spelling, roostctl
    /// shell user clients JID, works too.
    Clients {
        #[command(flatten)]
        jid: JidArg,
    },

    /// Revoke a client's access: end its sessions, delete its FAST tokens
    ///
    /// The client's connections are closed at once and its FAST tokens
    /// stop working. Prints what was ended, such as "ended 1 session,
    /// deleted 2 FAST tokens", or "nothing to end"; --json prints {"jid",
    /// "client", "sessions_ended", "fast_tokens_deleted",
    /// "password_reset_required"}. Exit status 1 with "Client not found"
    /// when the account has no such client, and with "Password reset
    /// required" on standard error when the client logged in with the
    /// account's password: what it held is ended all the same, but only a
    /// new password (user password JID) keeps it out. Prosody's spelling,
    /// roostctl shell user revoke_client JID ID, works too.
    #[command(name = "revoke_client", visible_alias = "revoke-client")]
    RevokeClient {
        #[command(flatten)]
        jid: JidArg,

        /// The client, by its id as user clients shows it, such as
        /// client/AbC123
        // Passed as typed: roostd knows which ids exist. allow_hyphen_values
        // because an id chosen by a client may start with '-'.
        #[arg(value_name = "ID", allow_hyphen_values = true)]
        client: String,
    },
}

/// An account's JID, passed to roostd as typed: roostd normalises it and
/// refuses one that is invalid or not on a host it serves (exit status 1).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct JidArg {
    /// The account, such as alice@example.com
    #[arg(value_name = "JID")]
    pub jid: String,
}

/// How a command that sets a password gets it.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct PasswordArgs {
    /// Read the password from standard input, one line without its line
    /// ending, instead of asking for it
    #[arg(long)]
    pub password_stdin: bool,
}

/// Where a command's new password is to come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordInput<'a> {
    /// The account it is for, as typed.
    pub jid: &'a str,
    /// `--password-stdin`: read a line instead of asking.
    pub from_stdin: bool,
    /// Whether the account is being created (rather than changed).
    pub new_account: bool,
}

/// `admin` or `user`, as roostd names roles.
fn role_parser() -> impl clap::builder::TypedValueParser<Value = Role> {
    PossibleValuesParser::new(Role::ALL.map(Role::as_str))
        .try_map(|name| Role::from_name(&name).ok_or("unknown role"))
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
    /// Where the command's password comes from, for the commands that set one.
    pub fn password_input(&self) -> Option<PasswordInput<'_>> {
        let (jid, password, new_account) = match self {
            AdminCommand::User(UserCommand::Create { jid, password, .. }) => (jid, password, true),
            AdminCommand::User(UserCommand::Password { jid, password }) => (jid, password, false),
            _ => return None,
        };
        Some(PasswordInput {
            jid: &jid.jid,
            from_stdin: password.password_stdin,
            new_account,
        })
    }

    /// The admin-protocol request that carries out this command. `password`
    /// is the one obtained as [`password_input`](Self::password_input)
    /// says; a command that needs one sends an empty password without it,
    /// which roostd refuses.
    pub fn request(&self, password: Option<Password>) -> Request {
        let password = password.unwrap_or_default();
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
            AdminCommand::User(cmd) => match cmd {
                UserCommand::Create { jid, role, .. } => Request::UserCreate {
                    jid: jid.jid.clone(),
                    password,
                    role: *role,
                },
                UserCommand::Password { jid, .. } => Request::UserPassword {
                    jid: jid.jid.clone(),
                    password,
                },
                UserCommand::Delete { jid } => Request::UserDelete {
                    jid: jid.jid.clone(),
                },
                UserCommand::List { host } => Request::UserList {
                    host: host.host.clone(),
                },
                UserCommand::SetRole { jid, role } => Request::UserSetRole {
                    jid: jid.jid.clone(),
                    role: *role,
                },
                UserCommand::Clients { jid } => Request::UserClients {
                    jid: jid.jid.clone(),
                },
                UserCommand::RevokeClient { jid, client } => Request::UserRevokeClient {
                    jid: jid.jid.clone(),
                    client: client.clone(),
                },
            },
            AdminCommand::Roster(cmd) => match cmd {
                RosterCommand::Show { jid } => Request::RosterShow {
                    jid: jid.jid.clone(),
                },
                RosterCommand::Refresh { jids } => Request::RosterRefresh { jids: jids.clone() },
            },
            AdminCommand::Archive(cmd) => match cmd {
                ArchiveCommand::Size { jid } => Request::ArchiveSize {
                    jid: jid.jid.clone(),
                },
                ArchiveCommand::Purge { jid, before, .. } => Request::ArchivePurge {
                    jid: jid.jid.clone(),
                    before_secs: before.map(|d| d.as_secs()),
                },
            },
            AdminCommand::Reload => Request::Reload,
            AdminCommand::Backup { file } => Request::Backup { path: file.clone() },
            AdminCommand::Status => Request::Status,
            AdminCommand::C2s(cmd) => match cmd {
                C2sCommand::List { filter } => Request::C2sList {
                    filter: filter.clone(),
                },
                C2sCommand::Close { session, reason } => Request::C2sClose {
                    jid: session.clone(),
                    reason: reason.clone(),
                },
            },
            AdminCommand::Invite(cmd) => match cmd {
                InviteCommand::Create {
                    host,
                    kind,
                    inviter,
                    ttl,
                    uses,
                    qr: _,
                } => Request::InviteCreate {
                    host: host.host.clone(),
                    kind: *kind,
                    inviter: inviter.clone(),
                    ttl_secs: ttl.map(|d| d.as_secs()),
                    uses: *uses,
                },
                InviteCommand::List { host, all } => Request::InviteList {
                    host: host.host.clone(),
                    all: *all,
                },
                InviteCommand::Show { host, invite } => Request::InviteShow {
                    host: host.host.clone(),
                    invite: invite.clone(),
                },
                InviteCommand::Revoke { host, invite } => Request::InviteRevoke {
                    host: host.host.clone(),
                    invite: invite.clone(),
                },
            },
            AdminCommand::Audit(args) => Request::Audit {
                query: AuditQuery {
                    host: args.host.clone(),
                    jid: args.jid.clone(),
                    since_secs: args.since.map(|d| d.as_secs().max(1)),
                    action: args.action,
                    limit: Some(args.limit),
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
            AdminCommand::User(UserCommand::Create { .. }) => "user create",
            AdminCommand::User(UserCommand::Password { .. }) => "user password",
            AdminCommand::User(UserCommand::Delete { .. }) => "user delete",
            AdminCommand::User(UserCommand::List { .. }) => "user list",
            AdminCommand::User(UserCommand::SetRole { .. }) => "user set-role",
            AdminCommand::User(UserCommand::Clients { .. }) => "user clients",
            AdminCommand::User(UserCommand::RevokeClient { .. }) => "user revoke_client",
            AdminCommand::Invite(InviteCommand::Create { .. }) => "invite create",
            AdminCommand::Invite(InviteCommand::List { .. }) => "invite list",
            AdminCommand::Invite(InviteCommand::Show { .. }) => "invite show",
            AdminCommand::Invite(InviteCommand::Revoke { .. }) => "invite revoke",
            AdminCommand::Roster(RosterCommand::Show { .. }) => "roster show",
            AdminCommand::Roster(RosterCommand::Refresh { .. }) => "roster refresh",
            AdminCommand::Archive(ArchiveCommand::Size { .. }) => "archive size",
            AdminCommand::Archive(ArchiveCommand::Purge { .. }) => "archive purge",
            AdminCommand::Reload => "reload",
            AdminCommand::Backup { .. } => "backup",
            AdminCommand::Status => "status",
            AdminCommand::C2s(C2sCommand::List { .. }) => "c2s list",
            AdminCommand::C2s(C2sCommand::Close { .. }) => "c2s close",
            AdminCommand::Audit(_) => "audit",
        }
    }
}

/// A path made absolute against the current directory: roostd, which
/// writes the file, has a working directory of its own.
fn absolute_path(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("an empty path".into());
    }
    let path = std::path::absolute(text).map_err(|e| format!("'{text}': {e}"))?;
    path.into_os_string()
        .into_string()
        .map_err(|_| format!("'{text}' is not UTF-8"))
}

/// A key or invite lifetime. Durations under a second would be sent as
/// zero, which the protocol cannot tell from "now", so they are refused
/// here, as are those longer than the server accepts.
fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let lifetime = parse_duration(text)?;
    if lifetime.as_secs() == 0 {
        return Err(format!("'{text}' is shorter than a second"));
    }
    check_lifetime(lifetime)
}

#[cfg(test)]
mod tests;
