//! The client-management views of an account, as the tests read them: the
//! `xmpp:prosody.im/protocol/manage-clients` `<list/>` over XMPP (raw
//! client) and `roostctl user clients JID --json`, both brought to one
//! shape so a test can say they agree.

use serde_json::Value;

use crate::raw::RawClient;
use crate::sasl2::element;
use crate::{Server, stdout};

pub const NS_MANAGE: &str = "xmpp:prosody.im/protocol/manage-clients";

/// One listed client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// `client/ID`.
    pub id: String,
    pub connected: bool,
    pub first_seen: i64,
    pub last_seen: i64,
    /// `password`, `fast`, in the order listed.
    pub auth: Vec<String>,
    pub software: Option<String>,
    pub device: Option<String>,
}

/// Sends `<list/>` as iq `id` on a bound stream; returns the raw answer.
pub async fn list_raw(client: &mut RawClient, id: &str) -> String {
    client
        .send(&format!(
            "<iq type='get' id='{id}'><list xmlns='{NS_MANAGE}'/></iq>"
        ))
        .await;
    client.read_iq(id).await
}

/// `<list/>` over XMPP, checking the answer's shape as the reference shows
/// it: `type='session'`, `<first-seen>`, `<last-seen>`, `<auth>` and
/// `<user-agent>` in that order.
pub async fn list(client: &mut RawClient, id: &str) -> Vec<Listed> {
    let answer = list_raw(client, id).await;
    let iq = element(&answer, "iq");
    assert_eq!(iq.attr("type"), Some("result"), "{answer}");
    let clients = iq
        .get_child("clients", NS_MANAGE)
        .unwrap_or_else(|| panic!("no <clients>: {answer}"));
    clients
        .children()
        .map(|c| {
            assert_eq!(c.name(), "client", "{answer}");
            assert_eq!(c.attr("type"), Some("session"), "{answer}");
            let names: Vec<&str> = c.children().map(|e| e.name()).collect();
            assert_eq!(
                names,
                ["first-seen", "last-seen", "auth", "user-agent"],
                "children in the reference's order: {answer}"
            );
            let child = |name: &str| c.get_child(name, NS_MANAGE).expect("checked above");
            let agent = child("user-agent");
            let agent_text = |name: &str| agent.get_child(name, NS_MANAGE).map(|e| e.text());
            Listed {
                id: c.attr("id").expect("id").to_owned(),
                connected: match c.attr("connected") {
                    Some("true") => true,
                    Some("false") => false,
                    other => panic!("connected={other:?}: {answer}"),
                },
                first_seen: xep0082_seconds(&child("first-seen").text()),
                last_seen: xep0082_seconds(&child("last-seen").text()),
                auth: child("auth")
                    .children()
                    .map(|a| a.name().to_owned())
                    .collect(),
                software: agent_text("software"),
                device: agent_text("device"),
            }
        })
        .collect()
}

/// `roostctl user clients JID --json`, in the same shape.
pub fn list_admin(server: &Server, jid: &str) -> Vec<Listed> {
    let out = server.ctl(&["user", "clients", jid, "--json"]);
    assert!(
        out.status.success(),
        "user clients: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("--json output: {e}: {}", stdout(&out)));
    let clients = json
        .as_array()
        .or_else(|| json["clients"].as_array())
        .unwrap_or_else(|| panic!("a list of clients: {json}"));
    clients
        .iter()
        .map(|c| Listed {
            id: c["id"].as_str().expect("id").to_owned(),
            connected: c["connected"].as_bool().expect("connected"),
            first_seen: c["first_seen"].as_i64().expect("first_seen"),
            last_seen: c["last_seen"].as_i64().expect("last_seen"),
            auth: c["auth"]
                .as_array()
                .expect("auth")
                .iter()
                .map(|a| a.as_str().expect("auth name").to_owned())
                .collect(),
            software: c["software"].as_str().map(str::to_owned),
            device: c["device"].as_str().map(str::to_owned),
        })
        .collect()
}

/// Sends `<revoke id=…/>` as iq `id`; returns the answer.
pub async fn revoke(client: &mut RawClient, id: &str, client_id: &str) -> String {
    client
        .send(&format!(
            "<iq type='set' id='{id}'><revoke xmlns='{NS_MANAGE}' id='{client_id}'/></iq>"
        ))
        .await;
    client.read_iq(id).await
}

/// Unix seconds of an XEP-0082 UTC timestamp without fractions
/// (`2026-11-21T21:38:50Z`); panics on any other shape.
pub fn xep0082_seconds(text: &str) -> i64 {
    let bad = || panic!("not an XEP-0082 UTC time without fractions: {text:?}");
    if text.len() != 20 || !text.ends_with('Z') {
        bad();
    }
    roost_common::time::parse_xep0082(text).map_or_else(bad, |ms| ms / 1000)
}

/// The current Unix time in seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

#[cfg(test)]
mod tests {
    #[test]
    fn xep0082_seconds() {
        assert_eq!(super::xep0082_seconds("1970-01-01T00:00:00Z"), 0);
        assert_eq!(
            super::xep0082_seconds("2026-11-21T21:38:50Z"),
            1_795_297_130
        );
        assert_eq!(super::xep0082_seconds("2000-03-01T00:00:01Z"), 951_868_801);
    }

    #[test]
    #[should_panic(expected = "not an XEP-0082")]
    fn fractions_are_refused() {
        super::xep0082_seconds("2026-11-21T21:38:50.5Z");
    }
}
