//! Reading back one stanza that was written out by [`Element::write_to`]
//! with `jabber:client` as the parent namespace: what the server queued
//! for a client as bytes, looked at again when the client is gone (stream
//! management hands unacknowledged messages to other resources or offline
//! storage).

use crate::{Element, Limits, StreamEvent, StreamParser};

/// The header that puts a serialised stanza in the context it was written
/// for: `jabber:client` as the default namespace.
const CLIENT_STREAM: &[u8] = b"<stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

/// The stanza in `bytes`, or `None` when they hold anything but exactly
/// one whole stanza within `limits`.
pub fn parse_stanza(bytes: &[u8], limits: Limits) -> Option<Element> {
    let limits = Limits {
        max_stanza_bytes: limits.max_stanza_bytes.max(CLIENT_STREAM.len()),
        ..limits
    };
    let mut parser = StreamParser::new(limits);
    parser.push(CLIENT_STREAM);
    parser.push(bytes);
    let Ok(Some(StreamEvent::Header(_))) = parser.next_event() else {
        return None;
    };
    let Ok(Some(StreamEvent::Stanza(stanza))) = parser.next_event() else {
        return None;
    };
    // Anything after it (a second stanza, a stray tag) is not one stanza.
    parser.push(b"</stream:stream>");
    matches!(parser.next_event(), Ok(Some(StreamEvent::End))).then_some(stanza)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ns;

    fn limits() -> Limits {
        Limits {
            max_stanza_bytes: 1 << 16,
            ..Limits::default()
        }
    }

    #[test]
    fn a_written_stanza_reads_back_equal() {
        let message = Element::new("message", ns::CLIENT)
            .with_attr("to", "bob@example.test")
            .with_attr("type", "chat")
            .with_child(Element::new("body", ns::CLIENT).with_text("a < b & c"))
            .with_child(Element::new(
                "active",
                "http://jabber.org/protocol/chatstates",
            ));
        let bytes = message.to_bytes(ns::CLIENT);
        assert_eq!(parse_stanza(&bytes, limits()), Some(message));
    }

    #[test]
    fn anything_but_one_whole_stanza_is_refused() {
        for bytes in [
            &b""[..],
            b"<message",
            b"<message/><message/>",
            b"<message/></x>",
            b"hello",
        ] {
            assert_eq!(parse_stanza(bytes, limits()), None, "{bytes:?}");
        }
    }
}
