//! Completion of connected sessions' JIDs for `c2s close` and, with the
//! hosts, for `c2s list` (issue 12).

use super::{Completer, NoNames, with_names};

#[test]
fn c2s_subcommands_and_the_prosody_spelling() {
    let (words, _) = with_names("c2s ");
    assert_eq!(words, ["close", "help", "list", "show"]);
}

#[test]
fn c2s_close_completes_sessions_and_their_accounts() {
    let (words, asked) = with_names("c2s close alice@example.com/");
    assert_eq!(
        words,
        ["alice@example.com/laptop", "alice@example.com/phone"]
    );
    assert_eq!(asked, ["sessions alice@example.com/"]);
    let (words, _) = with_names("c2s close b");
    assert_eq!(words, ["bob@example.org", "bob@example.org/x"]);
    let (words, asked) = with_names("c2s close alice@example.com/phone ");
    assert!(words.is_empty(), "one JID only: {words:?}");
    assert!(asked.is_empty(), "{asked:?}");
    let (words, asked) = with_names("c2s close alice@example.com --reason ");
    assert!(words.is_empty(), "a reason is free text: {words:?}");
    assert!(asked.is_empty(), "{asked:?}");
}

#[test]
fn c2s_list_completes_hosts_then_sessions() {
    let (words, asked) = with_names("c2s list example.");
    assert_eq!(words, ["example.com", "example.org"]);
    assert_eq!(asked, ["sessions example.", "hosts"]);
    let (words, asked) = with_names("c2s show alice@example.com/l");
    assert_eq!(words, ["alice@example.com/laptop"]);
    assert_eq!(
        asked,
        ["sessions alice@example.com/l"],
        "no hosts once '@' is typed"
    );
}

#[test]
fn without_roostd_nothing_is_offered() {
    let completer = Completer::default();
    assert_eq!(completer.complete("c2s close a", &NoNames), (10, vec![]));
}
