//! Limits: stanza size (caught mid-stanza), depth, attributes, header size,
//! and bounded buffering.

use super::super::{Limits, StreamError, StreamEvent, StreamParser};
use super::{HEADER, error_with, parse_with};

fn limits(max_stanza_bytes: usize, max_depth: usize, max_attributes: usize) -> Limits {
    Limits {
        max_stanza_bytes,
        max_depth,
        max_attributes,
        ..Limits::default()
    }
}

fn stream_with(body: &str) -> Vec<u8> {
    format!("{HEADER}{body}").as_bytes().to_vec()
}

#[test]
fn defaults_are_the_pre_authentication_limits() {
    assert_eq!(Limits::default(), limits(10_000, 32, 64));
}

#[test]
fn a_stanza_of_exactly_the_limit_passes_and_one_byte_more_fails() {
    // Longer than the header, which is bounded by the same limit.
    let stanza = format!("<message><body>{}</body></message>", "x".repeat(300));
    let exact = limits(stanza.len(), 32, 64);
    let outcome = parse_with(&stream_with(&stanza), exact);
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.events.len(), 2);

    let smaller = limits(stanza.len() - 1, 32, 64);
    let error = error_with(&stream_with(&stanza), smaller);
    assert_eq!(
        error,
        StreamError::StanzaTooLarge {
            limit: stanza.len() - 1
        }
    );
    assert_eq!(error.condition(), "policy-violation");
}

#[test]
fn whitespace_between_stanzas_does_not_count() {
    let presence = format!("<presence id='{}'/>", "x".repeat(300));
    let body = format!("{presence}{}{presence}", " \n".repeat(200));
    let outcome = parse_with(&stream_with(&body), limits(presence.len(), 32, 64));
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.events.len(), 3);
}

#[test]
fn an_oversized_stanza_is_refused_before_its_end_arrives() {
    // Text, a start tag and an attribute value that never end: each is
    // refused once the stanza passes the limit, without an end tag.
    for unfinished in [
        "<message><body>",
        "<message><body a='",
        "<message><![CDATA[",
        "<message ",
    ] {
        let mut parser = StreamParser::new(Limits::default());
        parser.push(HEADER.as_bytes());
        assert!(matches!(
            parser.next_event(),
            Ok(Some(StreamEvent::Header(_)))
        ));
        parser.push(unfinished.as_bytes());
        let mut sent = unfinished.len();
        let result = loop {
            match parser.next_event() {
                Ok(None) => {}
                other => break other,
            }
            assert!(
                sent <= 10_000,
                "{unfinished}: still reading after {sent} bytes"
            );
            parser.push(&[b'x'; 100]);
            sent += 100;
        };
        assert_eq!(
            result,
            Err(StreamError::StanzaTooLarge { limit: 10_000 }),
            "{unfinished}"
        );
        assert!(
            sent <= 10_100,
            "{unfinished}: refused only after {sent} bytes"
        );
    }
}

#[test]
fn many_small_elements_add_up() {
    let body = format!("<message>{}</message>", "<a/>".repeat(3000));
    let error = error_with(&stream_with(&body), Limits::default());
    assert_eq!(error, StreamError::StanzaTooLarge { limit: 10_000 });
}

#[test]
fn depth_counts_from_the_stanza() {
    let nested = |depth: usize| format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let outcome = parse_with(&stream_with(&nested(4)), limits(10_000, 4, 64));
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.events.len(), 2);
    let error = error_with(&stream_with(&nested(5)), limits(10_000, 4, 64));
    assert_eq!(error, StreamError::TooDeep { limit: 4 });
    assert_eq!(error.condition(), "policy-violation");
    // Caught when the level opens, before anything closes.
    let error = error_with(&stream_with(&"<a>".repeat(33)), Limits::default());
    assert_eq!(error, StreamError::TooDeep { limit: 32 });
    // An empty element is a level too.
    let error = error_with(&stream_with("<a><b><c/></b></a>"), limits(10_000, 2, 64));
    assert_eq!(error, StreamError::TooDeep { limit: 2 });
}

#[test]
fn attributes_are_counted_with_namespace_declarations() {
    // The header has 5 attributes, so 5 is the smallest usable limit.
    let attrs = |n: usize| (0..n).map(|i| format!(" a{i}='v'")).collect::<String>();
    let outcome = parse_with(
        &stream_with(&format!("<message{}/>", attrs(5))),
        limits(10_000, 32, 5),
    );
    assert_eq!(outcome.error, None);
    let error = error_with(
        &stream_with(&format!("<message{}/>", attrs(6))),
        limits(10_000, 32, 5),
    );
    assert_eq!(error, StreamError::TooManyAttributes { limit: 5 });
    assert_eq!(error.condition(), "policy-violation");
    let error = error_with(
        &stream_with(&format!("<message xmlns:p='urn:p'{}/>", attrs(5))),
        limits(10_000, 32, 5),
    );
    assert_eq!(error, StreamError::TooManyAttributes { limit: 5 });
}

#[test]
fn the_header_is_bounded() {
    let header = HEADER.replace("to='example.com'", &format!("to='{}'", "x".repeat(20_000)));
    let error = error_with(header.as_bytes(), Limits::default());
    assert_eq!(error, StreamError::HeaderTooLarge { limit: 10_000 });
    assert_eq!(error.condition(), "policy-violation");

    // Endless whitespace before the header counts too.
    let error = error_with(&vec![b' '; 20_000], Limits::default());
    assert_eq!(error, StreamError::HeaderTooLarge { limit: 10_000 });

    // And so does the declaration.
    let declaration = format!("<?xml version='1.0' {}", " ".repeat(20_000));
    let error = error_with(declaration.as_bytes(), Limits::default());
    assert_eq!(error, StreamError::HeaderTooLarge { limit: 10_000 });

    let error = error_with(HEADER.as_bytes(), limits(HEADER.len() - 1, 32, 64));
    assert_eq!(
        error,
        StreamError::HeaderTooLarge {
            limit: HEADER.len() - 1
        }
    );
    assert_eq!(
        parse_with(HEADER.as_bytes(), limits(HEADER.len(), 32, 64)).error,
        None
    );

    let attrs = (0..65).map(|i| format!(" a{i}='v'")).collect::<String>();
    let header = HEADER.replace("to=", &format!("{attrs} to="));
    let error = error_with(header.as_bytes(), Limits::default());
    assert_eq!(error, StreamError::TooManyAttributes { limit: 64 });
}

#[test]
fn buffered_input_stays_bounded() {
    let mut parser = StreamParser::new(Limits::default());
    parser.push(HEADER.as_bytes());
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    // A flood of keepalives, then of small stanzas, in 4 KiB reads that
    // mostly end inside a stanza: the buffer holds at most about two reads.
    let keepalives = [b' '; 4096];
    // 11 reads of 4 KiB hold 4096 whole presences.
    let presences = b"<presence/>".repeat(4096);
    let reads = keepalives
        .chunks(4096)
        .cycle()
        .take(1000)
        .chain(presences.chunks(4096).cycle().take(11 * 90));
    for read in reads {
        parser.push(read);
        while let Some(event) = parser.next_event().unwrap() {
            assert!(matches!(event, StreamEvent::Stanza(_)));
        }
        assert!(
            parser.buffered() <= 2 * 4096,
            "{} bytes buffered",
            parser.buffered()
        );
    }
    // One huge stanza arriving a byte at a time stays within the limit.
    parser.push(b"<message><body>");
    for _ in 0..9_000 {
        parser.push(b"x");
        assert_eq!(parser.next_event(), Ok(None));
        assert!(parser.buffered() <= 2 * 10_000);
    }
}

#[test]
fn an_idle_stream_gives_its_input_buffer_back() {
    let mut parser = StreamParser::new(Limits::default());
    parser.push(HEADER.as_bytes());
    parser.push(b"<message><body>hi</body></message><presence><show>aw");
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Stanza(_)))
    ));
    assert_eq!(parser.next_event(), Ok(None));
    // Half a presence is waiting: the buffer must stay.
    parser.release_idle_buffer();
    assert!(parser.buffered() > 0);
    parser.push(b"ay</show></presence>");
    let Ok(Some(StreamEvent::Stanza(presence))) = parser.next_event() else {
        panic!("presence lost across a release attempt");
    };
    assert_eq!(presence.name(), "presence");
    assert_eq!(parser.next_event(), Ok(None));
    parser.release_idle_buffer();
    assert_eq!(parser.buffered(), 0);
    parser.push(b"<iq type='get' id='1'/>");
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Stanza(_)))
    ));
}

#[test]
fn namespace_declarations_in_scope_are_bounded() {
    let declarations = |range: std::ops::Range<usize>| {
        range
            .map(|i| format!(" xmlns:p{i}='urn:{i}'"))
            .collect::<String>()
    };
    let roomy = limits(100_000, 32, 64);
    // The header declares 2: 62 more fit, on one level or across levels.
    let fits = format!(
        "<message{}><x{}/></message>",
        declarations(0..40),
        declarations(40..62)
    );
    assert_eq!(parse_with(&stream_with(&fits), roomy).error, None);
    let over = format!(
        "<message{}><x{}/></message>",
        declarations(0..40),
        declarations(40..63)
    );
    let error = error_with(&stream_with(&over), roomy);
    assert_eq!(error, StreamError::TooManyNamespaces { limit: 64 });
    assert_eq!(error.condition(), "policy-violation");

    // Scopes end with their element: siblings may each declare many.
    let siblings = format!(
        "<message>{}</message>",
        format!("<x{}/>", declarations(0..60)).repeat(20)
    );
    assert_eq!(parse_with(&stream_with(&siblings), roomy).error, None);

    // And the names in scope are bounded in bytes.
    let long = |i: usize| format!(" xmlns:p{i}='urn:{}'", "n".repeat(9_000));
    let fits = format!("<message{}{}{}/>", long(0), long(1), long(2));
    assert_eq!(parse_with(&stream_with(&fits), roomy).error, None);
    let over = format!("<message{}{}{}{}/>", long(0), long(1), long(2), long(3));
    assert_eq!(
        error_with(&stream_with(&over), roomy),
        StreamError::TooManyNamespaces { limit: 64 }
    );
}
