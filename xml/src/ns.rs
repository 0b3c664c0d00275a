//! Namespace URIs used by the c2s listener.

/// Content namespace of client streams (RFC 6120 §4.8.3).
pub const CLIENT: &str = "jabber:client";
/// The stream element and `<stream:features/>`, `<stream:error/>`.
pub const STREAMS: &str = "http://etherx.jabber.org/streams";
/// Stream error conditions (RFC 6120 §4.9.3).
pub const STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// STARTTLS (RFC 6120 §5).
pub const TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// SASL (RFC 6120 §6).
pub const SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// Resource binding (RFC 6120 §7).
pub const BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// Session establishment, kept for old clients (RFC 3921 §3, RFC 6121 Appendix E).
pub const SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
/// Stanza error conditions (RFC 6120 §8.3).
pub const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// Roster management (RFC 6121 §2).
pub const ROSTER: &str = "jabber:iq:roster";
/// Roster versioning stream feature (RFC 6121 §2.6).
pub const ROSTER_VER: &str = "urn:xmpp:features:rosterver";
/// Service discovery, information (XEP-0030).
pub const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
/// Service discovery, items (XEP-0030).
pub const DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";
/// XMPP ping (XEP-0199).
pub const PING: &str = "urn:xmpp:ping";
/// Software version (XEP-0092).
pub const VERSION: &str = "jabber:iq:version";
/// The namespace bound to the `xml:` prefix in every document.
pub const XML: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` declarations themselves; never bindable.
pub const XMLNS: &str = "http://www.w3.org/2000/xmlns/";
/// Extensible SASL Profile, SASL2 (XEP-0388).
pub const SASL2: &str = "urn:xmpp:sasl:2";
/// Bind 2 (XEP-0386).
pub const BIND2: &str = "urn:xmpp:bind:0";
/// Fast Authentication Streamlining Tokens (XEP-0484).
pub const FAST: &str = "urn:xmpp:fast:0";
/// Message Carbons (XEP-0280).
pub const CARBONS: &str = "urn:xmpp:carbons:2";
/// Stanza Forwarding (XEP-0297).
pub const FORWARD: &str = "urn:xmpp:forward:0";
/// Message Processing Hints (XEP-0334).
pub const HINTS: &str = "urn:xmpp:hints";
/// Client State Indication (XEP-0352).
pub const CSI: &str = "urn:xmpp:csi:0";
/// XEP-0198 Stream Management.
pub const SM: &str = "urn:xmpp:sm:3";
