//! Client management over XMPP against the real roostd, with legacy logins
//! of the raw client: `xmpp:prosody.im/protocol/manage-clients` (list,
//! revoke, its errors), the same clients through the admin socket, and
//! XEP-0077 on an authenticated stream (password change, removal).

use roost_tests::raw::{RawClient, plain_login_succeeds};
use roost_tests::{HOST, Server};

const NS: &str = "xmpp:prosody.im/protocol/manage-clients";
const PASSWORD: &str = "correct horse";

fn server_with_alice() -> Server {
    let server = Server::start();
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    server
}

/// Sends an iq and returns the whole answer.
async fn iq(client: &mut RawClient, id: &str, kind: &str, payload: &str) -> String {
    client
        .send(&format!("<iq type='{kind}' id='{id}'>{payload}</iq>"))
        .await;
    client.read_iq(id).await
}

async fn list(client: &mut RawClient, id: &str) -> String {
    iq(client, id, "get", &format!("<list xmlns='{NS}'/>")).await
}

/// The ids (`client/…`) in a `<clients/>` answer, in order.
fn ids(answer: &str) -> Vec<String> {
    answer
        .split(" id='client/")
        .skip(1)
        .map(|rest| format!("client/{}", &rest[..rest.find('\'').unwrap()]))
        .collect()
}

#[tokio::test]
async fn a_legacy_client_is_listed_connected_with_its_password_and_revoking_it_asks_for_a_reset() {
    let server = server_with_alice();
    let mut phone = RawClient::bound(&server, "alice", PASSWORD, "phone").await;

    phone
        .send(&format!(
            "<iq type='get' id='d1' to='{HOST}'>\
             <query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        .await;
    let features = phone.read_iq("d1").await;
    assert!(features.contains(&format!("var='{NS}'")), "{features}");

    let listed = list(&mut phone, "l1").await;
    assert!(
        listed.contains(&format!("<clients xmlns='{NS}'>")),
        "{listed}"
    );
    assert_eq!(ids(&listed).len(), 1, "{listed}");
    let phone_id = &ids(&listed)[0];
    assert_eq!(phone_id.len(), "client/".len() + 12, "{listed}");
    let shape = format!("<client connected='true' id='{phone_id}' type='session'><first-seen>");
    assert!(listed.contains(&shape), "{listed}");
    assert!(
        listed.contains("Z</last-seen><auth><password/></auth><user-agent/></client>"),
        "{listed}"
    );

    // The admin sees the same client.
    let admin = server.admin_connection().request(&format!(
        r#"{{"v":1,"id":1,"request":{{"user_clients":{{"jid":"alice@{HOST}"}}}}}}"#
    ));
    let clients = &admin["outcome"]["ok"]["clients"]["clients"];
    assert_eq!(clients[0]["id"], phone_id.as_str(), "{admin}");
    assert_eq!(
        clients[0]["auth"],
        serde_json::json!(["password"]),
        "{admin}"
    );
    assert_eq!(clients[0]["connected"], true, "{admin}");
    assert_eq!(clients[0]["legacy"], true, "{admin}");

    // A second installation, revoked from the first.
    let mut laptop = RawClient::bound(&server, "alice", PASSWORD, "laptop").await;
    let listed = list(&mut phone, "l2").await;
    let laptop_id = ids(&listed)
        .into_iter()
        .find(|id| id != phone_id)
        .unwrap_or_else(|| panic!("no second client in {listed}"));
    let revoked = iq(
        &mut phone,
        "r1",
        "set",
        &format!("<revoke xmlns='{NS}' id='{laptop_id}'/>"),
    )
    .await;
    assert!(revoked.contains("type='error'"), "{revoked}");
    assert!(
        revoked.contains("<error type='cancel'><service-unavailable"),
        "{revoked}"
    );
    assert!(
        revoked.contains(">Password reset required</text>"),
        "{revoked}"
    );
    assert!(
        revoked.contains(&format!("<password-reset-required xmlns='{NS}'/></error>")),
        "{revoked}"
    );
    let ended = laptop.read_to_end().await;
    assert!(ended.contains("<stream:error>"), "{ended}");
    assert!(!ended.ends_with("[not closed]"), "{ended}");
}

#[tokio::test]
async fn revoke_and_list_refuse_what_they_cannot_do() {
    let server = server_with_alice();
    server.create_user(&format!("bob@{HOST}"), PASSWORD);
    let mut phone = RawClient::bound(&server, "alice", PASSWORD, "phone").await;
    for (id, revoke) in [
        ("n1", format!("<revoke xmlns='{NS}' id='client/nope'/>")),
        ("n2", format!("<revoke xmlns='{NS}' id='grant/nope'/>")),
        ("n3", format!("<revoke xmlns='{NS}'/>")),
    ] {
        let answer = iq(&mut phone, id, "set", &revoke).await;
        assert!(
            answer.contains("<error type='cancel'><item-not-found"),
            "{answer}"
        );
        assert!(answer.contains(">Client not found</text>"), "{answer}");
    }
    let wrong_type = list_as(&mut phone, "t1", "set", None).await;
    assert!(wrong_type.contains("<bad-request"), "{wrong_type}");
    let other = list_as(&mut phone, "o1", "get", Some(&format!("bob@{HOST}"))).await;
    assert!(other.contains("<service-unavailable"), "{other}");
    let own = list_as(&mut phone, "o2", "get", Some(&format!("alice@{HOST}"))).await;
    assert!(own.contains("type='result'"), "{own}");

    let admin = server.admin_connection().request(&format!(
        r#"{{"v":1,"id":1,"request":{{"user_revoke_client":{{"jid":"alice@{HOST}","client":"client/nope"}}}}}}"#
    ));
    assert_eq!(admin["outcome"]["error"]["kind"], "not_found", "{admin}");
    assert_eq!(
        admin["outcome"]["error"]["message"], "Client not found",
        "{admin}"
    );
}

async fn list_as(client: &mut RawClient, id: &str, kind: &str, to: Option<&str>) -> String {
    let to = to.map_or_else(String::new, |to| format!(" to='{to}'"));
    client
        .send(&format!(
            "<iq type='{kind}' id='{id}'{to}><list xmlns='{NS}'/></iq>"
        ))
        .await;
    client.read_iq(id).await
}

#[tokio::test]
async fn an_in_band_password_change_ends_the_other_password_sessions() {
    let server = server_with_alice();
    let mut phone = RawClient::bound(&server, "alice", PASSWORD, "phone").await;
    let mut laptop = RawClient::bound(&server, "alice", PASSWORD, "laptop").await;

    let registered = iq(
        &mut phone,
        "g1",
        "get",
        "<query xmlns='jabber:iq:register'/>",
    )
    .await;
    assert!(
        registered.contains("<registered/><username>alice</username>"),
        "{registered}"
    );
    let change = |id: &str, user: &str, password: &str| {
        (
            id.to_owned(),
            format!(
                "<query xmlns='jabber:iq:register'><username>{user}</username>\
                 <password>{password}</password></query>"
            ),
        )
    };
    let (id, weak) = change("w1", "alice", "short");
    let answer = iq(&mut phone, &id, "set", &weak).await;
    assert!(answer.contains("<not-acceptable"), "{answer}");
    assert!(answer.contains("too short"), "{answer}");
    let (id, someone_else) = change("w2", "bob", "a new password");
    let answer = iq(&mut phone, &id, "set", &someone_else).await;
    assert!(answer.contains("<bad-request"), "{answer}");
    let answer = iq(
        &mut phone,
        "w3",
        "set",
        "<query xmlns='jabber:iq:register'/>",
    )
    .await;
    assert!(answer.contains("<bad-request"), "{answer}");

    let (id, good) = change("c1", "alice", "a new password");
    let answer = iq(&mut phone, &id, "set", &good).await;
    assert!(answer.contains("type='result'"), "{answer}");
    let ended = laptop.read_to_end().await;
    assert!(ended.contains("<stream:error>"), "{ended}");
    assert!(!ended.ends_with("[not closed]"), "{ended}");

    // The session that changed it goes on.
    let pong = iq(&mut phone, "p1", "get", "<ping xmlns='urn:xmpp:ping'/>").await;
    assert!(pong.contains("type='result'"), "{pong}");
    assert!(plain_login_succeeds(&server, "alice", "a new password").await);
    assert!(!plain_login_succeeds(&server, "alice", PASSWORD).await);
}

#[tokio::test]
async fn remove_deletes_the_account_after_answering() {
    let server = server_with_alice();
    let mut phone = RawClient::bound(&server, "alice", PASSWORD, "phone").await;
    let answer = iq(
        &mut phone,
        "rm",
        "set",
        "<query xmlns='jabber:iq:register'><remove/></query>",
    )
    .await;
    assert!(answer.contains("type='result'"), "{answer}");
    let ended = phone.read_to_end().await;
    assert!(ended.contains("<stream:error>"), "{ended}");
    assert!(!plain_login_succeeds(&server, "alice", PASSWORD).await);
}
