//! Fuzzes what a client sends during authentication, as roostd reads it:
//! SASL2 `<authenticate>` (parsed by the real stream codec first), FAST's
//! initial response, PLAIN's message and SCRAM's client-first and
//! client-final messages. Nothing may panic; what is accepted must respect
//! the bounds the parsers promise.
//!
//! Input layout: the first byte picks the parser, the rest is its input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use roost_sasl::sasl2::{Authenticate, MAX_CLIENT_ID, MAX_LABEL_CHARS};
use roost_sasl::{ScramHash, ScramServer, fast, parse_plain};
use roost_xml::{Limits, StreamEvent, StreamParser};

const HEADER: &[u8] = b"<stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

fn authenticate(input: &[u8]) {
    let mut parser = StreamParser::new(Limits::default());
    parser.push(HEADER);
    parser.push(input);
    while let Ok(Some(event)) = parser.next_event() {
        let StreamEvent::Stanza(el) = event else {
            continue;
        };
        let Ok(request) = Authenticate::parse(&el) else {
            continue;
        };
        if let Some(agent) = &request.user_agent {
            assert!(agent.id.as_ref().is_none_or(|id| id.len() <= MAX_CLIENT_ID));
            for label in [&agent.software, &agent.device].into_iter().flatten() {
                assert!(label.chars().count() <= MAX_LABEL_CHARS);
            }
        }
    }
}

fn scram(input: &[u8]) {
    let mut server = ScramServer::new(ScramHash::Sha256, false, None, false);
    let mid = input.len() / 2;
    if server.client_first(&input[..mid]).is_ok() {
        let _ = server.server_first(None);
        let _ = server.client_final(&input[mid..]);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        0 => authenticate(input),
        1 => {
            if let Ok(response) = fast::parse_response(input) {
                assert!(!response.username.is_empty());
            }
        }
        2 => {
            let _ = parse_plain(input);
        }
        _ => scram(input),
    }
});
