//! The XML stream codec: bytes in, stream events out.
