//! SASL server mechanisms (RFC 4422): pure state machines, no I/O.
