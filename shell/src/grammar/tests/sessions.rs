//! `status`, `c2s list` (and Prosody's `c2s show`) and `c2s close`: parsed
//! alike from argv and shell lines, usage errors, and help that gives the
//! contracts.

use clap::CommandFactory;
use clap::error::ErrorKind;

use super::{admin_argv, admin_line, one_shot, repl};
use crate::grammar::{AdminCommand, Cli};
use roost_common::admin::Request;

#[test]
fn one_shot_and_shell_line_parse_to_the_same_request() {
    let cases: [(&[&str], &str, Request); 6] = [
        (&["status"], "status", Request::Status),
        (
            &["c2s", "list"],
            "c2s list",
            Request::C2sList { filter: None },
        ),
        (
            &["c2s", "list", "example.com"],
            "c2s list example.com",
            Request::C2sList {
                filter: Some("example.com".into()),
            },
        ),
        (
            &["c2s", "show", "alice@example.com"],
            "c2s show alice@example.com",
            Request::C2sList {
                filter: Some("alice@example.com".into()),
            },
        ),
        (
            &["c2s", "close", "alice@example.com/phone"],
            "c2s close alice@example.com/phone",
            Request::C2sClose {
                jid: "alice@example.com/phone".into(),
                reason: None,
            },
        ),
        (
            &[
                "c2s",
                "close",
                "alice@example.com",
                "--reason",
                "spam, again",
            ],
            "c2s close alice@example.com --reason 'spam, again'",
            Request::C2sClose {
                jid: "alice@example.com".into(),
                reason: Some("spam, again".into()),
            },
        ),
    ];
    for (argv, line, request) in cases {
        assert_eq!(admin_argv(argv).request(None), request, "{argv:?}");
        assert_eq!(admin_line(line).request(None), request, "{line}");
    }
    assert_eq!(admin_line("status").name(), "status");
    assert_eq!(admin_line("c2s show").name(), "c2s list");
    assert!(matches!(
        admin_line("c2s close a@b --reason x"),
        AdminCommand::C2s(_)
    ));
}

#[test]
fn usage_errors() {
    let cases = [
        (
            "c2s",
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand,
            "list",
        ),
        ("c2s close", ErrorKind::MissingRequiredArgument, "<JID>"),
        (
            "c2s close a@example.com --reason",
            ErrorKind::InvalidValue,
            "--reason",
        ),
        (
            "c2s list a@example.com b@example.com",
            ErrorKind::UnknownArgument,
            "'b@example.com'",
        ),
        (
            "status example.com",
            ErrorKind::UnknownArgument,
            "'example.com'",
        ),
        (
            "c2s kick a@example.com",
            ErrorKind::InvalidSubcommand,
            "'kick'",
        ),
    ];
    for (line, kind, needle) in cases {
        let err = repl(line).unwrap_err();
        assert_eq!(err.kind(), kind, "{line}: {err}");
        assert!(err.to_string().contains(needle), "{line}: {err}");
        let argv: Vec<String> = shell_words::split(line).unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        assert_eq!(one_shot(&argv).unwrap_err().exit_code(), 2, "{line}");
    }
}

#[test]
fn help_gives_the_contracts() {
    let flat = |text: String| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cli = Cli::command();
    let status = flat(
        cli.find_subcommand_mut("status")
            .unwrap()
            .render_long_help()
            .to_string(),
    );
    for needle in [
        "host<TAB>HOST<TAB>SESSIONS",
        r#"{"version", "started_at", "uptime_secs", "hosts": [{"host", "sessions"}], "memory_rss_bytes", "database_bytes", "listeners": {"c2s", "c2s_direct_tls", "http", "admin_socket", "metrics"}}"#,
    ] {
        assert!(status.contains(needle), "{needle}: {status}");
    }
    let c2s = cli.find_subcommand_mut("c2s").unwrap();
    let group = c2s.render_help().to_string();
    assert!(group.contains("[alias: show]"), "{group}");
    let list = flat(
        c2s.find_subcommand_mut("list")
            .unwrap()
            .render_long_help()
            .to_string(),
    );
    for needle in [
        "JID<TAB>ADDRESS<TAB>TLS<TAB>MECHANISM<TAB>SOFTWARE<TAB>DEVICE<TAB>SINCE<TAB>IDLE<TAB>STATE",
        r#"{"jid", "address", "tls", "mechanism", "software", "device", "since", "idle_secs", "state"}"#,
        "hibernated",
    ] {
        assert!(list.contains(needle), "{needle}: {list}");
    }
    let close = flat(
        c2s.find_subcommand_mut("close")
            .unwrap()
            .render_long_help()
            .to_string(),
    );
    for needle in [
        r#"{"jid", "sessions_ended"}"#,
        "policy-violation",
        "Exit status 1 when there is no such session",
    ] {
        assert!(close.contains(needle), "{needle}: {close}");
    }
}
