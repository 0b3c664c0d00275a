//! Stanza counters on the message path, resolved once: a connection counts
//! a stanza with one relaxed atomic add on a counter it reaches by a field,
//! with no label hashing and no lock.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::Labels;

/// One direction's counters, one per kind.
pub struct StanzaCounters {
    message: Counter,
    presence: Counter,
    iq: Counter,
    /// Anything else written to a bound session (never a stanza we route,
    /// but counted rather than guessed).
    other: Counter,
}

/// Both directions.
pub struct Stanzas {
    /// Stanzas a bound client sent.
    pub received: StanzaCounters,
    /// Stanzas written to a bound client (routed, replies, offline).
    pub sent: StanzaCounters,
}

impl Stanzas {
    pub(super) fn resolve(family: &Family<Labels<2>, Counter>) -> Stanzas {
        let direction = |direction: &'static str| {
            let kind = |kind: &'static str| {
                family.get_or_create_owned(&[("direction", direction), ("kind", kind)])
            };
            StanzaCounters {
                message: kind("message"),
                presence: kind("presence"),
                iq: kind("iq"),
                other: kind("other"),
            }
        };
        Stanzas {
            received: direction("in"),
            sent: direction("out"),
        }
    }
}

impl StanzaCounters {
    /// Counts a stanza by its element's local name.
    pub fn count(&self, name: &str) {
        match name {
            "message" => self.message.inc(),
            "presence" => self.presence.inc(),
            "iq" => self.iq.inc(),
            _ => self.other.inc(),
        };
    }

    /// Counts a serialised stanza by the name in its start tag, prefix
    /// (`<x:message`) skipped: a few bytes read, nothing parsed.
    pub fn count_serialised(&self, bytes: &[u8]) {
        self.count(local_name(bytes));
    }
}

/// The most bytes of a start tag looked at: more than any name we count.
const MAX_QNAME: usize = 64;

/// The local name of the element `bytes` starts with; empty if none
/// within [`MAX_QNAME`] bytes.
fn local_name(bytes: &[u8]) -> &str {
    let Some(rest) = bytes.strip_prefix(b"<") else {
        return "";
    };
    let head = &rest[..rest.len().min(MAX_QNAME)];
    let Some(end) = head
        .iter()
        .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>'))
    else {
        return "";
    };
    let qname = &head[..end];
    let local = match qname.iter().rposition(|&b| b == b':') {
        Some(colon) => &qname[colon + 1..],
        None => qname,
    };
    std::str::from_utf8(local).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::{MAX_QNAME, local_name};

    #[test]
    fn local_names_of_serialised_stanzas() {
        for (bytes, name) in [
            (
                &b"<message to='a@b'><body>x</body></message>"[..],
                "message",
            ),
            (b"<presence/>", "presence"),
            (b"<iq\ttype='get'>", "iq"),
            (b"<c:message xmlns:c='jabber:client'>", "message"),
            (b"<message>", "message"),
            (b"<messages>", "messages"),
            (b"message", ""),
            (b"", ""),
            (b"<", ""),
            (b"<message", ""),
        ] {
            assert_eq!(
                local_name(bytes),
                name,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        let long = [b"<".as_slice(), &[b'm'; 100], b"/>"].concat();
        assert_eq!(
            local_name(&long),
            "",
            "looked at the first {MAX_QNAME} bytes only"
        );
    }
}
