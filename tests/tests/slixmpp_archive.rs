//! Issue 13's message archive with an independent client, slixmpp (its
//! XEP-0313, XEP-0059 and XEP-0359 plugins): a new phone pages through
//! the history forwards, backwards and with one contact, and finds each
//! message once, in order, under the id the laptop was delivered.

use roost_tests::{HOST, Server, slixmpp};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

#[test]
fn a_new_device_reads_the_history_with_slixmpp() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&format!("{user}@{HOST}"), PASSWORD);
    }
    let seen = slixmpp::run(&server, "archive.py", PASSWORD);
    assert_eq!(seen["mam_offered"], Value::Bool(true), "{seen:#}");
    let (alice, bob) = (format!("alice@{HOST}"), format!("bob@{HOST}"));

    // The history as it happened: bob's 25, alice's answer after every fifth.
    let mut expected = Vec::new();
    for i in 0..25 {
        expected.push((bob.clone(), format!("bob {i:02}")));
        if i % 5 == 4 {
            expected.push((alice.clone(), format!("alice {i:02}")));
        }
    }
    let entries = |key: &str| -> Vec<(String, String, String)> {
        seen[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {seen:#}"))
            .iter()
            .map(|e| {
                (
                    e[0].as_str().unwrap().to_owned(),
                    e[1].as_str().unwrap().to_owned(),
                    e[2].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let forwards = entries("forwards");
    let found: Vec<(String, String)> = forwards
        .iter()
        .map(|(_, from, body)| (from.clone(), body.clone()))
        .collect();
    assert_eq!(found, expected, "forwards, oldest first");

    let mut backwards = entries("backwards");
    backwards.reverse();
    assert_eq!(
        backwards, forwards,
        "backwards finds the same, newest first"
    );

    let with_bob = entries("with_bob");
    assert_eq!(with_bob, forwards, "every message is with bob");

    // Each message the laptop was delivered carries alice's archive id.
    let delivered: Vec<(String, String)> = seen["laptop"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let ids = e[1].as_array().unwrap();
            assert_eq!(ids.len(), 1, "one id by alice's archive: {e}");
            (
                e[0].as_str().unwrap().to_owned(),
                ids[0].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let archived: Vec<(String, String)> = forwards
        .iter()
        .filter(|(_, from, _)| *from == bob)
        .map(|(id, _, body)| (body.clone(), id.clone()))
        .collect();
    assert_eq!(delivered, archived);
}
