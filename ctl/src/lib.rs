//! roostctl, the Roost admin command line, as a library: the binary is
//! [`run`] on the parsed [`Cli`], and [`command`] is the whole clap tree for
//! man pages and shell completions (see `xtask`).
//!
//! The grammar, the client and the REPL live in `roost-shell`; this crate
//! adds what only the command line has: finding the socket and turning
//! outcomes into exit codes.

pub mod socket;

use std::io::{self, IsTerminal};

use clap::{CommandFactory, Parser};
use roost_shell::client::AdminClient;
use roost_shell::exec;
use roost_shell::grammar::{
    AdminCommand, CliCommand, ConnectionArgs, ReplCommand, ReplLine, ShellArgs,
};
use roost_shell::output::Style;
use roost_shell::password::Console;
use roost_shell::repl::Shell;

pub use roost_shell::grammar::Cli;

/// Exit status for a usage error, as clap uses.
const USAGE_ERROR: u8 = 2;

/// The `roostctl` command tree, for documentation generators.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs roostctl with parsed arguments and returns its exit status.
pub fn run(cli: Cli) -> u8 {
    let Cli {
        connection,
        output,
        command,
    } = cli;
    let line = match command {
        CliCommand::Admin(command) => return one_shot(&connection, &command, output.json),
        CliCommand::Shell(ShellArgs { command }) if command.is_empty() => {
            return match client(&connection) {
                Ok(client) => Shell::new(client, output.json).run(),
                Err(status) => status,
            };
        }
        CliCommand::Shell(ShellArgs { command }) => command,
    };
    // `roostctl shell CMD...`: CMD is one shell line, already split, and
    // runs exactly as `roostctl CMD...` would.
    match ReplLine::try_parse_from(&line) {
        Ok(ReplLine {
            command: ReplCommand::Admin(command),
            output: line_output,
        }) => one_shot(&connection, &command, output.json || line_output.json),
        Ok(ReplLine {
            command: ReplCommand::Quit,
            ..
        }) => 0,
        Err(e) => {
            let _ = e.print();
            u8::try_from(e.exit_code()).unwrap_or(USAGE_ERROR)
        }
    }
}

fn one_shot(connection: &ConnectionArgs, command: &AdminCommand, json: bool) -> u8 {
    let mut client = match client(connection) {
        Ok(client) => client,
        Err(status) => return status,
    };
    let style = Style::choose(json, io::stdout().is_terminal());
    match exec::execute(
        &mut client,
        command,
        style,
        &mut io::stdout().lock(),
        &mut Console,
    ) {
        Ok(()) => 0,
        Err(e) => {
            if !e.is_broken_pipe() {
                eprintln!("roostctl: {e}");
            }
            e.exit_code()
        }
    }
}

/// A client for the resolved socket; a config file that cannot be read is
/// reported here as a usage error.
fn client(connection: &ConnectionArgs) -> Result<AdminClient, u8> {
    match socket::resolve(connection, std::env::var_os("ROOST_SOCKET")) {
        Ok(socket) => Ok(AdminClient::new(socket)),
        Err(e) => {
            eprintln!("roostctl: {e}");
            Err(USAGE_ERROR)
        }
    }
}

/// Parses the process's arguments (clap exits with status 2 on a usage
/// error) and runs.
pub fn run_from_args() -> u8 {
    run(Cli::parse())
}
