//! The admin command grammar and the REPL.
