//! The XML stream codec: bytes in, stream events out, and elements back to
//! bytes. No sockets inside, so it is tested and fuzzed alone.
//!
//! ```text
//! bytes ─push─► Lexer ──tokens──► Builder ──elements──► StreamParser ─next_event─► StreamEvent
//!              (lexer.rs)        (builder.rs,           (parser.rs: header,
//!               token ends,       namespaces.rs,         stanzas at depth 1,
//!               UTF-8, chars,     syntax.rs)             limits, restarts,
//!               keeps a stanza's  build or only check    rewinds to rebuild
//!               bytes)                                   a checked stanza)
//! Element ─write_to─► bytes (writer.rs: prefixes kept, none declared twice in scope)
//! ```
//!
//! What a client may send is RFC 6120 §4 and §11: one `<stream:stream>`
//! in `http://etherx.jabber.org/streams` whose default namespace is
//! `jabber:client`, optionally after `<?xml version='1.0'?>`; stanzas are
//! its direct children, returned whole when their end tag arrives;
//! whitespace between them is skipped. Namespaces are resolved: an
//! [`Element`] carries a local name and a URI. No comments, processing
//! instructions, DTDs or entities beyond the five predefined ones
//! (`restricted-xml`); nothing is ever expanded. Every refusal is a
//! [`StreamError`] whose [`condition`](StreamError::condition) is the
//! stream error to send.
//!
//! Memory: what a stream holds is bounded by the size of its stanza, not by
//! what the stanza contains.
//! - An unfinished stanza is held as its bytes. A tree costs 100 and more
//!   bytes per element (`<a/>` is four), so when the parser must wait for
//!   more of a stanza whose tree has passed 16 KiB, it drops the tree and
//!   only checks the rest, token by token (names, prefixes, end tags,
//!   depth, attributes, references: everything that building checks),
//!   while the lexer keeps the stanza's bytes. At the end tag it rewinds and
//!   builds the stanza from them. A stanza that is wholly in the buffer, or
//!   small, is built in one pass.
//! - Namespace names are held once (`Arc<str>`) by the bindings in scope
//!   and shared by every element in them; at most
//!   [`Limits::max_namespaces`] declarations and 32 KiB of names are in
//!   scope at once (each name is resolved against them).
//! - The input buffer grows by at most 8 KiB beyond what it holds once
//!   past 8 KiB, and is given back when a stream is idle.
//!
//! Notes on choices made here:
//! - Attributes with a prefix other than `xml:` keep their qualified name
//!   (`p:name`); the element remembers the binding so it is written again.
//! - A parsed element remembers the prefix of its name and the prefixes
//!   declared on it; a stanza also carries the stream header's declarations
//!   that it uses. The writer declares them where the input did and never
//!   repeats a binding already in scope, so output stays about as long as
//!   input (950 children in a 4,000-character namespace declared once are
//!   not written with 950 declarations), and a stanza written out stands
//!   alone. Equality ignores this spelling: equivalent serialisations give
//!   equal trees.
//! - CDATA sections are accepted inside stanzas (RFC 6120 does not forbid
//!   them) and become ordinary text; between stanzas they are refused.
//! - `>`, `'` and `"` are accepted unescaped in text (XML allows them,
//!   clients send them); the writer always escapes all five.
//! - The stream header is bounded by [`Limits::max_stanza_bytes`] too.
//! - quick-xml supplies the resumable end-of-markup scanners and the
//!   entity decoding; tokens and attributes are split here (`lexer.rs`
//!   and `syntax.rs` say why).
//! - The parser stays in step with arbitrary splits by handing out only
//!   complete tokens and never rescanning them while waiting: cost is
//!   linear in the input. A checked stanza is read twice (checked, then
//!   built), never more.
//!
//! Tests are in `tests/` (a timing run is `#[ignore]`d there); what an
//! unfinished stanza costs is counted by a global allocator in a test binary
//! of its own, `tests/memory.rs`; the cargo-fuzz target
//! `xml_stream` in the repository's `fuzz/` directory checks the same
//! properties on arbitrary input.

mod builder;
mod element;
mod errors;
mod lexer;
mod namespaces;
pub mod ns;
mod parser;
mod reparse;
mod syntax;
mod writer;

#[cfg(test)]
mod tests;

pub use element::{Element, Node};
pub use errors::StreamError;
pub use parser::{Limits, StreamEvent, StreamHeader, StreamParser};
pub use reparse::parse_stanza;
pub use writer::{STREAM_END, stream_error, stream_header};
