//! The stanza tree: elements with resolved namespaces, attributes and mixed content.

use std::sync::Arc;

/// One child of an [`Element`]: an element or character data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Boxed, so that a node costs what a text node does (24 bytes) and not
    /// what an element does (96): a parsed stanza's tree is then at most
    /// about 30 times its bytes (`<a/>` is 4 bytes), which the fuzz target
    /// `stanza_memory` holds it to.
    Element(Box<Element>),
    Text(String),
}

/// An XML element with its namespace resolved.
///
/// - `name` is the local name, `ns` the namespace URI (`""` for none),
///   shared with the parser's namespace bindings and with the other
///   elements in that namespace rather than copied into each.
/// - Attributes keep the order they arrived in. Unprefixed attributes are
///   keyed by their name; `xml:` attributes by their qualified name
///   (`xml:lang`); other prefixed attributes by `prefix:local`, with the
///   prefix's binding remembered so that [`Element::write_to`] can declare it
///   again. Namespace declarations (`xmlns`, `xmlns:p`) are never attributes.
/// - Text is stored decoded; adjacent text is merged into one [`Node::Text`],
///   so a tree parsed from any equivalent serialisation compares equal.
/// - A parsed element also remembers how the input spelled it: the prefix
///   of its name and the prefixes declared on its start tag (on a stanza,
///   also those of the stream header that the stanza uses). The writer
///   declares them where the input did, so that 1,000 children in a long
///   namespace declared once are written with one declaration, not 1,000.
///   This is wire-only data: equality ignores it.
#[derive(Debug, Clone)]
pub struct Element {
    pub(super) name: String,
    pub(super) ns: Arc<str>,
    pub(super) attrs: Vec<(String, String)>,
    pub(super) nodes: Vec<Node>,
    /// Boxed, as most elements use no prefix at all.
    pub(super) prefixes: Option<Box<Prefixes>>,
}

/// A prefix and the namespace it stands for.
pub(super) type PrefixBinding = (Arc<str>, Arc<str>);

pub(super) type Bindings = Vec<PrefixBinding>;

/// The prefixes of a parsed element.
#[derive(Debug, Clone, Default)]
pub(super) struct Prefixes {
    /// The bindings of its prefixed (non-`xml:`) attributes: part of what
    /// their qualified names mean.
    pub(super) of_attributes: Bindings,
    /// Wire only: the prefix of the element's name in the input.
    pub(super) of_name: Option<Arc<str>>,
    /// Wire only: the `xmlns:p` declarations the input made here (on a
    /// stanza, also those of the stream header that it uses).
    pub(super) declared: Bindings,
}

impl Element {
    /// The bindings of the prefixed attributes.
    pub(super) fn attribute_bindings(&self) -> &[PrefixBinding] {
        self.prefixes.as_ref().map_or(&[], |p| &p.of_attributes)
    }
}

impl PartialEq for Element {
    /// Compares what the element means, not how it was spelled: prefixes
    /// chosen for names and where they were declared do not matter.
    fn eq(&self, other: &Element) -> bool {
        self.name == other.name
            && self.ns == other.ns
            && self.attrs == other.attrs
            && self.attribute_bindings() == other.attribute_bindings()
            && self.nodes == other.nodes
    }
}

impl Eq for Element {}

impl Element {
    /// An element without attributes or children. `name` must be a valid XML
    /// name without a prefix; it is written as is.
    pub fn new(name: &str, ns: &str) -> Element {
        Element::in_ns(name, Arc::from(ns))
    }

    /// [`Element::new`] with a namespace name that is already shared.
    pub(super) fn in_ns(name: &str, ns: Arc<str>) -> Element {
        Element {
            name: name.to_owned(),
            ns,
            attrs: Vec::new(),
            nodes: Vec::new(),
            prefixes: None,
        }
    }

    /// The local name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace URI, `""` for an element in no namespace.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Whether this is `name` in namespace `ns`.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && *self.ns == *ns
    }

    /// An attribute's decoded value, by name (`"to"`, `"xml:lang"`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All attributes in order, as `(name, value)`.
    pub fn attrs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.attrs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Sets or replaces an attribute. `name` is unprefixed or `xml:…`;
    /// namespace declarations are not attributes (use [`Element::new`]'s `ns`).
    pub fn set_attr(&mut self, name: &str, value: impl Into<String>) {
        debug_assert!(
            !super::writer::is_xmlns_attr(name),
            "{name} is a namespace declaration, not an attribute"
        );
        let value = value.into();
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.attrs.push((name.to_owned(), value)),
        }
    }

    /// Removes an attribute, returning its value.
    pub fn remove_attr(&mut self, name: &str) -> Option<String> {
        let i = self.attrs.iter().position(|(n, _)| n == name)?;
        Some(self.attrs.remove(i).1)
    }

    /// Builder form of [`Element::set_attr`].
    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Element {
        self.set_attr(name, value);
        self
    }

    /// Builder form of [`Element::push_child`].
    pub fn with_child(mut self, child: Element) -> Element {
        self.push_child(child);
        self
    }

    /// Builder form of [`Element::push_text`].
    pub fn with_text(mut self, text: impl Into<String>) -> Element {
        self.push_text(text);
        self
    }

    /// Appends a child element.
    pub fn push_child(&mut self, child: Element) {
        self.nodes.push(Node::Element(Box::new(child)));
    }

    /// Appends text (unescaped), merged with a text node just before it.
    pub fn push_text(&mut self, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        match self.nodes.last_mut() {
            Some(Node::Text(last)) => last.push_str(&text),
            _ => self.nodes.push(Node::Text(text)),
        }
    }

    /// Appends text given as a slice, without an intermediate `String` when
    /// it can be merged into the previous text node.
    pub(super) fn push_str(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.nodes.last_mut() {
            Some(Node::Text(last)) => last.push_str(text),
            _ => self.nodes.push(Node::Text(text.to_owned())),
        }
    }

    /// The first child element `name` in namespace `ns`.
    pub fn child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.children().find(|e| e.is(name, ns))
    }

    /// The first child element `name` in namespace `ns`, mutably.
    pub fn child_mut(&mut self, name: &str, ns: &str) -> Option<&mut Element> {
        self.nodes.iter_mut().find_map(|n| match n {
            Node::Element(e) if e.is(name, ns) => Some(&mut **e),
            _ => None,
        })
    }

    /// Keeps the child elements for which `keep` is true (text stays).
    pub fn retain_children(&mut self, mut keep: impl FnMut(&Element) -> bool) {
        self.nodes.retain(|n| match n {
            Node::Element(e) => keep(e),
            Node::Text(_) => true,
        });
    }

    /// The child elements, in order (text is skipped).
    pub fn children(&self) -> impl Iterator<Item = &Element> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Element(e) => Some(&**e),
            Node::Text(_) => None,
        })
    }

    /// All children, elements and text, in order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The direct text children, concatenated (text inside child elements is
    /// not included).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            if let Node::Text(t) = node {
                out.push_str(t);
            }
        }
        out
    }
}
