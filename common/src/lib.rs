//! Types shared by `roostd` and its admin front ends.
//!
//! Nothing here does I/O: the admin protocol is plain data ([`admin`]) plus a
//! byte-in, frames-out codec ([`frame`]), so both ends and the tests can use
//! it without a socket.

pub mod admin;
pub mod config;
pub mod frame;
pub mod jid;
pub mod time;

/// Where `roostd` puts its admin socket when the config says nothing.
pub const DEFAULT_SOCKET_NAME: &str = "roostd.sock";
/// The data directory used when the config says nothing.
pub const DEFAULT_DATA_DIR: &str = "./data";
