//! SASL2 (XEP-0388) with Bind2 (XEP-0386) and FAST (XEP-0484) from the raw
//! client's side: the messages written by hand, the answers read back as
//! text and parsed where a test looks inside them. SCRAM's arithmetic
//! comes from `roost_sasl::test_client`, FAST's hashes from
//! `roost_sasl::fast`: the tests check the server's protocol, not those.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use roost_sasl::ScramHash;
use roost_sasl::fast::initiator_hash;
use roost_sasl::test_client::ScramClient;
use tokio_xmpp::minidom::Element;

use crate::raw::RawClient;
use crate::{HOST, Server};

pub const NS_SASL2: &str = "urn:xmpp:sasl:2";
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
pub const NS_BIND2: &str = "urn:xmpp:bind:0";
pub const NS_FAST: &str = "urn:xmpp:fast:0";
pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";

/// A TLS stream whose header after STARTTLS carries `from` when given;
/// returns the client and the features offered then.
pub async fn tls_stream_from(server: &Server, from: Option<&str>) -> (RawClient, String) {
    let mut client = RawClient::connect(server).await;
    client.open(HOST).await;
    client.starttls_from(from).await
}

/// `<user-agent id=…>` with software and device.
pub fn user_agent(id: &str, software: &str, device: &str) -> String {
    format!(
        "<user-agent id='{id}'><software>{software}</software><device>{device}</device></user-agent>"
    )
}

/// Bind2's `<bind>` with a tag (or none).
pub fn bind2(tag: Option<&str>) -> String {
    match tag {
        Some(tag) => format!("<bind xmlns='{NS_BIND2}'><tag>{tag}</tag></bind>"),
        None => format!("<bind xmlns='{NS_BIND2}'/>"),
    }
}

pub fn request_token(mechanism: &str) -> String {
    format!("<request-token xmlns='{NS_FAST}' mechanism='{mechanism}'/>")
}

/// Sends `<authenticate>` with `mechanism`, the initial response when
/// given, and `inner` (user agent, Bind2, FAST elements); returns the
/// server's first answer (challenge, success or failure).
pub async fn authenticate(
    client: &mut RawClient,
    mechanism: &str,
    initial: Option<&[u8]>,
    inner: &str,
) -> String {
    let initial = initial
        .map(|data| {
            format!(
                "<initial-response>{}</initial-response>",
                STANDARD.encode(data)
            )
        })
        .unwrap_or_default();
    client
        .send(&format!(
            "<authenticate xmlns='{NS_SASL2}' mechanism='{mechanism}'>{initial}{inner}</authenticate>"
        ))
        .await;
    read_answer(client).await
}

/// The next `<challenge>`, `<success>` or `<failure>` as text.
pub async fn read_answer(client: &mut RawClient) -> String {
    client
        .read_until_any(&["</challenge>", "</success>", "</failure>"])
        .await
}

/// The stream features the server sends right after a SASL2 `<success>`.
pub async fn features_after_success(client: &mut RawClient) -> String {
    client
        .read_until_any(&["</stream:features>", "<stream:features/>"])
        .await
}

/// PLAIN's initial response.
pub fn plain(user: &str, password: &str) -> Vec<u8> {
    format!("\0{user}\0{password}").into_bytes()
}

/// A SCRAM exchange over SASL2; `plus` binds it to the TLS exporter.
/// Returns the challenge (if one came) and the final answer.
pub async fn scram(
    client: &mut RawClient,
    hash: ScramHash,
    plus: bool,
    user: &str,
    password: &str,
    inner: &str,
) -> (Option<String>, String) {
    let (gs2, binding, suffix) = if plus {
        ("p=tls-exporter,,", client.tls_exporter().to_vec(), "-PLUS")
    } else {
        ("n,,", Vec::new(), "")
    };
    let mut scram = ScramClient::new(hash, user, password, gs2, &binding);
    let mechanism = format!("{}{suffix}", hash.name());
    let first = authenticate(client, &mechanism, Some(&scram.first()), inner).await;
    if !first.contains("</challenge>") {
        return (None, first);
    }
    let server_first = STANDARD
        .decode(text_of(&first, "challenge"))
        .expect("challenge is base64");
    let last = scram.last(&server_first);
    client
        .send(&format!(
            "<response xmlns='{NS_SASL2}'>{}</response>",
            STANDARD.encode(last)
        ))
        .await;
    (Some(first), read_answer(client).await)
}

/// FAST's initial response for `token` over this connection.
pub fn fast_response(client: &RawClient, mechanism: &str, user: &str, token: &str) -> Vec<u8> {
    let binding = match mechanism {
        "HT-SHA-256-EXPR" => client.tls_exporter(),
        _ => &[][..],
    };
    let mut message = format!("{user}\0").into_bytes();
    message.extend_from_slice(&initiator_hash(token.as_bytes(), binding));
    message
}

/// A new TLS connection (with `from`) that logs in with a FAST token;
/// returns the client and the answer. `extra` goes inside `<authenticate>`
/// after the user agent and `<fast/>` (or replaces `<fast/>` when it starts
/// with `<fast`).
pub async fn fast_login(
    server: &Server,
    user: &str,
    token: &str,
    mechanism: &str,
    client_id: &str,
    extra: &str,
) -> (RawClient, String) {
    let (mut client, features) = tls_stream_from(server, Some(&format!("{user}@{HOST}"))).await;
    assert!(
        features.contains(mechanism),
        "FAST {mechanism} offered: {features}"
    );
    let initial = fast_response(&client, mechanism, user, token);
    let fast = if extra.starts_with("<fast") {
        extra.to_owned()
    } else {
        format!("<fast xmlns='{NS_FAST}'/>{extra}")
    };
    let inner = format!("{}{fast}", user_agent(client_id, "raw", "test"));
    let answer = authenticate(&mut client, mechanism, Some(&initial), &inner).await;
    (client, answer)
}

/// Logs in with PLAIN over SASL2 on a TLS stream with `from`; `inner` adds
/// a user agent, Bind2, a token request. Returns the client (after the
/// features that follow success) and the `<success>` text; panics on
/// anything else.
pub async fn password_login(
    server: &Server,
    user: &str,
    password: &str,
    inner: &str,
) -> (RawClient, String) {
    let (mut client, _) = tls_stream_from(server, Some(&format!("{user}@{HOST}"))).await;
    let answer = authenticate(&mut client, "PLAIN", Some(&plain(user, password)), inner).await;
    assert!(answer.contains("</success>"), "PLAIN login: {answer}");
    features_after_success(&mut client).await;
    (client, answer)
}

/// Parses the last `<name …>` element of `text` (up to its end tag),
/// inside the namespaces of a client stream.
pub fn element(text: &str, name: &str) -> Element {
    let start = text
        .rfind(&format!("<{name}"))
        .unwrap_or_else(|| panic!("no <{name}> in {text}"));
    let head_end = start
        + text[start..]
            .find('>')
            .unwrap_or_else(|| panic!("unfinished <{name}> in {text}"));
    let end = if text[..head_end].ends_with('/') {
        head_end + 1
    } else {
        let close = format!("</{name}>");
        head_end
            + text[head_end..]
                .find(&close)
                .unwrap_or_else(|| panic!("no {close} in {text}"))
            + close.len()
    };
    let fragment = &text[start..end];
    let wrapped =
        format!("<wrap xmlns='jabber:client' xmlns:stream='{NS_STREAMS}'>{fragment}</wrap>");
    let root: Element = wrapped
        .parse()
        .unwrap_or_else(|e| panic!("cannot parse {fragment}: {e}"));
    root.children()
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("empty {fragment}"))
}

/// The condition and text of the `<stream:error>` in `text`.
pub fn stream_error_of(text: &str) -> (String, Option<String>) {
    const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
    let error = element(text, "stream:error");
    let condition = error
        .children()
        .find(|c| c.ns() == NS_STREAM_ERRORS && c.name() != "text")
        .unwrap_or_else(|| panic!("no condition: {text}"))
        .name()
        .to_owned();
    let text = error.get_child("text", NS_STREAM_ERRORS).map(Element::text);
    (condition, text)
}

/// The text content of the last `<name>` element in `text`.
pub fn text_of(text: &str, name: &str) -> String {
    element(text, name).text()
}

/// The token string of a `<token xmlns='urn:xmpp:fast:0'>` in a `<success>`.
pub fn token_of(success: &str) -> Option<String> {
    let success = element(success, "success");
    success
        .get_child("token", NS_FAST)
        .and_then(|t| t.attr("token"))
        .map(str::to_owned)
}

/// `<authorization-identifier>` of a `<success>`.
pub fn authorization_identifier(success: &str) -> String {
    element(success, "success")
        .get_child("authorization-identifier", NS_SASL2)
        .unwrap_or_else(|| panic!("no authorization-identifier: {success}"))
        .text()
}

/// The condition and text of a SASL2 `<failure>`, checking its shape:
/// the condition in the SASL namespace, the text in SASL2's.
pub fn failure_of(answer: &str) -> (String, Option<String>) {
    let failure = element(answer, "failure");
    assert_eq!(failure.ns(), NS_SASL2, "a SASL2 failure: {answer}");
    let condition = failure
        .children()
        .find(|c| c.ns() == NS_SASL)
        .unwrap_or_else(|| panic!("no condition in the SASL namespace: {answer}"))
        .name()
        .to_owned();
    let text = failure.get_child("text", NS_SASL2).map(Element::text);
    (condition, text)
}
