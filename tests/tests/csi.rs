//! Client state indication (XEP-0352, issue 13 item 4) against the real
//! roostd: an inactive phone gets a message with a body at once, but
//! presence updates only once it is active again, with a contact's obsolete
//! presence updates collapsed into the last one and a chat state dropped
//! once the message it announced came.

use roost_tests::raw::RawClient;
use roost_tests::raw_stanzas::sync;
use roost_tests::sasl2::{authorization_identifier, password_login, tls_stream_from};
use roost_tests::{HOST, Server};
use tokio_xmpp::minidom::Element;

const PASSWORD: &str = "correct horse battery";
const CSI: &str = "urn:xmpp:csi:0";

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

/// Each stanza as (name, from, what it carries: a body, a chat state or a
/// presence's show; not the archive's stanza id).
fn summary(stanzas: &[Element]) -> Vec<(String, String, String)> {
    stanzas
        .iter()
        .map(|s| {
            let what = s
                .children()
                .filter(|c| c.name() != "stanza-id")
                .map(|c| match c.name() {
                    "body" | "show" => c.text(),
                    other => other.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(",");
            (
                s.name().to_owned(),
                s.attr("from").unwrap_or_default().to_owned(),
                what,
            )
        })
        .collect()
}

fn row(name: &str, from: &str, what: &str) -> (String, String, String) {
    (name.to_owned(), from.to_owned(), what.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_phone_gets_messages_at_once_and_presence_when_active() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    // The phone logs in with SASL2 and says at once it is inactive.
    let (_, features) = tls_stream_from(&server, Some(&jid("alice"))).await;
    assert!(
        features.contains(&format!("<feature var='{CSI}'/>")),
        "Bind2 offers CSI inline: {features}"
    );
    let bind =
        format!("<bind xmlns='urn:xmpp:bind:0'><tag>phone</tag><inactive xmlns='{CSI}'/></bind>");
    let (mut phone, success) = password_login(&server, "alice", PASSWORD, &bind).await;
    let phone_jid = authorization_identifier(&success);
    phone.send("<presence/>").await;
    // Bob, on a legacy stream, sees CSI announced after authentication.
    let mut bob = RawClient::authenticated(&server, "bob", PASSWORD).await;
    bob.bind("desk").await;
    let bob_jid = format!("{}/desk", jid("bob"));
    assert!(sync(&mut phone, "p0").await.is_empty());

    // Bob's directed presence twice, a chat state, then a message.
    for show in ["away", "dnd"] {
        bob.send(&format!(
            "<presence to='{phone_jid}'><show>{show}</show></presence>"
        ))
        .await;
    }
    bob.send(&format!(
        "<message type='chat' to='{phone_jid}'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"
    ))
    .await;
    bob.send(&format!(
        "<message type='chat' to='{phone_jid}'><body>wake up</body></message>"
    ))
    .await;
    // Bob's stanzas are handled once his ping is answered.
    sync(&mut bob, "b1").await;
    assert_eq!(
        summary(&sync(&mut phone, "p1").await),
        [row("message", &bob_jid, "wake up")],
        "only the message with a body, at once"
    );

    // Active again: the latest presence arrives; the chat state was made
    // obsolete by the message that followed it.
    phone.send(&format!("<active xmlns='{CSI}'/>")).await;
    assert_eq!(
        summary(&sync(&mut phone, "p2").await),
        [row("presence", &bob_jid, "dnd")]
    );
    // Active, nothing is held.
    bob.send(&format!(
        "<presence to='{phone_jid}'><show>chat</show></presence>"
    ))
    .await;
    sync(&mut bob, "b2").await;
    assert_eq!(
        summary(&sync(&mut phone, "p3").await),
        [row("presence", &bob_jid, "chat")]
    );

    // <inactive/> as a nonza on a legacy stream works the same.
    let mut laptop = RawClient::bound(&server, "alice", PASSWORD, "laptop").await;
    let laptop_jid = format!("{}/laptop", jid("alice"));
    laptop.send(&format!("<inactive xmlns='{CSI}'/>")).await;
    assert!(sync(&mut laptop, "l0").await.is_empty());
    bob.send(&format!(
        "<presence to='{laptop_jid}'><show>xa</show></presence>"
    ))
    .await;
    sync(&mut bob, "b3").await;
    assert!(sync(&mut laptop, "l1").await.is_empty(), "held");
    laptop.send(&format!("<active xmlns='{CSI}'/>")).await;
    assert_eq!(
        summary(&sync(&mut laptop, "l2").await),
        [row("presence", &bob_jid, "xa")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csi_is_announced_after_login_and_unknown_nonzas_end_the_stream() {
    let server = Server::start();
    server.create_user(&jid("alice"), PASSWORD);
    let mut client = RawClient::authenticated(&server, "alice", PASSWORD).await;
    client.bind("res").await;
    // The features after authentication were read by `authenticated`;
    // a fresh login shows them.
    let mut again = RawClient::connect(&server).await;
    again.open(HOST).await;
    let (mut again, _) = again.starttls().await;
    let creds = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{PASSWORD}"))
    };
    again
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
        ))
        .await;
    again.read_until("<success").await;
    again.read_until(">").await;
    let features = again.open(HOST).await;
    assert!(
        features.contains(&format!("<csi xmlns='{CSI}'/>")),
        "{features}"
    );

    client.send("<unknown xmlns='urn:example:nonza'/>").await;
    let rest = client.read_to_end().await;
    assert!(rest.contains("unsupported-stanza-type"), "{rest}");
}
