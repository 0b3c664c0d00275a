//! The memory-amplification check for the c2s XML stream codec: while the
//! codec reads a stream, the heap it holds (its buffers, the stanza being
//! built, the stanzas it hands out) may never exceed a fixed multiple of
//! the bytes it was given, plus a constant. A stanza whose tree costs more
//! than that per byte is a way for one connection to make roostd hold far
//! more memory than `max_stanza_size` suggests, so it fails here.
//!
//! Heap use is counted by a global allocator that wraps the system's. The
//! input follows a valid stream header and is fed in chunks of up to 512
//! bytes, as a socket would deliver it; each stanza is held until the next
//! one is complete (a connection keeps at most one while routing it).

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use roost_xml::{Limits, StreamEvent, StreamParser};

/// What one byte of input may cost while it is parsed and held, besides
/// the byte itself (the parser keeps a stanza's raw bytes until it is
/// complete). The densest trees measured when this target was written:
/// `<a/>x` repeated, about 40 bytes per input byte (two 24-byte nodes, a
/// 96-byte element and the name and text for 5 bytes of input, plus the
/// slack of a growing vector); `<a/>` alone about 32.
const BYTES_PER_INPUT_BYTE: usize = 48;
/// What any stream may cost, however short: the parser's own buffers.
const FIXED_BYTES: usize = 8 * 1024;

const HEADER: &[u8] = b"<stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

/// The limits after authentication, as roostd sets them by default.
const LIMITS: Limits = Limits {
    max_stanza_bytes: 262_144,
    max_depth: 32,
    max_attributes: 64,
    max_namespaces: 64,
};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fuzz_target!(|data: &[u8]| {
    let input = [HEADER, data].concat();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    {
        let mut parser = StreamParser::new(LIMITS);
        let mut held: Option<StreamEvent> = None;
        'feed: for chunk in input.chunks(512) {
            parser.push(chunk);
            loop {
                match parser.next_event() {
                    Ok(Some(event)) => held = Some(event),
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
        }
        drop(held);
    }
    let peak = PEAK.load(Ordering::Relaxed) - base;
    // `input` itself is the caller's copy; everything above it is the codec's.
    let allowed = input.len() + BYTES_PER_INPUT_BYTE * input.len() + FIXED_BYTES;
    assert!(
        peak <= allowed,
        "{} input bytes made the codec hold {peak} bytes (allowed {allowed})",
        input.len()
    );
});
