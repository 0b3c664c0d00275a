//! The XMPP front door: client-to-server streams (RFC 6120/6121).
//!
//! Layers, each testable alone: the `roost-xml` crate turns bytes into stream events and
//! stanzas (no sockets inside); the c2s listener drives the stream
//! negotiation over TCP and TLS; a registry of handlers processes stanzas by
//! calling services.

pub mod c2s;
pub mod handlers;
pub mod router;
pub mod stanza;
