//! Why a stream was rejected, and the RFC 6120 §4.9.3 condition to send back.

use thiserror::Error;

/// A fatal problem with the client's XML stream. Every variant maps to one
/// stream error condition ([`StreamError::condition`]); the detail is for logs.
///
/// Errors are sticky: once [`super::StreamParser::next_event`] has returned
/// one, it returns the same error until [`super::StreamParser::reset`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamError {
    /// Violates XML 1.0 or Namespaces in XML: bad UTF-8, a forbidden
    /// character, mismatched tags, duplicate attributes, text outside stanzas…
    #[error("not well-formed XML: {0}")]
    NotWellFormed(String),
    /// Allowed by XML but not by RFC 6120 §11.1: comments, processing
    /// instructions, DTDs, entity references other than the predefined five.
    #[error("restricted XML: {0}")]
    RestrictedXml(&'static str),
    /// The XML declaration names an encoding other than UTF-8, or the bytes
    /// are plainly UTF-16.
    #[error("unsupported encoding: {0}")]
    UnsupportedEncoding(String),
    /// The stream element is not in the streams namespace, or the content
    /// namespace (the default namespace of the header) is not `jabber:client`.
    #[error("invalid namespace: {0}")]
    InvalidNamespace(String),
    /// A prefix that is used but not declared, or an illegal declaration.
    #[error("bad namespace prefix: {0}")]
    BadNamespacePrefix(String),
    /// Well-formed XML that cannot be a stream, e.g. a root other than `stream`.
    #[error("bad format: {0}")]
    BadFormat(String),
    /// The stream header (with any XML declaration before it) exceeds the limit.
    #[error("stream header larger than {limit} bytes")]
    HeaderTooLarge { limit: usize },
    /// A stanza exceeds [`super::Limits::max_stanza_bytes`].
    #[error("stanza larger than {limit} bytes")]
    StanzaTooLarge { limit: usize },
    /// Elements nested deeper than [`super::Limits::max_depth`].
    #[error("elements nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    /// An element with more than [`super::Limits::max_attributes`] attributes
    /// (namespace declarations included).
    #[error("element with more than {limit} attributes")]
    TooManyAttributes { limit: usize },
    /// More than [`super::Limits::max_namespaces`] namespace declarations
    /// in scope at once, or more than 32 KiB of their names.
    #[error("more than {limit} namespace declarations or 32 KiB of namespace names in scope")]
    TooManyNamespaces { limit: usize },
}

impl StreamError {
    /// The defined condition of RFC 6120 §4.9.3, as the element name to send.
    pub fn condition(&self) -> &'static str {
        match self {
            StreamError::NotWellFormed(_) => "not-well-formed",
            StreamError::RestrictedXml(_) => "restricted-xml",
            StreamError::UnsupportedEncoding(_) => "unsupported-encoding",
            StreamError::InvalidNamespace(_) => "invalid-namespace",
            StreamError::BadNamespacePrefix(_) => "bad-namespace-prefix",
            StreamError::BadFormat(_) => "bad-format",
            StreamError::HeaderTooLarge { .. }
            | StreamError::StanzaTooLarge { .. }
            | StreamError::TooDeep { .. }
            | StreamError::TooManyAttributes { .. }
            | StreamError::TooManyNamespaces { .. } => "policy-violation",
        }
    }

    /// Shorthand for the most common variant.
    pub(crate) fn malformed(detail: impl Into<String>) -> StreamError {
        StreamError::NotWellFormed(detail.into())
    }
}
