//! Fuzzes the admin socket's server side as roostd reads it: bytes in
//! arbitrary chunks through the frame decoder, each frame read as a request
//! (`RequestFrame::read`, which roostd calls). Nothing may panic; the frames
//! and errors must not depend on how the bytes were split; a request that
//! is read must survive an encode and a decode unchanged, and the answer to
//! one that is not must be one frame.
//!
//! Input layout: the first byte seeds the chunk sizes; the rest is the
//! stream. The limit is small so that the fuzzer reaches it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use roost_common::admin::{RequestFrame, ResponseFrame};
use roost_common::frame::{self, FrameDecoder, FrameError};

const LIMIT: usize = 256;

fn frames(input: &[u8], mut chunk: impl FnMut() -> usize) -> Vec<Result<Vec<u8>, FrameError>> {
    let mut decoder = FrameDecoder::new(LIMIT);
    let mut out = Vec::new();
    let mut at = 0;
    while at < input.len() {
        let n = chunk().clamp(1, input.len() - at);
        decoder.push(&input[at..at + n]);
        at += n;
        while let Some(next) = decoder.next_frame() {
            out.push(next);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let whole = frames(stream, || usize::MAX);
    let mut state = u32::from(seed) | 1;
    let chunked = frames(stream, || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 300) as usize + 1
    });
    assert_eq!(whole, chunked, "frames depend on how the bytes were split");
    for line in whole.into_iter().flatten() {
        assert!(line.len() <= LIMIT);
        match RequestFrame::read(&line) {
            Ok(request) => {
                let again: RequestFrame = frame::decode(&frame::encode(&request)[..])
                    .expect("an encoded request decodes");
                assert_eq!(again, request);
            }
            // What roostd answers a bad frame with must itself be a frame.
            Err((id, error)) => {
                let encoded = frame::encode(&ResponseFrame::error(id, error));
                assert_eq!(encoded.last(), Some(&b'\n'));
                assert!(!encoded[..encoded.len() - 1].contains(&b'\n'));
            }
        }
    }
});
