//! Issue 13 with an independent client, slixmpp (its XEP-0280 and
//! XEP-0352 plugins): a laptop and a phone with carbons see each other's
//! chats; an inactive phone gets a message at once and presence only once
//! active again.

use roost_tests::{HOST, Server, slixmpp};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

#[test]
fn carbons_and_client_state_with_slixmpp() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&format!("{user}@{HOST}"), PASSWORD);
    }
    let seen = slixmpp::run(&server, "phone.py", PASSWORD);
    let bob = format!("bob@{HOST}/desk");
    let laptop = format!("alice@{HOST}/laptop");
    assert_eq!(
        seen["laptop"],
        json!([
            ["message", bob, "hello laptop"],
            ["received", bob, "are you there"],
        ]),
        "{seen:#}"
    );
    assert_eq!(seen["bob"], json!([["message", laptop, "hi bob"]]));
    assert_eq!(seen["csi_offered"], json!(true), "slixmpp found <csi/>");
    assert_eq!(
        seen["phone"],
        json!([
            ["received", bob, "hello laptop"],
            ["sent", laptop, "hi bob"],
            ["message", bob, "are you there"],
            ["presence", bob, "away"],
        ]),
        "carbons both ways, then the message before the presence: {seen:#}"
    );
    assert_eq!(
        seen["while_inactive"],
        json!([["message", bob, "are you there"]]),
        "while inactive only the message arrived"
    );
}
