//! Turns start tags, end tags and text into elements: namespace resolution,
//! end-tag matching, and the depth and attribute limits.

use super::element::Element;
use super::errors::StreamError;
use super::lexer::is_whitespace;
use super::namespaces::Namespaces;
use super::syntax::{
    RawAttr, decode_attribute, decode_cdata, decode_text, is_ncname, split_attributes, split_qname,
};

/// An open element: where its qualified name starts in `Builder::qnames`
/// and the namespace stack before its declarations.
struct Frame {
    qname_start: usize,
    ns_mark: usize,
}

/// What an end tag closed.
pub(super) enum Closed {
    /// An element inside a stanza; `Some` when it was the stanza itself.
    Element(Option<Element>),
    /// The stream element.
    Root,
}

pub(super) struct Builder {
    namespaces: Namespaces,
    /// Qualified names of the open elements (the stream element first),
    /// concatenated so that opening an element allocates nothing.
    qnames: String,
    frames: Vec<Frame>,
    /// The stanza being read: the stanza first, the innermost open element last.
    open: Vec<Element>,
    /// Reused for each start tag's attributes.
    attrs: Vec<RawAttr>,
}

impl Builder {
    pub(super) fn new() -> Builder {
        Builder {
            namespaces: Namespaces::new(),
            qnames: String::with_capacity(256),
            frames: Vec::with_capacity(16),
            open: Vec::with_capacity(16),
            attrs: Vec::with_capacity(16),
        }
    }

    pub(super) fn clear(&mut self) {
        self.namespaces.clear();
        self.qnames.clear();
        self.frames.clear();
        self.open.clear();
    }

    /// Whether a stanza has been opened and not yet closed.
    pub(super) fn in_stanza(&self) -> bool {
        !self.open.is_empty()
    }

    /// The stream element's start tag. Its declarations stay in scope for
    /// every stanza. An empty one (`<stream:stream/>`) opens nothing.
    pub(super) fn open_root(
        &mut self,
        content: &str,
        empty: bool,
        max_attributes: usize,
    ) -> Result<Element, StreamError> {
        let ns_mark = self.namespaces.mark();
        let (root, qname_len) = self.element(content, max_attributes)?;
        if !empty {
            self.frames.push(Frame {
                qname_start: self.qnames.len(),
                ns_mark,
            });
            self.qnames.push_str(&content[..qname_len]);
        }
        Ok(root)
    }

    /// The default namespace in scope (after [`Builder::open_root`]: the
    /// stream's content namespace).
    pub(super) fn default_ns(&self) -> Option<&str> {
        self.namespaces.resolve("")
    }

    /// A start tag inside the stream. Returns the stanza when this was an
    /// empty stanza (`<presence/>`).
    pub(super) fn start(
        &mut self,
        content: &str,
        empty: bool,
        max_depth: usize,
        max_attributes: usize,
    ) -> Result<Option<Element>, StreamError> {
        if self.open.len() >= max_depth {
            return Err(StreamError::TooDeep { limit: max_depth });
        }
        let ns_mark = self.namespaces.mark();
        let (element, qname_len) = self.element(content, max_attributes)?;
        if empty {
            self.namespaces.pop_to(ns_mark);
            return Ok(self.deliver(element));
        }
        self.frames.push(Frame {
            qname_start: self.qnames.len(),
            ns_mark,
        });
        self.qnames.push_str(&content[..qname_len]);
        self.open.push(element);
        Ok(None)
    }

    /// An end tag: it must name the innermost open element.
    pub(super) fn end(&mut self, qname: &str) -> Result<Closed, StreamError> {
        let Some(frame) = self.frames.pop() else {
            return Err(StreamError::malformed(format!("</{qname}> closes nothing")));
        };
        let open = &self.qnames[frame.qname_start..];
        if open != qname {
            return Err(StreamError::malformed(format!(
                "</{qname}> does not close <{open}>"
            )));
        }
        self.qnames.truncate(frame.qname_start);
        self.namespaces.pop_to(frame.ns_mark);
        Ok(match self.open.pop() {
            Some(element) => Closed::Element(self.deliver(element)),
            None => Closed::Root,
        })
    }

    /// Character data inside a stanza.
    pub(super) fn text(&mut self, raw: &str) -> Result<(), StreamError> {
        let text = decode_text(raw)?;
        self.innermost()?.push_str(&text);
        Ok(())
    }

    /// A CDATA section inside a stanza.
    pub(super) fn cdata(&mut self, raw: &str) -> Result<(), StreamError> {
        let text = decode_cdata(raw);
        self.innermost()?.push_str(&text);
        Ok(())
    }

    fn innermost(&mut self) -> Result<&mut Element, StreamError> {
        self.open
            .last_mut()
            .ok_or_else(|| StreamError::malformed("character data outside stanzas"))
    }

    /// A closed element goes into its parent, or out if it is a stanza.
    fn deliver(&mut self, element: Element) -> Option<Element> {
        match self.open.last_mut() {
            Some(parent) => {
                parent.push_child(element);
                None
            }
            None => Some(element),
        }
    }

    /// Parses a start tag's content into an element, pushing its namespace
    /// declarations. Returns the element and the length of its qualified name.
    fn element(
        &mut self,
        content: &str,
        max_attributes: usize,
    ) -> Result<(Element, usize), StreamError> {
        let name_len = content
            .bytes()
            .position(is_whitespace)
            .unwrap_or(content.len());
        let (prefix, local) = split_qname(&content[..name_len])?;
        self.attrs.clear();
        split_attributes(content, name_len, max_attributes, &mut self.attrs)?;

        // Declarations first: they apply to this element's own names.
        let mut declarations = 0;
        for attr in &self.attrs {
            let name = &content[attr.name.clone()];
            let prefix = match name.strip_prefix("xmlns") {
                Some("") => "",
                Some(rest) => match rest.strip_prefix(':') {
                    Some(p) if is_ncname(p) => p,
                    Some(_) => {
                        return Err(StreamError::malformed(format!("bad declaration {name}")));
                    }
                    // `xmlnsfoo` is an ordinary attribute name.
                    None => continue,
                },
                None => continue,
            };
            declarations += 1;
            let uri = decode_attribute(&content[attr.value.clone()])?;
            self.namespaces.declare(prefix, &uri)?;
        }

        let ns = match prefix {
            Some(p) => self.namespaces.resolve(p).ok_or_else(|| unbound(p))?,
            None => self.namespaces.resolve("").unwrap_or(""),
        };
        let mut element = Element::new(local, ns);
        element.attrs.reserve_exact(self.attrs.len() - declarations);
        for attr in &self.attrs {
            let qname = &content[attr.name.clone()];
            if qname == "xmlns" || qname.starts_with("xmlns:") {
                continue;
            }
            let (prefix, local) = split_qname(qname)?;
            if let Some(prefix) = prefix.filter(|&p| p != "xml") {
                let uri = self
                    .namespaces
                    .resolve(prefix)
                    .ok_or_else(|| unbound(prefix))?;
                // Two names with one expansion are duplicates, even under
                // different prefixes (Namespaces in XML §6.3).
                let duplicate = element.attrs.iter().any(|(other, _)| {
                    other.split_once(':').is_some_and(|(p, l)| {
                        p != "xml" && l == local && self.namespaces.resolve(p) == Some(uri)
                    })
                });
                if duplicate {
                    return Err(StreamError::malformed(format!(
                        "duplicate attribute {qname}"
                    )));
                }
                if !element.prefixes.iter().any(|(p, _)| p == prefix) {
                    element.prefixes.push((prefix.to_owned(), uri.to_owned()));
                }
            }
            let value = decode_attribute(&content[attr.value.clone()])?;
            element.attrs.push((qname.to_owned(), value.into_owned()));
        }
        Ok((element, name_len))
    }
}

fn unbound(prefix: &str) -> StreamError {
    StreamError::BadNamespacePrefix(format!("prefix {prefix:?} is not declared"))
}
