//! Completion off the grammar, and of the names roostd knows through a
//! stand-in [`Names`].

use std::cell::RefCell;

use super::*;

mod sessions;

fn complete(line: &str) -> (usize, Vec<String>) {
    Completer::default().complete(line, &NoNames)
}

#[test]
fn first_word_is_a_command() {
    assert_eq!(
        complete(""),
        (
            0,
            vec![
                "archive".into(),
                "audit".into(),
                "backup".into(),
                "c2s".into(),
                "help".into(),
                "invite".into(),
                "invites-api".into(),
                "mod_invites_api".into(),
                "quit".into(),
                "reload".into(),
                "roster".into(),
                "status".into(),
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
    let (_, words) = Completer::new(tree).complete("--level list ", &NoNames);
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
                "clients".into(),
                "create".into(),
                "delete".into(),
                "help".into(),
                "list".into(),
                "password".into(),
                "revoke-client".into(),
                "revoke_client".into(),
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

/// Two hosts with their accounts, and alice's clients; records what it
/// was asked.
#[derive(Default)]
struct Known {
    asked: RefCell<Vec<String>>,
}

impl Names for Known {
    fn hosts(&self) -> Vec<String> {
        self.asked.borrow_mut().push("hosts".into());
        vec!["example.com".into(), "example.org".into()]
    }

    fn jids(&self, prefix: &str) -> Vec<String> {
        self.asked.borrow_mut().push(format!("jids {prefix}"));
        vec![
            "alice@example.com".into(),
            "bob@example.com".into(),
            "alice@example.org".into(),
        ]
    }

    fn clients(&self, jid: &str) -> Vec<String> {
        self.asked.borrow_mut().push(format!("clients {jid}"));
        if jid == "alice@example.com" {
            vec!["client/7lQ6PFduJt".into(), "client/mVq3-Yk2".into()]
        } else {
            Vec::new()
        }
    }

    fn sessions(&self, prefix: &str) -> Vec<String> {
        self.asked.borrow_mut().push(format!("sessions {prefix}"));
        vec![
            "alice@example.com".into(),
            "alice@example.com/laptop".into(),
            "alice@example.com/phone".into(),
            "bob@example.org".into(),
            "bob@example.org/x".into(),
        ]
    }
}

fn with_names(line: &str) -> (Vec<String>, Vec<String>) {
    let known = Known::default();
    let (start, words) = Completer::default().complete(line, &known);
    assert_eq!(start, line.rfind(' ').map_or(0, |i| i + 1), "{line}");
    (words, known.asked.take())
}

#[test]
fn account_jids_after_user_commands() {
    let all = vec![
        "alice@example.com".to_owned(),
        "alice@example.org".into(),
        "bob@example.com".into(),
    ];
    for line in [
        "user clients ",
        "user revoke_client ",
        "user revoke-client ",
        "user delete ",
        "user password ",
        "user set-role ",
        "--json user clients ",
    ] {
        assert_eq!(with_names(line).0, all, "{line}");
    }
    let (words, asked) = with_names("user clients al");
    assert_eq!(words, ["alice@example.com", "alice@example.org"]);
    assert_eq!(asked, ["jids al"]);
    assert_eq!(
        with_names("user clients alice@example.o").0,
        ["alice@example.org"]
    );
    // A new account is not among the existing ones.
    assert_eq!(with_names("user create "), (vec![], vec![]));
    assert_eq!(
        with_names("invite create example.com --type contact --inviter b").0,
        ["bob@example.com"]
    );
}

#[test]
fn client_ids_of_the_account_typed_before() {
    let (words, asked) = with_names("user revoke_client alice@example.com ");
    assert_eq!(words, ["client/7lQ6PFduJt", "client/mVq3-Yk2"]);
    assert_eq!(asked, ["clients alice@example.com"]);
    assert_eq!(
        with_names("user revoke-client alice@example.com client/m").0,
        ["client/mVq3-Yk2"]
    );
    assert_eq!(
        with_names("user revoke_client --json alice@example.com ").0,
        ["client/7lQ6PFduJt", "client/mVq3-Yk2"]
    );
    assert_eq!(
        with_names("user revoke_client bob@example.com ").0,
        Vec::<String>::new()
    );
    // Nothing after the last argument, and roostd is not asked.
    assert_eq!(
        with_names("user revoke_client alice@example.com client/mVq3-Yk2 "),
        (vec![], vec![])
    );
    assert_eq!(
        with_names("user clients alice@example.com "),
        (vec![], vec![])
    );
}

#[test]
fn hosts_and_listed_values() {
    assert_eq!(with_names("user list ").0, ["example.com", "example.org"]);
    assert_eq!(with_names("invite list example.c").0, ["example.com"]);
    assert_eq!(
        with_names("invites-api delete ").0,
        ["example.com", "example.org"]
    );
    // A key id is not something completion knows.
    assert_eq!(
        with_names("invites-api delete example.com "),
        (vec![], vec![])
    );
    assert_eq!(
        with_names("user set-role alice@example.com ").0,
        ["admin", "user"]
    );
    assert_eq!(
        with_names("invite create example.com --type ").0,
        ["account", "both", "contact"]
    );
}

#[test]
fn commands_and_options_never_ask_roostd() {
    for line in ["", "user ", "user cl", "user clients --", "help user "] {
        assert_eq!(with_names(line).1, Vec::<String>::new(), "{line:?}");
    }
}

#[test]
fn roster_subcommands() {
    assert_eq!(
        complete("roster "),
        (7, vec!["help".into(), "refresh".into(), "show".into()])
    );
    assert_eq!(complete("roster re"), (7, vec!["refresh".into()]));
    assert_eq!(
        complete("roster refresh a@example.com --").1,
        ["--help", "--json"]
    );
}

#[test]
fn account_jids_after_roster_commands() {
    let all = [
        "alice@example.com".to_owned(),
        "alice@example.org".into(),
        "bob@example.com".into(),
    ];
    for line in ["roster show ", "roster refresh ", "--json roster show "] {
        assert_eq!(with_names(line).0, all, "{line}");
    }
    let (words, asked) = with_names("roster show al");
    assert_eq!(words, ["alice@example.com", "alice@example.org"]);
    assert_eq!(asked, ["jids al"]);
    // show takes one account: nothing after it, and roostd is not asked.
    assert_eq!(
        with_names("roster show alice@example.com "),
        (vec![], vec![])
    );
}

#[test]
fn roster_refresh_completes_every_further_account_once() {
    assert_eq!(
        with_names("roster refresh alice@example.com ").0,
        ["alice@example.org", "bob@example.com"]
    );
    assert_eq!(
        with_names("roster refresh alice@example.com bob@example.com al").0,
        ["alice@example.org"]
    );
    assert_eq!(
        with_names("roster refresh --json bob@example.com alice@example.com ").0,
        ["alice@example.org"]
    );
}

#[test]
fn archive_commands_complete_accounts_and_options() {
    assert_eq!(
        complete("archive "),
        (8, vec!["help".into(), "purge".into(), "size".into()])
    );
    for line in ["archive size ", "archive purge "] {
        assert_eq!(
            with_names(line).0,
            ["alice@example.com", "alice@example.org", "bob@example.com"],
            "{line}"
        );
    }
    assert_eq!(
        complete("archive purge a@example.com --").1,
        ["--all", "--before", "--help", "--json"]
    );
}

#[test]
fn audit_actions_complete_from_their_one_definition() {
    assert_eq!(
        complete("audit --action invite.r"),
        (15, vec!["invite.redeem".into(), "invite.revoke".into()])
    );
}
