//! A logged-in tokio-xmpp client (the independent xmpp-rs library) and
//! helpers to read what it receives, for end-to-end tests.

use std::str::FromStr as _;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio_xmpp::connect::DnsConfig;
use tokio_xmpp::jid::{FullJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::{Lang, Message};
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, Stanza};

use crate::Server;

/// How long to wait for an expected stanza or login. A refused login waits
/// this long too (the client retries until then), so keep it modest.
pub const WAIT: Duration = Duration::from_secs(10);
pub const ROSTER: &str = "jabber:iq:roster";

pub fn install_crypto() {
    let _ = tokio_xmpp::rustls::crypto::ring::default_provider().install_default();
    crate::test_ca();
}

/// Runs a test that drives tokio-xmpp clients, and runs it again (three
/// times in all, each on a fresh roostd) when it failed only because a
/// helper timed out waiting. tokio-xmpp 6.0 sometimes stops yielding
/// received stanzas: with three such tests in parallel, about one run in
/// ten stalled. roostd's trace log showed the answers written and later
/// requests from the same client still arriving, over TLS and over plain
/// TCP alike, and our raw client never stalled in hundreds of runs. Any
/// other failure fails at once.
pub async fn with_client_retries<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    const ATTEMPTS: u32 = 3;
    for attempt in 1..=ATTEMPTS {
        let Err(e) = tokio::spawn(test()).await else {
            return;
        };
        if !e.is_panic() {
            panic!("test task: {e}");
        }
        let payload = e.into_panic();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if attempt == ATTEMPTS || !message.contains("timed out") {
            std::panic::resume_unwind(payload);
        }
        eprintln!(
            "attempt {attempt}: a tokio-xmpp client stalled ({message}); running the test again"
        );
    }
}

/// A logged-in client and the JID the server bound.
pub struct Session {
    pub client: Client,
    pub jid: FullJid,
}

pub async fn login(server: &Server, jid: &str, password: &str) -> Result<Session, String> {
    install_crypto();
    let mut client = Client::new_starttls(
        Jid::from_str(jid).unwrap(),
        password.to_owned(),
        DnsConfig::addr(&server.c2s_addr()),
        Timeouts::tight(),
    );
    loop {
        match tokio::time::timeout(WAIT, client.next()).await {
            Err(_) => return Err("timed out logging in".into()),
            Ok(None) => return Err("stream ended".into()),
            Ok(Some(Event::Online { bound_jid, .. })) => {
                let jid = bound_jid
                    .try_into_full()
                    .map_err(|j| format!("bare JID bound: {j}"))?;
                return Ok(Session { client, jid });
            }
            Ok(Some(Event::Disconnected(e))) => return Err(e.to_string()),
            Ok(Some(Event::Stanza(_))) => {}
        }
    }
}

impl Session {
    pub async fn send(&mut self, stanza: impl Into<Stanza>) {
        self.client
            .send_stanza(stanza.into())
            .await
            .expect("send stanza");
    }

    /// The next stanza that `want` accepts; others are skipped (and shown
    /// if it never comes).
    pub async fn expect(&mut self, what: &str, want: impl Fn(&Element) -> bool) -> Element {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut skipped = Vec::new();
        loop {
            let Ok(event) = tokio::time::timeout_at(deadline, self.client.next()).await else {
                panic!(
                    "{}: timed out waiting for {what}; skipped: {skipped:#?}",
                    self.jid
                );
            };
            match event {
                Some(Event::Stanza(stanza)) => {
                    let el = Element::from(stanza);
                    if want(&el) {
                        return el;
                    }
                    skipped.push(String::from(&el));
                }
                Some(Event::Disconnected(e)) => {
                    panic!("{}: disconnected waiting for {what}: {e}", self.jid)
                }
                // A second Online is a reconnection: a new session, without
                // the state the test built.
                Some(Event::Online { .. }) => {
                    panic!("{}: reconnected waiting for {what}", self.jid)
                }
                None => panic!("{}: stream ended waiting for {what}", self.jid),
            }
        }
    }

    /// Sends `<iq type=KIND id=ID>PAYLOAD</iq>` (payload as XML text) and
    /// returns the answer.
    pub async fn iq(&mut self, id: &str, kind: &str, payload: &str) -> Element {
        let iq = xml(&format!(
            "<iq xmlns='jabber:client' type='{kind}' id='{id}'>{payload}</iq>"
        ));
        self.send(Stanza::try_from(iq).expect("iq stanza")).await;
        let id = id.to_owned();
        self.expect(&format!("answer to {id}"), move |el| {
            el.name() == "iq"
                && el.attr("id") == Some(id.as_str())
                && matches!(el.attr("type"), Some("result" | "error"))
        })
        .await
    }

    pub async fn roster(&mut self) -> Vec<Element> {
        let answer = self
            .iq("r-get", "get", "<query xmlns='jabber:iq:roster'/>")
            .await;
        assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
        answer
            .get_child("query", ROSTER)
            .map(|q| q.children().cloned().collect())
            .unwrap_or_default()
    }

    pub async fn available(&mut self) {
        self.send(Presence::new(PresenceType::None)).await;
    }
}

pub fn xml(text: &str) -> Element {
    text.parse()
        .unwrap_or_else(|e| panic!("bad test XML {text}: {e}"))
}

pub fn chat(to: &str, body: &str) -> Message {
    Message::chat(Jid::from_str(to).unwrap()).with_body(Lang::default(), body.to_owned())
}

pub fn is_presence_from(el: &Element, from: &str, kind: Option<&str>) -> bool {
    el.name() == "presence"
        && el.attr("from").is_some_and(|f| f.starts_with(from))
        && el.attr("type") == kind
}

pub fn is_push_for(el: &Element, contact: &str, subscription: &str) -> bool {
    el.name() == "iq"
        && el.attr("type") == Some("set")
        && el
            .get_child("query", ROSTER)
            .and_then(|q| q.get_child("item", ROSTER))
            .is_some_and(|i| {
                i.attr("jid") == Some(contact) && i.attr("subscription") == Some(subscription)
            })
}

pub fn body_of(el: &Element) -> Option<String> {
    el.get_child("body", "jabber:client").map(|b| b.text())
}
