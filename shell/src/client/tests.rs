//! The client against a real Unix socket served by a fake roostd.

use std::time::Duration;

use roost_common::admin::{ErrorKind, Outcome, Reply, Request};

use super::*;
use crate::fake_roostd::{Action, FakeRoostd, refusal, sample_keys};

fn list() -> Request {
    Request::ApiKeyList {
        host: "example.com".into(),
    }
}

#[test]
fn sends_a_versioned_frame_and_returns_the_reply() {
    let fake = FakeRoostd::replying(Reply::ApiKeys {
        keys: sample_keys(),
    });
    let mut client = AdminClient::new(&fake.path);
    let reply = client.call(list()).unwrap();
    assert_eq!(
        reply,
        Reply::ApiKeys {
            keys: sample_keys()
        }
    );
    let log = fake.received.lock().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].1.v, PROTOCOL_VERSION);
    assert_eq!(log[0].1.request, list());
}

#[test]
fn keeps_one_connection_and_numbers_requests() {
    let fake = FakeRoostd::replying(Reply::Deleted);
    let mut client = AdminClient::new(&fake.path);
    client.call(list()).unwrap();
    client.call(list()).unwrap();
    assert_eq!(fake.connection_numbers(), vec![1, 1]);
    let log = fake.received.lock().unwrap();
    assert_ne!(log[0].1.id, log[1].1.id, "each request needs its own id");
}

#[test]
fn an_error_outcome_is_a_refusal_with_exit_code_1() {
    let fake = FakeRoostd::start(|_| refusal(ErrorKind::UnknownHost, "no host example.org here"));
    let mut client = AdminClient::new(&fake.path);
    let err = client.call(list()).unwrap_err();
    assert!(matches!(err, ClientError::Refused(ref e) if e.kind == ErrorKind::UnknownHost));
    assert_eq!(err.to_string(), "no host example.org here");
    assert_eq!(err.exit_code(), 1);
    // A refusal is an answer: the connection is still good.
    client.call(list()).unwrap_err();
    assert_eq!(fake.connection_numbers(), vec![1, 1]);
}

#[test]
fn a_missing_socket_is_unreachable_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.sock");
    let err = AdminClient::new(&path).call(list()).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert_eq!(
        err.to_string(),
        format!(
            "cannot reach roostd: no socket at {} (is roostd running?)",
            path.display()
        )
    );
}

#[test]
fn a_socket_nobody_listens_on_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let err = AdminClient::new(&path).call(list()).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    let text = err.to_string();
    assert!(
        text.starts_with("cannot reach roostd: nothing is listening on "),
        "{text}"
    );
}

#[test]
fn permission_denied_gets_its_own_hint() {
    let hint = unreachable_hint(
        Path::new("/run/roost.sock"),
        &io::Error::from(io::ErrorKind::PermissionDenied),
    );
    assert!(
        hint.starts_with("permission denied on /run/roost.sock"),
        "{hint}"
    );
}

#[test]
fn a_server_that_closes_without_answering_is_exit_code_3() {
    let mut first = true;
    let fake = FakeRoostd::start(move |_| {
        if std::mem::take(&mut first) {
            Action::Close
        } else {
            Action::Answer(Outcome::Ok(Reply::Deleted))
        }
    });
    let mut client = AdminClient::new(&fake.path);
    let err = client.call(list()).unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err:?}");
    assert_eq!(err.exit_code(), 3);
    // The next request opens a fresh connection rather than failing forever.
    assert_eq!(client.call(list()).unwrap(), Reply::Deleted);
    assert_eq!(fake.connection_numbers(), vec![1, 2]);
}

#[test]
fn reconnects_when_roostd_closed_the_connection_between_requests() {
    let fake = FakeRoostd::start(|_| Action::AnswerAndClose(Outcome::Ok(Reply::Deleted)));
    let mut client = AdminClient::new(&fake.path);
    client.call(list()).unwrap();
    // Give the fake time to close its end, as a restarting roostd would.
    std::thread::sleep(Duration::from_millis(50));
    client.call(list()).unwrap();
    assert_eq!(fake.connection_numbers(), vec![1, 2]);
}

#[test]
fn a_silent_server_times_out() {
    let fake = FakeRoostd::start(|_| {
        std::thread::sleep(Duration::from_millis(500));
        Action::Answer(Outcome::Ok(Reply::Deleted))
    });
    let mut client = AdminClient::new(&fake.path).with_timeout(Duration::from_millis(50));
    let err = client.call(list()).unwrap_err();
    assert!(matches!(err, ClientError::Timeout(_)), "{err:?}");
    assert_eq!(err.exit_code(), 3);
}

#[test]
fn garbage_and_mismatched_answers_are_protocol_errors() {
    let fake = FakeRoostd::start(|_| Action::Raw(b"not json\n".to_vec()));
    let err = AdminClient::new(&fake.path).call(list()).unwrap_err();
    assert!(matches!(err, ClientError::Protocol(_)), "{err:?}");
    assert_eq!(err.exit_code(), 3);

    let wrong_id = frame::encode(&ResponseFrame::ok(777, Reply::Deleted));
    let fake = FakeRoostd::start(move |_| Action::Raw(wrong_id.clone()));
    let err = AdminClient::new(&fake.path).call(list()).unwrap_err();
    assert!(err.to_string().contains("777"), "{err}");
}

#[test]
fn an_answer_to_an_unreadable_request_carries_id_0() {
    let refusal = frame::encode(&ResponseFrame::error(
        0,
        AdminError::new(
            ErrorKind::UnsupportedVersion,
            "protocol version 1 is not spoken here",
        ),
    ));
    let fake = FakeRoostd::start(move |_| Action::Raw(refusal.clone()));
    let err = AdminClient::new(&fake.path).call(list()).unwrap_err();
    assert_eq!(err.to_string(), "protocol version 1 is not spoken here");
    assert_eq!(err.exit_code(), 1);
}

#[test]
fn hello_returns_the_server_version() {
    let fake = FakeRoostd::replying(Reply::Hello {
        server_version: "0.1.0".into(),
    });
    assert_eq!(AdminClient::new(&fake.path).hello().unwrap(), "0.1.0");
    assert_eq!(fake.requests(), vec![Request::Hello]);
}

#[test]
fn a_request_roostd_would_not_read_is_not_sent() {
    let fake = FakeRoostd::replying(Reply::Done);
    let mut client = AdminClient::new(&fake.path);
    let jids: Vec<String> = (0..5000).map(|i| format!("user{i}@example.com")).collect();
    let err = client.call(Request::RosterRefresh { jids }).unwrap_err();
    assert!(
        matches!(err, ClientError::TooLarge { len } if len > MAX_REQUEST_LEN),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("give fewer arguments"), "{err}");
    assert!(fake.requests().is_empty());
    // One that fits still goes, on the same client.
    let jids: Vec<String> = (0..1000).map(|i| format!("user{i}@example.com")).collect();
    client.call(Request::RosterRefresh { jids }).unwrap();
    assert_eq!(fake.requests().len(), 1);
}
