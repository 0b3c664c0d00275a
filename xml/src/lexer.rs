//! Incremental tokenizer: finds where the next piece of markup or text ends
//! in the buffered input.
//!
//! A TCP read can stop anywhere, so a token is often incomplete. The lexer
//! remembers how far it searched and in which state (inside quotes, after a
//! `?`…) and resumes there when more bytes arrive: every byte is searched
//! once, however the input is split. quick-xml's resumable scanners
//! ([`ElementParser`], [`PiParser`]) find the end of tags and of the XML
//! declaration; `memchr` finds the end of text and CDATA.
//!
//! A token is handed out only when complete, and its bytes are checked as
//! UTF-8 and as XML characters there: token boundaries are ASCII bytes, so a
//! split inside a multi-byte character or an entity never matters.

use std::ops::Range;

use quick_xml::parser::{ElementParser, Parser as _, PiParser};

use super::errors::StreamError;
use super::syntax::check_chars;

/// One complete token, borrowed from the lexer's buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// `<…>` or `<…/>`: the content between `<` and `>` or `/>`.
    StartTag { content: &'a str, empty: bool },
    /// `</name>`: the name, trailing whitespace removed.
    EndTag(&'a str),
    /// Character data up to the next `<`, still escaped.
    Text(&'a str),
    /// The content of `<![CDATA[…]]>`.
    Cdata(&'a str),
    /// The content of `<?…?>`, only where the caller allows one.
    Pi(&'a str),
}

/// What [`Lexer::next_token`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lexed<'a> {
    /// A token and its length on the wire.
    Token(Token<'a>, usize),
    /// The token is incomplete and still fits the budget.
    NeedMore,
    /// The token is incomplete and already longer than the budget.
    OverBudget,
}

/// Where the search for the current token's end stands.
#[derive(Debug, Clone, Copy)]
enum Scan {
    /// Nothing known yet about the token at `pos`.
    Fresh,
    Tag(ElementParser),
    EndTag,
    Pi(PiParser),
    Cdata,
    Text,
}

const CDATA_OPEN: &[u8] = b"<![CDATA[";

pub(super) struct Lexer {
    buf: Vec<u8>,
    /// Start of the current token; everything before it is consumed.
    pos: usize,
    scan: Scan,
    /// Bytes after `pos` already searched for the current token's end.
    scanned: usize,
    /// Consumed bytes from here on are kept, to [`Lexer::rewind`] to.
    kept_from: Option<usize>,
}

/// Past this size the buffer grows by this much at a time rather than
/// doubling, so that a large unfinished stanza costs little beyond its bytes.
const GROWTH_STEP: usize = 8 * 1024;

impl Lexer {
    pub(super) fn new() -> Lexer {
        Lexer {
            buf: Vec::new(),
            pos: 0,
            scan: Scan::Fresh,
            scanned: 0,
            kept_from: None,
        }
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        let keep = self.kept_from.unwrap_or(self.pos);
        // Drop consumed bytes once they are at least half the buffer: each
        // byte then moves O(1) times on average, even when a huge token
        // arrives one byte per push. Also before the buffer grows, which
        // would copy them anyway.
        let grows = self.buf.len() + bytes.len() > self.buf.capacity();
        if keep == self.buf.len() {
            self.buf.clear();
            self.shift(keep);
        } else if keep > 0 && (grows || keep >= self.buf.len() - keep) {
            self.buf.drain(..keep);
            self.shift(keep);
        }
        let needed = self.buf.len() + bytes.len();
        if needed > self.buf.capacity() {
            let capacity = self.buf.capacity();
            let grown = (2 * capacity).min(capacity + GROWTH_STEP).max(needed);
            self.buf.reserve_exact(grown - self.buf.len());
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Moves the offsets after dropping the first `n` bytes of the buffer.
    fn shift(&mut self, n: usize) {
        self.pos -= n;
        if let Some(kept) = &mut self.kept_from {
            *kept -= n;
        }
    }

    /// Keeps the input from the next token on, even once consumed, until
    /// [`Lexer::unkeep`]: the start of a stanza that may have to be read again.
    pub(super) fn keep_from_here(&mut self) {
        debug_assert!(self.is_fresh());
        self.kept_from = Some(self.pos);
    }

    /// Stops keeping consumed input.
    pub(super) fn unkeep(&mut self) {
        self.kept_from = None;
    }

    /// Goes back to where [`Lexer::keep_from_here`] was called; the input
    /// from there is read again.
    pub(super) fn rewind(&mut self) {
        debug_assert!(self.is_fresh());
        if let Some(kept) = self.kept_from {
            self.pos = kept;
        }
    }

    /// Frees the buffer when every byte in it is consumed, so an idle
    /// stream holds no input memory at all.
    pub(super) fn release_if_consumed(&mut self) {
        if self.pos == self.buf.len() && self.kept_from.is_none() && self.buf.capacity() > 0 {
            self.buf = Vec::new();
            self.pos = 0;
        }
    }

    /// Forgets all input, keeping the allocation.
    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.scan = Scan::Fresh;
        self.scanned = 0;
        self.kept_from = None;
    }

    /// Bytes held, consumed or not: what the buffer costs.
    #[cfg(test)]
    pub(super) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The unconsumed input.
    pub(super) fn rest(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Whether no token is half-read, i.e. the next byte starts a new one.
    pub(super) fn is_fresh(&self) -> bool {
        matches!(self.scan, Scan::Fresh)
    }

    /// Consumes `n` bytes outside of any token (a byte order mark).
    pub(super) fn consume(&mut self, n: usize) {
        debug_assert!(self.is_fresh() && n <= self.rest().len());
        self.pos += n;
    }

    /// Consumes XML whitespace at a token boundary and returns how much.
    pub(super) fn skip_whitespace(&mut self) -> usize {
        debug_assert!(self.is_fresh());
        let n = self
            .rest()
            .iter()
            .take_while(|&&b| is_whitespace(b))
            .count();
        self.pos += n;
        n
    }

    /// Finds the next complete token, of at most `budget` bytes. `allow_pi`
    /// says whether `<?` may start one (only the XML declaration may);
    /// elsewhere it is refused at once, as are comments and DTDs.
    pub(super) fn next_token(
        &mut self,
        budget: usize,
        allow_pi: bool,
    ) -> Result<Lexed<'_>, StreamError> {
        let avail = self.buf.len() - self.pos;
        let window = avail.min(budget);
        if let Scan::Fresh = self.scan {
            match self.classify(window, allow_pi)? {
                Some((scan, skip)) => {
                    self.scan = scan;
                    self.scanned = skip;
                }
                None => return Ok(self.incomplete(avail, budget)),
            }
        }
        let from = self.pos + self.scanned;
        let to = self.pos + window;
        // `end` is the token's length; `inner` the part handed out.
        let found: Option<(usize, Range<usize>)> = match &mut self.scan {
            Scan::Fresh => unreachable!("classified above"),
            Scan::Tag(parser) => parser
                .feed(&self.buf[from..to])
                .map(|i| (from + i + 1 - self.pos, 1..from + i - self.pos)),
            Scan::EndTag => memchr::memchr(b'>', &self.buf[from..to])
                .map(|i| (from + i + 1 - self.pos, 2..from + i - self.pos)),
            Scan::Pi(parser) => parser
                .feed(&self.buf[from..to])
                .map(|i| (from + i + 1 - self.pos, 2..from + i - 1 - self.pos)),
            Scan::Cdata => {
                // Back up over a `]]` that may have ended the last search.
                let from = from.saturating_sub(2).max(self.pos + CDATA_OPEN.len());
                memchr::memmem::find(&self.buf[from..to], b"]]>").map(|i| {
                    let close = from + i - self.pos;
                    (close + 3, CDATA_OPEN.len()..close)
                })
            }
            Scan::Text => memchr::memchr(b'<', &self.buf[from..to])
                .map(|i| (from + i - self.pos, 0..from + i - self.pos)),
        };
        let Some((len, inner)) = found else {
            self.scanned = window;
            return Ok(self.incomplete(avail, budget));
        };
        let scan = std::mem::replace(&mut self.scan, Scan::Fresh);
        let start = self.pos;
        self.pos += len;
        self.scanned = 0;
        let bytes = &self.buf[start + inner.start..start + inner.end];
        let text =
            std::str::from_utf8(bytes).map_err(|_| StreamError::malformed("invalid UTF-8"))?;
        check_chars(text)?;
        let token = match scan {
            Scan::Tag(_) => match text.strip_suffix('/') {
                Some(content) => Token::StartTag {
                    content,
                    empty: true,
                },
                None => Token::StartTag {
                    content: text,
                    empty: false,
                },
            },
            Scan::EndTag => Token::EndTag(text.trim_end_matches(is_whitespace_char)),
            Scan::Pi(_) => Token::Pi(text),
            Scan::Cdata => Token::Cdata(text),
            Scan::Text | Scan::Fresh => Token::Text(text),
        };
        Ok(Lexed::Token(token, len))
    }

    /// Decides what kind of token starts at `pos`, from its first bytes.
    /// Returns the scan state and how many bytes are already known, or
    /// `None` when more bytes are needed to tell.
    fn classify(
        &self,
        window: usize,
        allow_pi: bool,
    ) -> Result<Option<(Scan, usize)>, StreamError> {
        let head = &self.buf[self.pos..self.pos + window];
        let Some(&first) = head.first() else {
            return Ok(None);
        };
        if first != b'<' {
            return Ok(Some((Scan::Text, 0)));
        }
        let Some(&second) = head.get(1) else {
            return Ok(None);
        };
        Ok(Some(match second {
            b'/' => (Scan::EndTag, 2),
            b'?' if allow_pi => (Scan::Pi(PiParser::default()), 2),
            b'?' => return Err(StreamError::RestrictedXml("processing instruction")),
            b'!' => {
                // `<!--` is a comment, `<!DOCTYPE` a DTD: both restricted.
                // Only a CDATA section is allowed.
                let Some(&third) = head.get(2) else {
                    return Ok(None);
                };
                if third != b'[' {
                    return Err(StreamError::RestrictedXml(
                        "comment or document type declaration",
                    ));
                }
                let known = head.len().min(CDATA_OPEN.len());
                if head[..known] != CDATA_OPEN[..known] {
                    return Err(StreamError::malformed("bad CDATA section"));
                }
                if known < CDATA_OPEN.len() {
                    return Ok(None);
                }
                (Scan::Cdata, CDATA_OPEN.len())
            }
            // Refuse what cannot start a name at once, rather than wait for
            // a `>` that a confused peer may never send.
            b if b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80 => {
                (Scan::Tag(ElementParser::default()), 1)
            }
            _ => return Err(StreamError::malformed("a tag must start with a name")),
        }))
    }

    fn incomplete(&self, avail: usize, budget: usize) -> Lexed<'static> {
        if avail >= budget {
            Lexed::OverBudget
        } else {
            Lexed::NeedMore
        }
    }
}

/// XML's `S` production.
pub(super) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_whitespace_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}
