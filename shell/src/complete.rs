//! Tab completion for shell lines, read off the clap tree of
//! [`ReplLine`](crate::grammar::ReplLine), so every command and option added
//! to the grammar completes without further work.
//!
//! Command words and `--options` come from the tree. Argument values that
//! only roostd knows (hosts, account JIDs, an account's client ids) come
//! from a [`Names`], chosen by the argument's name in the grammar: `host`,
//! `jid` (not for `create`, whose account does not exist yet), `jids` (any
//! number of accounts, each offered once), `--inviter`, `client`, which
//! completes the ids of the account typed before it, and the connected
//! sessions' JIDs for `c2s list` (`filter`, with the hosts) and `c2s close`
//! (`session`).
//! [`RoostdNames`] asks roostd for them.
//!
//! Deliberately simple: words are split on whitespace (quotes are not
//! interpreted).

mod roostd_names;

use clap::CommandFactory;

pub use roostd_names::RoostdNames;

use crate::grammar::ReplLine;

/// Names that only roostd knows. An implementation answers quickly or not
/// at all: completion must not hang the shell or print errors mid-line, so
/// any failure is simply no names.
pub trait Names {
    /// The virtual hosts roostd serves.
    fn hosts(&self) -> Vec<String>;
    /// Account JIDs that may start with `prefix` (more is fine: the
    /// completer keeps only those that do).
    fn jids(&self, prefix: &str) -> Vec<String>;
    /// The ids of the clients of the account `jid`.
    fn clients(&self, jid: &str) -> Vec<String>;
    /// The full JIDs of the connected sessions that may start with
    /// `prefix`, and their accounts' bare JIDs. None from a source that
    /// knows no sessions.
    fn sessions(&self, _prefix: &str) -> Vec<String> {
        Vec::new()
    }
}

/// No roostd to ask: only command words and options complete.
pub struct NoNames;

impl Names for NoNames {
    fn hosts(&self) -> Vec<String> {
        Vec::new()
    }

    fn jids(&self, _: &str) -> Vec<String> {
        Vec::new()
    }

    fn clients(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}

pub struct Completer {
    root: clap::Command,
}

impl Default for Completer {
    fn default() -> Self {
        Completer::new(ReplLine::command())
    }
}

/// Where the word being typed stands in the line.
enum Slot<'a> {
    /// After a command with subcommands: one of them.
    Subcommand,
    /// The value of this option.
    OptionValue(&'a clap::Arg),
    /// A positional argument of a leaf command, with the positional words
    /// typed before it.
    Positional {
        command: &'a clap::Command,
        before: Vec<&'a str>,
    },
    /// After a word that is no command: nothing sensible can follow.
    Nothing,
}

impl Completer {
    pub fn new(mut root: clap::Command) -> Self {
        // Building adds `help` and `--help` and copies global options down,
        // so the tree holds everything a line may contain.
        root.build();
        Completer { root }
    }

    /// For the text before the cursor, returns where the word being typed
    /// starts and the words it may become, sorted. `names` is asked only
    /// when the word is a value it knows.
    pub fn complete(&self, before_cursor: &str, names: &dyn Names) -> (usize, Vec<String>) {
        let start = before_cursor
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + 1);
        let (done, partial) = before_cursor.split_at(start);
        let (command, slot) = self.locate(done);
        let mut candidates: Vec<String> = if partial.starts_with('-') {
            command
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long())
                .map(|long| format!("--{long}"))
                .collect()
        } else {
            match slot {
                Slot::Subcommand => command
                    .get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .flat_map(|s| std::iter::once(s.get_name()).chain(s.get_visible_aliases()))
                    .map(str::to_owned)
                    .collect(),
                Slot::OptionValue(arg) if arg.get_id() == "inviter" => names.jids(partial),
                Slot::OptionValue(arg) => possible_values(arg),
                Slot::Nothing => Vec::new(),
                Slot::Positional { command, before } => {
                    positional_values(command, &before, partial, names)
                }
            }
        };
        candidates.retain(|c| c.starts_with(partial));
        candidates.sort();
        candidates.dedup();
        (start, candidates)
    }

    /// Walks the finished words: the command they reach and what the next
    /// word is.
    fn locate<'a>(&'a self, done: &'a str) -> (&'a clap::Command, Slot<'a>) {
        let mut command = &self.root;
        let mut positionals = Vec::new();
        let mut words = done.split_whitespace();
        while let Some(word) = words.next() {
            if let Some(long) = word.strip_prefix("--") {
                let option = command
                    .get_arguments()
                    .find(|a| a.get_long() == Some(long) && a.get_action().takes_values());
                if let Some(option) = option
                    && words.next().is_none()
                {
                    return (command, Slot::OptionValue(option));
                }
            } else if let Some(sub) = command.find_subcommand(word) {
                command = sub;
                positionals.clear();
            } else if command.has_subcommands() {
                return (command, Slot::Nothing);
            } else {
                positionals.push(word);
            }
        }
        if command.has_subcommands() {
            (command, Slot::Subcommand)
        } else {
            (
                command,
                Slot::Positional {
                    command,
                    before: positionals,
                },
            )
        }
    }
}

/// Values for the next positional argument of a leaf command, after the
/// positional words `before`.
fn positional_values(
    command: &clap::Command,
    before: &[&str],
    partial: &str,
    names: &dyn Names,
) -> Vec<String> {
    let positionals: Vec<&clap::Arg> = command.get_positionals().collect();
    // A last argument that takes many values (roster refresh JID...) takes
    // every word after the ones before it.
    let arg = match positionals.get(before.len()) {
        Some(arg) => *arg,
        None => match positionals.last() {
            Some(last) if takes_many(last) => *last,
            _ => return Vec::new(),
        },
    };
    match arg.get_id().as_str() {
        "host" => names.hosts(),
        // A new account's JID is not among the existing ones.
        "jid" if command.get_name() != "create" => names.jids(partial),
        // Each account once: those typed already are not offered again.
        "jids" => {
            let typed = &before[positionals.len() - 1..];
            let mut jids = names.jids(partial);
            jids.retain(|jid| !typed.contains(&jid.as_str()));
            jids
        }
        // `c2s close`: a session or an account with sessions.
        "session" => names.sessions(partial),
        // `c2s list`: a host, or a session or account as above.
        "filter" => {
            let mut values = names.sessions(partial);
            if !partial.contains('@') {
                values.extend(names.hosts());
            }
            values
        }
        _ if !arg.get_possible_values().is_empty() => possible_values(arg),
        "client" => {
            let jid = positionals
                .iter()
                .position(|a| a.get_id() == "jid")
                .and_then(|i| before.get(i));
            jid.map_or_else(Vec::new, |jid| names.clients(jid))
        }
        _ => Vec::new(),
    }
}

/// Whether a positional argument takes more than one word.
fn takes_many(arg: &clap::Arg) -> bool {
    arg.get_num_args()
        .is_some_and(|range| range.max_values() > 1)
}

/// The values an argument accepts, when the grammar lists them (roles,
/// invite types).
fn possible_values(arg: &clap::Arg) -> Vec<String> {
    arg.get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_owned())
        .collect()
}

#[cfg(test)]
mod tests;
