//! Whole stanzas off a [`RawClient`] stream, parsed into elements, for
//! tests that follow what the server sends over several stanzas (pushes,
//! presence, errors) without depending on how it serialises them; and a
//! login on any host through direct TLS.

use std::time::Duration;

use base64::Engine as _;
use tokio_xmpp::minidom::Element;

use crate::HOST;
use crate::raw::RawClient;

/// How long expected stanzas may take (less than the raw client's own
/// 10 s per read, so that a timeout shows what did arrive).
pub const WAIT: Duration = Duration::from_secs(9);
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// Direct TLS (XEP-0368), a stream to `host`, PLAIN, bind.
pub async fn login_direct_tls(
    tls_port: u16,
    host: &str,
    user: &str,
    password: &str,
    resource: &str,
) -> RawClient {
    let mut client = RawClient::connect_direct_tls(tls_port).await;
    client.open(host).await;
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    client
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
        ))
        .await;
    let answer = client.read_until_any(&["<success", "</failure>"]).await;
    assert!(
        answer.contains("<success"),
        "{user}@{host}: login failed: {answer}"
    );
    client.read_until(">").await;
    client.open(host).await;
    client.bind(resource).await;
    client
}

/// One stanza's text as an element, in `jabber:client` as on the stream
/// (stanzas inherit the stream's default namespace).
pub fn parse(text: &str) -> Element {
    let wrapped = format!(
        "<wrapper xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>{text}</wrapper>"
    );
    let wrapper: Element = wrapped
        .parse()
        .unwrap_or_else(|e| panic!("server sent XML we cannot parse ({e}): {text}"));
    wrapper
        .children()
        .next()
        .cloned()
        .unwrap_or_else(|| panic!("no stanza in {text:?}"))
}

/// The next whole stanza (top-level element) on the stream.
pub async fn next_stanza(client: &mut RawClient) -> Element {
    let head = client.read_until(">").await;
    let start = head
        .find('<')
        .unwrap_or_else(|| panic!("no tag in {head:?}"));
    let mut text = head[start..].to_owned();
    if !text.ends_with("/>") {
        let name: String = text[1..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
            .collect();
        // A stanza may hold an element of its own name (a carbon's
        // forwarded message): read until every one opened is closed.
        let close = format!("</{name}>");
        loop {
            text.push_str(&client.read_until(&close).await);
            if open_tags(&text, &name) == text.matches(&close).count() {
                break;
            }
        }
    }
    parse(&text)
}

/// How many `<name …>` start tags (not empty-element tags) `text` holds.
fn open_tags(text: &str, name: &str) -> usize {
    let start = format!("<{name}");
    text.match_indices(&start)
        .filter(|(at, _)| {
            let rest = &text[at + start.len()..];
            let boundary = rest.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/');
            let tag_end = rest.find('>').map_or(rest, |end| &rest[..end]);
            boundary && !tag_end.ends_with('/')
        })
        .count()
}

/// Reads stanzas until `done` holds for what was read; returns them all.
pub async fn read_until_seen(
    client: &mut RawClient,
    what: &str,
    done: impl Fn(&[Element]) -> bool,
) -> Vec<Element> {
    let mut seen = Vec::new();
    let finished = tokio::time::timeout(WAIT, async {
        while !done(&seen) {
            seen.push(next_stanza(client).await);
        }
    })
    .await;
    if finished.is_err() {
        panic!(
            "timed out waiting for {what}; got {:#?}",
            seen.iter().map(String::from).collect::<Vec<_>>()
        );
    }
    seen
}

pub fn is_answer(el: &Element, id: &str) -> bool {
    el.name() == "iq"
        && el.attr("id") == Some(id)
        && matches!(el.attr("type"), Some("result" | "error"))
}

/// Reads up to the answer to iq `id`; returns (answer, what came before).
pub async fn read_answer(client: &mut RawClient, id: &str) -> (Element, Vec<Element>) {
    let mut seen = read_until_seen(client, &format!("the answer to {id}"), |s| {
        s.last().is_some_and(|el| is_answer(el, id))
    })
    .await;
    let answer = seen.pop().expect("the answer");
    (answer, seen)
}

/// Pings the server and returns what arrived before the answer: one
/// stream's stanzas are handled in order, so whatever the server queued for
/// this session before has arrived by then.
pub async fn sync(client: &mut RawClient, id: &str) -> Vec<Element> {
    client
        .send(&format!(
            "<iq type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    read_answer(client, id).await.1
}

/// Whether nothing has arrived on `client` yet (looks at what is already
/// there without waiting for more). When something has, its first `<` is
/// consumed: only for a check that fails the test in that case.
pub async fn nothing_arrived(client: &mut RawClient) -> bool {
    tokio::time::timeout(Duration::from_millis(1), client.read_until("<"))
        .await
        .is_err()
}

/// A presence from `from` (bare, any resource) of `kind` (None: available).
pub fn is_presence(el: &Element, from: &str, kind: Option<&str>) -> bool {
    el.name() == "presence"
        && el
            .attr("from")
            .is_some_and(|f| f == from || f.starts_with(&format!("{from}/")))
        && el.attr("type") == kind
}

/// (type, condition, text) of a stanza error.
pub fn error_of(el: &Element) -> Option<(String, String, String)> {
    let error = el.get_child("error", "jabber:client")?;
    let condition = error
        .children()
        .find(|c| c.ns() == STANZAS && c.name() != "text")?
        .name()
        .to_owned();
    let text = error
        .get_child("text", STANZAS)
        .map(Element::text)
        .unwrap_or_default();
    Some((error.attr("type")?.to_owned(), condition, text))
}

pub fn show(stanzas: &[Element]) -> Vec<String> {
    stanzas.iter().map(String::from).collect()
}
