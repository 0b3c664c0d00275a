//! roostd: the Roost XMPP server.

pub mod cli;
