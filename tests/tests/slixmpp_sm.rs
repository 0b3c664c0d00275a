//! Stream management (XEP-0198, issue 13 item 1) with an independent
//! client, slixmpp (its XEP-0198 plugin): a phone whose connection is cut
//! resumes its session and gets every message, those sent while it was
//! away included, exactly once.

use roost_tests::{HOST, Server, slixmpp};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

#[test]
fn a_phone_resumes_with_slixmpp() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&format!("{user}@{HOST}"), PASSWORD);
    }
    let seen = slixmpp::run(&server, "sm.py", PASSWORD);
    assert_eq!(seen["resumable"], json!(true), "{seen:#}");
    let events: Vec<&str> = seen["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    let count = |name: &str| events.iter().filter(|e| **e == name).count();
    // One session, resumed rather than started again after the cut.
    for (event, times) in [
        ("session_start", 1),
        ("sm_enabled", 1),
        ("disconnected", 1),
        ("session_resumed", 1),
        ("sm_failed", 0),
    ] {
        assert_eq!(count(event), times, "{event}: {seen:#}");
    }
    let at = |name: &str| events.iter().position(|e| *e == name);
    assert!(at("disconnected") < at("session_resumed"), "{seen:#}");
    assert_eq!(
        seen["bodies"],
        json!(["m1", "m2", "m3", "m4"]),
        "each once, in order: {seen:#}"
    );
    assert!(
        seen["jid"]
            .as_str()
            .is_some_and(|jid| jid == format!("alice@{HOST}/phone")),
        "{seen:#}"
    );
}
