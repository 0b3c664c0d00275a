//! One command end to end against a fake roostd: request, output, exit code.

use std::io;

use clap::Parser;
use roost_common::admin::{ErrorKind, Reply, Request};

use super::*;
use crate::fake_roostd::{FakeRoostd, refusal, sample_keys};
use crate::grammar::ReplLine;

fn command(line: &str) -> AdminCommand {
    let parsed = ReplLine::try_parse_from(shell_words::split(line).unwrap()).unwrap();
    match parsed.command {
        crate::grammar::ReplCommand::Admin(command) => command,
        other => panic!("{line:?} is not an admin command: {other:?}"),
    }
}

fn run(fake: &FakeRoostd, line: &str, style: Style) -> (Result<(), Error>, String) {
    let mut out = Vec::new();
    let result = execute(
        &mut AdminClient::new(&fake.path),
        &command(line),
        style,
        &mut out,
    );
    (result, String::from_utf8(out).unwrap())
}

#[test]
fn create_sends_the_request_and_prints_the_key() {
    let fake = FakeRoostd::replying(Reply::ApiKeyCreated {
        key: "k1a2b3/s3cr3t".into(),
        info: sample_keys().remove(0),
    });
    let (result, out) = run(
        &fake,
        "invites-api create example.com 'signup page' --expires-in 7d",
        Style::Lines,
    );
    result.unwrap();
    assert_eq!(out, "k1a2b3/s3cr3t\n");
    assert_eq!(
        fake.requests(),
        vec![Request::ApiKeyCreate {
            host: "example.com".into(),
            name: Some("signup page".into()),
            expires_in_secs: Some(604_800),
        }]
    );
}

#[test]
fn list_prints_lines() {
    let fake = FakeRoostd::replying(Reply::ApiKeys {
        keys: sample_keys(),
    });
    let (result, out) = run(&fake, "invites-api list example.com", Style::Lines);
    result.unwrap();
    assert_eq!(out, "k1a2b3\tsignup page\nz9y8x7\t<unknown>\n");
}

#[test]
fn delete_prints_nothing_or_json() {
    let fake = FakeRoostd::replying(Reply::Deleted);
    let (result, out) = run(&fake, "invites-api delete example.com k1a2b3", Style::Lines);
    result.unwrap();
    assert_eq!(out, "");
    let (result, out) = run(&fake, "invites-api delete example.com k1a2b3", Style::Json);
    result.unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!({"deleted": "k1a2b3", "host": "example.com"})
    );
}

#[test]
fn a_refusal_is_exit_code_1_and_prints_nothing() {
    let fake = FakeRoostd::start(|_| refusal(ErrorKind::NotFound, "no key k1a2b3 on example.com"));
    let (result, out) = run(&fake, "invites-api delete example.com k1a2b3", Style::Lines);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(err.to_string(), "no key k1a2b3 on example.com");
    assert_eq!(out, "");
}

#[test]
fn a_reply_of_the_wrong_kind_is_exit_code_3_without_leaking_it() {
    let fake = FakeRoostd::replying(Reply::ApiKeyCreated {
        key: "k1a2b3/s3cr3t".into(),
        info: sample_keys().remove(0),
    });
    let (result, _) = run(&fake, "invites-api list example.com", Style::Lines);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 3);
    let text = err.to_string();
    assert!(text.contains("invites-api list"), "{text}");
    assert!(!text.contains("s3cr3t"), "the secret leaked: {text}");
}

struct ClosedPipe;

impl io::Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_output_failure_is_exit_code_1() {
    let fake = FakeRoostd::replying(Reply::ApiKeys {
        keys: sample_keys(),
    });
    let err = execute(
        &mut AdminClient::new(&fake.path),
        &command("invites-api list example.com"),
        Style::Lines,
        &mut ClosedPipe,
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.is_broken_pipe());
}
