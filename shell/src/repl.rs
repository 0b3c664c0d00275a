//! `roostctl shell`: admin commands read line by line.
//!
//! At a terminal it is an interactive shell (rustyline: prompt, history,
//! completion, with hosts, accounts and client ids asked of roostd);
//! otherwise it reads a script from standard input, with no
//! prompt. Either way each line goes through the same steps: split like a
//! shell would, parse with the [`ReplLine`] grammar, run with
//! [`exec::execute`](crate::exec::execute). One connection to roostd serves
//! every line (the client reconnects when roostd restarts); tab completion
//! has one of its own.

use std::ffi::OsString;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Parser;
use clap::error::ErrorKind as ClapErrorKind;
use roost_common::admin::Password;
use rustyline::completion::Pair;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Context, Editor, Helper};

use crate::client::AdminClient;
use crate::complete::{Completer, RoostdNames};
use crate::exec;
use crate::grammar::{PasswordInput, ReplCommand, ReplLine};
use crate::output::Style;
use crate::password::{Console, PasswordError, PasswordReader, next_line};

const PROMPT: &str = "roost> ";

/// Exit status of a line that could not be parsed, as for a one-shot usage
/// error.
const USAGE_ERROR: u8 = 2;

/// What a line asks of the shell after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Read the next line; the status is 0 or the failed command's exit code.
    Continue(u8),
    Quit,
}

pub struct Shell {
    client: AdminClient,
    /// `roostctl --json shell`: JSON for every line.
    json: bool,
    stdout_is_terminal: bool,
}

impl Shell {
    pub fn new(client: AdminClient, json: bool) -> Self {
        Shell {
            client,
            json,
            stdout_is_terminal: io::stdout().is_terminal(),
        }
    }

    /// Reads commands until `quit` or end of input: interactively when
    /// stdin is a terminal, as a script otherwise. Returns the exit status.
    pub fn run(mut self) -> u8 {
        if io::stdin().is_terminal() {
            self.interactive()
        } else {
            self.script(io::stdin().lock(), &mut io::stdout(), &mut io::stderr())
        }
    }

    /// Runs one line. Output goes to `out`; a failure is reported on one
    /// line of `err` (prefixed with `context`, such as a line number) and
    /// its exit code is returned in [`Step::Continue`]. A command that sets
    /// a password gets it from `passwords`.
    pub fn run_line(
        &mut self,
        line: &str,
        context: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
        passwords: &mut dyn PasswordReader,
    ) -> Step {
        let report = |err: &mut dyn Write, message: &str, status: u8| {
            // stderr failing leaves nowhere to report it; the status says it.
            let _ = writeln!(err, "error: {context}{message}");
            Step::Continue(status)
        };
        let words = match shell_words::split(line) {
            Ok(words) if words.is_empty() => return Step::Continue(0),
            Ok(words) if words[0].starts_with('#') => return Step::Continue(0),
            Ok(words) => words,
            Err(_) => return report(err, "unbalanced quotes", USAGE_ERROR),
        };
        let parsed = match ReplLine::try_parse_from(&words) {
            Ok(parsed) => parsed,
            Err(e) if is_help(e.kind()) => {
                // Help for a bare `invites-api` is shown as clap shows it, on
                // stderr with status 2, since the line did nothing.
                let _ = if e.use_stderr() {
                    write!(err, "{}", e.render())
                } else {
                    write!(out, "{}", e.render())
                };
                return Step::Continue(u8::try_from(e.exit_code()).unwrap_or(USAGE_ERROR));
            }
            Err(e) => return report(err, &one_line(&e), USAGE_ERROR),
        };
        let command = match parsed.command {
            ReplCommand::Quit => return Step::Quit,
            ReplCommand::Admin(command) => command,
        };
        let style = Style::choose(self.json || parsed.output.json, self.stdout_is_terminal);
        match exec::execute(&mut self.client, &command, style, out, passwords) {
            Ok(()) => Step::Continue(0),
            Err(e) if e.is_broken_pipe() => Step::Continue(e.exit_code()),
            Err(e) => report(err, &e.to_string(), e.exit_code()),
        }
    }

    /// Runs every line of `input`, numbering errors by line. The status is
    /// that of the last line that failed, or 0, so a script's caller learns
    /// that something went wrong. A `--password-stdin` command takes the
    /// script's next line as its password: that line is the standard input
    /// it reads.
    pub fn script(&mut self, input: impl BufRead, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
        let mut status = 0;
        let mut lines = input.lines();
        let mut number = 0;
        while let Some(line) = lines.next() {
            number += 1;
            let line = match line {
                Ok(line) => line,
                Err(e) => {
                    let _ = writeln!(err, "error: cannot read standard input: {e}");
                    return USAGE_ERROR;
                }
            };
            let mut passwords = ScriptLines {
                lines: &mut lines,
                taken: 0,
            };
            let step = self.run_line(&line, &format!("line {number}: "), out, err, &mut passwords);
            number += passwords.taken;
            match step {
                Step::Quit => break,
                Step::Continue(0) => {}
                Step::Continue(failed) => status = failed,
            }
        }
        status
    }

    fn interactive(&mut self) -> u8 {
        let mut editor = match Editor::<LineHelper, DefaultHistory>::new() {
            Ok(editor) => editor,
            Err(e) => {
                eprintln!("error: cannot set up the terminal: {e}");
                return USAGE_ERROR;
            }
        };
        editor.set_helper(Some(LineHelper {
            completer: Completer::default(),
            names: RoostdNames::new(self.client.socket_path()),
        }));
        let history = history_path(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"));
        if let Some(path) = &history {
            // A first run has no history yet; that is not worth a word.
            let _ = editor.load_history(path);
        }
        self.greet();
        loop {
            match editor.readline(PROMPT) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = editor.add_history_entry(line.as_str());
                    }
                    let step = self.run_line(
                        &line,
                        "",
                        &mut io::stdout(),
                        &mut io::stderr(),
                        &mut Console,
                    );
                    if step == Step::Quit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => break,
                Err(e) => {
                    eprintln!("error: cannot read the terminal: {e}");
                    break;
                }
            }
        }
        if let Some(path) = &history {
            // History is a convenience: an unwritable file must not turn a
            // clean exit into an error.
            let _ = path.parent().map(std::fs::create_dir_all);
            let _ = editor.save_history(path);
        }
        0
    }

    fn greet(&mut self) {
        match self.client.hello() {
            Ok(version) => println!(
                "roostd {version} at {}. Type help for the commands, quit to leave.",
                self.client.socket_path().display()
            ),
            Err(e) => eprintln!("error: {e}"),
        }
    }
}

/// Passwords in a piped script: `--password-stdin` reads the next line.
/// There is no terminal to ask on otherwise.
struct ScriptLines<'a, I> {
    lines: &'a mut I,
    /// How many lines were taken, to keep line numbers right.
    taken: usize,
}

impl<I: Iterator<Item = io::Result<String>>> PasswordReader for ScriptLines<'_, I> {
    fn read(&mut self, input: &PasswordInput<'_>) -> Result<Password, PasswordError> {
        if !input.from_stdin {
            return Err(PasswordError::NoTerminal);
        }
        self.taken += 1;
        next_line(self.lines)
    }
}

fn is_help(kind: ClapErrorKind) -> bool {
    matches!(
        kind,
        ClapErrorKind::DisplayHelp
            | ClapErrorKind::DisplayVersion
            | ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// clap's message without its usage block and hints, which take a screen
/// in a shell where `help CMD` is one word away. The message is clap's first
/// paragraph joined into one line, so that the names of missing arguments,
/// which clap puts on lines of their own, are kept.
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first: Vec<&str> = rendered
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    if first.is_empty() {
        return "invalid command (try help)".into();
    }
    let message = first.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    format!("{message} (try help)")
}

/// `$XDG_STATE_HOME/roost/shell_history`, else
/// `~/.local/state/roost/shell_history`. The XDG base directory spec says a
/// relative `XDG_STATE_HOME` is to be ignored.
pub fn history_path(xdg_state_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let absolute =
        |value: Option<OsString>| value.map(PathBuf::from).filter(|path| path.is_absolute());
    let state = absolute(xdg_state_home)
        .or_else(|| absolute(home).map(|home| home.join(".local/state")))?;
    Some(state.join("roost/shell_history"))
}

/// Plugs the grammar's completion into rustyline, with the names roostd
/// knows.
struct LineHelper {
    completer: Completer,
    names: RoostdNames,
}

impl rustyline::completion::Completer for LineHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = self.completer.complete(&line[..pos], &self.names);
        let pairs = words
            .into_iter()
            .map(|word| Pair {
                replacement: format!("{word} "),
                display: word,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl rustyline::hint::Hinter for LineHelper {
    type Hint = String;
}

impl rustyline::highlight::Highlighter for LineHelper {}

impl rustyline::validate::Validator for LineHelper {}

impl Helper for LineHelper {}

#[cfg(test)]
mod tests;
