//! The stream parser: bytes in, stream events out (header, stanzas, end),
//! enforcing RFC 6120's rules for the stream element and the size limits.

use super::builder::{Builder, Closed};
use super::element::Element;
use super::errors::StreamError;
use super::lexer::{Lexed, Lexer, Token, is_whitespace};
use super::ns;
use super::syntax::{RawAttr, split_attributes};

/// Bounds on what a client may send; every buffer the parser keeps is
/// bounded by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest stanza, from its `<` to the end of its end tag. Also bounds
    /// the stream header together with any XML declaration and whitespace
    /// before it.
    pub max_stanza_bytes: usize,
    /// Deepest nesting inside a stanza; the stanza itself is level 1.
    pub max_depth: usize,
    /// Most attributes on one element, namespace declarations included.
    pub max_attributes: usize,
    /// Most namespace declarations in scope at once, the stream header's
    /// included. Each name is resolved against them.
    pub max_namespaces: usize,
}

impl Default for Limits {
    /// The limits before authentication.
    fn default() -> Limits {
        Limits {
            max_stanza_bytes: 10_000,
            max_depth: 32,
            max_attributes: 64,
            max_namespaces: 64,
        }
    }
}

/// The client's `<stream:stream>` attributes. Checking `version` and `to`
/// is the caller's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamHeader {
    pub to: Option<String>,
    pub from: Option<String>,
    pub id: Option<String>,
    pub version: Option<String>,
    /// `xml:lang`.
    pub lang: Option<String>,
    /// The content namespace; always [`ns::CLIENT`], anything else is refused.
    pub default_ns: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Header(StreamHeader),
    /// A complete direct child of the stream element.
    Stanza(Element),
    /// `</stream:stream>`.
    End,
}

enum Phase {
    /// Nothing examined yet: a byte order mark may come.
    Start,
    /// Before the stream header. The XML declaration is allowed only as the
    /// very first thing.
    Prolog { declaration_allowed: bool },
    /// Inside the stream element.
    Stream,
    /// After `</stream:stream>`.
    Ended,
    /// Sticky: the stream is dead.
    Failed(StreamError),
}

/// What one step of the state machine produced.
enum Step {
    Event(StreamEvent),
    /// The phase changed or a token was absorbed: look again.
    Again,
    NeedMore,
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// An incremental parser for one direction of a client stream.
///
/// Feed it with [`push`](Self::push), then call
/// [`next_event`](Self::next_event) until it returns `Ok(None)` before
/// pushing again: the parser then holds at most the bytes of one
/// unfinished stanza (bounded by the limits), a tree of at most 16 KiB of
/// it, and the namespace declarations in scope. The events do not depend
/// on how the input was split.
pub struct StreamParser {
    limits: Limits,
    lexer: Lexer,
    builder: Builder,
    phase: Phase,
    /// Bytes of the current stanza consumed so far (before the header: of
    /// everything before and including it).
    used: usize,
    /// The header was empty (`<stream:stream/>`): the stream ends at once.
    end_pending: bool,
}

impl StreamParser {
    pub fn new(limits: Limits) -> StreamParser {
        StreamParser {
            limits,
            lexer: Lexer::new(),
            builder: Builder::new(),
            phase: Phase::Start,
            used: 0,
            end_pending: false,
        }
    }

    /// Changes the limits, e.g. after authentication. They apply to the
    /// stanza being read too.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Appends received bytes. Ignored once the stream has failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if !matches!(self.phase, Phase::Failed(_)) {
            self.lexer.push(bytes);
        }
    }

    /// The next event, or `Ok(None)` when more bytes are needed. An error
    /// is final: the caller sends [`super::stream_error`] with its
    /// condition and closes.
    pub fn next_event(&mut self) -> Result<Option<StreamEvent>, StreamError> {
        if let Phase::Failed(e) = &self.phase {
            return Err(e.clone());
        }
        loop {
            let step = match self.phase {
                _ if self.end_pending => {
                    self.end_pending = false;
                    self.phase = Phase::Ended;
                    Ok(Step::Event(StreamEvent::End))
                }
                Phase::Start => self.start(),
                Phase::Prolog {
                    declaration_allowed,
                } => self.prolog(declaration_allowed),
                Phase::Stream => self.stream(),
                Phase::Ended => self.ended(),
                Phase::Failed(_) => unreachable!("checked on entry; a failure returns at once"),
            };
            match step {
                Ok(Step::Event(event)) => return Ok(Some(event)),
                Ok(Step::Again) => {}
                Ok(Step::NeedMore) => return Ok(None),
                Err(e) => {
                    self.phase = Phase::Failed(e.clone());
                    return Err(e);
                }
            }
        }
    }

    /// Releases the input buffer if nothing in it is waiting to be parsed;
    /// call it when `next_event` returned `Ok(None)` and the stream may now
    /// sit idle for a long time.
    pub fn release_idle_buffer(&mut self) {
        self.lexer.release_if_consumed();
    }

    /// Forgets everything, input included, and expects a new stream header:
    /// the stream restart after STARTTLS and after SASL success.
    pub fn reset(&mut self) {
        self.lexer.clear();
        self.builder.clear();
        self.phase = Phase::Start;
        self.used = 0;
        self.end_pending = false;
    }

    /// Bytes held in the input buffer.
    #[cfg(test)]
    pub(super) fn buffered(&self) -> usize {
        self.lexer.buffered()
    }

    /// Whether an unfinished stanza is held as a tree (rather than only
    /// checked while its bytes are kept).
    #[cfg(test)]
    pub(super) fn holds_tree(&self) -> bool {
        self.builder.holds_tree()
    }

    /// Looks for a byte order mark or UTF-16 before anything else.
    fn start(&mut self) -> Result<Step, StreamError> {
        let rest = self.lexer.rest();
        if rest.starts_with(UTF8_BOM) {
            self.lexer.consume(UTF8_BOM.len());
            self.used += UTF8_BOM.len();
        } else if rest.len() < UTF8_BOM.len() && UTF8_BOM.starts_with(rest) || rest.len() < 2 {
            return Ok(Step::NeedMore);
        } else if matches!(
            rest[..2],
            [0xFE, 0xFF] | [0xFF, 0xFE] | [b'<', 0] | [0, b'<']
        ) {
            return Err(StreamError::UnsupportedEncoding("UTF-16".to_owned()));
        }
        self.phase = Phase::Prolog {
            declaration_allowed: true,
        };
        Ok(Step::Again)
    }

    fn prolog(&mut self, mut declaration_allowed: bool) -> Result<Step, StreamError> {
        let too_large = StreamError::HeaderTooLarge {
            limit: self.limits.max_stanza_bytes,
        };
        if self.lexer.is_fresh() {
            let skipped = self.lexer.skip_whitespace();
            if skipped > 0 {
                // The declaration must be the very first thing.
                declaration_allowed = false;
                self.phase = Phase::Prolog {
                    declaration_allowed,
                };
                self.used += skipped;
                if self.used > self.limits.max_stanza_bytes {
                    return Err(too_large);
                }
            }
            match self.lexer.rest().first() {
                None => return Ok(Step::NeedMore),
                Some(b'<') => {}
                Some(_) => return Err(StreamError::malformed("text before the stream header")),
            }
        }
        let budget = self.limits.max_stanza_bytes.saturating_sub(self.used);
        let (token, len) = match self.lexer.next_token(budget, declaration_allowed)? {
            Lexed::Token(token, len) => (token, len),
            Lexed::NeedMore => return Ok(Step::NeedMore),
            Lexed::OverBudget => return Err(too_large),
        };
        self.used += len;
        match token {
            Token::Pi(content) => {
                check_declaration(content)?;
                self.phase = Phase::Prolog {
                    declaration_allowed: false,
                };
                Ok(Step::Again)
            }
            Token::StartTag { content, empty } => {
                let root = self.builder.open_root(content, empty, &self.limits)?;
                let header = check_header(root, self.builder.default_ns())?;
                self.phase = Phase::Stream;
                self.end_pending = empty;
                Ok(Step::Event(StreamEvent::Header(header)))
            }
            Token::EndTag(_) | Token::Text(_) | Token::Cdata(_) => {
                Err(StreamError::malformed("expected the stream header"))
            }
        }
    }

    fn stream(&mut self) -> Result<Step, StreamError> {
        if !self.builder.in_stanza() && self.lexer.is_fresh() {
            // Between stanzas: whitespace keepalives, nothing else.
            self.lexer.skip_whitespace();
            match self.lexer.rest().first() {
                None => return Ok(Step::NeedMore),
                Some(b'<') => {}
                Some(_) => return Err(StreamError::malformed("text outside stanzas")),
            }
            self.used = 0;
            // Kept until the stanza ends, in case it is read again.
            self.lexer.keep_from_here();
        }
        let budget = self.limits.max_stanza_bytes.saturating_sub(self.used);
        let (token, len) = match self.lexer.next_token(budget, false)? {
            Lexed::Token(token, len) => (token, len),
            Lexed::NeedMore => {
                // Waiting: an unfinished stanza is held as its bytes, not
                // as a tree many times their size.
                self.builder.shed_tree();
                return Ok(Step::NeedMore);
            }
            Lexed::OverBudget => {
                return Err(StreamError::StanzaTooLarge {
                    limit: self.limits.max_stanza_bytes,
                });
            }
        };
        self.used += len;
        let done = match token {
            Token::StartTag { content, empty } => {
                self.builder.start(content, empty, &self.limits)?
            }
            Token::EndTag(qname) => match self.builder.end(qname)? {
                Closed::Element(stanza) => stanza,
                Closed::Checked => {
                    // All of it is here now, and well-formed: build it
                    // from its bytes in one pass.
                    self.lexer.rewind();
                    return Ok(Step::Again);
                }
                Closed::Root => {
                    self.lexer.unkeep();
                    self.phase = Phase::Ended;
                    return Ok(Step::Event(StreamEvent::End));
                }
            },
            Token::Text(raw) => {
                self.builder.text(raw)?;
                None
            }
            Token::Cdata(raw) => {
                self.builder.cdata(raw)?;
                None
            }
            // The lexer refuses `<?` here; kept total rather than panicking.
            Token::Pi(_) => return Err(StreamError::RestrictedXml("processing instruction")),
        };
        Ok(match done {
            Some(stanza) => {
                self.lexer.unkeep();
                Step::Event(StreamEvent::Stanza(stanza))
            }
            None => Step::Again,
        })
    }

    fn ended(&mut self) -> Result<Step, StreamError> {
        self.lexer.skip_whitespace();
        if self.lexer.rest().is_empty() {
            Ok(Step::NeedMore)
        } else {
            Err(StreamError::malformed("data after the end of the stream"))
        }
    }
}

/// Checks `<?xml version='1.x' encoding='UTF-8' standalone='…'?>` (the
/// content between `<?` and `?>`). Any other processing instruction is
/// restricted.
fn check_declaration(content: &str) -> Result<(), StreamError> {
    let target_len = content
        .bytes()
        .position(is_whitespace)
        .unwrap_or(content.len());
    let target = &content[..target_len];
    if target != "xml" {
        return Err(if target.eq_ignore_ascii_case("xml") {
            StreamError::malformed("reserved processing instruction target")
        } else {
            StreamError::RestrictedXml("processing instruction")
        });
    }
    let mut attrs: Vec<RawAttr> = Vec::with_capacity(3);
    split_attributes(content, target_len, 3, &mut attrs)
        .map_err(|_| StreamError::malformed("bad XML declaration"))?;
    let mut fields = attrs
        .iter()
        .map(|a| (&content[a.name.clone()], &content[a.value.clone()]))
        .peekable();
    // version (required), encoding, standalone: in this order.
    match fields.next() {
        Some(("version", version)) => {
            let minor = version.strip_prefix("1.").unwrap_or_default();
            if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
                return Err(StreamError::malformed(format!("XML version {version}")));
            }
        }
        _ => return Err(StreamError::malformed("XML declaration without version")),
    }
    if let Some(&("encoding", encoding)) = fields.peek() {
        if !encoding.eq_ignore_ascii_case("UTF-8") {
            return Err(StreamError::UnsupportedEncoding(encoding.to_owned()));
        }
        fields.next();
    }
    if let Some(&("standalone", standalone)) = fields.peek() {
        if standalone != "yes" && standalone != "no" {
            return Err(StreamError::malformed("bad standalone declaration"));
        }
        fields.next();
    }
    match fields.next() {
        Some((name, _)) => Err(StreamError::malformed(format!(
            "bad XML declaration field {name}"
        ))),
        None => Ok(()),
    }
}

/// Checks the stream element (RFC 6120 §4.8) and extracts its attributes.
fn check_header(mut root: Element, default_ns: Option<&str>) -> Result<StreamHeader, StreamError> {
    if root.ns() != ns::STREAMS {
        return Err(StreamError::InvalidNamespace(format!(
            "stream element in namespace {:?}",
            root.ns()
        )));
    }
    if root.name() != "stream" {
        return Err(StreamError::BadFormat(format!(
            "<{}> is not a stream",
            root.name()
        )));
    }
    if default_ns != Some(ns::CLIENT) {
        return Err(StreamError::InvalidNamespace(format!(
            "content namespace {:?}, not {}",
            default_ns.unwrap_or_default(),
            ns::CLIENT
        )));
    }
    Ok(StreamHeader {
        to: root.remove_attr("to"),
        from: root.remove_attr("from"),
        id: root.remove_attr("id"),
        version: root.remove_attr("version"),
        lang: root.remove_attr("xml:lang"),
        default_ns: ns::CLIENT.to_owned(),
    })
}
