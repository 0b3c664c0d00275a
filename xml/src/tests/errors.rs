//! Every refusal, with the stream error condition it maps to. Each input is
//! also fed byte by byte and in random chunks, with the same result.

use super::super::StreamError;
use super::{HEADER, condition_in_stream, error_of};

const STREAMS_NS: &str = "xmlns:stream='http://etherx.jabber.org/streams'";

fn header_condition(header: &str) -> &'static str {
    error_of(header.as_bytes()).condition()
}

#[test]
fn not_well_formed() {
    for body in [
        "<message><body>\u{1}</body></message>",
        "<message><body>\0</body></message>",
        "<message a='\u{1}'/>",
        "<message><body>\u{FFFE}</body></message>",
        "<message><body>&#1;</body></message>",
        "<message a='&#xFFFF;'/>",
        "<message><body>&#0;</body></message>",
        "<message><body>&#xD800;</body></message>",
        "<message><body>&#X41;</body></message>",
        "<message><body>&amp</body></message>",
        "<message><body>& amp;</body></message>",
        "<message><body>a ]]> b</body></message>",
        "<message></presence>",
        "<message><body></message></body>",
        "<message></stream:stream>",
        "<message a='1' a='2'/>",
        "<message xmlns:p='urn:x' xmlns:q='urn:x' p:a='1' q:a='2'/>",
        "<message xmlns='a' xmlns='b'/>",
        "<message a='1'b='2'/>",
        "<message a=1/>",
        "<message a/>",
        "<message a='x<y'/>",
        "<1message/>",
        "<message\u{1}/>",
        "<-a/>",
        "<a:b:c xmlns:a='urn:a'/>",
        "<message xmlns:='urn:a'/>",
        "<message / >",
        "< message/>",
        "<message></ message>",
        "<message></message foo='bar'>",
        "hello",
        "<message/>x",
        "<![CDATA[x]]>",
        "<![CDATX[x]]>",
        "</stream:stream><presence/>",
        "</stream:stream>junk",
        "</stream>",
    ] {
        assert_eq!(condition_in_stream(body), "not-well-formed", "{body:?}");
    }
}

#[test]
fn invalid_utf8_is_not_well_formed() {
    for bytes in [
        &b"<message><body>\xFF</body></message>"[..],
        b"<message><body>\xC3</body></message>",
        b"<message><body>\xED\xA0\x80</body></message>",
        b"<message a='\xC0\xAF'/>",
        b"<m\xE9ssage/>",
    ] {
        let input = [HEADER.as_bytes(), bytes].concat();
        assert_eq!(error_of(&input).condition(), "not-well-formed", "{bytes:?}");
    }
}

#[test]
fn garbage_before_the_header_is_not_well_formed() {
    assert_eq!(header_condition("GET / HTTP/1.1\r\n"), "not-well-formed");
    assert_eq!(header_condition("</stream:stream>"), "not-well-formed");
    assert_eq!(header_condition(" <?xml version='1.0'?>"), "restricted-xml");
    assert_eq!(header_condition("<?xml version='2.0'?>"), "not-well-formed");
    assert_eq!(
        header_condition("<?xml encoding='UTF-8'?>"),
        "not-well-formed"
    );
    assert_eq!(
        header_condition("<?xml version='1.0' foo='bar'?>"),
        "not-well-formed"
    );
    assert_eq!(header_condition("<?XML version='1.0'?>"), "not-well-formed");
    assert_eq!(
        header_condition("<?xml version='1.0'?><?xml version='1.0'?>"),
        "restricted-xml"
    );
}

#[test]
fn restricted_xml() {
    for body in [
        "<message><!-- hi --></message>",
        "<!-- between stanzas -->",
        "<message><?php echo ?></message>",
        "<?pi between?>",
        "<message><body>&nbsp;</body></message>",
        "<message a='&foo;'/>",
        "<!DOCTYPE x>",
        "<message><!ENTITY x 'y'></message>",
    ] {
        assert_eq!(condition_in_stream(body), "restricted-xml", "{body:?}");
    }
    assert_eq!(
        header_condition("<!DOCTYPE stream [<!ENTITY a 'aaaa'>]><stream:stream>"),
        "restricted-xml"
    );
    assert_eq!(
        header_condition("<?xml-stylesheet href='x'?>"),
        "restricted-xml"
    );
    assert_eq!(
        header_condition("<?xml version='1.0'?><!-- hi --><stream:stream>"),
        "restricted-xml"
    );
}

#[test]
fn unsupported_encoding() {
    assert_eq!(
        header_condition("<?xml version='1.0' encoding='ISO-8859-1'?>"),
        "unsupported-encoding"
    );
    assert!(matches!(
        error_of(b"<?xml version='1.0' encoding='UTF-16'?>"),
        StreamError::UnsupportedEncoding(e) if e == "UTF-16"
    ));
    assert_eq!(error_of(b"\xFE\xFF\0<").condition(), "unsupported-encoding");
    assert_eq!(error_of(b"\xFF\xFE<\0").condition(), "unsupported-encoding");
    assert_eq!(error_of(b"<\0?\0x\0").condition(), "unsupported-encoding");
    // Case does not matter for UTF-8.
    assert_eq!(
        error_of(b"<?xml version='1.0' encoding='utf-8'?><x/>").condition(),
        "invalid-namespace"
    );
}

#[test]
fn invalid_namespace() {
    for header in [
        format!("<stream:stream xmlns='jabber:server' {STREAMS_NS}>"),
        format!("<stream:stream {STREAMS_NS}>"),
        "<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong'>".to_owned(),
        "<stream xmlns='jabber:client'>".to_owned(),
        "<message xmlns='jabber:client'>".to_owned(),
        "<stream xmlns='http://etherx.jabber.org/streams'>".to_owned(),
    ] {
        assert_eq!(header_condition(&header), "invalid-namespace", "{header}");
    }
}

#[test]
fn bad_namespace_prefix() {
    for header in [
        "<stream:stream xmlns='jabber:client'>",
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' foo:bar='1'>",
    ] {
        assert_eq!(header_condition(header), "bad-namespace-prefix", "{header}");
    }
    for body in [
        "<foo:message/>",
        "<message foo:bar='1'/>",
        "<message><x xmlns:p='urn:p'/><p:y/></message>",
        "<message xmlns:xml='urn:not-xml'/>",
        "<message xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
        "<message xmlns:xmlns='urn:x'/>",
        "<message xmlns:p=''/>",
        "<message xmlns='http://www.w3.org/2000/xmlns/'/>",
        "<xmlns:message/>",
    ] {
        assert_eq!(condition_in_stream(body), "bad-namespace-prefix", "{body}");
    }
}

#[test]
fn bad_format() {
    assert_eq!(
        header_condition(&format!(
            "<stream:features xmlns='jabber:client' {STREAMS_NS}>"
        )),
        "bad-format"
    );
}

#[test]
fn errors_are_sticky_and_input_after_them_is_ignored() {
    let mut parser = super::super::StreamParser::new(Default::default());
    parser.push(b"<!-- x -->");
    let error = parser.next_event().unwrap_err();
    assert_eq!(error.condition(), "restricted-xml");
    parser.push(HEADER.as_bytes());
    assert_eq!(parser.next_event(), Err(error));
}

#[test]
fn messages_explain_the_problem() {
    let error = error_of(format!("{HEADER}<message></presence>").as_bytes());
    assert_eq!(
        error.to_string(),
        "not well-formed XML: </presence> does not close <message>"
    );
}
