//! The namespace bindings in scope: a stack of `(prefix, uri)` declarations,
//! searched from the innermost; the default namespace has the prefix `""`.
//!
//! Names are held once, as `Arc<str>`, and shared with every element and
//! attribute binding that uses them: a long namespace name costs its length
//! once, not once per element. The stack is bounded in count
//! ([`super::Limits::max_namespaces`]) and in bytes ([`MAX_NAME_BYTES`]),
//! so that resolving a name costs little and an unfinished stanza's open
//! declarations hold little.

use std::sync::Arc;

use super::errors::StreamError;
use super::ns;

/// Most bytes of prefixes and namespace names in scope at once. Real
/// streams use a few hundred.
pub(super) const MAX_NAME_BYTES: usize = 32 * 1024;

/// A binding found by [`Namespaces::resolve`].
pub(super) struct Binding<'a> {
    pub(super) prefix: &'a Arc<str>,
    pub(super) uri: &'a Arc<str>,
    /// Its position in the stack, comparable with [`Namespaces::mark`].
    pub(super) depth: usize,
}

pub(super) struct Namespaces {
    /// `xml:` first; never popped.
    bindings: Vec<(Arc<str>, Arc<str>)>,
    /// Bytes of the prefixes and names declared after `xml:`.
    name_bytes: usize,
    /// The empty prefix, shared by every default namespace declaration.
    no_prefix: Arc<str>,
}

impl Namespaces {
    pub(super) fn new() -> Namespaces {
        let mut bindings = Vec::with_capacity(8);
        bindings.push((Arc::from("xml"), Arc::from(ns::XML)));
        Namespaces {
            bindings,
            name_bytes: 0,
            no_prefix: Arc::from(""),
        }
    }

    /// Back to the bindings every document starts with: `xml:` only.
    pub(super) fn clear(&mut self) {
        self.pop_to(1);
    }

    /// The current depth of the stack, to return to with [`Namespaces::pop_to`].
    pub(super) fn mark(&self) -> usize {
        self.bindings.len()
    }

    /// The declarations made since `mark`, in order.
    pub(super) fn since(&self, mark: usize) -> &[(Arc<str>, Arc<str>)] {
        &self.bindings[mark.max(1)..]
    }

    /// Drops the declarations made since `mark`.
    pub(super) fn pop_to(&mut self, mark: usize) {
        let mark = mark.max(1);
        if mark >= self.bindings.len() {
            return;
        }
        for (prefix, uri) in self.bindings.drain(mark..) {
            self.name_bytes -= prefix.len() + uri.len();
        }
    }

    /// Adds a declaration, refusing what Namespaces in XML 1.0 forbids:
    /// rebinding `xml` or binding its URI elsewhere, anything about
    /// `xmlns`, and undeclaring a prefix (`xmlns:p=''`); and refusing more
    /// than `max` declarations in scope or [`MAX_NAME_BYTES`] of names.
    pub(super) fn declare(
        &mut self,
        prefix: &str,
        uri: &str,
        max: usize,
    ) -> Result<(), StreamError> {
        let refused = if prefix == "xml" {
            uri != ns::XML
        } else {
            prefix == "xmlns"
                || uri == ns::XML
                || uri == ns::XMLNS
                || (uri.is_empty() && !prefix.is_empty())
        };
        if refused {
            return Err(StreamError::BadNamespacePrefix(format!(
                "cannot bind {prefix:?} to {uri:?}"
            )));
        }
        let name_bytes = self.name_bytes + prefix.len() + uri.len();
        if self.bindings.len() > max || name_bytes > MAX_NAME_BYTES {
            return Err(StreamError::TooManyNamespaces { limit: max });
        }
        // A default namespace equal to the one in scope (`<x xmlns='a'>`
        // inside `a`) shares its name rather than copying it.
        let uri = match self.resolve(prefix) {
            Some(binding) if **binding.uri == *uri => Arc::clone(binding.uri),
            _ => Arc::from(uri),
        };
        let prefix = if prefix.is_empty() {
            Arc::clone(&self.no_prefix)
        } else {
            Arc::from(prefix)
        };
        self.bindings.push((prefix, uri));
        self.name_bytes = name_bytes;
        Ok(())
    }

    /// The binding of `prefix` (`""`: the default namespace, where `""`
    /// means no namespace), or `None` if it is not declared.
    pub(super) fn resolve(&self, prefix: &str) -> Option<Binding<'_>> {
        self.bindings
            .iter()
            .enumerate()
            .rev()
            .find(|(_, (p, _))| **p == *prefix)
            .map(|(depth, (prefix, uri))| Binding { prefix, uri, depth })
    }
}
