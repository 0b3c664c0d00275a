//! Turns start tags, end tags and text into elements: namespace resolution,
//! end-tag matching, and the depth, attribute and namespace limits.
//!
//! A stanza is read in one of two modes. Building: each token adds to the
//! stanza's tree, so a stanza that is wholly in the buffer is parsed in one
//! pass. Checking: each token is checked exactly as when building, but
//! nothing is kept beyond the open elements' names and declarations. A tree
//! costs 100 and more bytes per element, many times its input (`<a/>` is
//! four bytes), so when the parser must wait for more of a stanza whose tree
//! has passed [`TREE_BUDGET`] it calls [`Builder::shed_tree`]: the tree is
//! dropped and the rest of the stanza only checked, while the lexer keeps
//! the stanza's raw bytes. When a checked stanza ends ([`Closed::Checked`])
//! the parser rewinds to its start and builds it from those bytes, which
//! are then all present.

use std::sync::Arc;

use super::element::{Element, Node, Prefixes};
use super::errors::StreamError;
use super::lexer::is_whitespace;
use super::namespaces::{Binding, Namespaces};
use super::parser::Limits;
use super::syntax::{
    RawAttr, decode_attribute, decode_cdata, decode_text, is_ncname, split_attributes, split_qname,
};

/// Largest partial tree kept while waiting for the rest of a stanza.
pub(super) const TREE_BUDGET: usize = 16 * 1024;

/// What a heap allocation costs beyond its bytes, for the tree estimate.
const ALLOCATION_OVERHEAD: usize = 16;

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
    /// A stanza that was only checked: it is well-formed, build it again
    /// from its bytes.
    Checked,
    /// The stream element.
    Root,
}

pub(super) struct Builder {
    namespaces: Namespaces,
    /// Qualified names of the open elements (the stream element first),
    /// concatenated so that opening an element allocates nothing.
    qnames: String,
    frames: Vec<Frame>,
    /// The stanza being built: the stanza first, the innermost open element
    /// last. Empty while checking.
    open: Vec<Element>,
    /// The current stanza is being checked, not built.
    checking: bool,
    /// Rough heap bytes of the tree in `open`.
    tree_bytes: usize,
    /// The namespace stack's depth outside the current stanza: bindings
    /// below it are the stream header's.
    stanza_ns_mark: usize,
    /// Header bindings that the current stanza uses, to declare on it so
    /// that it is written out once and stands alone.
    hoisted: Vec<(Arc<str>, Arc<str>)>,
    /// The namespace of unprefixed names where no default is declared.
    no_namespace: Arc<str>,
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
            checking: false,
            tree_bytes: 0,
            stanza_ns_mark: 0,
            hoisted: Vec::new(),
            no_namespace: Arc::from(""),
            attrs: Vec::with_capacity(16),
        }
    }

    pub(super) fn clear(&mut self) {
        self.namespaces.clear();
        self.qnames.clear();
        self.frames.clear();
        self.open.clear();
        self.checking = false;
        self.tree_bytes = 0;
        self.stanza_ns_mark = 0;
        self.hoisted.clear();
    }

    /// Whether a stanza has been opened and not yet closed.
    pub(super) fn in_stanza(&self) -> bool {
        self.frames.len() > 1
    }

    #[cfg(test)]
    pub(super) fn holds_tree(&self) -> bool {
        !self.open.is_empty()
    }

    /// Called while waiting for more of the current stanza: drops its tree
    /// if it has grown past [`TREE_BUDGET`], and only checks the rest.
    pub(super) fn shed_tree(&mut self) {
        if self.in_stanza() && !self.checking && self.tree_bytes > TREE_BUDGET {
            self.open.clear();
            self.hoisted.clear();
            self.tree_bytes = 0;
            self.checking = true;
        }
    }

    /// The stream element's start tag. Its declarations stay in scope for
    /// every stanza. An empty one (`<stream:stream/>`) opens nothing.
    pub(super) fn open_root(
        &mut self,
        content: &str,
        empty: bool,
        limits: &Limits,
    ) -> Result<Element, StreamError> {
        let ns_mark = self.namespaces.mark();
        let (root, qname_len) = self.element(content, ns_mark, limits, true)?;
        if !empty {
            self.frames.push(Frame {
                qname_start: self.qnames.len(),
                ns_mark,
            });
            self.qnames.push_str(&content[..qname_len]);
        }
        Ok(root.expect("built"))
    }

    /// The default namespace in scope (after [`Builder::open_root`]: the
    /// stream's content namespace).
    pub(super) fn default_ns(&self) -> Option<&str> {
        self.namespaces.resolve("").map(|binding| &**binding.uri)
    }

    /// A start tag inside the stream. Returns the stanza when this was an
    /// empty stanza (`<presence/>`).
    pub(super) fn start(
        &mut self,
        content: &str,
        empty: bool,
        limits: &Limits,
    ) -> Result<Option<Element>, StreamError> {
        if self.frames.len().saturating_sub(1) >= limits.max_depth {
            return Err(StreamError::TooDeep {
                limit: limits.max_depth,
            });
        }
        let ns_mark = self.namespaces.mark();
        if !self.in_stanza() {
            self.stanza_ns_mark = ns_mark;
            self.tree_bytes = 0;
            self.hoisted.clear();
        }
        let (element, qname_len) = self.element(content, ns_mark, limits, !self.checking)?;
        if empty {
            self.namespaces.pop_to(ns_mark);
            return Ok(element.and_then(|element| self.deliver(element)));
        }
        self.frames.push(Frame {
            qname_start: self.qnames.len(),
            ns_mark,
        });
        self.qnames.push_str(&content[..qname_len]);
        if let Some(element) = element {
            self.open.push(element);
        }
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
        if self.frames.is_empty() {
            return Ok(Closed::Root);
        }
        if self.checking {
            if self.in_stanza() {
                return Ok(Closed::Element(None));
            }
            self.checking = false;
            return Ok(Closed::Checked);
        }
        let element = self
            .open
            .pop()
            .expect("an open element per frame while building");
        Ok(Closed::Element(self.deliver(element)))
    }

    /// Character data inside a stanza.
    pub(super) fn text(&mut self, raw: &str) -> Result<(), StreamError> {
        self.check_in_stanza()?;
        let text = decode_text(raw)?;
        self.push_text(&text);
        Ok(())
    }

    /// A CDATA section inside a stanza.
    pub(super) fn cdata(&mut self, raw: &str) -> Result<(), StreamError> {
        self.check_in_stanza()?;
        let text = decode_cdata(raw);
        self.push_text(&text);
        Ok(())
    }

    fn check_in_stanza(&self) -> Result<(), StreamError> {
        if self.in_stanza() {
            Ok(())
        } else {
            Err(StreamError::malformed("character data outside stanzas"))
        }
    }

    fn push_text(&mut self, text: &str) {
        if let Some(innermost) = self.open.last_mut() {
            self.tree_bytes += text.len() + std::mem::size_of::<Node>();
            innermost.push_str(text);
        }
    }

    /// A closed element goes into its parent, or out if it is a stanza.
    fn deliver(&mut self, mut element: Element) -> Option<Element> {
        match self.open.last_mut() {
            Some(parent) => {
                parent.push_child(element);
                None
            }
            None => {
                if !self.hoisted.is_empty() {
                    let prefixes = element.prefixes.get_or_insert_default();
                    prefixes.declared.append(&mut self.hoisted);
                }
                Some(element)
            }
        }
    }

    /// Checks a start tag's content, pushes its namespace declarations and,
    /// if `build`, makes the element. Returns the element and the length of
    /// its qualified name.
    fn element(
        &mut self,
        content: &str,
        ns_mark: usize,
        limits: &Limits,
        build: bool,
    ) -> Result<(Option<Element>, usize), StreamError> {
        let name_len = content
            .bytes()
            .position(is_whitespace)
            .unwrap_or(content.len());
        let (prefix, local) = split_qname(&content[..name_len])?;
        self.attrs.clear();
        split_attributes(content, name_len, limits.max_attributes, &mut self.attrs)?;

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
            self.namespaces
                .declare(prefix, &uri, limits.max_namespaces)?;
        }

        // Bindings below this mark are the header's; a stanza that uses one
        // declares it itself when written. Never while reading the header.
        let header_depth = self.stanza_ns_mark;
        let namespaces = &self.namespaces;
        let hoisted = &mut self.hoisted;
        let mut hoist = |binding: &Binding<'_>| {
            if build
                && binding.depth < header_depth
                && **binding.prefix != *"xml"
                && !hoisted.iter().any(|(p, _)| p == binding.prefix)
            {
                hoisted.push((Arc::clone(binding.prefix), Arc::clone(binding.uri)));
            }
        };

        let (ns, name_prefix) = match prefix {
            Some(p) => {
                let binding = namespaces.resolve(p).ok_or_else(|| unbound(p))?;
                hoist(&binding);
                (Arc::clone(binding.uri), Some(binding.prefix))
            }
            None => match namespaces.resolve("") {
                Some(binding) => (Arc::clone(binding.uri), None),
                None => (Arc::clone(&self.no_namespace), None),
            },
        };
        let mut element = build.then(|| {
            let mut element = Element::in_ns(local, ns);
            element.attrs.reserve_exact(self.attrs.len() - declarations);
            let declared = namespaces
                .since(ns_mark)
                .iter()
                .filter(|(p, _)| !p.is_empty());
            if name_prefix.is_some() || declared.clone().next().is_some() {
                element.prefixes = Some(Box::new(Prefixes {
                    of_name: name_prefix.cloned(),
                    declared: declared.cloned().collect(),
                    of_attributes: Vec::new(),
                }));
            }
            element
        });
        // Expanded names of the prefixed attributes so far: two names with
        // one expansion are duplicates, even under different prefixes
        // (Namespaces in XML §6.3).
        let mut expanded: Vec<(&str, &Arc<str>)> = Vec::new();
        for attr in &self.attrs {
            let qname = &content[attr.name.clone()];
            if qname == "xmlns" || qname.starts_with("xmlns:") {
                continue;
            }
            let (prefix, local) = split_qname(qname)?;
            if let Some(prefix) = prefix.filter(|&p| p != "xml") {
                let binding = namespaces.resolve(prefix).ok_or_else(|| unbound(prefix))?;
                if expanded
                    .iter()
                    .any(|&(l, uri)| l == local && **uri == **binding.uri)
                {
                    return Err(StreamError::malformed(format!(
                        "duplicate attribute {qname}"
                    )));
                }
                expanded.push((local, binding.uri));
                hoist(&binding);
                if let Some(element) = &mut element {
                    let bindings = &mut element.prefixes.get_or_insert_default().of_attributes;
                    if !bindings.iter().any(|(p, _)| **p == *prefix) {
                        bindings.push((Arc::clone(binding.prefix), Arc::clone(binding.uri)));
                    }
                }
            }
            let value = decode_attribute(&content[attr.value.clone()])?;
            if let Some(element) = &mut element {
                element.attrs.push((qname.to_owned(), value.into_owned()));
            }
        }
        if let Some(element) = &element {
            self.tree_bytes += heap_estimate(element, content.len());
        }
        Ok((element, name_len))
    }
}

/// Roughly what an element parsed from a start tag of `tag_bytes` costs on
/// the heap, children aside: the tag's bytes bound its names and values.
fn heap_estimate(element: &Element, tag_bytes: usize) -> usize {
    let attrs = element.attrs.len() * 2 * ALLOCATION_OVERHEAD;
    let prefixes = element.prefixes.as_ref().map_or(0, |p| {
        std::mem::size_of::<Prefixes>()
            + (p.of_attributes.capacity() + p.declared.capacity())
                * std::mem::size_of::<(Arc<str>, Arc<str>)>()
    });
    std::mem::size_of::<Node>()
        + std::mem::size_of::<Element>()
        + tag_bytes
        + 2 * ALLOCATION_OVERHEAD
        + element.attrs.capacity() * std::mem::size_of::<(String, String)>()
        + attrs
        + prefixes
}

fn unbound(prefix: &str) -> StreamError {
    StreamError::BadNamespacePrefix(format!("prefix {prefix:?} is not declared"))
}
