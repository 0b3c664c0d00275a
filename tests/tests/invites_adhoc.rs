//! Invites created with ad-hoc commands (XEP-0050, Prosody's
//! mod_invites_adhoc) over XMPP, end to end against the real roostd: users
//! log in on raw streams, and xmpp-parsers (from xmpp-rs) checks the disco
//! answers and data forms; admins (named in the config, or by role)
//! create each kind of invite, normal users only what `[invites]` allows,
//! and every refusal and protocol error comes back as XEP-0050 says.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use roost_tests::raw::RawClient;
use roost_tests::{HOST, OTHER_HOST, Server, http, stderr, stdout};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType};
use tokio_xmpp::parsers::disco::{DiscoInfoResult, DiscoItemsResult};

const COMMANDS: &str = "http://jabber.org/protocol/commands";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
const INVITE: &str = "urn:xmpp:invite#invite";
const CREATE_ACCOUNT: &str = "urn:xmpp:invite#create-account";
const FORBIDDEN_TEXT: &str = "You don't have permission to execute this command";
const PASSWORD: &str = "a long enough password";

/// An admin named in the config.
const BOSS: &str = "boss@example.test";
/// An admin by role (`roostctl user set-role`).
const ROOT: &str = "root@example.test";
/// A normal user.
const BOB: &str = "bob@example.test";

/// A server with the three accounts; `boss` named in `admins`, `root` given
/// the admin role; `extra` tables added to the config.
fn server_with(extra: &str) -> Server {
    let server = Server::start_with_top_level(&format!("admins = [\"{BOSS}\"]"), extra);
    for jid in [BOSS, ROOT, BOB] {
        server.create_user(jid, PASSWORD);
    }
    let out = server.ctl(&["user", "set-role", ROOT, "admin"]);
    assert!(out.status.success(), "set-role: {}", stderr(&out));
    server
}

/// A logged-in user on a raw stream, so that answers are read exactly as
/// sent: client libraries turn an iq error into its `<error/>` alone and
/// drop the `<command/>` beside it, which is what clients show.
struct User {
    raw: RawClient,
    /// The full JID the user is bound to.
    jid: String,
}

async fn login(server: &Server, jid: &str) -> User {
    let local = jid.split('@').next().unwrap_or_default();
    let raw = RawClient::bound(server, local, PASSWORD, "adhoc").await;
    User {
        raw,
        jid: format!("{jid}/adhoc"),
    }
}

/// Sends `<iq type=KIND id=ID to=TO>PAYLOAD</iq>` and returns the answer,
/// parsed; it must be the very next thing the server sends, so a missing,
/// late or second answer to an earlier iq fails here.
async fn iq_to(user: &mut User, to: &str, kind: &str, id: &str, payload: &str) -> Element {
    user.raw
        .send(&format!(
            "<iq type='{kind}' id='{id}' to='{to}'>{payload}</iq>"
        ))
        .await;
    let text = user.raw.read_iq(id).await;
    let start = text.rfind("<iq").expect("an iq");
    assert!(
        text[..start].trim().is_empty(),
        "something else came before the answer to {id}: {text}"
    );
    // The stream's default namespace, which the iq inherits on the wire.
    let answer: Element = format!("<iq xmlns='jabber:client'{}", &text[start + 3..])
        .parse()
        .unwrap_or_else(|e| panic!("answer to {id} is not XML ({e}): {text}"));
    assert_eq!(answer.attr("id"), Some(id), "{text}");
    assert_eq!(answer.attr("to"), Some(user.jid.as_str()), "{text}");
    assert!(
        matches!(answer.attr("type"), Some("result" | "error")),
        "{text}"
    );
    answer
}

/// Runs command `node` on the host with the given extra attributes
/// (`action='…'`, `sessionid='…'`).
async fn command(user: &mut User, id: &str, node: &str, attrs: &str) -> Element {
    iq_to(
        user,
        HOST,
        "set",
        id,
        &format!("<command xmlns='{COMMANDS}' node='{node}' {attrs}/>"),
    )
    .await
}

fn command_of(answer: &Element) -> &Element {
    answer
        .get_child("command", COMMANDS)
        .unwrap_or_else(|| panic!("no command in {answer:?}"))
}

/// The `<error/>` of an error answer: its type, condition and text.
fn error_of(answer: &Element) -> (String, String, Option<String>) {
    assert_eq!(answer.attr("type"), Some("error"), "{answer:?}");
    let error = answer
        .get_child("error", "jabber:client")
        .unwrap_or_else(|| panic!("no error in {answer:?}"));
    let condition = error
        .children()
        .find(|c| c.ns() == STANZAS && c.name() != "text")
        .map(|c| c.name().to_owned())
        .unwrap_or_default();
    let text = error.get_child("text", STANZAS).map(|t| t.text());
    (
        error.attr("type").unwrap_or_default().to_owned(),
        condition,
        text,
    )
}

/// The XEP-0050 application condition inside `<error/>`, if any.
fn command_condition(answer: &Element) -> Option<String> {
    answer
        .get_child("error", "jabber:client")?
        .children()
        .find(|c| c.ns() == COMMANDS)
        .map(|c| c.name().to_owned())
}

/// What a completed invite command handed out.
#[derive(Debug)]
struct Created {
    landing_url: String,
    uri: String,
    expire: String,
    token: String,
}

/// Checks the completed answer to `node` and reads its result form.
fn created(answer: &Element, node: &str) -> Created {
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    let command = command_of(answer);
    assert_eq!(command.attr("node"), Some(node));
    assert_eq!(command.attr("status"), Some("completed"));
    let session_id = command.attr("sessionid").unwrap_or_default();
    assert_eq!(session_id.len(), 36, "not a UUID: {session_id:?}");
    let x = command
        .get_child("x", "jabber:x:data")
        .unwrap_or_else(|| panic!("no form in {answer:?}"))
        .clone();
    let form = DataForm::try_from(x).expect("a valid XEP-0004 form");
    assert_eq!(form.type_, DataFormType::Result_);
    assert_eq!(form.title.as_deref(), Some("Your invite has been created"));
    let fields: BTreeMap<String, _> = form
        .fields
        .into_iter()
        .map(|f| (f.var.clone().unwrap_or_default(), f))
        .collect();
    let labels: Vec<(&str, Option<&str>, Option<&str>)> = fields
        .iter()
        .map(|(var, f)| (var.as_str(), f.label.as_deref(), f.desc.as_deref()))
        .collect();
    assert_eq!(
        labels,
        [
            ("expire", Some("Invite valid until"), None),
            (
                "landing-url",
                Some("Invite web page"),
                Some("Share this link")
            ),
            (
                "uri",
                Some("Invite URI"),
                Some("This alternative link can be opened with some XMPP clients")
            ),
        ]
    );
    let value = |var: &str| match fields[var].values.as_slice() {
        [one] => one.clone(),
        other => panic!("{var}: one value expected, got {other:?}"),
    };
    let uri = value("uri");
    let token = uri
        .split(';')
        .find_map(|p| p.strip_prefix("preauth="))
        .unwrap_or_else(|| panic!("no token in {uri}"))
        .to_owned();
    Created {
        landing_url: value("landing-url"),
        uri,
        expire: value("expire"),
        token,
    }
}

/// `roostctl --json invite list HOST`, by id.
fn listed(server: &Server) -> Vec<serde_json::Value> {
    let out = server.ctl(&["--json", "invite", "list", HOST]);
    assert!(out.status.success(), "invite list: {}", stderr(&out));
    serde_json::from_str::<serde_json::Value>(&stdout(&out))
        .expect("JSON")
        .as_array()
        .expect("an array")
        .clone()
}

/// Checks everything a created invite promises: its landing page answers
/// and is the server's page for that token, `expire` is the stored expiry
/// in XEP-0082 form, and `invite list` shows it as `kind` made by `creator`.
async fn check_invite(server: &Server, invite: &Created, kind: &str, creator: &str) {
    assert_eq!(
        invite.landing_url,
        server.url(&format!("/invite/{}", invite.token))
    );
    let status = http()
        .get(&invite.landing_url)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK, "{}", invite.landing_url);

    let list = listed(server);
    let row = list.last().expect("the newest invite is listed");
    assert_eq!(row["kind"], kind, "{row}");
    assert_eq!(row["creator"], creator, "{row}");
    let expires_at = row["expires_at"].as_i64().expect("expires_at");
    let minutes = roost_common::time::utc_minutes(expires_at);
    let expected = format!(
        "{}T{}:{:02}Z",
        &minutes[..10],
        &minutes[11..16],
        expires_at % 60
    );
    assert_eq!(invite.expire, expected);
    // The default `invites.expiry`: a week.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let week = 7 * 24 * 3600;
    assert!(
        (now + week - 60..=now + week + 60).contains(&expires_at),
        "{expires_at}"
    );
}

/// The command nodes and names listed to `user` on the host.
async fn listed_commands(user: &mut User, id: &str) -> Vec<(String, String)> {
    let answer = iq_to(
        user,
        HOST,
        "get",
        id,
        &format!("<query xmlns='http://jabber.org/protocol/disco#items' node='{COMMANDS}'/>"),
    )
    .await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    let query = answer.children().next().expect("query").clone();
    let items = DiscoItemsResult::try_from(query).expect("a disco#items result");
    assert_eq!(items.node.as_deref(), Some(COMMANDS));
    items
        .items
        .into_iter()
        .map(|item| {
            assert_eq!(item.jid.to_string(), HOST);
            (item.node.unwrap_or_default(), item.name.unwrap_or_default())
        })
        .collect()
}

async fn command_info(user: &mut User, id: &str, node: &str) -> Element {
    iq_to(
        user,
        HOST,
        "get",
        id,
        &format!("<query xmlns='http://jabber.org/protocol/disco#info' node='{node}'/>"),
    )
    .await
}

fn both_commands() -> Vec<(String, String)> {
    vec![
        (CREATE_ACCOUNT.into(), "Create new account invite".into()),
        (INVITE.into(), "Create new contact invite".into()),
    ]
}

/// Checks the refusal of `node`, in Prosody's words.
fn assert_forbidden(answer: &Element, node: &str) {
    assert_eq!(
        error_of(answer),
        (
            "auth".into(),
            "forbidden".into(),
            Some(FORBIDDEN_TEXT.into())
        )
    );
    let command = command_of(answer);
    assert_eq!(command.attr("status"), Some("canceled"));
    assert_eq!(command.attr("node"), Some(node));
    let note = command.get_child("note", COMMANDS).expect("a note");
    assert_eq!(note.attr("type"), Some("error"));
    assert_eq!(note.text(), FORBIDDEN_TEXT);
}

#[tokio::test]
async fn admins_create_every_kind() {
    let server = server_with("");
    // Nothing up our sleeve.
    assert!(listed(&server).is_empty());
    for admin in [BOSS, ROOT] {
        let mut user = login(&server, admin).await;
        let full = user.jid.clone();

        assert_eq!(listed_commands(&mut user, "items").await, both_commands());
        for (node, name) in both_commands() {
            let answer = command_info(&mut user, &format!("info-{node}"), &node).await;
            assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
            let query = answer.children().next().expect("query").clone();
            let info = DiscoInfoResult::try_from(query).expect("a disco#info result");
            assert_eq!(info.node.as_deref(), Some(node.as_str()));
            let identities: Vec<_> = info
                .identities
                .iter()
                .map(|i| (i.category.as_str(), i.type_.as_str(), i.name.as_deref()))
                .collect();
            assert_eq!(
                identities,
                [("automation", "command-node", Some(name.as_str()))]
            );
            let features: Vec<&str> = info.features.iter().map(String::as_str).collect();
            assert_eq!(features, [COMMANDS, "jabber:x:data"]);
        }

        // An account invite: no action attribute means execute.
        let answer = command(&mut user, "account", CREATE_ACCOUNT, "").await;
        let invite = created(&answer, CREATE_ACCOUNT);
        assert_eq!(
            invite.uri,
            format!("xmpp:{HOST}?register;preauth={}", invite.token)
        );
        check_invite(&server, &invite, "account", &full).await;

        // A contact invite from an admin also lets the invitee register.
        let answer = command(&mut user, "contact", INVITE, "action='execute'").await;
        let invite = created(&answer, INVITE);
        assert_eq!(
            invite.uri,
            format!("xmpp:{admin}?roster;preauth={};ibr=y", invite.token)
        );
        check_invite(&server, &invite, "both", &full).await;
    }
    assert_eq!(listed(&server).len(), 4);
}

#[tokio::test]
async fn normal_users_get_contact_invites_only() {
    let server = server_with("");
    let mut bob = login(&server, BOB).await;
    let full = bob.jid.clone();

    // The server advertises ad-hoc commands.
    let answer = iq_to(
        &mut bob,
        HOST,
        "get",
        "server-info",
        "<query xmlns='http://jabber.org/protocol/disco#info'/>",
    )
    .await;
    let info = DiscoInfoResult::try_from(answer.children().next().unwrap().clone()).unwrap();
    assert!(info.features.contains(COMMANDS), "{:?}", info.features);

    assert_eq!(
        listed_commands(&mut bob, "items").await,
        [(INVITE.to_owned(), "Create new contact invite".to_owned())]
    );
    let answer = command_info(&mut bob, "info", CREATE_ACCOUNT).await;
    assert_eq!(
        error_of(&answer),
        (
            "auth".into(),
            "forbidden".into(),
            Some("This item is not available to you".into())
        )
    );

    let answer = command(&mut bob, "account", CREATE_ACCOUNT, "action='execute'").await;
    assert_forbidden(&answer, CREATE_ACCOUNT);
    assert!(
        listed(&server).is_empty(),
        "a refused command made an invite"
    );

    let answer = command(&mut bob, "contact", INVITE, "").await;
    let invite = created(&answer, INVITE);
    assert_eq!(
        invite.uri,
        format!("xmpp:{BOB}?roster;preauth={}", invite.token)
    );
    check_invite(&server, &invite, "contact", &full).await;
}

#[tokio::test]
async fn user_invites_allowed_let_contacts_register() {
    let server = server_with("[invites]\nallow_user_invites = true\n");
    let mut bob = login(&server, BOB).await;
    let full = bob.jid.clone();

    let answer = command(&mut bob, "contact", INVITE, "").await;
    let invite = created(&answer, INVITE);
    assert_eq!(
        invite.uri,
        format!("xmpp:{BOB}?roster;preauth={};ibr=y", invite.token)
    );
    check_invite(&server, &invite, "both", &full).await;

    // Account invites stay admins' business.
    assert_eq!(
        listed_commands(&mut bob, "items").await,
        [(INVITE.to_owned(), "Create new contact invite".to_owned())]
    );
    let answer = command(&mut bob, "account", CREATE_ACCOUNT, "").await;
    assert_forbidden(&answer, CREATE_ACCOUNT);
    assert_eq!(listed(&server).len(), 1);
}

#[tokio::test]
async fn contact_invites_off_leaves_them_to_admins() {
    let server = server_with("[invites]\nallow_contact_invites = false\n");
    let mut bob = login(&server, BOB).await;
    assert!(listed_commands(&mut bob, "items").await.is_empty());
    let answer = command_info(&mut bob, "info", INVITE).await;
    assert_eq!(error_of(&answer).1, "forbidden");
    let answer = command(&mut bob, "contact", INVITE, "").await;
    assert_forbidden(&answer, INVITE);
    assert!(
        listed(&server).is_empty(),
        "a refused command made an invite"
    );

    let mut root = login(&server, ROOT).await;
    assert_eq!(listed_commands(&mut root, "items").await, both_commands());
    let answer = command(&mut root, "contact", INVITE, "").await;
    let invite = created(&answer, INVITE);
    assert_eq!(
        invite.uri,
        format!("xmpp:{ROOT}?roster;preauth={};ibr=y", invite.token)
    );
}

#[tokio::test]
async fn protocol_errors() {
    let server = server_with("");
    let mut bob = login(&server, BOB).await;

    // Cancelling creates nothing.
    let answer = command(&mut bob, "cancel", INVITE, "action='cancel'").await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    let canceled = command_of(&answer);
    assert_eq!(canceled.attr("status"), Some("canceled"));
    assert_eq!(canceled.attr("node"), Some(INVITE));
    assert!(canceled.attr("sessionid").is_some());
    assert!(canceled.children().next().is_none(), "{answer:?}");
    let answer = command(
        &mut bob,
        "cancel2",
        INVITE,
        "action='cancel' sessionid='s1'",
    )
    .await;
    assert_eq!(command_of(&answer).attr("sessionid"), Some("s1"));

    // Each (attributes, stanza condition, XEP-0050 condition).
    let cases: [(&str, &str, Option<&str>); 5] = [
        ("action='launch'", "bad-request", Some("malformed-action")),
        ("action='next'", "bad-request", Some("bad-action")),
        ("action='prev'", "bad-request", Some("bad-action")),
        ("sessionid='s1'", "bad-request", Some("bad-sessionid")),
        (
            "action='complete' sessionid='s1'",
            "bad-request",
            Some("bad-sessionid"),
        ),
    ];
    for (i, (attrs, condition, app)) in cases.into_iter().enumerate() {
        let answer = command(&mut bob, &format!("e{i}"), INVITE, attrs).await;
        assert_eq!(error_of(&answer).1, condition, "{attrs}: {answer:?}");
        assert_eq!(command_condition(&answer).as_deref(), app, "{attrs}");
    }
    assert!(
        listed(&server).is_empty(),
        "an invalid command made an invite"
    );

    // Unknown node, no node, get instead of set, malformed content.
    let answer = command(&mut bob, "unknown", "urn:xmpp:invite#nothing", "").await;
    assert_eq!(error_of(&answer).1, "item-not-found");
    let malformed = [
        ("no-node", "set", format!("<command xmlns='{COMMANDS}'/>")),
        (
            "get",
            "get",
            format!("<command xmlns='{COMMANDS}' node='{INVITE}'/>"),
        ),
    ];
    for (id, kind, payload) in malformed {
        let answer = iq_to(&mut bob, HOST, kind, id, &payload).await;
        assert_eq!(error_of(&answer).1, "bad-request", "{id}: {answer:?}");
    }

    // Accounts have no commands; another host's are not for bob.
    let payload = format!("<command xmlns='{COMMANDS}' node='{INVITE}'/>");
    let answer = iq_to(&mut bob, BOB, "set", "to-account", &payload).await;
    assert_eq!(error_of(&answer).1, "service-unavailable");
    let answer = iq_to(&mut bob, OTHER_HOST, "set", "other-host", &payload).await;
    assert_forbidden(&answer, INVITE);
    let answer = iq_to(
        &mut bob,
        OTHER_HOST,
        "get",
        "other-items",
        &format!("<query xmlns='http://jabber.org/protocol/disco#items' node='{COMMANDS}'/>"),
    )
    .await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    assert_eq!(answer.children().next().unwrap().children().count(), 0);

    // Disco: the command list node, and nodes that do not exist.
    let answer = command_info(&mut bob, "list-info", COMMANDS).await;
    let info = DiscoInfoResult::try_from(answer.children().next().unwrap().clone()).unwrap();
    assert_eq!(info.identities[0].type_, "command-list");
    let answer = command_info(&mut bob, "nothing-info", "urn:xmpp:invite#nothing").await;
    assert_eq!(error_of(&answer).1, "item-not-found");
    let answer = iq_to(
        &mut bob,
        HOST,
        "get",
        "nothing-items",
        "<query xmlns='http://jabber.org/protocol/disco#items' node='nothing'/>",
    )
    .await;
    assert_eq!(error_of(&answer).1, "item-not-found");

    // Still answered once each: the next answer is the next request's.
    let answer = iq_to(
        &mut bob,
        HOST,
        "get",
        "ping",
        "<ping xmlns='urn:xmpp:ping'/>",
    )
    .await;
    assert_eq!(answer.attr("type"), Some("result"));
    assert!(listed(&server).is_empty());
}
