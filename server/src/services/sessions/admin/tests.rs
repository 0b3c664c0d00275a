//! What admins type, as scopes; rows; and the refusals of `c2s close`.

use std::sync::Arc;

use roost_common::config::{Config, Synchronous};
use roost_common::jid::DomainName;

use super::*;
use crate::services::clients::AuthMethod;
use crate::services::testing::FakeDirectory;

fn admin() -> (SessionAdmin, Arc<FakeDirectory>) {
    let config = Config {
        hosts: vec![
            DomainName::parse("example.test").unwrap(),
            DomainName::parse("other.test").unwrap(),
        ],
        ..Config::default()
    };
    let sessions = Sessions::default();
    let directory = Arc::new(FakeDirectory::default());
    sessions.attach(directory.clone());
    directory.add("bob@example.test/b", "c1", AuthMethod::Password);
    directory.add("alice@example.test/phone", "c2", AuthMethod::Password);
    directory.add("alice@example.test/laptop", "c3", AuthMethod::Fast);
    directory.add("carol@other.test/x", "c4", AuthMethod::Password);
    let hosts = Hosts(Arc::new(config));
    // The audit log is not reached by these tests: they call `end`.
    let dir = tempfile::tempdir().unwrap();
    let (db, _thread) =
        crate::storage::Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
    let audit = crate::services::Audit::new(db, hosts.clone());
    (SessionAdmin::new(hosts, sessions, audit), directory)
}

fn jids(rows: Vec<SessionInfo>) -> Vec<String> {
    rows.into_iter().map(|r| r.jid).collect()
}

#[test]
fn list_filters_by_host_account_or_session_and_sorts_by_jid() {
    let (admin, _) = admin();
    assert_eq!(
        jids(admin.list(None).unwrap()),
        [
            "alice@example.test/laptop",
            "alice@example.test/phone",
            "bob@example.test/b",
            "carol@other.test/x"
        ]
    );
    assert_eq!(
        jids(admin.list(Some("other.test")).unwrap()),
        ["carol@other.test/x"]
    );
    assert_eq!(
        jids(admin.list(Some("Alice@Example.TEST")).unwrap()),
        ["alice@example.test/laptop", "alice@example.test/phone"],
        "normalised as roostd stores JIDs"
    );
    assert_eq!(
        jids(admin.list(Some("alice@example.test/phone")).unwrap()),
        ["alice@example.test/phone"]
    );
    assert!(admin.list(Some("dave@example.test")).unwrap().is_empty());
}

#[test]
fn a_row_carries_the_connection_and_idle_time() {
    let (admin, _) = admin();
    let row = admin
        .list(Some("carol@other.test/x"))
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(row.address, "192.0.2.7:40000");
    assert_eq!(row.tls.as_deref(), Some("TLSv1.3"));
    assert_eq!(row.mechanism, "SCRAM-SHA-256-PLUS");
    assert_eq!(row.software.as_deref(), Some("Conversations"));
    assert_eq!(row.device, None);
    assert_eq!(row.since, 1_700_000_000);
    // The fake's sessions last spoke when they bound.
    assert_eq!(
        row.idle_secs,
        (crate::services::now() - 1_700_000_000) as u64
    );
}

#[test]
fn bad_filters_are_refused() {
    let (admin, _) = admin();
    assert!(matches!(
        admin.list(Some("nowhere.test")),
        Err(ServiceError::UnknownHost(_))
    ));
    assert!(matches!(
        admin.list(Some("alice@nowhere.test")),
        Err(ServiceError::UnknownHost(_))
    ));
    assert!(matches!(
        admin.list(Some("a@b@c")),
        Err(ServiceError::Invalid(_))
    ));
    assert!(matches!(
        admin.list(Some("example.test/res")),
        Err(ServiceError::Invalid(_))
    ));
}

#[test]
fn close_ends_one_session_or_an_account_with_the_text() {
    let (admin, directory) = admin();
    assert_eq!(
        admin
            .end("alice@example.test/phone", Some("  spam  "))
            .unwrap(),
        1
    );
    assert_eq!(
        directory.closed.lock().unwrap().pop().unwrap(),
        (
            FullJid::new("alice@example.test/phone").unwrap(),
            "spam".to_owned()
        )
    );
    assert_eq!(admin.end("bob@example.test", None).unwrap(), 1);
    assert_eq!(
        directory.closed.lock().unwrap().pop().unwrap().1,
        DEFAULT_CLOSE_TEXT,
        "no reason: the default text"
    );

    assert_eq!(admin.end("alice@example.test", Some(" ")).unwrap(), 1);
    assert_eq!(
        jids(admin.list(None).unwrap()),
        ["carol@other.test/x"],
        "the other host's session stays"
    );
    assert_eq!(
        admin
            .end("carol@other.test", Some("two\nlines\tand a tab"))
            .unwrap(),
        1,
        "line breaks and tabs are fine"
    );
}

#[test]
fn close_refuses_hosts_unknown_sessions_and_long_reasons() {
    let (admin, directory) = admin();
    assert!(matches!(
        admin.end("example.test", None),
        Err(ServiceError::Invalid(_))
    ));
    assert!(matches!(
        admin.end("alice@example.test/tablet", None),
        Err(ServiceError::NotFound("session"))
    ));
    assert!(matches!(
        admin.end("dave@example.test", None),
        Err(ServiceError::NotFound("session"))
    ));
    assert!(matches!(
        admin.end("alice@nowhere.test", None),
        Err(ServiceError::UnknownHost(_))
    ));
    let long = "x".repeat(MAX_CLOSE_TEXT + 1);
    assert!(matches!(
        admin.end("alice@example.test", Some(&long)),
        Err(ServiceError::Invalid(_))
    ));
    for unreadable in ["bell\u{7}", "nul\0", "\u{FFFE}"] {
        assert!(
            matches!(
                admin.end("alice@example.test", Some(unreadable)),
                Err(ServiceError::Invalid(_))
            ),
            "{unreadable:?}"
        );
    }
    assert!(directory.closed.lock().unwrap().is_empty());
}
