//! Sessions asked of a fake roostd for completion (issue 12).

use roost_common::admin::{Reply, Request, SessionInfo};

use super::names;
use crate::complete::Names as _;
use crate::fake_roostd::FakeRoostd;

fn session(jid: &str) -> SessionInfo {
    SessionInfo {
        jid: jid.into(),
        address: "192.0.2.1:4000".into(),
        tls: None,
        mechanism: "PLAIN".into(),
        software: None,
        device: None,
        since: 0,
        idle_secs: 0,
        hibernated: false,
    }
}

#[test]
fn sessions_and_their_accounts_asked_afresh_each_time() {
    let fake = FakeRoostd::replying(Reply::C2sSessions {
        sessions: vec![
            session("alice@example.com/laptop"),
            session("alice@example.com/phone"),
            session("bob@example.org/x"),
        ],
    });
    let names = names(&fake);
    assert_eq!(
        names.sessions("a"),
        [
            "alice@example.com",
            "alice@example.com/laptop",
            "alice@example.com/phone",
            "bob@example.org",
            "bob@example.org/x"
        ]
    );
    names.sessions("alice@example.com/p");
    assert_eq!(
        fake.requests(),
        vec![
            Request::C2sList { filter: None },
            Request::C2sList {
                filter: Some("alice@example.com".into())
            },
        ],
        "a resource being typed narrows the request to its account"
    );
}

#[test]
fn a_refusal_or_another_answer_is_no_sessions() {
    let fake = FakeRoostd::replying(Reply::Done);
    assert!(names(&fake).sessions("").is_empty());
}
