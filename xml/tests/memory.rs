//! What an unfinished stanza costs the XML codec: measured with a counting
//! allocator, the parser holds little beyond the stanza's own bytes, however
//! many elements they hold and however long the namespace names they use.
//!
//! A test binary of its own, so that the counting allocator slows no other
//! test (nor the codec's timing run). It counts per thread, so tests running
//! in parallel do not see each other's allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use roost_xml::{Limits, StreamEvent, StreamParser};

/// The usual client header.
const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
     xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0' xml:lang='en'>";

struct CountingAllocator;

thread_local! {
    /// Bytes allocated and not yet freed by this thread.
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: the allocator also runs while the thread is torn down.
    let _ = LIVE_BYTES.try_with(|live| live.set(live.get() + delta));
}

fn live_bytes() -> isize {
    LIVE_BYTES.with(Cell::get)
}

// SAFETY: every call is passed to `System` unchanged; only sizes are counted.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System::alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with this layout.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// What may be held beyond the stanza's bytes.
const ALLOWANCE: usize = 64 * 1024;

/// A 4,000-character namespace name.
fn long_namespace() -> String {
    format!("urn:{}", "n".repeat(3996))
}

/// An `<iq>` with `children` empty children in the long namespace under
/// prefix `a`, declared on the `<iq>` itself when `declare` is set.
fn iq(children: usize, declare: bool) -> String {
    let declaration = if declare {
        format!(" xmlns:a='{}'", long_namespace())
    } else {
        String::new()
    };
    format!(
        "<iq type='set' id='x'{declaration}>{}</iq>",
        "<a:b/>".repeat(children)
    )
}

/// The usual header, also declaring the long namespace as `a`.
fn header_declaring_a() -> String {
    HEADER.replace(
        "xml:lang='en'>",
        &format!("xml:lang='en' xmlns:a='{}'>", long_namespace()),
    )
}

/// Feeds `header` and all of `stanza` but its last bytes in 2 KiB reads,
/// as a connection would; returns the bytes the parser then holds, after
/// checking that the last bytes complete the stanza.
fn held_by_unfinished(header: &str, stanza: &str, limits: Limits) -> usize {
    let input = format!("{header}{stanza}");
    let cut = input.len() - 3;
    let before = live_bytes();
    let mut parser = StreamParser::new(limits);
    for read in input.as_bytes()[..cut].chunks(2048) {
        parser.push(read);
        while let Some(event) = parser.next_event().unwrap() {
            assert!(matches!(event, StreamEvent::Header(_)), "{event:?}");
        }
        parser.release_idle_buffer();
    }
    let held = usize::try_from(live_bytes() - before).unwrap();

    parser.push(&input.as_bytes()[cut..]);
    let Ok(Some(StreamEvent::Stanza(iq))) = parser.next_event() else {
        panic!("the stanza did not complete");
    };
    let children = stanza.matches("<a:b/>").count();
    assert_eq!(iq.children().count(), children);
    assert!(iq.children().all(|b| b.is("b", &long_namespace())));
    held
}

fn assert_bounded(what: &str, header: &str, stanza: &str, limits: Limits) {
    let held = held_by_unfinished(header, stanza, limits);
    eprintln!("{what}: {} stanza bytes, {held} bytes held", stanza.len());
    assert!(
        held <= stanza.len() + ALLOWANCE,
        "{what}: {held} bytes held for a {}-byte stanza",
        stanza.len()
    );
}

fn authenticated() -> Limits {
    Limits {
        max_stanza_bytes: 256 * 1024,
        ..Limits::default()
    }
}

#[test]
fn an_unfinished_stanza_with_a_long_prefix_holds_about_its_bytes() {
    let stanza = iq(950, true);
    assert!(stanza.len() > 9_500 && stanza.len() < 10_000);
    assert_bounded("declared on the stanza", HEADER, &stanza, Limits::default());
}

#[test]
fn an_unfinished_stanza_using_a_header_prefix_holds_about_its_bytes() {
    let stanza = iq(1600, false);
    assert!(stanza.len() < 10_000);
    assert_bounded(
        "declared on the header",
        &header_declaring_a(),
        &stanza,
        Limits::default(),
    );
}

#[test]
fn an_unfinished_256_kib_stanza_holds_about_its_bytes() {
    let limits = authenticated();
    let stanza = iq((limits.max_stanza_bytes - 4_100) / 6, true);
    assert!(stanza.len() <= limits.max_stanza_bytes);
    assert_bounded("256 KiB, declared on the stanza", HEADER, &stanza, limits);

    let stanza = iq((limits.max_stanza_bytes - 100) / 6, false);
    assert!(stanza.len() <= limits.max_stanza_bytes);
    assert_bounded(
        "256 KiB, declared on the header",
        &header_declaring_a(),
        &stanza,
        limits,
    );
}

#[test]
fn a_long_namespace_name_is_held_once_by_a_finished_stanza() {
    // Once finished, the tree costs what its elements cost, but the name
    // is shared: far less than 950 copies of it.
    let stanza = iq(950, true);
    let before = live_bytes();
    let mut parser = StreamParser::new(Limits::default());
    parser.push(format!("{HEADER}{stanza}").as_bytes());
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    let Ok(Some(StreamEvent::Stanza(iq))) = parser.next_event() else {
        panic!("no stanza");
    };
    drop(parser);
    let held = usize::try_from(live_bytes() - before).unwrap();
    assert_eq!(iq.children().count(), 950);
    assert!(held < 950 * 400, "{held} bytes for the tree");
}

/// What a finished stanza's tree may cost per byte of the stanza: the bound
/// the fuzz target `stanza_memory` holds the codec to (see `fuzz/`).
const TREE_BYTES_PER_STANZA_BYTE: usize = 48;

/// The tree of a finished stanza, and the bytes it holds.
fn finished_tree(stanza: &str) -> (roost_xml::Element, usize) {
    let mut parser = StreamParser::new(authenticated());
    parser.push(HEADER.as_bytes());
    assert!(matches!(
        parser.next_event(),
        Ok(Some(StreamEvent::Header(_)))
    ));
    let before = live_bytes();
    parser.push(stanza.as_bytes());
    let Ok(Some(StreamEvent::Stanza(tree))) = parser.next_event() else {
        panic!("no stanza");
    };
    drop(parser);
    let held = usize::try_from(live_bytes() - before).unwrap();
    (tree, held)
}

#[test]
fn a_dense_finished_stanza_costs_a_bounded_multiple_of_its_bytes() {
    // The densest shapes known: an empty child, or one with a character
    // after it, every 4 or 5 bytes; with a prefix, a 6- or 7-byte child
    // that keeps its prefix for the writer.
    for (what, body) in [
        ("<a/>", "<a/>".repeat(60_000)),
        ("<a/>x", "<a/>x".repeat(50_000)),
        ("<p:a/>x", "<p:a/>x".repeat(35_000)),
        ("<a b=''/>", "<a b=''/>".repeat(28_000)),
    ] {
        let stanza = format!("<message xmlns:p='urn:p'>{body}</message>");
        assert!(stanza.len() <= authenticated().max_stanza_bytes, "{what}");
        let (tree, held) = finished_tree(&stanza);
        assert!(tree.children().count() >= 28_000, "{what}");
        let per_byte = held as f64 / stanza.len() as f64;
        eprintln!(
            "{what}: {} bytes, tree {held} bytes ({per_byte:.1} per byte)",
            stanza.len()
        );
        assert!(
            held <= TREE_BYTES_PER_STANZA_BYTE * stanza.len(),
            "{what}: a {}-byte stanza made a {held}-byte tree",
            stanza.len()
        );
    }
}
