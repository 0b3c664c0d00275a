use roost_xml::{Element, Limits, StreamEvent, StreamParser};

use super::*;

/// The first stanza of `xml`, read by the real stream codec.
fn element(xml: &str) -> Element {
    let mut parser = StreamParser::new(Limits::default());
    parser.push(
        b"<stream:stream xmlns='jabber:client' \
          xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
    );
    parser.push(xml.as_bytes());
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    match parser.next_event() {
        Ok(Some(StreamEvent::Stanza(el))) => el,
        other => panic!("no element: {other:?}"),
    }
}

#[test]
fn a_full_request() {
    let request = Authenticate::parse(&element(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'>\
           <initial-response>AGJvYgBib2JwYXNzMTIz</initial-response>\
           <user-agent id='d4565fa7-4d72-4749-b3d3-740edbf87770'>\
             <software>TestApp</software><device> Juliet laptop </device></user-agent>\
           <bind xmlns='urn:xmpp:bind:0'><tag>TestApp</tag>\
             <enable xmlns='urn:xmpp:carbons:2'/></bind>\
           <request-token xmlns='urn:xmpp:fast:0' mechanism='HT-SHA-256-NONE'/>\
         </authenticate>",
    ))
    .unwrap();
    assert_eq!(request.mechanism, "PLAIN");
    assert_eq!(
        request.initial_response.as_deref(),
        Some(&b"\0bob\0bobpass123"[..])
    );
    assert_eq!(
        request.client_id(),
        Some("d4565fa7-4d72-4749-b3d3-740edbf87770")
    );
    let agent = request.user_agent.as_ref().unwrap();
    assert_eq!(agent.software.as_deref(), Some("TestApp"));
    assert_eq!(agent.device.as_deref(), Some("Juliet laptop"));
    let bind = request.bind.as_ref().unwrap();
    assert_eq!(bind.tag.as_deref(), Some("TestApp"));
    assert_eq!(bind.inline.len(), 1);
    assert!(bind.inline[0].is("enable", "urn:xmpp:carbons:2"));
    assert_eq!(
        request.fast,
        FastRequest {
            request_token: Some("HT-SHA-256-NONE".into()),
            uses_token: false,
            invalidate: false,
        }
    );
}

#[test]
fn a_minimal_request() {
    let request = Authenticate::parse(&element(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='SCRAM-SHA-1'/>",
    ))
    .unwrap();
    assert_eq!(request.initial_response, None);
    assert_eq!(request.user_agent, None);
    assert_eq!(request.bind, None);
    assert_eq!(request.client_id(), None);
    assert_eq!(request.fast, FastRequest::default());
}

#[test]
fn fast_use_and_invalidate() {
    for (attr, invalidate) in [
        ("", false),
        (" invalidate='true'", true),
        (" invalidate='1'", true),
        (" invalidate='no'", false),
    ] {
        let request = Authenticate::parse(&element(&format!(
            "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='HT-SHA-256-NONE'>\
               <initial-response>=</initial-response><fast xmlns='urn:xmpp:fast:0'{attr}/></authenticate>"
        )))
        .unwrap();
        assert!(request.fast.uses_token);
        assert_eq!(request.fast.invalidate, invalidate, "{attr}");
        assert_eq!(request.initial_response.as_deref(), Some(&b""[..]));
    }
}

#[test]
fn refusals() {
    for (xml, failure) in [
        (
            "<authenticate xmlns='urn:xmpp:sasl:2'/>",
            SaslFailure::InvalidMechanism,
        ),
        (
            "<authenticate xmlns='urn:xmpp:sasl:2' mechanism=''/>",
            SaslFailure::InvalidMechanism,
        ),
        (
            "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'>\
               <initial-response>not base64!</initial-response></authenticate>",
            SaslFailure::IncorrectEncoding,
        ),
    ] {
        assert_eq!(Authenticate::parse(&element(xml)), Err(failure), "{xml}");
    }
}

#[test]
fn unusable_client_ids_are_no_ids() {
    let long = "x".repeat(MAX_CLIENT_ID + 1);
    for id in ["", "a b", "a\u{85}b", long.as_str()] {
        let xml = format!(
            "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'>\
               <user-agent id='{id}'/></authenticate>"
        );
        let request = Authenticate::parse(&element(&xml)).unwrap();
        assert_eq!(request.client_id(), None, "{id:?}");
        assert!(request.user_agent.is_some());
    }
    assert!(is_client_id(&"x".repeat(MAX_CLIENT_ID)));
}

#[test]
fn labels_are_bounded() {
    let long = "y".repeat(1000);
    let request = Authenticate::parse(&element(&format!(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'>\
           <user-agent id='a'><software>{long}</software><device>  </device></user-agent>\
         </authenticate>"
    )))
    .unwrap();
    let agent = request.user_agent.unwrap();
    assert_eq!(agent.software.unwrap().chars().count(), MAX_LABEL_CHARS);
    assert_eq!(agent.device, None);
}

#[test]
fn stream_management_resume_inline() {
    let request = Authenticate::parse(&element(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'>\
           <resume xmlns='urn:xmpp:sm:3' previd='abc' h='4294967295'/>\
         </authenticate>",
    ))
    .unwrap();
    assert_eq!(
        request.resume,
        Some(ResumeRequest {
            previd: Some("abc".into()),
            h: Some(u32::MAX),
        })
    );
    // Attributes that cannot be used are kept as missing: the server
    // answers <failed/>, the login itself stands.
    let request = Authenticate::parse(&element(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'>\
           <resume xmlns='urn:xmpp:sm:3' h='-1'/>\
         </authenticate>",
    ))
    .unwrap();
    assert_eq!(request.resume, Some(ResumeRequest::default()));
    // In another namespace it is not stream management's.
    let request = Authenticate::parse(&element(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><resume xmlns='urn:x'/></authenticate>",
    ))
    .unwrap();
    assert_eq!(request.resume, None);
}
