//! Client management end to end (issue 9), with independent clients: xmpp.js
//! logs in with SASL2, a user-agent id and Bind2, gets a FAST token and
//! logs in again with it (HT-SHA-256-NONE); tokio-xmpp logs in with the
//! password over legacy SASL; the raw client lists and revokes over
//! `xmpp:prosody.im/protocol/manage-clients` while the admin uses
//! `roostctl user clients` and `user revoke_client`. Both views must agree,
//! and revocations and password changes must cut the clients off at once.

use futures_util::StreamExt as _;
use roost_tests::client::{self, Session};
use roost_tests::manage_clients::{Listed, list, list_admin, now, revoke};
use roost_tests::raw::RawClient;
use roost_tests::sasl2::{
    failure_of, fast_login, password_login, plain, stream_error_of, tls_stream_from,
};
use roost_tests::xmppjs::{Identity, XmppJs};
use roost_tests::{HOST, Server, stderr, stdout};
use tokio_xmpp::Event;

const USER: &str = "alice";
const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "staple of a new password";
const JS_CLIENT_ID: &str = "0d5b6a4e-xmppjs-e2e";
const JS_SOFTWARE: &str = "xmpp.js e2e";
const JS_DEVICE: &str = "CI runner";
const JS_TAG: &str = "xmppjs";
const PASSWORD_CHANGED: &str = "the account's password was changed: log in again";

fn jid() -> String {
    format!("{USER}@{HOST}")
}

fn js_id() -> String {
    format!("client/{JS_CLIENT_ID}")
}

/// What the story's first half leaves running.
struct Story {
    server: Server,
    /// Logged in with FAST, holding the token it used.
    js: XmppJs,
    token: String,
    /// Logged in with the password over legacy SASL.
    legacy: Session,
    /// A password session (PLAIN, resource `lister`) that lists and revokes.
    lister: RawClient,
    started: i64,
}

/// xmpp.js logs in with its password over SASL2 and gets a FAST token,
/// then logs in again with the token; tokio-xmpp and the raw lister log
/// in with the password.
async fn story() -> Story {
    client::install_crypto();
    let started = now();
    let server = Server::start();
    server.create_user(&jid(), PASSWORD);
    let mut js = XmppJs::spawn(
        &server,
        &Identity {
            username: USER,
            password: PASSWORD,
            client_id: JS_CLIENT_ID,
            software: JS_SOFTWARE,
            device: JS_DEVICE,
            tag: JS_TAG,
        },
    )
    .await;
    let bound = format!(
        "{}/{JS_TAG}~{}",
        jid(),
        roost_sasl::bind2::suffix_for_client(JS_CLIENT_ID)
    );

    let (online, token) = js.start().await;
    assert_eq!(online["event"], "online", "{:#?}", js.seen());
    assert_eq!(online["jid"], bound.as_str(), "Bind2 resource TAG~SUFFIX");
    let mechanisms = online["mechanisms"].as_array().expect("mechanisms");
    assert_eq!(mechanisms.len(), 1, "one SASL2 login: {online}");
    let first = mechanisms[0].as_str().expect("a name");
    assert!(
        first.starts_with("SCRAM-") || first == "PLAIN",
        "a password mechanism over SASL2, not legacy SASL or FAST: {online}"
    );
    let token = token.unwrap_or_else(|| panic!("a FAST token in <success>: {:#?}", js.seen()));
    assert_eq!(token["mechanism"], "HT-SHA-256-NONE", "{token}");
    let secret = token["token"].as_str().expect("token").to_owned();
    assert!(secret.starts_with("secret-token:fast-"), "{token}");
    let expiry = roost_tests::manage_clients::xep0082_seconds(&format!(
        "{}Z",
        &token["expiry"].as_str().expect("expiry")[..19]
    ));
    let days = (expiry - now()) as f64 / 86_400.0;
    assert!((20.9..=21.1).contains(&days), "21 days by default: {token}");

    js.stop().await;
    let (online, again) = js.start().await;
    assert_eq!(online["event"], "online", "{:#?}", js.seen());
    assert_eq!(
        online["mechanisms"],
        serde_json::json!(["HT-SHA-256-NONE"]),
        "the second login used the token and nothing else: {online}"
    );
    assert_eq!(online["jid"], bound.as_str(), "the same resource again");
    assert!(again.is_none(), "a fresh token is not rotated: {again:?}");

    let legacy = client::login(&server, &jid(), PASSWORD)
        .await
        .expect("tokio-xmpp logs in with the password");
    let lister = RawClient::bound(&server, USER, PASSWORD, "lister").await;
    Story {
        server,
        js,
        token: secret,
        legacy,
        lister,
        started,
    }
}

/// `roostctl user clients --json`'s entry for a session's full JID (the
/// admin view shows it; the XMPP view does not).
fn admin_id_of(server: &Server, full_jid: &str) -> String {
    let out = server.ctl(&["user", "clients", &jid(), "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let clients = json
        .as_array()
        .or_else(|| json["clients"].as_array())
        .expect("a list");
    clients
        .iter()
        .find(|c| c["jid"] == full_jid)
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("no client with jid {full_jid}: {json}"))
        .to_owned()
}

fn by_id(mut clients: Vec<Listed>) -> Vec<Listed> {
    clients.sort_by(|a, b| a.id.cmp(&b.id));
    clients
}

fn find<'a>(clients: &'a [Listed], id: &str) -> Option<&'a Listed> {
    clients.iter().find(|c| c.id == id)
}

/// A FAST login with `token` as xmpp.js's client; returns the answer.
async fn fast_with(server: &Server, token: &str) -> String {
    fast_login(server, USER, token, "HT-SHA-256-NONE", JS_CLIENT_ID, "")
        .await
        .1
}

/// Waits for the xmpp.js stream to end with a stream error; returns its
/// condition and text.
async fn js_stream_error(js: &mut XmppJs) -> (String, String) {
    let error = js.expect("stream-error").await;
    (
        error["condition"].as_str().unwrap_or_default().to_owned(),
        error["text"].as_str().unwrap_or_default().to_owned(),
    )
}

/// tokio-xmpp reconnects by itself when its stream ends; a new `Online`
/// (not a resumption) is how a test sees that the server ended the session.
async fn legacy_reconnected(session: &mut Session) {
    // tokio-xmpp may wait for the old stream's close before it reconnects.
    let deadline = tokio::time::Instant::now() + 3 * client::WAIT;
    loop {
        match tokio::time::timeout_at(deadline, session.client.next()).await {
            Err(_) => panic!("the password session was not ended"),
            Ok(None) => return,
            Ok(Some(Event::Online { resumed: false, .. })) => return,
            Ok(Some(_)) => {}
        }
    }
}

/// A raw stream ended by the server: the condition and text of the
/// stream error it sent before closing.
async fn ended(client: &mut RawClient) -> (String, Option<String>) {
    let rest = client.read_to_end().await;
    assert!(
        !rest.ends_with("[not closed]"),
        "the stream stays open: {rest}"
    );
    stream_error_of(&rest)
}

#[tokio::test]
async fn both_views_agree_and_revoking_over_xmpp_cuts_the_clients_off() {
    let Story {
        server,
        mut js,
        token,
        mut legacy,
        mut lister,
        started,
    } = story().await;

    let over_xmpp = by_id(list(&mut lister, "l1").await);
    let admin = by_id(list_admin(&server, &jid()));
    assert_eq!(over_xmpp, admin, "the user and the admin see the same");
    assert_eq!(
        over_xmpp.len(),
        3,
        "xmpp.js, tokio-xmpp, lister: {over_xmpp:#?}"
    );
    let js_entry = find(&over_xmpp, &js_id()).expect("xmpp.js is listed by its id");
    assert_eq!(js_entry.auth, ["password", "fast"]);
    assert!(js_entry.connected);
    assert_eq!(js_entry.software.as_deref(), Some(JS_SOFTWARE));
    assert_eq!(js_entry.device.as_deref(), Some(JS_DEVICE));
    let legacy_id = admin_id_of(&server, &legacy.jid.to_string());
    let lister_id = admin_id_of(&server, &format!("{}/lister", jid()));
    for id in [&legacy_id, &lister_id] {
        let entry = find(&over_xmpp, id).expect("listed");
        assert_eq!(entry.auth, ["password"], "{entry:?}");
        assert!(entry.connected, "{entry:?}");
        assert_eq!(entry.software, None, "legacy SASL has no user agent");
    }
    for entry in &over_xmpp {
        assert!(
            started <= entry.first_seen
                && entry.first_seen <= entry.last_seen
                && entry.last_seen <= now(),
            "times of this test: {entry:?} (started {started})"
        );
    }

    // xmpp.js logged in with its password once: revoking it ends its
    // stream and deletes its token, and says only a new password shuts it out.
    let answer = revoke(&mut lister, "r1", &js_id()).await;
    assert_password_reset_required(&answer);
    let (condition, text) = js_stream_error(&mut js).await;
    assert_eq!(
        (condition.as_str(), text.as_str()),
        ("not-authorized", "this client's access was revoked")
    );
    let answer = fast_with(&server, &token).await;
    assert_eq!(
        failure_of(&answer).0,
        "not-authorized",
        "a deleted token: {answer}"
    );
    let after = list(&mut lister, "l2").await;
    let js_entry = find(&after, &js_id()).expect("still password-active");
    assert_eq!(
        js_entry.auth,
        ["password"],
        "no FAST any more: {js_entry:?}"
    );
    assert!(!js_entry.connected, "{js_entry:?}");

    // The tokio-xmpp client only ever used the password.
    let answer = revoke(&mut lister, "r2", &legacy_id).await;
    assert_password_reset_required(&answer);
    legacy_reconnected(&mut legacy).await;

    let answer = revoke(&mut lister, "r3", "client/no-such-client").await;
    assert_not_found(&answer);
    let answer = revoke(&mut lister, "r4", "nonsense").await;
    assert_not_found(&answer);
}

fn assert_password_reset_required(answer: &str) {
    assert!(
        answer.contains("type='error'") || answer.contains("type=\"error\""),
        "{answer}"
    );
    let iq = roost_tests::sasl2::element(answer, "iq");
    let error = iq.get_child("error", "jabber:client").expect("an error");
    assert_eq!(error.attr("type"), Some("cancel"), "{answer}");
    let stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    assert!(error.has_child("service-unavailable", stanzas), "{answer}");
    assert!(
        error.has_child(
            "password-reset-required",
            roost_tests::manage_clients::NS_MANAGE
        ),
        "{answer}"
    );
    assert_eq!(
        error
            .get_child("text", stanzas)
            .map(|t| t.text())
            .as_deref(),
        Some("Password reset required"),
        "{answer}"
    );
}

fn assert_not_found(answer: &str) {
    let iq = roost_tests::sasl2::element(answer, "iq");
    assert_eq!(iq.attr("type"), Some("error"), "{answer}");
    let error = iq.get_child("error", "jabber:client").expect("an error");
    let stanzas = "urn:ietf:params:xml:ns:xmpp-stanzas";
    assert_eq!(error.attr("type"), Some("cancel"), "{answer}");
    assert!(error.has_child("item-not-found", stanzas), "{answer}");
    assert_eq!(
        error
            .get_child("text", stanzas)
            .map(|t| t.text())
            .as_deref(),
        Some("Client not found"),
        "{answer}"
    );
}

#[tokio::test]
async fn revoking_from_roostctl_cuts_the_clients_off() {
    let Story {
        server,
        mut js,
        token,
        mut legacy,
        mut lister,
        ..
    } = story().await;

    let out = server.ctl(&["user", "revoke_client", &jid(), &js_id()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ended 1 session, deleted 1 FAST token\n");
    assert!(
        stderr(&out).contains("Password reset required"),
        "{}",
        stderr(&out)
    );
    let (condition, text) = js_stream_error(&mut js).await;
    assert_eq!(
        (condition.as_str(), text.as_str()),
        ("not-authorized", "this client's access was revoked")
    );
    let answer = fast_with(&server, &token).await;
    assert_eq!(
        failure_of(&answer).0,
        "not-authorized",
        "a deleted token: {answer}"
    );

    let legacy_id = admin_id_of(&server, &legacy.jid.to_string());
    // The prosodyctl spelling and ours reach the same command.
    let out = server.ctl(&["user", "revoke-client", &jid(), &legacy_id]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ended 1 session\n");
    assert!(
        stderr(&out).contains("Password reset required"),
        "{}",
        stderr(&out)
    );
    legacy_reconnected(&mut legacy).await;

    let out = server.ctl(&["user", "revoke_client", &jid(), "client/no-such-client"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Client not found"),
        "{}",
        stderr(&out)
    );

    // The lister, never revoked, still works.
    let listed = list(&mut lister, "l1").await;
    assert!(find(&listed, &js_id()).is_some_and(|c| !c.connected));
}

/// A password change from roostctl ends every session, those that logged
/// in with FAST too, and makes the tokens issued before it fail with
/// credentials-expired.
#[tokio::test]
async fn a_password_change_from_roostctl_ends_every_session_and_old_tokens() {
    let Story {
        server,
        mut js,
        token,
        legacy,
        mut lister,
        ..
    } = story().await;
    // tokio-xmpp would try the old password again and again, and each try
    // counts against the login limiter: it leaves first.
    drop(legacy);
    let mut other = RawClient::bound(&server, USER, PASSWORD, "other").await;

    let out = server.ctl_with_stdin(
        &["user", "password", &jid(), "--password-stdin"],
        &format!("{NEW_PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for client in [&mut lister, &mut other] {
        assert_eq!(
            ended(client).await,
            (
                "not-authorized".to_owned(),
                Some(PASSWORD_CHANGED.to_owned())
            )
        );
    }
    // xmpp.js's session logged in with its token, which the old password
    // got it: it ends too.
    let (condition, text) = js_stream_error(&mut js).await;
    assert_eq!(
        (condition.as_str(), text.as_str()),
        ("not-authorized", PASSWORD_CHANGED)
    );
    let answer = fast_with(&server, &token).await;
    let (condition, _) = failure_of(&answer);
    assert_eq!(
        condition, "credentials-expired",
        "a token from before the change"
    );

    // The old password is refused, the new one works.
    let (mut client, _) = tls_stream_from(&server, None).await;
    let answer =
        roost_tests::sasl2::authenticate(&mut client, "PLAIN", Some(&plain(USER, PASSWORD)), "")
            .await;
    assert_eq!(failure_of(&answer).0, "not-authorized", "{answer}");
    let mut lister = RawClient::bound(&server, USER, NEW_PASSWORD, "lister2").await;
    let listed = list(&mut lister, "l1").await;
    let ids: Vec<&str> = listed.iter().map(|c| c.id.as_str()).collect();
    let lister2 = admin_id_of(&server, &format!("{}/lister2", jid()));
    assert!(ids.contains(&lister2.as_str()), "{listed:#?}");
    // Only the new login has access: the others neither know the new
    // password nor hold a working token, and none is connected.
    assert_eq!(ids, [lister2.as_str()], "{listed:#?}");
    assert!(
        find(&listed, &js_id()).is_none(),
        "xmpp.js is gone: {listed:#?}"
    );
}

/// XEP-0077 on an authenticated stream: a password change ends the other
/// sessions (not the one that asked) and the old tokens; then the
/// account removes itself.
#[tokio::test]
async fn in_band_password_change_and_removal() {
    let Story {
        server,
        js: _js,
        token,
        legacy,
        mut lister,
        ..
    } = story().await;
    drop(legacy);
    let mut other = RawClient::bound(&server, USER, PASSWORD, "other").await;

    lister
        .send(&format!(
            "<iq type='set' id='pw'><query xmlns='jabber:iq:register'>\
             <username>{USER}</username><password>{NEW_PASSWORD}</password></query></iq>"
        ))
        .await;
    let answer = lister.read_iq("pw").await;
    assert!(answer.contains("type='result'"), "{answer}");
    assert_eq!(
        ended(&mut other).await,
        (
            "not-authorized".to_owned(),
            Some(PASSWORD_CHANGED.to_owned())
        )
    );
    let answer = fast_with(&server, &token).await;
    assert_eq!(failure_of(&answer).0, "credentials-expired", "{answer}");
    // The stream that changed the password goes on, and its client, which
    // knows the new password, is the only one listed as knowing it.
    let listed = list(&mut lister, "l1").await;
    let knowing: Vec<_> = listed
        .iter()
        .filter(|c| c.auth.iter().any(|a| a == "password"))
        .collect();
    assert_eq!(knowing.len(), 1, "{listed:#?}");
    assert!(knowing[0].connected, "{listed:#?}");
    let (_, success) = password_login(&server, USER, NEW_PASSWORD, "").await;
    assert!(success.contains("<success"), "{success}");

    lister
        .send("<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>")
        .await;
    let answer = lister.read_iq("rm").await;
    assert!(answer.contains("type='result'"), "{answer}");
    let (mut client, _) = tls_stream_from(&server, None).await;
    let answer = roost_tests::sasl2::authenticate(
        &mut client,
        "PLAIN",
        Some(&plain(USER, NEW_PASSWORD)),
        "",
    )
    .await;
    assert_eq!(
        failure_of(&answer).0,
        "not-authorized",
        "the account is gone: {answer}"
    );
    let out = server.ctl(&["user", "clients", &jid(), "--json"]);
    assert!(
        !out.status.success() || !stdout(&out).contains("client/"),
        "{}",
        stdout(&out)
    );
}
