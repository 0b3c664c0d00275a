//! The admin command grammar and the REPL.
//!
//! `roostctl` is a thin binary over this crate: [`grammar`] defines every
//! command once, [`client`] speaks the admin protocol over the Unix socket,
//! [`output`] turns replies into tables, Prosody-style lines or JSON,
//! [`password`] asks for new passwords, [`exec`] ties them together for
//! one command, and [`repl`] runs `roostctl shell`, with [`complete`] for
//! its tab completion.

pub mod client;
pub mod complete;
pub mod exec;
pub mod grammar;
pub mod output;
pub mod password;
pub mod repl;

#[cfg(any(test, feature = "test-support"))]
pub mod fake_roostd;
