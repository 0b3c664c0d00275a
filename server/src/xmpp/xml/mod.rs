//! The XML stream codec: bytes in, stream events out, and elements back to
//! bytes. No sockets inside, so it is tested and fuzzed alone.
//!
//! ```text
//! bytes ─push─► Lexer ──tokens──► Builder ──elements──► StreamParser ─next_event─► StreamEvent
//!              (lexer.rs)        (builder.rs,           (parser.rs: header,
//!               token ends,       namespaces.rs,         stanzas at depth 1,
//!               UTF-8, chars)     syntax.rs)             limits, restarts)
//! Element ─write_to─► bytes (writer.rs)
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
//! Notes on choices made here:
//! - Attributes with a prefix other than `xml:` keep their qualified name
//!   (`p:name`); the element remembers the binding so it is written again.
//! - CDATA sections are accepted inside stanzas (RFC 6120 does not forbid
//!   them) and become ordinary text; between stanzas they are refused.
//! - `>`, `'` and `"` are accepted unescaped in text (XML allows them,
//!   clients send them); the writer always escapes all five.
//! - The stream header is bounded by [`Limits::max_stanza_bytes`] too.
//! - quick-xml supplies the resumable end-of-markup scanners and the
//!   entity decoding; tokens and attributes are split here (`lexer.rs`
//!   and `syntax.rs` say why).
//! - The parser stays in step with arbitrary splits by handing out only
//!   complete tokens and never rescanning: cost is linear in the input.
//!
//! Tests are in `tests/` (a timing run is `#[ignore]`d there); the
//! cargo-fuzz target `xml_stream` in the repository's `fuzz/` directory
//! checks the same properties on arbitrary input.

mod builder;
mod element;
mod errors;
mod lexer;
mod namespaces;
pub mod ns;
mod parser;
mod syntax;
mod writer;

#[cfg(test)]
mod tests;

pub use element::{Element, Node};
pub use errors::StreamError;
pub use parser::{Limits, StreamEvent, StreamHeader, StreamParser};
pub use writer::{STREAM_END, stream_error, stream_header};
