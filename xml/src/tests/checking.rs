//! Stanzas whose tree outgrows the budget while the parser waits for their
//! end are only checked, then built from their bytes when the end arrives:
//! the events and errors are those of the stanza fed whole (built in one
//! pass), whatever the split.

use super::super::{Limits, StreamError, StreamEvent, StreamParser};
use super::robustness::{check, mutate};
use super::stream::TYPICAL;
use super::{HEADER, Rng, error_with, parse_with};

/// Enough elements for a tree well past the budget, in few bytes.
fn padding() -> String {
    "<x a='1' b='2'/>".repeat(300)
}

fn limits() -> Limits {
    Limits {
        max_stanza_bytes: 64 * 1024,
        ..Limits::default()
    }
}

#[test]
fn a_large_unfinished_stanza_is_held_as_bytes_and_a_small_one_as_a_tree() {
    let mut parser = StreamParser::new(limits());
    parser.push(HEADER.as_bytes());
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    parser.push(b"<message><body>hi</body>");
    assert_eq!(parser.next_event(), Ok(None));
    assert!(parser.holds_tree());
    parser.push(format!("{}<body>", padding()).as_bytes());
    assert_eq!(parser.next_event(), Ok(None));
    assert!(!parser.holds_tree());
    parser.push(b"there</body></message><presence/>");
    let Ok(Some(StreamEvent::Stanza(message))) = parser.next_event() else {
        panic!("no message");
    };
    assert_eq!(message.children().count(), 302);
    assert_eq!(message.text(), "");
    assert!(
        matches!(parser.next_event(), Ok(Some(StreamEvent::Stanza(p))) if p.name() == "presence")
    );
    assert_eq!(parser.next_event(), Ok(None));
}

#[test]
fn checked_stanzas_are_built_as_if_fed_whole() {
    let padding = padding();
    let header = HEADER.replace("xml:lang='en'>", "xml:lang='en' xmlns:h='urn:h'>");
    let body = format!(
        "<iq type='set' id='a&amp;b' xmlns:p='urn:p'>{padding}\
         <p:q xmlns='urn:d' p:attr='v&lt;' h:attr='w'><r>text &#x263A; <![CDATA[<c>]]> more</r>\
         <h:s xmlns:h='urn:inner'/><h:t/></p:q>{padding}</iq>\
         <message>{padding}<body>a\r\nb</body></message>"
    );
    // `parse_with` feeds it whole (one pass), byte by byte and in random
    // chunks (checked, then built again), and compares.
    let outcome = parse_with(format!("{header}{body}").as_bytes(), limits());
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.events.len(), 3);
}

#[test]
fn errors_found_while_checking_are_those_found_while_building() {
    let padding = padding();
    for (tail, expected) in [
        (
            "</body></message>",
            StreamError::malformed("</body> does not close <message>"),
        ),
        (
            "<q:x/>",
            StreamError::BadNamespacePrefix("prefix \"q\" is not declared".into()),
        ),
        (
            "<x q:a='1'/>",
            StreamError::BadNamespacePrefix("prefix \"q\" is not declared".into()),
        ),
        (
            "&bogus;<x/>",
            StreamError::RestrictedXml("entity reference other than the predefined ones"),
        ),
        ("]]><x/>", StreamError::malformed("']]>' in character data")),
        (
            "<x xmlns:p='urn:p' xmlns:q='urn:p' p:a='1' q:a='2'/>",
            StreamError::malformed("duplicate attribute q:a"),
        ),
        (&"<d>".repeat(40), StreamError::TooDeep { limit: 32 }),
        (
            &[0..35, 35..70]
                .map(|range| {
                    let declarations: String =
                        range.map(|i| format!(" xmlns:p{i}='urn:{i}'")).collect();
                    format!("<d{declarations}>")
                })
                .concat(),
            StreamError::TooManyNamespaces { limit: 64 },
        ),
        (
            &"y".repeat(70_000),
            StreamError::StanzaTooLarge { limit: 64 * 1024 },
        ),
    ] {
        let input = format!("{HEADER}<message>{padding}{tail}");
        assert_eq!(
            error_with(input.as_bytes(), limits()),
            expected,
            "{tail:.40}"
        );
    }
}

#[test]
fn mutated_large_streams_do_not_depend_on_the_split() {
    let padding = padding();
    let base = TYPICAL
        .replace("<resource>", &format!("{padding}<resource>"))
        .replace("<d:item", &format!("{padding}<d:item"))
        .replace("<body>", &format!("{padding}<body>"));
    let mut rng = Rng::new(3);
    let mut accepted = 0;
    for round in 0..300 {
        let input = mutate(base.as_bytes(), &mut rng);
        accepted += usize::from(check(&input, &mut rng, round % 30 == 0));
    }
    assert!(accepted > 20, "only {accepted} mutants were accepted");
}
