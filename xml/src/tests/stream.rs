//! Well-formed streams: the events a typical client session produces,
//! whatever the split, and restarts.

use super::super::{Element, Limits, StreamEvent, StreamHeader, StreamParser, ns};
use super::{HEADER, parse, stanzas};

pub(super) const TYPICAL: &str = concat!(
    "<?xml version='1.0' encoding='UTF-8'?>\n",
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' ",
    "to='example.com' from='juliet@example.com' version='1.0' xml:lang='en'>",
    "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGp1bGlldAByMG0zMA==</auth>",
    " \n\t \r\n",
    "<iq type='set' id='bind_1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>",
    "<resource>balcony</resource></bind></iq>",
    "<iq type=\"get\" id='roster'><query xmlns='jabber:iq:roster' xmlns:d='http://jabber.org/protocol/disco#items'>",
    "<d:item jid='a@b'/><item name='x'/></query></iq>",
    "\n",
    "<message to='romeo@example.net' type='chat' xml:lang='fr' id='m&amp;1'>",
    "<body>Tom &amp; Jerry &lt;3 &#x263A;&#233;t&#xE9; \u{2014} 日本語 &quot;q&quot; &apos;a&apos; &gt; ok</body>",
    "<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
    "<presence/>",
    "  ",
    "</stream:stream>",
);

fn typical_events() -> Vec<StreamEvent> {
    let header = StreamHeader {
        to: Some("example.com".into()),
        from: Some("juliet@example.com".into()),
        id: None,
        version: Some("1.0".into()),
        lang: Some("en".into()),
        default_ns: ns::CLIENT.into(),
    };
    let auth = Element::new("auth", ns::SASL)
        .with_attr("mechanism", "PLAIN")
        .with_text("AGp1bGlldAByMG0zMA==");
    let bind = Element::new("iq", ns::CLIENT)
        .with_attr("type", "set")
        .with_attr("id", "bind_1")
        .with_child(
            Element::new("bind", ns::BIND)
                .with_child(Element::new("resource", ns::BIND).with_text("balcony")),
        );
    let roster = Element::new("iq", ns::CLIENT)
        .with_attr("type", "get")
        .with_attr("id", "roster")
        .with_child(
            Element::new("query", ns::ROSTER)
                .with_child(Element::new("item", ns::DISCO_ITEMS).with_attr("jid", "a@b"))
                .with_child(Element::new("item", ns::ROSTER).with_attr("name", "x")),
        );
    let message = Element::new("message", ns::CLIENT)
        .with_attr("to", "romeo@example.net")
        .with_attr("type", "chat")
        .with_attr("xml:lang", "fr")
        .with_attr("id", "m&1")
        .with_child(
            Element::new("body", ns::CLIENT)
                .with_text("Tom & Jerry <3 \u{263A}\u{E9}t\u{E9} \u{2014} 日本語 \"q\" 'a' > ok"),
        )
        .with_child(Element::new(
            "active",
            "http://jabber.org/protocol/chatstates",
        ));
    vec![
        StreamEvent::Header(header),
        StreamEvent::Stanza(auth),
        StreamEvent::Stanza(bind),
        StreamEvent::Stanza(roster),
        StreamEvent::Stanza(message),
        StreamEvent::Stanza(Element::new("presence", ns::CLIENT)),
        StreamEvent::End,
    ]
}

#[test]
fn typical_stream_gives_the_same_events_whatever_the_split() {
    // `parse` compares whole, byte-by-byte and random-chunk feeding.
    let outcome = parse(TYPICAL.as_bytes());
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.events, typical_events());
}

#[test]
fn every_split_point_of_the_typical_stream_gives_the_same_events() {
    let input = TYPICAL.as_bytes();
    for cut in 1..input.len() {
        let mut parser = StreamParser::new(Limits::default());
        let mut events = Vec::new();
        for part in [&input[..cut], &input[cut..]] {
            parser.push(part);
            while let Some(event) = parser.next_event().unwrap() {
                events.push(event);
            }
        }
        assert_eq!(events, typical_events(), "split at {cut}");
    }
}

#[test]
fn events_come_as_soon_as_each_stanza_is_complete() {
    let mut parser = StreamParser::new(Limits::default());
    parser.push(HEADER.as_bytes());
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    assert_eq!(parser.next_event(), Ok(None));
    parser.push(b"<message><body>hi</body></mess");
    assert_eq!(parser.next_event(), Ok(None));
    parser.push(b"age><presence/><iq");
    assert!(
        matches!(parser.next_event(), Ok(Some(StreamEvent::Stanza(m))) if m.name() == "message")
    );
    assert!(
        matches!(parser.next_event(), Ok(Some(StreamEvent::Stanza(p))) if p.name() == "presence")
    );
    assert_eq!(parser.next_event(), Ok(None));
}

#[test]
fn header_without_declaration_and_with_any_stream_prefix() {
    let outcome = parse(
        b"<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client'><presence/></s:stream>",
    );
    assert_eq!(outcome.error, None);
    assert!(matches!(&outcome.events[0], StreamEvent::Header(h)
        if h.version.is_none() && h.to.is_none() && h.lang.is_none() && h.default_ns == ns::CLIENT));
    assert_eq!(
        outcome.events[1],
        StreamEvent::Stanza(Element::new("presence", ns::CLIENT))
    );
    assert_eq!(outcome.events[2], StreamEvent::End);
}

#[test]
fn version_and_id_are_reported_not_judged() {
    let outcome = parse(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='2.0' id='x&lt;'>",
    );
    assert_eq!(outcome.error, None);
    assert!(matches!(&outcome.events[..], [StreamEvent::Header(h)]
        if h.version.as_deref() == Some("2.0") && h.id.as_deref() == Some("x<")));
}

#[test]
fn a_utf8_byte_order_mark_is_skipped() {
    let outcome = parse(format!("\u{FEFF}{HEADER}").as_bytes());
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.events.len(), 1);
}

#[test]
fn whitespace_before_the_header_is_allowed_without_a_declaration() {
    let outcome = parse(format!("\r\n {}", &HEADER[21..]).as_bytes());
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.events.len(), 1);
}

#[test]
fn an_empty_stream_element_ends_the_stream() {
    let outcome = parse(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'/>",
    );
    assert_eq!(outcome.error, None);
    assert!(matches!(
        &outcome.events[..],
        [StreamEvent::Header(_), StreamEvent::End]
    ));
}

#[test]
fn whitespace_after_the_end_is_ignored() {
    let outcome = parse(format!("{HEADER}</stream:stream>\n \n").as_bytes());
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.events.last(), Some(&StreamEvent::End));
}

#[test]
fn prefixes_declared_on_the_header_apply_to_stanzas() {
    let outcome = parse(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
          xmlns:ping='urn:xmpp:ping'><iq><ping:ping/></iq><stream:error/>",
    );
    assert_eq!(outcome.error, None);
    let iq = Element::new("iq", ns::CLIENT).with_child(Element::new("ping", ns::PING));
    assert_eq!(outcome.events[1], StreamEvent::Stanza(iq));
    assert_eq!(
        outcome.events[2],
        StreamEvent::Stanza(Element::new("error", ns::STREAMS))
    );
}

#[test]
fn namespace_scopes_end_with_their_element() {
    let [iq, message] = &stanzas(
        "<iq><q xmlns='urn:a' xmlns:p='urn:p'><r/><p:s/></q><r/></iq>\
         <message xmlns:p='urn:other'><p:s/><x xmlns=''><y/></x></message>",
    )[..] else {
        panic!("two stanzas expected");
    };
    let q = iq.child("q", "urn:a").expect("q in urn:a");
    assert!(q.child("r", "urn:a").is_some());
    assert!(q.child("s", "urn:p").is_some());
    assert!(iq.child("r", ns::CLIENT).is_some());
    assert!(message.child("s", "urn:other").is_some());
    let x = message.child("x", "").expect("x in no namespace");
    assert!(x.child("y", "").is_some());
}

#[test]
fn text_inside_stanzas_is_kept_verbatim_and_decoded() {
    let [message] = &stanzas(
        "<message>\n  <body>a\r\nb\rc<![CDATA[<not> &amp; a tag]]>d</body>\n</message>",
    )[..] else {
        panic!("one stanza expected");
    };
    assert_eq!(message.text(), "\n  \n");
    let body = message.child("body", ns::CLIENT).unwrap();
    // Line ends normalised; CDATA merged into the surrounding text.
    assert_eq!(body.text(), "a\nb\nc<not> &amp; a tagd");
    assert_eq!(body.nodes().len(), 1);
}

#[test]
fn attribute_values_are_normalised_and_decoded() {
    let [presence] =
        &stanzas("<presence a='x\ty\r\nz' b=\"&#10;&#9;&lt;&apos;\" c='\"' d=\"'\"/>")[..]
    else {
        panic!("one stanza expected");
    };
    assert_eq!(presence.attr("a"), Some("x y z"));
    assert_eq!(presence.attr("b"), Some("\n\t<'"));
    assert_eq!(presence.attr("c"), Some("\""));
    assert_eq!(presence.attr("d"), Some("'"));
}

#[test]
fn prefixed_attributes_keep_their_qualified_name() {
    let [message] = &stanzas("<message xmlns:p='urn:p' p:a='1' a='2' xml:lang='de'/>")[..] else {
        panic!("one stanza expected");
    };
    assert_eq!(message.attr("p:a"), Some("1"));
    assert_eq!(message.attr("a"), Some("2"));
    assert_eq!(message.attr("xml:lang"), Some("de"));
    assert_eq!(message.attrs().count(), 3, "xmlns:p is not an attribute");
}

#[test]
fn reset_starts_a_new_stream() {
    let mut parser = StreamParser::new(Limits::default());
    let first = HEADER.replace("xml:lang=", "xmlns:p='urn:p' xml:lang=");
    parser.push(
        format!("{first}<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/><message><body>hi<partial")
            .as_bytes(),
    );
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Stanza(_)))
    ));
    assert_eq!(parser.next_event(), Ok(None));

    parser.reset();
    // The half-read stanza and `<partial` are forgotten, and a declaration
    // is allowed again.
    parser.push(HEADER.replace("xml:lang='en'", "xml:lang='fr'").as_bytes());
    assert!(
        matches!(parser.next_event(), Ok(Some(StreamEvent::Header(h))) if h.lang.as_deref() == Some("fr"))
    );
    parser.push(b"<presence/>");
    assert_eq!(
        parser.next_event(),
        Ok(Some(StreamEvent::Stanza(Element::new(
            "presence",
            ns::CLIENT
        ))))
    );
    // The old header's bindings are gone.
    parser.push(b"<p:x/>");
    assert_eq!(
        parser.next_event().unwrap_err().condition(),
        "bad-namespace-prefix"
    );

    // A restart also clears a failure.
    parser.push(b"junk");
    assert!(parser.next_event().is_err());
    parser.reset();
    parser.push(HEADER.as_bytes());
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
}

#[test]
fn larger_limits_apply_from_the_next_byte() {
    let mut parser = StreamParser::new(Limits {
        max_stanza_bytes: 100,
        ..Limits::default()
    });
    parser.push(
        b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
    );
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    parser.push(b"<message><body>");
    assert_eq!(parser.next_event(), Ok(None));
    parser.set_limits(Limits {
        max_stanza_bytes: 1000,
        ..Limits::default()
    });
    parser.push(&[b'x'; 500]);
    parser.push(b"</body></message>");
    assert!(
        matches!(parser.next_event(), Ok(Some(StreamEvent::Stanza(m))) if m.child("body", ns::CLIENT).unwrap().text().len() == 500)
    );
}
