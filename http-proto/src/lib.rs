//! What Roost's HTTP side reads from strangers, parsed without a runtime,
//! socket or database: the bodies, queries and headers of requests to the
//! HTTP front door, and the answers of a roster backend (issue 10).
//!
//! Bytes and strings in, typed values or a refusal out, so each parser is
//! unit-tested here and fuzzed (`fuzz/`, targets `http_requests` and
//! `roster_backend`) as an ordinary crate. The server's handlers only move
//! what axum gives them into these functions and format the results.

pub mod form;
pub mod headers;
pub mod invites_api;
pub mod roster_backend;
pub mod roster_refresh;
