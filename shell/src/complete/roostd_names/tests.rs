//! Names fetched from a fake roostd: what is asked, what is kept, and that
//! every failure is silence within the budget.

use std::time::{Duration, Instant};

use roost_common::admin::{ErrorKind, Outcome, Reply, Request, Role, UserInfo};

use super::*;

mod sessions;
use crate::complete::Completer;
use crate::fake_roostd::{Action, FakeRoostd, refusal, sample_clients, sample_users};

/// Serves example.com (the sample users) and example.org (carol), and
/// alice's sample clients.
fn fake() -> FakeRoostd {
    FakeRoostd::start(|request| match request {
        Request::HostList => Action::Answer(Outcome::Ok(Reply::Hosts {
            hosts: vec!["example.com".into(), "example.org".into()],
        })),
        Request::UserList { host } if host == "example.com" => {
            Action::Answer(Outcome::Ok(Reply::Users {
                users: sample_users(),
            }))
        }
        Request::UserList { .. } => Action::Answer(Outcome::Ok(Reply::Users {
            users: vec![UserInfo {
                jid: "carol@example.org".into(),
                role: Role::User,
                created_at: 0,
            }],
        })),
        Request::UserClients { jid } if jid == "alice@example.com" => {
            Action::Answer(Outcome::Ok(Reply::Clients {
                clients: sample_clients(),
            }))
        }
        _ => refusal(ErrorKind::NotFound, "no such account"),
    })
}

fn names(fake: &FakeRoostd) -> RoostdNames {
    RoostdNames::new(&fake.path)
}

#[test]
fn jids_of_every_served_host() {
    let fake = fake();
    assert_eq!(
        names(&fake).jids(""),
        ["alice@example.com", "root@example.com", "carol@example.org"]
    );
    assert_eq!(
        fake.requests(),
        vec![
            Request::HostList,
            Request::UserList {
                host: "example.com".into()
            },
            Request::UserList {
                host: "example.org".into()
            },
        ]
    );
}

#[test]
fn only_the_hosts_a_typed_host_part_may_become_are_asked() {
    let fake = fake();
    assert_eq!(names(&fake).jids("carol@example.o"), ["carol@example.org"]);
    assert_eq!(
        fake.requests(),
        vec![
            Request::HostList,
            Request::UserList {
                host: "example.org".into()
            },
        ]
    );
}

#[test]
fn lists_are_kept_between_tabs_and_clients_are_not() {
    let fake = fake();
    let names = names(&fake);
    names.jids("");
    names.jids("a");
    assert_eq!(names.hosts(), ["example.com", "example.org"]);
    assert_eq!(fake.requests().len(), 3, "{:?}", fake.requests());
    names.clients("alice@example.com");
    names.clients("alice@example.com");
    assert_eq!(fake.requests().len(), 5, "{:?}", fake.requests());
    assert_eq!(fake.connection_numbers(), [1, 1, 1, 1, 1]);
}

#[test]
fn client_ids_of_an_account() {
    let fake = fake();
    assert_eq!(
        names(&fake).clients("alice@example.com"),
        [
            "client/7lQ6PFduJt",
            "client/d4565fa7-4c79-4f4e-b8d2-1f0d9e3b2a10",
            "client/mVq3-Yk2"
        ]
    );
    assert_eq!(
        fake.requests(),
        vec![Request::UserClients {
            jid: "alice@example.com".into()
        }]
    );
    assert!(names(&fake).clients("nobody@example.com").is_empty());
}

#[test]
fn the_completer_with_roostd_names() {
    let fake = fake();
    let names = names(&fake);
    let completer = Completer::default();
    assert_eq!(
        completer.complete("user clients a", &names),
        (13, vec!["alice@example.com".into()])
    );
    assert_eq!(
        completer.complete("user revoke_client alice@example.com client/d", &names),
        (
            37,
            vec!["client/d4565fa7-4c79-4f4e-b8d2-1f0d9e3b2a10".into()]
        )
    );
}

#[test]
fn no_roostd_means_no_names() {
    let dir = tempfile::tempdir().unwrap();
    let names = RoostdNames::new(&dir.path().join("nowhere.sock"));
    assert!(names.hosts().is_empty());
    assert!(names.jids("").is_empty());
    assert!(names.clients("alice@example.com").is_empty());
}

#[test]
fn refusals_broken_answers_and_closed_connections_mean_no_names() {
    for action in [
        || refusal(ErrorKind::BadRequest, "malformed request"),
        || Action::Raw(b"not json\n".to_vec()),
        || Action::Close,
    ] {
        let fake = FakeRoostd::start(move |_| action());
        let names = names(&fake);
        assert!(names.jids("").is_empty());
        assert!(names.clients("alice@example.com").is_empty());
    }
    // An answer of the wrong kind is no names either.
    let fake = FakeRoostd::replying(Reply::Done);
    assert!(names(&fake).jids("").is_empty());
    assert!(names(&fake).clients("alice@example.com").is_empty());
}

#[test]
fn a_slow_roostd_costs_at_most_the_budget() {
    // The fake answers nothing for far longer than the budget.
    let fake = FakeRoostd::start(|_| {
        std::thread::sleep(Duration::from_secs(5));
        Action::Close
    });
    let names = RoostdNames::with_budget(&fake.path, Duration::from_millis(200));
    let started = Instant::now();
    assert!(names.jids("").is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}
