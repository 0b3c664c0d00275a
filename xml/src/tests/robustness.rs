//! Property-style tests with the deterministic PRNG: random and mutated
//! streams never panic, give the same outcome however they are split, and
//! every stanza they yield survives a write and re-parse unchanged. The
//! `fuzz/` target does the same with coverage guidance.

use super::super::{Element, Limits, StreamEvent, ns};
use super::stream::TYPICAL;
use super::{HEADER, Rng, feed};

/// Bytes that make markup likely, plus whitespace, controls and bytes that
/// are never valid UTF-8 on their own.
const ALPHABET: &[u8] =
    b"<<<>>>//==''\"&;:!?[]-#x0123abcmsgXY \t\r\n\0\x01\xC3\xA9\xE2\x98\xBA\xFF";

const FRAGMENTS: &[&str] = &[
    "<message>",
    "</message>",
    "<body>",
    "</body>",
    "<presence/>",
    "<iq type='get'>",
    "</iq>",
    "<![CDATA[",
    "]]>",
    "<!--",
    "&amp;",
    "&#x263A;",
    "&lt;",
    "xmlns='urn:a'",
    "xmlns:p='urn:p'",
    "<p:x>",
    "</p:x>",
    " a='1'",
    "</stream:stream>",
    "\u{E9}",
];

fn random_input(rng: &mut Rng) -> Vec<u8> {
    let mut input = if rng.below(4) == 0 {
        Vec::new()
    } else {
        HEADER.as_bytes().to_vec()
    };
    for _ in 0..rng.below(40) {
        if rng.below(2) == 0 {
            input.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes());
        } else {
            input.push(ALPHABET[rng.below(ALPHABET.len())]);
        }
    }
    input
}

/// `base` with one to three random edits.
pub(super) fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut input = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(input.len());
        match rng.below(4) {
            0 => input[at] = ALPHABET[rng.below(ALPHABET.len())],
            1 => input.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
            2 => {
                let end = (at + 1 + rng.below(8)).min(input.len());
                input.drain(at..end);
            }
            _ => {
                let end = (at + 1 + rng.below(16)).min(input.len());
                let copy = input[at..end].to_vec();
                input.splice(at..at, copy);
            }
        }
    }
    input
}

/// Feeds `input` whole and in random chunks (and, every few rounds, byte
/// by byte), compares, and round-trips every stanza.
pub(super) fn check(input: &[u8], rng: &mut Rng, bytewise: bool) -> bool {
    let limits = Limits::default();
    let whole = feed(input, limits, || usize::MAX);
    let seed = rng.next();
    let mut chunks = Rng::new(seed);
    let random = feed(input, limits, || 1 + chunks.below(32));
    assert_eq!(
        whole,
        random,
        "input {:?}, chunk seed {seed}",
        String::from_utf8_lossy(input)
    );
    if bytewise {
        assert_eq!(
            whole,
            feed(input, limits, || 1),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    for event in &whole.events {
        if let StreamEvent::Stanza(stanza) = event {
            assert_round_trip(stanza);
        }
    }
    whole.error.is_none()
}

fn assert_round_trip(stanza: &Element) {
    let text = String::from_utf8(stanza.to_bytes(ns::CLIENT)).expect("the writer emits UTF-8");
    // Written out, a stanza may be longer (escapes, declarations that the
    // header had provided) but never deeper.
    let relaxed = Limits {
        max_stanza_bytes: usize::MAX,
        max_attributes: usize::MAX,
        ..Limits::default()
    };
    let again = feed(format!("{HEADER}{text}").as_bytes(), relaxed, || usize::MAX);
    assert_eq!(again.error, None, "{text}");
    assert_eq!(
        again.events.get(1),
        Some(&StreamEvent::Stanza(stanza.clone())),
        "{text}"
    );
}

#[test]
fn random_streams_never_panic_and_do_not_depend_on_the_split() {
    let mut rng = Rng::new(1);
    let mut accepted = 0;
    for round in 0..3000 {
        let input = random_input(&mut rng);
        accepted += usize::from(check(&input, &mut rng, round % 10 == 0));
    }
    // The generator must reach past the first error now and then, or the
    // test proves little.
    assert!(accepted > 30, "only {accepted} inputs were accepted");
}

#[test]
fn mutated_typical_streams_never_panic_and_do_not_depend_on_the_split() {
    let mut rng = Rng::new(2);
    let mut accepted = 0;
    for round in 0..2000 {
        let input = mutate(TYPICAL.as_bytes(), &mut rng);
        accepted += usize::from(check(&input, &mut rng, round % 20 == 0));
    }
    assert!(accepted > 100, "only {accepted} mutants were accepted");
}
