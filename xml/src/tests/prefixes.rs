//! Prefixes on the way out: the writer declares them where the input did
//! (the header's on the stanza), never again where the same binding is in
//! scope, so that output stays about as long as input; equality ignores
//! how names were spelled.

use super::super::{Element, Limits, StreamEvent, StreamParser, ns};
use super::{HEADER, stanzas};

fn written(element: &Element) -> String {
    String::from_utf8(element.to_bytes(ns::CLIENT)).unwrap()
}

/// The stanzas of `header` + `body`, fed whole.
fn stanzas_after(header: &str, body: &str) -> Vec<Element> {
    let mut parser = StreamParser::new(Limits {
        max_stanza_bytes: 1 << 20,
        ..Limits::default()
    });
    parser.push(format!("{header}{body}").as_bytes());
    let mut stanzas = Vec::new();
    while let Some(event) = parser.next_event().unwrap() {
        if let StreamEvent::Stanza(stanza) = event {
            stanzas.push(stanza);
        }
    }
    stanzas
}

fn one(mut stanzas: Vec<Element>) -> Element {
    assert_eq!(stanzas.len(), 1);
    stanzas.remove(0)
}

fn long_namespace() -> String {
    format!("urn:{}", "n".repeat(3996))
}

#[test]
fn children_in_a_long_namespace_declared_once_are_written_with_one_declaration() {
    let ns = long_namespace();
    let input = format!(
        "<iq xmlns:a='{ns}' type='set' id='x'>{}</iq>",
        "<a:b/>".repeat(950)
    );
    let iq = one(stanzas(&input));
    let output = written(&iq);
    assert_eq!(output, input, "written as it came");
    assert_eq!(output.matches("xmlns:a=").count(), 1);
    assert_eq!(one(stanzas(&output)), iq);
}

#[test]
fn a_header_prefix_is_declared_once_on_the_stanza_that_uses_it() {
    let ns = long_namespace();
    let header = HEADER.replace(
        "xml:lang='en'>",
        &format!("xml:lang='en' xmlns:a='{ns}' xmlns:unused='urn:unused'>"),
    );
    let body = format!("<iq type='set' id='x'>{}</iq>", "<a:b/>".repeat(950));
    let iq = one(stanzas_after(&header, &body));
    let output = written(&iq);
    assert_eq!(
        output,
        format!(
            "<iq xmlns:a='{ns}' type='set' id='x'>{}</iq>",
            "<a:b/>".repeat(950)
        )
    );
    assert!(output.len() <= body.len() + ns.len() + 20);
    // Parsed without the header's declaration, it means the same.
    assert_eq!(one(stanzas(&output)), iq);

    // Prefixed attributes and deeper uses count too, once each.
    let body = "<message><x a:y='1'><a:z/></x><unused:w/></message>";
    let message = one(stanzas_after(&header, body));
    assert_eq!(
        written(&message),
        format!(
            "<message xmlns:a='{ns}' xmlns:unused='urn:unused'><x a:y='1'><a:z/></x>\
             <unused:w/></message>"
        )
    );
    assert_eq!(one(stanzas(&written(&message))), message);
}

#[test]
fn prefixes_are_kept_where_the_input_declared_them() {
    for input in [
        "<message xmlns:p='urn:p'><p:x><p:y p:a='1'/></p:x><p:z/></message>",
        "<iq type='get' id='1'><p:query xmlns:p='urn:p' xmlns:q='urn:q'><q:item/></p:query></iq>",
        // A prefix rebound deeper down is declared again there.
        "<message xmlns:p='urn:p'><p:x xmlns:p='urn:other'><p:y/></p:x><p:z/></message>",
        // Default namespaces and prefixes mixed.
        "<message xmlns:p='urn:p'><x xmlns='urn:p'><p:y/><z/></x></message>",
    ] {
        let stanza = one(stanzas(input));
        assert_eq!(written(&stanza), input);
    }
    // A redundant declaration of a binding in scope is not repeated.
    let stanza = one(stanzas(
        "<message xmlns:p='urn:p'><p:x xmlns:p='urn:p'/></message>",
    ));
    assert_eq!(
        written(&stanza),
        "<message xmlns:p='urn:p'><p:x/></message>"
    );
}

#[test]
fn spellings_do_not_matter_to_equality() {
    let spellings = [
        "<iq><b xmlns='urn:u'><c/></b></iq>",
        "<iq xmlns:a='urn:u'><a:b><a:c/></a:b></iq>",
        "<iq><a:b xmlns:a='urn:u' xmlns='urn:u'><c/></a:b></iq>",
    ];
    let first = one(stanzas(spellings[0]));
    for spelling in spellings {
        assert_eq!(one(stanzas(spelling)), first, "{spelling}");
    }
    assert_eq!(
        first,
        Element::new("iq", ns::CLIENT)
            .with_child(Element::new("b", "urn:u").with_child(Element::new("c", "urn:u")))
    );
}

#[test]
fn a_prefixed_element_moved_elsewhere_has_its_prefix_declared() {
    let iq = one(stanzas("<iq xmlns:a='urn:a'><a:b a:c='1'/></iq>"));
    let b = iq.children().next().unwrap().clone();
    let message = Element::new("message", ns::CLIENT).with_child(b);
    let output = written(&message);
    // Declared on the element written, for all below it.
    assert_eq!(output, "<message xmlns:a='urn:a'><a:b a:c='1'/></message>");
    assert_eq!(one(stanzas(&output)), message);
}

#[test]
fn children_copied_out_of_their_stanza_declare_its_prefix_once() {
    // An error reply copies the request's children into a new `<iq>`: the
    // declaration made on the request must not be repeated on each child.
    let ns = long_namespace();
    let request = one(stanzas(&format!(
        "<iq xmlns:a='{ns}' type='set' id='x'>{}</iq>",
        "<a:b/>".repeat(950)
    )));
    let mut reply = Element::new("iq", ns::CLIENT).with_attr("type", "error");
    for child in request.children() {
        reply.push_child(child.clone());
    }
    let output = written(&reply);
    assert_eq!(
        output,
        format!(
            "<iq xmlns:a='{ns}' type='error'>{}</iq>",
            "<a:b/>".repeat(950)
        )
    );
    assert_eq!(one(stanzas(&output)), reply);

    // Two copies needing one prefix with two namespaces each declare it.
    let first = one(stanzas("<m xmlns:a='urn:1'><a:b/></m>"));
    let second = one(stanzas("<m xmlns:a='urn:2'><a:b/></m>"));
    let both = Element::new("m", ns::CLIENT)
        .with_child(first.children().next().unwrap().clone())
        .with_child(second.children().next().unwrap().clone());
    let output = written(&both);
    assert_eq!(
        output,
        "<m><a:b xmlns:a='urn:1'/><a:b xmlns:a='urn:2'/></m>"
    );
    assert_eq!(one(stanzas(&output)), both);
}
