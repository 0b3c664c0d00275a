//! The namespace bindings in scope: a stack of `(prefix, uri)` declarations,
//! searched from the innermost; the default namespace has the prefix `""`.

use super::errors::StreamError;
use super::ns;

pub(super) struct Namespaces {
    bindings: Vec<(String, String)>,
}

impl Namespaces {
    pub(super) fn new() -> Namespaces {
        let mut namespaces = Namespaces {
            bindings: Vec::with_capacity(8),
        };
        namespaces.clear();
        namespaces
    }

    /// Back to the bindings every document starts with: `xml:` only.
    pub(super) fn clear(&mut self) {
        self.bindings.clear();
        self.bindings.push(("xml".to_owned(), ns::XML.to_owned()));
    }

    /// The current depth of the stack, to return to with [`Namespaces::pop_to`].
    pub(super) fn mark(&self) -> usize {
        self.bindings.len()
    }

    /// Drops the declarations made since `mark`.
    pub(super) fn pop_to(&mut self, mark: usize) {
        self.bindings.truncate(mark);
    }

    /// Adds a declaration, refusing what Namespaces in XML 1.0 forbids:
    /// rebinding `xml` or binding its URI elsewhere, anything about
    /// `xmlns`, and undeclaring a prefix (`xmlns:p=''`).
    pub(super) fn declare(&mut self, prefix: &str, uri: &str) -> Result<(), StreamError> {
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
        self.bindings.push((prefix.to_owned(), uri.to_owned()));
        Ok(())
    }

    /// The URI bound to `prefix` (`""`: the default namespace, where `""`
    /// means no namespace), or `None` if it is not declared.
    pub(super) fn resolve(&self, prefix: &str) -> Option<&str> {
        self.bindings
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, uri)| uri.as_str())
    }
}
