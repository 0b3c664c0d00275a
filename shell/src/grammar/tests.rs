//! The grammar: one-shot argv and shell lines parse alike; usage errors.

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use roost_common::admin::{InviteType, Password, Role};

use super::*;

mod sessions;

fn one_shot(argv: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("roostctl").chain(argv.iter().copied()))
}

fn repl(line: &str) -> Result<ReplLine, clap::Error> {
    ReplLine::try_parse_from(shell_words::split(line).unwrap())
}

/// The admin command of a one-shot argv, failing on anything else.
fn admin_argv(argv: &[&str]) -> AdminCommand {
    match one_shot(argv).unwrap().command {
        CliCommand::Admin(command) => command,
        other => panic!("{argv:?} parsed as {other:?}"),
    }
}

fn admin_line(line: &str) -> AdminCommand {
    match repl(line).unwrap().command {
        ReplCommand::Admin(command) => command,
        other => panic!("{line:?} parsed as {other:?}"),
    }
}

#[test]
fn both_roots_are_valid_clap_trees() {
    Cli::command().debug_assert();
    ReplLine::command().debug_assert();
}

#[test]
fn one_shot_and_shell_line_parse_to_the_same_request() {
    let cases: [(&[&str], &str, Request); 3] = [
        (
            &[
                "invites-api",
                "create",
                "Example.COM",
                "signup page",
                "--expires-in",
                "12h",
            ],
            "invites-api create Example.COM 'signup page' --expires-in 12h",
            Request::ApiKeyCreate {
                host: "Example.COM".into(),
                name: Some("signup page".into()),
                expires_in_secs: Some(43_200),
            },
        ),
        (
            &["invites-api", "list", "example.com"],
            "invites-api list example.com",
            Request::ApiKeyList {
                host: "example.com".into(),
            },
        ),
        (
            &["invites-api", "delete", "example.com", "k1a2b3"],
            "invites-api delete example.com k1a2b3",
            Request::ApiKeyDelete {
                host: "example.com".into(),
                id: "k1a2b3".into(),
            },
        ),
    ];
    for (argv, line, request) in cases {
        let from_argv = admin_argv(argv);
        assert_eq!(from_argv, admin_line(line), "{line}");
        assert_eq!(from_argv.request(None), request, "{line}");
    }
}

#[test]
fn create_without_name_or_expiry() {
    assert_eq!(
        admin_line("invites-api create example.com").request(None),
        Request::ApiKeyCreate {
            host: "example.com".into(),
            name: None,
            expires_in_secs: None,
        }
    );
    assert_eq!(
        admin_line("invites-api create example.com --expires-in 3600").request(None),
        Request::ApiKeyCreate {
            host: "example.com".into(),
            name: None,
            expires_in_secs: Some(3600),
        }
    );
}

#[test]
fn prosody_spelling_is_the_same_command() {
    for words in [
        "list example.com",
        "create example.com app --expires-in 7d",
        "delete example.com abc",
    ] {
        let ours = admin_line(&format!("invites-api {words}"));
        assert_eq!(admin_line(&format!("mod_invites_api {words}")), ours);
        let argv: Vec<String> = format!("mod_invites_api {words}")
            .split(' ')
            .map(String::from)
            .collect();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        assert_eq!(admin_argv(&argv), ours);
    }
}

#[test]
fn the_prosody_alias_is_shown_as_an_alias_not_a_command() {
    // Visible, so Prosody users find it and shell completions offer it.
    let help = Cli::command().render_help().to_string();
    assert!(help.contains("[alias: mod_invites_api]"), "{help}");
    assert!(!help.contains("\n  mod_invites_api "), "{help}");
}

#[test]
fn usage_errors() {
    let cases: [(&str, ErrorKind, &str); 6] = [
        (
            "invites-api list",
            ErrorKind::MissingRequiredArgument,
            "<HOST>",
        ),
        (
            "invites-api create example.com --expires-in soon",
            ErrorKind::ValueValidation,
            "try 3600, 30m, 12h or 7d",
        ),
        (
            "invites-api create example.com --expires-in 500ms",
            ErrorKind::ValueValidation,
            "shorter than a second",
        ),
        (
            "invites-api create example.com --expires-in 0",
            ErrorKind::ValueValidation,
            "not a positive duration",
        ),
        (
            "invites-api lst example.com",
            ErrorKind::InvalidSubcommand,
            "'lst'",
        ),
        (
            "invites-api delete example.com k1 extra",
            ErrorKind::UnknownArgument,
            "'extra'",
        ),
    ];
    for (line, kind, needle) in cases {
        let err = repl(line).unwrap_err();
        assert_eq!(err.kind(), kind, "{line}");
        assert!(err.to_string().contains(needle), "{line}: {err}");
        let argv: Vec<String> = shell_words::split(line).unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let err = one_shot(&argv).unwrap_err();
        assert_eq!(err.kind(), kind, "one-shot {line}");
        assert_eq!(err.exit_code(), 2, "one-shot {line}");
    }
}

#[test]
fn ids_and_names_may_start_with_a_dash() {
    for line in [
        "invites-api delete example.com --9zuKyJiH0k",
        "invites-api delete example.com -- --9zuKyJiH0k",
        "invites-api delete --json example.com --9zuKyJiH0k",
    ] {
        assert_eq!(
            admin_line(line).request(None),
            Request::ApiKeyDelete {
                host: "example.com".into(),
                id: "--9zuKyJiH0k".into()
            },
            "{line}"
        );
    }
    assert_eq!(
        admin_line("invites-api delete example.com -x").request(None),
        Request::ApiKeyDelete {
            host: "example.com".into(),
            id: "-x".into()
        }
    );
    assert_eq!(
        admin_line("invites-api create example.com -app --expires-in 1h").request(None),
        Request::ApiKeyCreate {
            host: "example.com".into(),
            name: Some("-app".into()),
            expires_in_secs: Some(3600),
        }
    );
    // A known option is still an option, not a name.
    assert_eq!(
        admin_line("invites-api create example.com --expires-in 1h").request(None),
        Request::ApiKeyCreate {
            host: "example.com".into(),
            name: None,
            expires_in_secs: Some(3600),
        }
    );
    assert!(
        repl("invites-api list example.com --json")
            .unwrap()
            .output
            .json
    );
}

#[test]
fn hosts_go_to_roostd_as_typed() {
    // roostd decides which hosts exist and refuses the others with exit
    // status 1; a client-side check would turn that into a usage error.
    assert_eq!(
        admin_line("invites-api list 'not a host'").request(None),
        Request::ApiKeyList {
            host: "not a host".into()
        }
    );
}

#[test]
fn global_options_go_before_or_after_the_command() {
    for argv in [
        &["--json", "--socket", "/s", "invites-api", "list", "x"][..],
        &["invites-api", "list", "x", "--json", "--socket", "/s"],
        &["invites-api", "--socket=/s", "list", "--json", "x"],
    ] {
        let cli = one_shot(argv).unwrap();
        assert!(cli.output.json, "{argv:?}");
        assert_eq!(
            cli.connection.socket.as_deref(),
            Some(std::path::Path::new("/s")),
            "{argv:?}"
        );
    }
    assert!(!one_shot(&["invites-api", "list", "x"]).unwrap().output.json);
    assert!(repl("--json invites-api list x").unwrap().output.json);
    assert!(repl("invites-api list x --json").unwrap().output.json);
    assert!(!repl("invites-api list x").unwrap().output.json);
}

#[test]
fn shell_takes_a_command_as_typed_at_its_prompt() {
    let cli = one_shot(&[
        "--socket",
        "/s",
        "shell",
        "invites-api",
        "list",
        "--json",
        "x",
    ])
    .unwrap();
    let CliCommand::Shell(ShellArgs { command }) = cli.command else {
        panic!("not the shell: {cli:?}");
    };
    assert_eq!(command, ["invites-api", "list", "--json", "x"]);
    assert_eq!(
        cli.connection.socket.as_deref(),
        Some(std::path::Path::new("/s"))
    );

    let cli = one_shot(&["shell"]).unwrap();
    assert!(
        matches!(cli.command, CliCommand::Shell(ShellArgs { ref command }) if command.is_empty())
    );
}

#[test]
fn shell_only_words() {
    assert_eq!(repl("quit").unwrap().command, ReplCommand::Quit);
    assert_eq!(repl("exit").unwrap().command, ReplCommand::Quit);
    assert_eq!(repl("help").unwrap_err().kind(), ErrorKind::DisplayHelp);
    // `shell` and `--socket` belong to the command line, not to a line.
    assert_eq!(
        repl("shell").unwrap_err().kind(),
        ErrorKind::InvalidSubcommand
    );
    assert_eq!(
        repl("--socket /s invites-api list x").unwrap_err().kind(),
        ErrorKind::UnknownArgument
    );
    // and `quit` is no one-shot command.
    assert_eq!(
        one_shot(&["quit"]).unwrap_err().kind(),
        ErrorKind::InvalidSubcommand
    );
}

#[test]
fn no_arguments_shows_help_with_the_exit_codes() {
    let err = one_shot(&[]).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    let help = Cli::command().render_long_help().to_string();
    for (code, meaning) in EXIT_STATUSES {
        assert!(
            help.contains(&format!("  {code}  {meaning}\n")),
            "exit status {code} missing from --help"
        );
    }
    for (name, _) in ENVIRONMENT {
        assert!(
            help.contains(&format!("  {name}  ")),
            "{name} missing from --help"
        );
    }
}

#[test]
fn command_names_match_the_grammar() {
    for line in [
        "invites-api create x",
        "invites-api list x",
        "invites-api delete x y",
    ] {
        let command = admin_line(line);
        assert!(
            line.starts_with(command.name()),
            "{line} is named {}",
            command.name()
        );
    }
}

#[test]
fn user_commands_parse_alike_from_argv_and_shell_line() {
    let cases: [(&[&str], &str, Request); 5] = [
        (
            &["user", "create", "alice@example.com", "--role", "admin"],
            "user create alice@example.com --role admin",
            Request::UserCreate {
                jid: "alice@example.com".into(),
                password: Password::default(),
                role: Some(Role::Admin),
            },
        ),
        (
            &["user", "password", "alice@example.com", "--password-stdin"],
            "user password alice@example.com --password-stdin",
            Request::UserPassword {
                jid: "alice@example.com".into(),
                password: Password::default(),
            },
        ),
        (
            &["user", "delete", "alice@example.com"],
            "user delete alice@example.com",
            Request::UserDelete {
                jid: "alice@example.com".into(),
            },
        ),
        (
            &["user", "list", "example.com"],
            "user list example.com",
            Request::UserList {
                host: "example.com".into(),
            },
        ),
        (
            &["user", "set-role", "alice@example.com", "user"],
            "user set-role alice@example.com user",
            Request::UserSetRole {
                jid: "alice@example.com".into(),
                role: Role::User,
            },
        ),
    ];
    for (argv, line, request) in cases {
        let from_argv = admin_argv(argv);
        assert_eq!(from_argv, admin_line(line), "{line}");
        assert_eq!(from_argv.request(None), request, "{line}");
    }
}

#[test]
fn passwords_are_never_arguments() {
    let create = admin_line("user create alice@example.com");
    assert_eq!(
        create.password_input(),
        Some(PasswordInput {
            jid: "alice@example.com",
            from_stdin: false,
            new_account: true
        })
    );
    assert_eq!(
        create.request(Some(Password("s3cret".into()))),
        Request::UserCreate {
            jid: "alice@example.com".into(),
            password: Password("s3cret".into()),
            role: None,
        }
    );
    assert_eq!(
        admin_line("user password alice@example.com --password-stdin").password_input(),
        Some(PasswordInput {
            jid: "alice@example.com",
            from_stdin: true,
            new_account: false
        })
    );
    for line in [
        "user delete a@example.com",
        "user list example.com",
        "user set-role a@example.com admin",
        "invites-api list example.com",
    ] {
        assert_eq!(admin_line(line).password_input(), None, "{line}");
    }
    // A password typed on the command line would end up in shell history.
    for line in [
        "user create a@example.com s3cret",
        "user create a@example.com --password s3cret",
    ] {
        assert!(repl(line).is_err(), "{line}");
    }
}

#[test]
fn user_usage_errors() {
    let cases: [(&str, ErrorKind, &str); 6] = [
        ("user create", ErrorKind::MissingRequiredArgument, "<JID>"),
        (
            "user create a@example.com --role root",
            ErrorKind::InvalidValue,
            "[possible values: user, admin]",
        ),
        (
            "user set-role a@example.com",
            ErrorKind::MissingRequiredArgument,
            "<ROLE>",
        ),
        (
            "user set-role a@example.com superuser",
            ErrorKind::InvalidValue,
            "superuser",
        ),
        ("user list", ErrorKind::MissingRequiredArgument, "<HOST>"),
        (
            "user remove a@example.com",
            ErrorKind::InvalidSubcommand,
            "'remove'",
        ),
    ];
    for (line, kind, needle) in cases {
        let err = repl(line).unwrap_err();
        assert_eq!(err.kind(), kind, "{line}");
        assert!(err.to_string().contains(needle), "{line}: {err}");
        let argv: Vec<String> = shell_words::split(line).unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        assert_eq!(one_shot(&argv).unwrap_err().exit_code(), 2, "{line}");
    }
}

#[test]
fn user_command_names_match_the_grammar() {
    for line in [
        "user create a@x",
        "user password a@x",
        "user delete a@x",
        "user list x",
        "user set-role a@x admin",
    ] {
        let command = admin_line(line);
        assert!(
            line.starts_with(command.name()),
            "{line} is named {}",
            command.name()
        );
    }
}

#[test]
fn invite_commands_parse_alike_from_argv_and_shell_line() {
    let cases: [(&[&str], Request); 8] = [
        (
            &["invite", "create", "example.com"],
            Request::InviteCreate {
                host: "example.com".into(),
                kind: InviteType::Account,
                inviter: None,
                ttl_secs: None,
                uses: 1,
            },
        ),
        (
            &[
                "invite",
                "create",
                "example.com",
                "--type",
                "both",
                "--inviter",
                "bob@example.com",
                "--ttl",
                "2h",
                "--uses",
                "5",
            ],
            Request::InviteCreate {
                host: "example.com".into(),
                kind: InviteType::Both,
                inviter: Some("bob@example.com".into()),
                ttl_secs: Some(7200),
                uses: 5,
            },
        ),
        (
            &[
                "invite",
                "create",
                "example.com",
                "--type",
                "contact",
                "--inviter",
                "bob@example.com",
            ],
            Request::InviteCreate {
                host: "example.com".into(),
                kind: InviteType::Contact,
                inviter: Some("bob@example.com".into()),
                ttl_secs: None,
                uses: 1,
            },
        ),
        (
            &["invite", "list", "example.com"],
            Request::InviteList {
                host: "example.com".into(),
                all: false,
            },
        ),
        (
            &["invite", "list", "example.com", "--all"],
            Request::InviteList {
                host: "example.com".into(),
                all: true,
            },
        ),
        (
            &["invite", "show", "example.com", "12"],
            Request::InviteShow {
                host: "example.com".into(),
                invite: "12".into(),
            },
        ),
        (
            &["invite", "show", "example.com", "-AbCdEfGhIjKlMnOpQrStUvW"],
            Request::InviteShow {
                host: "example.com".into(),
                invite: "-AbCdEfGhIjKlMnOpQrStUvW".into(),
            },
        ),
        (
            &[
                "invite",
                "revoke",
                "example.com",
                "-AbCdEfGhIjKlMnOpQrStUvW",
            ],
            Request::InviteRevoke {
                host: "example.com".into(),
                invite: "-AbCdEfGhIjKlMnOpQrStUvW".into(),
            },
        ),
    ];
    for (argv, expected) in cases {
        let line = shell_words::join(argv);
        assert_eq!(admin_argv(argv).request(None), expected, "{argv:?}");
        assert_eq!(admin_line(&line).request(None), expected, "{line}");
        let command = admin_line(&line);
        assert!(line.starts_with(command.name()), "{line}");
    }
}

#[test]
fn invite_usage_errors() {
    let cases: [(&str, ErrorKind, &str); 12] = [
        (
            "invite create",
            ErrorKind::MissingRequiredArgument,
            "<HOST>",
        ),
        (
            "invite create example.com --uses 0",
            ErrorKind::ValueValidation,
            "--uses",
        ),
        (
            "invite create example.com --uses -1",
            ErrorKind::UnknownArgument,
            "-1",
        ),
        (
            "invite create example.com --ttl soon",
            ErrorKind::ValueValidation,
            "--ttl",
        ),
        (
            "invite create example.com --ttl 18446744073709551615",
            ErrorKind::ValueValidation,
            "longer than the longest allowed, 100 years",
        ),
        (
            "invites-api create example.com --expires-in 101y",
            ErrorKind::ValueValidation,
            "longer than the longest allowed, 100 years",
        ),
        (
            "invite create example.com --type friend",
            ErrorKind::InvalidValue,
            "[possible values: account, contact, both]",
        ),
        (
            "invite create example.com --type contact",
            ErrorKind::MissingRequiredArgument,
            "--inviter",
        ),
        (
            "invite revoke example.com",
            ErrorKind::MissingRequiredArgument,
            "<ID_OR_TOKEN>",
        ),
        (
            "invite show example.com",
            ErrorKind::MissingRequiredArgument,
            "<ID_OR_TOKEN>",
        ),
        (
            "invite show example.com 3 4",
            ErrorKind::UnknownArgument,
            "'4'",
        ),
        (
            "invite list example.com --used",
            ErrorKind::UnknownArgument,
            "--used",
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
fn invite_list_help_says_tokens_are_not_kept() {
    let mut command = Cli::command();
    let help = command
        .find_subcommand_mut("invite")
        .unwrap()
        .find_subcommand_mut("list")
        .unwrap()
        .render_long_help()
        .to_string();
    assert!(help.contains("Tokens are not shown"), "{help}");
}

#[test]
fn client_commands_parse_alike_from_argv_shell_line_and_prosody_spelling() {
    let clients = Request::UserClients {
        jid: "alice@example.com".into(),
    };
    let revoke = Request::UserRevokeClient {
        jid: "alice@example.com".into(),
        client: "client/AbC123".into(),
    };
    let cases: [(&str, &Request); 4] = [
        ("user clients alice@example.com", &clients),
        (
            "user revoke_client alice@example.com client/AbC123",
            &revoke,
        ),
        (
            "user revoke-client alice@example.com client/AbC123",
            &revoke,
        ),
        (
            "user revoke_client alice@example.com client/AbC123 --json",
            &revoke,
        ),
    ];
    for (line, request) in cases {
        let argv = shell_words::split(line).unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        assert_eq!(&admin_argv(&argv).request(None), request, "{line}");
        assert_eq!(&admin_line(line).request(None), request, "{line}");
        // prosodyctl's spelling: `roostctl shell user clients JID`.
        let mut shell = vec!["shell"];
        shell.extend(&argv);
        let CliCommand::Shell(ShellArgs { command }) = one_shot(&shell).unwrap().command else {
            panic!("{shell:?} is not the shell");
        };
        let as_typed = ReplLine::try_parse_from(&command).unwrap();
        let ReplCommand::Admin(admin) = as_typed.command else {
            panic!("{command:?} is not an admin command");
        };
        assert_eq!(&admin.request(None), request, "shell {line}");
        assert_eq!(as_typed.output.json, line.ends_with("--json"), "{line}");
    }
}

#[test]
fn client_ids_go_to_roostd_as_typed() {
    // roostd knows which ids exist and answers "Client not found" for the
    // others (exit status 1), whatever their shape.
    for id in ["-dash-first", "client/a b", "grant/x", "7lQ6PFduJt"] {
        assert_eq!(
            admin_line(&shell_words::join([
                "user",
                "revoke_client",
                "a@example.com",
                id
            ]))
            .request(None),
            Request::UserRevokeClient {
                jid: "a@example.com".into(),
                client: id.into(),
            },
            "{id}"
        );
    }
}

#[test]
fn client_usage_errors() {
    let cases: [(&str, ErrorKind, &str); 5] = [
        ("user clients", ErrorKind::MissingRequiredArgument, "<JID>"),
        (
            "user clients a@example.com b@example.com",
            ErrorKind::UnknownArgument,
            "'b@example.com'",
        ),
        (
            "user revoke_client a@example.com",
            ErrorKind::MissingRequiredArgument,
            "<ID>",
        ),
        (
            "user revoke-client",
            ErrorKind::MissingRequiredArgument,
            "<JID>",
        ),
        (
            "user revoke_clients a@example.com x",
            ErrorKind::InvalidSubcommand,
            "'revoke_clients'",
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
fn client_command_names_and_help() {
    for line in ["user clients a@x", "user revoke_client a@x client/1"] {
        let command = admin_line(line);
        assert!(
            line.starts_with(command.name()),
            "{line} is named {}",
            command.name()
        );
    }
    assert_eq!(
        admin_line("user revoke-client a@x client/1").name(),
        "user revoke_client"
    );
    let mut cli = Cli::command();
    let user = cli.find_subcommand_mut("user").unwrap();
    let help = user.render_help().to_string();
    assert!(help.contains("clients"), "{help}");
    // clap may wrap the alias onto the next line.
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("[alias: revoke-client]"), "{help}");
    let revoke = user
        .find_subcommand_mut("revoke_client")
        .unwrap()
        .render_long_help()
        .to_string();
    for needle in [
        "Client not found",
        "Password reset required",
        "Exit status 1",
    ] {
        assert!(revoke.contains(needle), "{needle}: {revoke}");
    }
    let clients = user
        .find_subcommand_mut("clients")
        .unwrap()
        .render_long_help()
        .to_string();
    assert!(
        clients.contains(
            "ID<TAB>SOFTWARE<TAB>DEVICE<TAB>FIRST_SEEN<TAB>LAST_SEEN<TAB>AUTH<TAB>CONNECTED"
        ),
        "{clients}"
    );
}

#[test]
fn roster_commands_parse_alike_from_argv_shell_line_and_shell_word() {
    let show = Request::RosterShow {
        jid: "Ann@school.example".into(),
    };
    let refresh_one = Request::RosterRefresh {
        jids: vec!["ann@school.example".into()],
    };
    let refresh_three = Request::RosterRefresh {
        jids: vec![
            "ann@school.example".into(),
            "bo@school.example".into(),
            "ann@school.example".into(),
        ],
    };
    let cases: [(&str, &Request); 5] = [
        ("roster show Ann@school.example", &show),
        ("roster show Ann@school.example --json", &show),
        ("roster refresh ann@school.example", &refresh_one),
        (
            "roster refresh ann@school.example bo@school.example ann@school.example",
            &refresh_three,
        ),
        (
            "roster refresh ann@school.example bo@school.example ann@school.example --json",
            &refresh_three,
        ),
    ];
    for (line, request) in cases {
        let argv = shell_words::split(line).unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let from_argv = admin_argv(&argv);
        assert_eq!(&from_argv.request(None), request, "{line}");
        assert_eq!(from_argv, admin_line(line), "{line}");
        assert!(line.starts_with(from_argv.name()), "{line}");
        assert_eq!(from_argv.password_input(), None, "{line}");
        let mut shell = vec!["shell"];
        shell.extend(&argv);
        let CliCommand::Shell(ShellArgs { command }) = one_shot(&shell).unwrap().command else {
            panic!("{shell:?} is not the shell");
        };
        let as_typed = ReplLine::try_parse_from(&command).unwrap();
        let ReplCommand::Admin(admin) = as_typed.command else {
            panic!("{command:?} is not an admin command");
        };
        assert_eq!(&admin.request(None), request, "shell {line}");
        assert_eq!(as_typed.output.json, line.ends_with("--json"), "{line}");
    }
}

#[test]
fn roster_usage_errors() {
    let cases: [(&str, ErrorKind, &str); 5] = [
        ("roster show", ErrorKind::MissingRequiredArgument, "<JID>"),
        (
            "roster show a@example.com b@example.com",
            ErrorKind::UnknownArgument,
            "'b@example.com'",
        ),
        (
            "roster refresh",
            ErrorKind::MissingRequiredArgument,
            "<JID>",
        ),
        (
            "roster refresh a@example.com --all",
            ErrorKind::UnknownArgument,
            "--all",
        ),
        (
            "roster list a@example.com",
            ErrorKind::InvalidSubcommand,
            "'list'",
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
fn roster_help_gives_the_contracts() {
    let mut cli = Cli::command();
    let roster = cli.find_subcommand_mut("roster").unwrap();
    let help = roster.render_help().to_string();
    for command in ["show", "refresh"] {
        assert!(help.contains(command), "{help}");
    }
    let show = roster
        .find_subcommand_mut("show")
        .unwrap()
        .render_long_help()
        .to_string();
    let show = show.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "JID<TAB>NAME<TAB>SUBSCRIPTION<TAB>ASK<TAB>APPROVED<TAB>GROUPS",
        r#"{"jid", "delegated", "fetched_at", "version", "items": [{"jid", "name", "subscription", "ask", "approved", "groups"}]}"#,
    ] {
        assert!(show.contains(needle), "{needle}: {show}");
    }
    let refresh = roster
        .find_subcommand_mut("refresh")
        .unwrap()
        .render_long_help()
        .to_string();
    let refresh = refresh.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "<JID>...",
        "failed<TAB>JID<TAB>REASON",
        r#"{"updated", "errors", "failures": [{"jid", "reason"}]}"#,
        "Exit status 1 when any roster could not be refreshed",
    ] {
        assert!(refresh.contains(needle), "{needle}: {refresh}");
    }
}

#[test]
fn reload_and_backup_send_their_requests() {
    assert_eq!(admin_argv(&["reload"]).request(None), Request::Reload);
    assert_eq!(admin_line("reload").request(None), Request::Reload);
    let cwd = std::env::current_dir().unwrap();
    let expected = Request::Backup {
        path: cwd.join("copy.sqlite3").display().to_string(),
    };
    assert_eq!(
        admin_argv(&["backup", "copy.sqlite3"]).request(None),
        expected
    );
    assert_eq!(admin_line("backup copy.sqlite3").request(None), expected);
    assert_eq!(
        admin_argv(&["backup", "/srv/b.sqlite3"]).request(None),
        Request::Backup {
            path: "/srv/b.sqlite3".into()
        }
    );
    for bad in [&["backup"][..], &["backup", ""][..], &["reload", "now"][..]] {
        assert!(one_shot(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn invite_create_qr_is_a_flag() {
    match admin_argv(&["invite", "create", "example.com", "--qr"]) {
        AdminCommand::Invite(InviteCommand::Create { qr, .. }) => assert!(qr),
        other => panic!("{other:?}"),
    }
    match admin_line("invite create example.com") {
        AdminCommand::Invite(InviteCommand::Create { qr, .. }) => assert!(!qr),
        other => panic!("{other:?}"),
    }
}

#[test]
fn audit_filters_parse_alike_from_argv_and_shell_line() {
    use roost_common::admin::{AuditAction, AuditQuery};
    let argv = [
        "audit",
        "--host",
        "example.com",
        "--jid",
        "ann@example.com",
        "--since",
        "7d",
        "--action",
        "invite.create",
        "--limit",
        "5",
    ];
    let expected = Request::Audit {
        query: AuditQuery {
            host: Some("example.com".into()),
            jid: Some("ann@example.com".into()),
            since_secs: Some(7 * 24 * 3600),
            action: Some(AuditAction::InviteCreate),
            limit: Some(5),
        },
    };
    assert_eq!(admin_argv(&argv).request(None), expected);
    assert_eq!(admin_line(&argv.join(" ")).request(None), expected);
    assert_eq!(
        admin_argv(&["audit"]).request(None),
        Request::Audit {
            query: AuditQuery {
                limit: Some(roost_common::admin::DEFAULT_AUDIT_LIMIT),
                ..AuditQuery::default()
            },
        }
    );
    assert_eq!(admin_argv(&["audit"]).name(), "audit");
}

#[test]
fn audit_usage_errors() {
    for argv in [
        &["audit", "--action", "invite"][..],
        &["audit", "--since", "soon"],
        &["audit", "--since", "0"],
        &["audit", "--limit", "0"],
        &["audit", "--limit", "10001"],
        &["audit", "example.com"],
    ] {
        let error = one_shot(argv).unwrap_err();
        assert_ne!(error.kind(), ErrorKind::DisplayHelp, "{argv:?}");
        assert_eq!(error.exit_code(), 2, "{argv:?}");
    }
}

#[test]
fn archive_commands_parse_and_purge_needs_before_or_all() {
    let cases = [
        (
            "archive size ann@school.example",
            Request::ArchiveSize {
                jid: "ann@school.example".into(),
            },
        ),
        (
            "archive purge ann@school.example --before 7d",
            Request::ArchivePurge {
                jid: "ann@school.example".into(),
                before_secs: Some(7 * 86_400),
            },
        ),
        (
            "archive purge ann@school.example --all --json",
            Request::ArchivePurge {
                jid: "ann@school.example".into(),
                before_secs: None,
            },
        ),
    ];
    for (line, request) in cases {
        let argv = shell_words::split(line).unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let from_argv = admin_argv(&argv);
        assert_eq!(from_argv.request(None), request, "{line}");
        assert_eq!(from_argv, admin_line(line), "{line}");
        assert!(line.starts_with(from_argv.name()), "{line}");
    }
    for (line, kind) in [
        (
            "archive purge ann@school.example",
            ErrorKind::MissingRequiredArgument,
        ),
        (
            "archive purge ann@school.example --all --before 1d",
            ErrorKind::ArgumentConflict,
        ),
        (
            "archive purge ann@school.example --before soon",
            ErrorKind::ValueValidation,
        ),
        ("archive size", ErrorKind::MissingRequiredArgument),
    ] {
        let err = repl(line).unwrap_err();
        assert_eq!(err.kind(), kind, "{line}: {err}");
        let argv: Vec<String> = shell_words::split(line).unwrap();
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        assert_eq!(one_shot(&argv).unwrap_err().exit_code(), 2, "{line}");
    }
}
