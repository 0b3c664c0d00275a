//! The element API and serialisation: namespaces written only where they
//! change, escaping, round trips, and the server-side helpers.

use super::super::{Element, Node, STREAM_END, ns, stream_error, stream_header};
use super::stanzas;

fn written(element: &Element, parent_ns: &str) -> String {
    String::from_utf8(element.to_bytes(parent_ns)).unwrap()
}

/// Parses `element` written inside a `jabber:client` stream.
fn reparsed(element: &Element) -> Element {
    let mut parsed = stanzas(&written(element, ns::CLIENT));
    assert_eq!(parsed.len(), 1);
    parsed.remove(0)
}

#[test]
fn builder_and_accessors() {
    let mut iq = Element::new("iq", ns::CLIENT)
        .with_attr("type", "get")
        .with_attr("id", "1")
        .with_child(Element::new("query", ns::ROSTER))
        .with_text("t1")
        .with_child(Element::new("query", ns::DISCO_INFO))
        .with_text("t2");
    assert!(iq.is("iq", ns::CLIENT));
    assert!(!iq.is("iq", ns::ROSTER));
    assert_eq!((iq.name(), iq.ns()), ("iq", ns::CLIENT));
    assert_eq!(iq.attr("type"), Some("get"));
    assert_eq!(iq.attr("to"), None);
    assert_eq!(iq.text(), "t1t2");
    assert_eq!(iq.children().count(), 2);
    assert_eq!(iq.nodes().len(), 4);
    assert!(iq.child("query", ns::DISCO_INFO).is_some());
    assert!(iq.child("query", ns::DISCO_ITEMS).is_none());

    iq.set_attr("type", "result");
    iq.set_attr("to", "a@b");
    assert_eq!(
        iq.attrs().collect::<Vec<_>>(),
        [("type", "result"), ("id", "1"), ("to", "a@b")]
    );
    assert_eq!(iq.remove_attr("id"), Some("1".to_owned()));
    assert_eq!(iq.remove_attr("id"), None);

    iq.child_mut("query", ns::ROSTER)
        .unwrap()
        .push_child(Element::new("item", ns::ROSTER));
    assert_eq!(iq.child("query", ns::ROSTER).unwrap().children().count(), 1);
}

#[test]
fn adjacent_text_is_merged_and_empty_text_dropped() {
    let mut body = Element::new("body", ns::CLIENT);
    body.push_text("a");
    body.push_text(String::from("b"));
    body.push_text("");
    assert_eq!(body.nodes(), [Node::Text("ab".to_owned())]);
    assert!(Element::new("x", "").with_text("").nodes().is_empty());
}

#[test]
fn xmlns_is_written_only_where_the_namespace_changes() {
    let message = Element::new("message", ns::CLIENT)
        .with_attr("to", "romeo@example.net")
        .with_child(Element::new("body", ns::CLIENT).with_text("hi"))
        .with_child(
            Element::new("x", "urn:x")
                .with_child(Element::new("y", "urn:x"))
                .with_child(Element::new("z", "")),
        );
    assert_eq!(
        written(&message, ns::CLIENT),
        "<message to='romeo@example.net'><body>hi</body>\
         <x xmlns='urn:x'><y/><z xmlns=''/></x></message>"
    );
    assert_eq!(
        written(&Element::new("presence", ns::CLIENT), "urn:other"),
        "<presence xmlns='jabber:client'/>"
    );
    assert_eq!(written(&Element::new("a", ""), ""), "<a/>");
    // The streams namespace uses the header's `stream:` prefix and leaves
    // the default namespace alone.
    let features = Element::new("features", ns::STREAMS)
        .with_child(Element::new("bind", ns::BIND))
        .with_child(Element::new("x", ns::CLIENT))
        .with_child(Element::new("y", ns::STREAMS));
    assert_eq!(
        written(&features, ns::CLIENT),
        "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><x/>\
         <y xmlns='http://etherx.jabber.org/streams'/></stream:features>"
    );
    // Unless the element's own attributes rebind `stream`.
    let [odd] = &stanzas("<stream:odd xmlns:s='urn:s' xmlns:stream='urn:s' s:a='1'/>")[..] else {
        panic!("one stanza expected");
    };
    assert!(odd.is("odd", "urn:s"));
    let [odd] = &stanzas(
        "<x:odd xmlns:x='http://etherx.jabber.org/streams' xmlns:stream='urn:s' stream:a='1'/>",
    )[..] else {
        panic!("one stanza expected");
    };
    // Written with the prefix it was read with.
    assert_eq!(
        written(odd, ns::CLIENT),
        "<x:odd xmlns:x='http://etherx.jabber.org/streams' xmlns:stream='urn:s' stream:a='1'/>"
    );
    assert_eq!(&reparsed(odd), odd);
}

#[test]
fn text_and_attributes_are_escaped() {
    let element = Element::new("body", ns::CLIENT)
        .with_attr("a", "<&>\"'\t\n\r")
        .with_text("<&>\"'\t\n\r]]>");
    assert_eq!(
        written(&element, ns::CLIENT),
        "<body a='&lt;&amp;&gt;&quot;&apos;&#9;&#10;&#13;'>\
         &lt;&amp;&gt;&quot;&apos;\t\n&#13;]]&gt;</body>"
    );
}

#[test]
fn parse_write_parse_gives_an_equal_element() {
    let [iq, message] = &stanzas(
        "<iq type='get' id='a&amp;b'><query xmlns='jabber:iq:roster' xmlns:p='urn:p' p:x='1' xml:lang='en'>\
         <item jid='a@b' name='&lt;Tom &amp; &quot;Jerry&quot;&gt;'><group>Friends</group></item>\
         <p:extra xmlns=''>text &#x263A; <![CDATA[<cdata>]]></p:extra></query></iq>\
         <message><body>a\tb\r\nc &#13; d</body><html xmlns='http://jabber.org/protocol/xhtml-im'>\
         <body xmlns='http://www.w3.org/1999/xhtml'><p>hi <b>there</b></p></body></html></message>",
    )[..] else {
        panic!("two stanzas expected");
    };
    for stanza in [iq, message] {
        assert_eq!(&reparsed(stanza), stanza);
    }
    let query = iq.child("query", ns::ROSTER).unwrap();
    assert_eq!(query.attr("p:x"), Some("1"));
    assert!(query.child("extra", "urn:p").is_some());
}

#[test]
fn built_elements_survive_a_round_trip() {
    let element = Element::new("message", ns::CLIENT)
        .with_attr("to", "<&>\"' \t\n\r")
        .with_attr("xml:lang", "en")
        .with_child(Element::new("body", ns::CLIENT).with_text(" <&>\"'\t\n\r]]> 日本 "))
        .with_child(Element::new("x", "urn:x").with_child(Element::new("y", "")));
    assert_eq!(reparsed(&element), element);
}

#[test]
fn stream_header_for_the_client() {
    let header = String::from_utf8(stream_header(
        "example.com",
        "abc",
        "en",
        Some("juliet@example.com/x"),
    ))
    .unwrap();
    assert_eq!(
        header,
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
         xmlns:stream='http://etherx.jabber.org/streams' from='example.com' id='abc' \
         to='juliet@example.com/x' version='1.0' xml:lang='en'>"
    );
    let header = String::from_utf8(stream_header("a'b", "<", "en", None)).unwrap();
    assert!(
        header.contains(" from='a&apos;b' id='&lt;' version="),
        "{header}"
    );
    assert!(!header.contains(" to="));
}

#[test]
fn stream_errors_end_the_stream() {
    assert_eq!(
        stream_error("not-well-formed", None),
        b"<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
          </stream:error></stream:stream>"
    );
    assert_eq!(
        String::from_utf8(stream_error("policy-violation", Some("too <big>"))).unwrap(),
        "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>too &lt;big&gt;</text>\
         </stream:error></stream:stream>"
    );
    assert!(stream_error("x", None).ends_with(STREAM_END));
}

#[test]
fn server_output_parses_as_a_client_stream() {
    // Our header is what a client must accept; it follows the same rules
    // as the one we accept.
    let mut input = stream_header("example.com", "id1", "en", None);
    Element::new("features", ns::STREAMS)
        .with_child(Element::new("starttls", ns::TLS).with_child(Element::new("required", ns::TLS)))
        .write_to(&mut input, ns::CLIENT);
    input.extend_from_slice(&stream_error("conflict", Some("replaced")));
    let outcome = super::parse(&input);
    assert_eq!(outcome.error, None);
    let [
        _,
        super::super::StreamEvent::Stanza(features),
        super::super::StreamEvent::Stanza(error),
        super::super::StreamEvent::End,
    ] = &outcome.events[..]
    else {
        panic!("unexpected events {:?}", outcome.events);
    };
    assert!(
        features
            .child("starttls", ns::TLS)
            .unwrap()
            .child("required", ns::TLS)
            .is_some()
    );
    assert!(error.is("error", ns::STREAMS));
    assert!(error.child("conflict", ns::STREAM_ERRORS).is_some());
    assert_eq!(
        error.child("text", ns::STREAM_ERRORS).unwrap().text(),
        "replaced"
    );
}
