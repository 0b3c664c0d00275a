//! `roostd`'s command line. The clap definition here is also the source of
//! `man/roostd.1` (see `xtask`).

use std::path::PathBuf;

use clap::{CommandFactory, Parser};

/// Roost XMPP server.
///
/// Serves XMPP clients, the HTTP invite API and landing pages, and the local
/// admin socket used by roostctl. Without --config it serves the domain
/// `localhost` with its data under ./data.
///
/// Signals: SIGTERM and SIGINT stop it cleanly (connections are closed, storage
/// is committed). SIGHUP reloads, as `roostctl reload` does: the TLS certificate
/// and key are read again and the options that can change live (log_level,
/// [limits], [invite_page]) are applied, keeping every session; a broken file
/// changes nothing and is logged. Under systemd (NOTIFY_SOCKET set) it reports
/// readiness, reloads, stopping and watchdog pings.
#[derive(Debug, Parser)]
#[command(name = "roostd", version, about, long_about)]
pub struct RoostdArgs {
    /// Configuration file (TOML); see roost.example.toml for every option.
    #[arg(short, long, value_name = "FILE", env = "ROOST_CONFIG")]
    pub config: Option<PathBuf>,

    /// Read the configuration, report any error and exit without serving.
    #[arg(long)]
    pub check_config: bool,
}

/// The clap command, for man page generation.
pub fn command() -> clap::Command {
    RoostdArgs::command()
}
