//! Tab completion for shell lines, read off the clap tree of
//! [`ReplLine`](crate::grammar::ReplLine), so every command and option added
//! to the grammar completes without further work.
//!
//! Deliberately simple: words are split on whitespace (quotes are not
//! interpreted), and only command words and `--options` are offered; host
//! names and key ids would need a round trip to roostd per keystroke.

use clap::CommandFactory;

use crate::grammar::ReplLine;

pub struct Completer {
    root: clap::Command,
}

impl Default for Completer {
    fn default() -> Self {
        Completer::new(ReplLine::command())
    }
}

impl Completer {
    pub fn new(mut root: clap::Command) -> Self {
        // Building adds `help` and `--help` and copies global options down,
        // so the tree holds everything a line may contain.
        root.build();
        Completer { root }
    }

    /// For the text before the cursor, returns where the word being typed
    /// starts and the words it may become, sorted.
    pub fn complete(&self, before_cursor: &str) -> (usize, Vec<String>) {
        let start = before_cursor
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + 1);
        let (done, partial) = before_cursor.split_at(start);
        let mut command = &self.root;
        let mut words = done.split_whitespace();
        while let Some(word) = words.next() {
            if let Some(long) = word.strip_prefix("--") {
                let takes_value = command
                    .get_arguments()
                    .any(|a| a.get_long() == Some(long) && a.get_action().takes_values());
                if takes_value {
                    words.next();
                }
            } else if let Some(sub) = command.find_subcommand(word) {
                command = sub;
            } else if command.has_subcommands() {
                // An unknown command: nothing sensible can follow it.
                return (start, Vec::new());
            }
        }
        let mut candidates: Vec<String> = if partial.starts_with('-') {
            command
                .get_arguments()
                .filter(|a| !a.is_hide_set())
                .filter_map(|a| a.get_long())
                .map(|long| format!("--{long}"))
                .collect()
        } else {
            command
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .flat_map(|s| std::iter::once(s.get_name()).chain(s.get_visible_aliases()))
                .map(str::to_owned)
                .collect()
        };
        candidates.retain(|c| c.starts_with(partial));
        candidates.sort();
        (start, candidates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(line: &str) -> (usize, Vec<String>) {
        Completer::default().complete(line)
    }

    #[test]
    fn first_word_is_a_command() {
        assert_eq!(
            complete(""),
            (
                0,
                vec![
                    "help".into(),
                    "invite".into(),
                    "invites-api".into(),
                    "mod_invites_api".into(),
                    "quit".into(),
                    "user".into()
                ]
            )
        );
        assert_eq!(complete("mod"), (0, vec!["mod_invites_api".into()]));
        assert_eq!(
            complete("inv"),
            (0, vec!["invite".into(), "invites-api".into()])
        );
        assert_eq!(complete("invites"), (0, vec!["invites-api".into()]));
        assert_eq!(complete("  q"), (2, vec!["quit".into()]));
    }

    #[test]
    fn subcommands_follow_their_group_and_its_alias() {
        let subs = vec![
            "create".to_owned(),
            "delete".into(),
            "help".into(),
            "list".into(),
        ];
        assert_eq!(complete("invites-api "), (12, subs.clone()));
        assert_eq!(complete("mod_invites_api "), (16, subs));
        assert_eq!(complete("invites-api de"), (12, vec!["delete".into()]));
    }

    #[test]
    fn options_after_a_dash() {
        let (start, options) = complete("invites-api create example.com --");
        assert_eq!(start, 31);
        assert_eq!(options, vec!["--expires-in", "--help", "--json"]);
        assert_eq!(complete("invites-api list x --j").1, vec!["--json"]);
    }

    #[test]
    fn an_option_value_is_not_taken_for_a_command() {
        use clap::{Arg, Command};
        let tree = Command::new("t")
            .arg(Arg::new("level").long("level").global(true))
            .subcommand(Command::new("list"))
            .subcommand(Command::new("show"));
        // "list" is the value of --level, so a command is still expected.
        let (_, words) = Completer::new(tree).complete("--level list ");
        assert_eq!(words, vec!["help", "list", "show"]);
    }

    #[test]
    fn nothing_after_a_leaf_or_for_unknown_words() {
        assert_eq!(complete("invites-api list example.com "), (29, vec![]));
        assert_eq!(complete("frobnicate "), (11, vec![]));
        assert_eq!(complete("zzz"), (0, vec![]));
    }

    #[test]
    fn user_subcommands_and_options() {
        assert_eq!(
            complete("user "),
            (
                5,
                vec![
                    "create".into(),
                    "delete".into(),
                    "help".into(),
                    "list".into(),
                    "password".into(),
                    "set-role".into()
                ]
            )
        );
        assert_eq!(
            complete("user create a@example.com --").1,
            vec!["--help", "--json", "--password-stdin", "--role"]
        );
    }

    #[test]
    fn help_completes_command_names() {
        assert_eq!(
            complete("help inv"),
            (5, vec!["invite".into(), "invites-api".into()])
        );
        assert_eq!(complete("help invites"), (5, vec!["invites-api".into()]));
    }
}
