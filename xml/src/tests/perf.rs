//! Rough cost of parsing and writing typical messages. Ignored in normal
//! runs (timing is not a test); run it optimised:
//! `cargo test --release -p roost-server xmpp::xml::tests::perf -- --ignored --nocapture`.

use std::time::Instant;

use super::super::{Limits, StreamEvent, StreamParser, ns};
use super::HEADER;

/// About 300 bytes, like a chat message with a receipt request and a chat state.
const MESSAGE: &str = "<message to='romeo@example.net/orchard' from='juliet@example.com/balcony' \
    type='chat' id='5d5ba5b8-2d4b-4b8e-9f0e-0c5a3c1d0e7f' xml:lang='en'>\
    <body>Wherefore art thou, Romeo? Deny thy father &amp; refuse thy name.</body>\
    <active xmlns='http://jabber.org/protocol/chatstates'/>\
    <request xmlns='urn:xmpp:receipts'/></message>";

#[test]
#[ignore = "timing, run by hand with --release"]
fn parse_and_write_100k_messages() {
    const COUNT: usize = 100_000;
    let mut input = HEADER.as_bytes().to_vec();
    for _ in 0..COUNT {
        input.extend_from_slice(MESSAGE.as_bytes());
    }
    let mut parser = StreamParser::new(Limits {
        max_stanza_bytes: 262_144,
        ..Limits::default()
    });
    let mut parsed = 0;
    let mut last = None;
    let started = Instant::now();
    // 4 KiB reads, as a socket would deliver them; each stanza is dropped
    // once handled, as the server does.
    for chunk in input.chunks(4096) {
        parser.push(chunk);
        while let Some(event) = parser.next_event().unwrap() {
            if let StreamEvent::Stanza(stanza) = event {
                parsed += 1;
                last = Some(stanza);
            }
        }
    }
    let parse = started.elapsed();
    assert_eq!(parsed, COUNT);

    let stanza = last.unwrap();
    let started = Instant::now();
    let mut out = Vec::with_capacity(512);
    let mut written = 0;
    for _ in 0..COUNT {
        out.clear();
        stanza.write_to(&mut out, ns::CLIENT);
        written += out.len();
    }
    let write = started.elapsed();
    assert!(written > COUNT * 250);

    let per = |d: std::time::Duration| d.as_secs_f64() * 1e6 / COUNT as f64;
    println!(
        "{} bytes/message: parse {:.2} µs/message ({:.0} MB/s), write {:.2} µs/message",
        MESSAGE.len(),
        per(parse),
        input.len() as f64 / parse.as_secs_f64() / 1e6,
        per(write),
    );
}
