//! Serialisation: elements as they appear inside a stream, and the server's
//! own stream header, stream errors and stream end.

use super::element::{Element, Node, PrefixBinding};
use super::ns;

/// Closes the server's side of a stream.
pub const STREAM_END: &[u8] = b"</stream:stream>";

impl Element {
    /// Serialises as it would appear inside a stream whose default
    /// namespace is `parent_ns` (for a stanza: `jabber:client`, so
    /// `<message xmlns='jabber:client'>` is written `<message>`). `xmlns` is
    /// declared only where an element's namespace differs from the default
    /// in scope; text and attribute values are escaped.
    ///
    /// A parsed element keeps the prefixes its input used, declared where
    /// the input declared them (those of the stream header on the stanza):
    /// a declaration already in scope in the output is not repeated, so
    /// the output stays about as long as the input.
    ///
    /// An element of the streams namespace is written with the `stream:`
    /// prefix that our stream header declares (`<stream:features>`,
    /// `<stream:error>`), as clients that match on that name expect.
    pub fn write_to(&self, out: &mut Vec<u8>, parent_ns: &str) {
        // An element taken out of its stanza (an error reply copies the
        // request's children) has lost the ancestor that declared its
        // prefixes: they are declared once, here, rather than on every
        // element that uses them.
        let unbound = if self.any_prefixes() {
            self.unbound_below()
        } else {
            Vec::new()
        };
        self.write(out, parent_ns, &mut Vec::new(), Some(&unbound));
    }

    /// `scope` holds the prefixes declared by the ancestors being written.
    /// `top` is `Some` for the element `write_to` was called on, with the
    /// bindings to declare on it for the elements below.
    fn write<'a>(
        &'a self,
        out: &mut Vec<u8>,
        default_ns: &'a str,
        scope: &mut Vec<(&'a str, &'a str)>,
        top: Option<&[(&'a str, &'a str)]>,
    ) {
        let mark = scope.len();
        // Only at the top is `stream:` sure to mean the streams namespace:
        // deeper, or with its own declarations rebinding `stream`, the
        // element declares its namespace like any other.
        let stream_prefixed = top.is_some() && *self.ns == *ns::STREAMS && !self.binds("stream");
        let prefix = if stream_prefixed {
            Some("stream")
        } else {
            self.name_prefix()
        };
        out.push(b'<');
        write_qname(out, prefix, &self.name);
        let mut own_default = default_ns;
        if prefix.is_none() && *self.ns != *default_ns {
            write_attr(out, "xmlns", &self.ns);
            own_default = &*self.ns;
        }
        // Most elements have no prefixes at all.
        let hoisted = top.unwrap_or_default();
        if self.prefixes.is_some() || !hoisted.is_empty() {
            let name_binding = prefix.filter(|_| !stream_prefixed);
            self.declare_prefixes(out, scope, name_binding, hoisted, stream_prefixed);
        }
        for (name, value) in &self.attrs {
            // The namespace comes from `ns` alone; a stray declaration set as
            // an attribute would contradict it.
            if !is_xmlns_attr(name) {
                write_attr(out, name, value);
            }
        }
        if self.nodes.is_empty() {
            out.extend_from_slice(b"/>");
        } else {
            out.push(b'>');
            for node in &self.nodes {
                match node {
                    Node::Element(child) => child.write(out, own_default, scope, None),
                    Node::Text(text) => escape_into(out, text, false),
                }
            }
            out.extend_from_slice(b"</");
            write_qname(out, prefix, &self.name);
            out.push(b'>');
        }
        scope.truncate(mark);
    }

    /// Whether this element or any below it has prefixes: most trees have
    /// none, and are written without looking for unbound ones.
    fn any_prefixes(&self) -> bool {
        self.prefixes.is_some()
            || self.nodes.iter().any(|node| match node {
                Node::Element(child) => child.any_prefixes(),
                Node::Text(_) => false,
            })
    }

    /// Writes the declarations that this element and, if it is the top,
    /// the elements below need and `scope` lacks, and adds them to it.
    #[cold]
    fn declare_prefixes<'a>(
        &'a self,
        out: &mut Vec<u8>,
        scope: &mut Vec<(&'a str, &'a str)>,
        name_prefix: Option<&'a str>,
        hoisted: &[(&'a str, &'a str)],
        stream_prefixed: bool,
    ) {
        let (declared, of_attributes) = self.prefix_lists();
        let bindings = declared
            .iter()
            .map(|(p, uri)| (&**p, &**uri))
            .chain(name_prefix.map(|prefix| (prefix, &*self.ns)))
            .chain(of_attributes.iter().map(|(p, uri)| (&**p, &**uri)))
            .chain(
                hoisted
                    .iter()
                    .copied()
                    .filter(|&(p, _)| !(stream_prefixed && p == "stream")),
            );
        for (prefix, uri) in bindings {
            if lookup(scope, prefix) != Some(uri) {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(b"='");
                escape_into(out, uri, true);
                out.push(b'\'');
                scope.push((prefix, uri));
            }
        }
    }

    /// The prefix of the name, as the input spelled it.
    fn name_prefix(&self) -> Option<&str> {
        self.prefixes.as_ref().and_then(|p| p.of_name.as_deref())
    }

    /// The bindings this element needs in scope: its declarations, its
    /// name's prefix and its attributes' prefixes.
    fn own_bindings(&self) -> impl Iterator<Item = (&str, &str)> {
        let (declared, of_attributes) = self.prefix_lists();
        declared
            .iter()
            .map(|(p, uri)| (&**p, &**uri))
            .chain(self.name_prefix().map(|p| (p, &*self.ns)))
            .chain(of_attributes.iter().map(|(p, uri)| (&**p, &**uri)))
    }

    /// The declarations made here and the bindings of the attributes.
    fn prefix_lists(&self) -> (&[PrefixBinding], &[PrefixBinding]) {
        match &self.prefixes {
            Some(p) => (&p.declared, &p.of_attributes),
            None => (&[], &[]),
        }
    }

    /// Whether the element's own declarations or attributes bind `prefix`.
    fn binds(&self, prefix: &str) -> bool {
        self.prefixes.as_ref().is_some_and(|p| {
            p.declared
                .iter()
                .chain(&p.of_attributes)
                .any(|(p, _)| **p == *prefix)
        })
    }

    /// The bindings that elements below this one need but that neither it
    /// nor the elements between declare, one per prefix. A prefix that this
    /// element binds, or that is needed with two namespaces, is left out
    /// (each element then declares it where needed).
    #[cold]
    fn unbound_below(&self) -> Vec<(&str, &str)> {
        let mut scope: Vec<(&str, &str)> = self.own_bindings().collect();
        let own = scope.len();
        let mut unbound = Vec::new();
        let mut clashing = Vec::new();
        for child in self.children() {
            child.collect_unbound(&mut scope, &mut unbound, &mut clashing);
        }
        unbound
            .retain(|&(p, _)| !clashing.contains(&p) && !scope[..own].iter().any(|&(q, _)| q == p));
        unbound
    }

    fn collect_unbound<'a>(
        &'a self,
        scope: &mut Vec<(&'a str, &'a str)>,
        unbound: &mut Vec<(&'a str, &'a str)>,
        clashing: &mut Vec<&'a str>,
    ) {
        let mark = scope.len();
        if let Some(prefixes) = &self.prefixes {
            scope.extend(prefixes.declared.iter().map(|(p, uri)| (&**p, &**uri)));
            for (prefix, uri) in self.own_bindings().skip(prefixes.declared.len()) {
                if lookup(scope, prefix) == Some(uri) {
                    continue;
                }
                match unbound.iter().find(|&&(p, _)| p == prefix) {
                    Some(&(_, other)) if other != uri => clashing.push(prefix),
                    Some(_) => {}
                    None => unbound.push((prefix, uri)),
                }
            }
        }
        for child in self.children() {
            child.collect_unbound(scope, unbound, clashing);
        }
        scope.truncate(mark);
    }

    /// [`Element::write_to`] into a new buffer.
    pub fn to_bytes(&self, parent_ns: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_to(&mut out, parent_ns);
        out
    }
}

/// The server's stream header (RFC 6120 §4.7), with the XML declaration.
/// `to` is the client's JID when it gave one in its `from`.
pub fn stream_header(from: &str, id: &str, lang: &str, to: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"<?xml version='1.0'?><stream:stream");
    write_attr(&mut out, "xmlns", ns::CLIENT);
    write_attr(&mut out, "xmlns:stream", ns::STREAMS);
    write_attr(&mut out, "from", from);
    write_attr(&mut out, "id", id);
    if let Some(to) = to {
        write_attr(&mut out, "to", to);
    }
    write_attr(&mut out, "version", "1.0");
    write_attr(&mut out, "xml:lang", lang);
    out.push(b'>');
    out
}

/// A stream error (RFC 6120 §4.9) followed by the end of the stream.
/// `condition` is a defined condition such as [`super::StreamError::condition`].
pub fn stream_error(condition: &str, text: Option<&str>) -> Vec<u8> {
    let mut error =
        Element::new("error", ns::STREAMS).with_child(Element::new(condition, ns::STREAM_ERRORS));
    if let Some(text) = text {
        error.push_child(
            Element::new("text", ns::STREAM_ERRORS)
                .with_attr("xml:lang", "en")
                .with_text(text),
        );
    }
    let mut out = error.to_bytes(ns::CLIENT);
    out.extend_from_slice(STREAM_END);
    out
}

/// Whether an attribute name is a namespace declaration.
pub(super) fn is_xmlns_attr(name: &str) -> bool {
    name == "xmlns" || name.starts_with("xmlns:")
}

/// The namespace bound to `prefix` where the output stands; `xml:` is
/// always bound.
fn lookup<'a>(scope: &[(&str, &'a str)], prefix: &str) -> Option<&'a str> {
    if prefix == "xml" {
        return Some(ns::XML);
    }
    scope
        .iter()
        .rev()
        .find(|(p, _)| *p == prefix)
        .map(|&(_, uri)| uri)
}

fn write_qname(out: &mut Vec<u8>, prefix: Option<&str>, name: &str) {
    if let Some(prefix) = prefix {
        out.extend_from_slice(prefix.as_bytes());
        out.push(b':');
    }
    out.extend_from_slice(name.as_bytes());
}

fn write_attr(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"='");
    escape_into(out, value, true);
    out.push(b'\'');
}

/// Appends `text` escaped. All five predefined entities are used (RFC 6120
/// §11.1 asks for it) and `\r` is written as a reference, otherwise the
/// reader's line-end normalisation would turn it into `\n`. In attribute
/// values `\t` and `\n` are references too, since attribute-value
/// normalisation would turn them into spaces.
fn escape_into(out: &mut Vec<u8>, text: &str, attribute: bool) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement: &[u8] = match b {
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'&' => b"&amp;",
            b'\'' => b"&apos;",
            b'"' => b"&quot;",
            b'\r' => b"&#13;",
            b'\n' if attribute => b"&#10;",
            b'\t' if attribute => b"&#9;",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(replacement);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}
