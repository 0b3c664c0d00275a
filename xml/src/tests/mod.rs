//! Tests of the XML stream codec, and the helpers they share: feeding input
//! in chosen splits and a small deterministic PRNG for random splits.

mod checking;
mod element;
mod errors;
mod limits;
mod perf;
mod prefixes;
mod robustness;
mod stream;

use super::{Limits, StreamError, StreamEvent, StreamParser};

/// xorshift64*: deterministic, good enough to pick chunk sizes and mutations.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What a parser made of some input: the events, then the error if any.
#[derive(Debug, PartialEq)]
pub(super) struct Outcome {
    pub(super) events: Vec<StreamEvent>,
    pub(super) error: Option<StreamError>,
}

/// Feeds `input` in chunks whose sizes `chunk` picks, draining events
/// after each push, as a connection would.
pub(super) fn feed(input: &[u8], limits: Limits, mut chunk: impl FnMut() -> usize) -> Outcome {
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
                Err(error) => {
                    // Sticky: asking again gives the same error.
                    assert_eq!(parser.next_event(), Err(error.clone()));
                    return Outcome {
                        events,
                        error: Some(error),
                    };
                }
            }
        }
    }
    Outcome {
        events,
        error: None,
    }
}

/// The outcome with the input fed whole, after checking that feeding it
/// byte by byte and in pseudo-random chunks gives the same.
pub(super) fn parse_with(input: &[u8], limits: Limits) -> Outcome {
    let whole = feed(input, limits, || usize::MAX);
    let bytewise = feed(input, limits, || 1);
    assert_eq!(whole, bytewise, "byte-by-byte feeding differs");
    for seed in 0..8 {
        let mut rng = Rng::new(seed);
        let random = feed(input, limits, || 1 + rng.below(64));
        assert_eq!(whole, random, "random chunks (seed {seed}) differ");
    }
    whole
}

pub(super) fn parse(input: &[u8]) -> Outcome {
    parse_with(input, Limits::default())
}

/// The usual client header, as sent by most clients.
pub(super) const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
     xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

/// The stanzas parsed from `HEADER` + `body`, which must not fail.
pub(super) fn stanzas(body: &str) -> Vec<super::Element> {
    let outcome = parse(format!("{HEADER}{body}").as_bytes());
    assert_eq!(outcome.error, None, "unexpected error for {body:?}");
    outcome
        .events
        .into_iter()
        .skip(1)
        .map(|event| match event {
            StreamEvent::Stanza(stanza) => stanza,
            other => panic!("expected a stanza, got {other:?}"),
        })
        .collect()
}

/// The error for `input`, which must fail the same way however it is split.
pub(super) fn error_of(input: &[u8]) -> StreamError {
    error_with(input, Limits::default())
}

pub(super) fn error_with(input: &[u8], limits: Limits) -> StreamError {
    match parse_with(input, limits).error {
        Some(error) => error,
        None => panic!("no error for {:?}", String::from_utf8_lossy(input)),
    }
}

/// The condition for `HEADER` + `body`.
pub(super) fn condition_in_stream(body: &str) -> &'static str {
    error_of(format!("{HEADER}{body}").as_bytes()).condition()
}
