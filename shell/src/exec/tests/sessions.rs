//! `status`, `c2s list` and `c2s close` end to end against a fake roostd
//! (issue 12): the request each sends, the output, the exit code.

use roost_common::admin::{ErrorKind, Reply, Request};

use super::{Style, run};
use crate::fake_roostd::{FakeRoostd, refusal};
use crate::output::sessions::tests::sample_sessions;
use crate::output::status::tests::sample_status;

#[test]
fn status_asks_for_the_status_and_prints_it() {
    let fake = FakeRoostd::replying(Reply::Status {
        status: sample_status(),
    });
    let (result, out) = run(&fake, "status", Style::Lines);
    result.unwrap();
    assert!(out.starts_with("version\t0.1.0\n"), "{out}");
    assert!(out.contains("host\texample.com\t3\n"), "{out}");
    let (result, out) = run(&fake, "--json status", Style::Json);
    result.unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["database_bytes"], 1_572_864);
    assert_eq!(fake.requests(), vec![Request::Status, Request::Status]);
}

#[test]
fn c2s_list_and_its_prosody_spelling_send_the_filter() {
    let fake = FakeRoostd::replying(Reply::C2sSessions {
        sessions: sample_sessions(),
    });
    let (result, out) = run(&fake, "c2s list", Style::Lines);
    result.unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    run(&fake, "c2s list example.com", Style::Lines).0.unwrap();
    run(&fake, "c2s show alice@example.com/laptop", Style::Lines)
        .0
        .unwrap();
    assert_eq!(
        fake.requests(),
        vec![
            Request::C2sList { filter: None },
            Request::C2sList {
                filter: Some("example.com".into())
            },
            Request::C2sList {
                filter: Some("alice@example.com/laptop".into())
            },
        ]
    );
    let fake = FakeRoostd::replying(Reply::C2sSessions { sessions: vec![] });
    let (result, out) = run(&fake, "c2s list alice@example.com", Style::Table);
    result.unwrap();
    assert_eq!(out, "No sessions of alice@example.com.\n");
}

#[test]
fn c2s_close_sends_the_reason_and_says_what_it_ended() {
    let fake = FakeRoostd::replying(Reply::C2sClosed { sessions_ended: 2 });
    let (result, out) = run(
        &fake,
        "c2s close alice@example.com --reason 'Spam, see ticket 42'",
        Style::Table,
    );
    result.unwrap();
    assert_eq!(out, "ended 2 sessions\n");
    run(&fake, "c2s close alice@example.com/phone", Style::Lines)
        .0
        .unwrap();
    assert_eq!(
        fake.requests(),
        vec![
            Request::C2sClose {
                jid: "alice@example.com".into(),
                reason: Some("Spam, see ticket 42".into()),
            },
            Request::C2sClose {
                jid: "alice@example.com/phone".into(),
                reason: None,
            },
        ]
    );
}

#[test]
fn closing_no_session_is_exit_code_1_on_one_line() {
    let fake =
        FakeRoostd::start(|_| refusal(ErrorKind::NotFound, "no session alice@example.com/x"));
    let (result, out) = run(&fake, "c2s close alice@example.com/x", Style::Table);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(err.to_string(), "no session alice@example.com/x");
    assert_eq!(out, "");
    // A session list where a close was asked for is a version mismatch.
    let fake = FakeRoostd::replying(Reply::C2sSessions { sessions: vec![] });
    let err = run(&fake, "c2s close alice@example.com", Style::Table)
        .0
        .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("c2s close"), "{err}");
}
