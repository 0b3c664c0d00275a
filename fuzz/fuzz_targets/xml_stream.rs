//! Fuzzes the c2s XML stream codec: arbitrary bytes in arbitrary chunks must
//! never panic, must give the same events and error however they are split,
//! and every stanza accepted must survive a write and re-parse unchanged.
//!
//! Input layout: the first byte chooses whether a valid stream header is put
//! in front (so the fuzzer reaches stanza parsing at once) and seeds the
//! chunk sizes; the rest is the stream.

#![no_main]

use libfuzzer_sys::fuzz_target;

use roost_xml::{Limits, StreamError, StreamEvent, StreamParser, ns};

const HEADER: &[u8] = b"<stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' xmlns:h='urn:header' version='1.0'>";

/// Small limits, so that the fuzzer reaches them.
const LIMITS: Limits = Limits {
    max_stanza_bytes: 4096,
    max_depth: 8,
    max_attributes: 8,
    max_namespaces: 8,
};

fn feed(
    input: &[u8],
    limits: Limits,
    mut chunk: impl FnMut() -> usize,
) -> (Vec<StreamEvent>, Option<StreamError>) {
    let mut parser = StreamParser::new(limits);
    let mut events = Vec::new();
    let mut at = 0;
    while at < input.len() {
        let n = chunk().clamp(1, input.len() - at);
        parser.push(&input[at..at + n]);
        at += n;
        loop {
            match parser.next_event() {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break,
                Err(error) => return (events, Some(error)),
            }
        }
    }
    (events, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&options, stream)) = data.split_first() else {
        return;
    };
    let input = if options & 1 == 1 {
        [HEADER, stream].concat()
    } else {
        stream.to_vec()
    };

    let whole = feed(&input, LIMITS, || usize::MAX);
    // xorshift seeded by the options byte: chunks of 1 to 16 bytes.
    let mut state = u32::from(options) | 0x100;
    let split = feed(&input, LIMITS, || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        1 + (state % 16) as usize
    });
    assert_eq!(whole, split, "the split changed the outcome");

    for event in &whole.0 {
        let StreamEvent::Stanza(stanza) = event else {
            continue;
        };
        // Written out, a stanza may be longer (escapes, xmlns declarations
        // that the header had provided) but never deeper.
        let mut again = HEADER.to_vec();
        stanza.write_to(&mut again, ns::CLIENT);
        let relaxed = Limits {
            max_stanza_bytes: usize::MAX,
            max_attributes: usize::MAX,
            ..LIMITS
        };
        let (events, error) = feed(&again, relaxed, || usize::MAX);
        assert_eq!(error, None, "{}", String::from_utf8_lossy(&again));
        assert_eq!(
            events.get(1),
            Some(event),
            "{}",
            String::from_utf8_lossy(&again)
        );
    }
});
