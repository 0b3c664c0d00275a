//! Admin frames on a byte stream: one JSON document per line.
//!
//! [`FrameDecoder`] takes bytes as they arrive and yields complete lines, so
//! it works the same over a socket, in a test or under a fuzzer. A line longer
//! than the limit is reported once as [`FrameError::TooLong`] and skipped up
//! to its newline, so one bad request cannot wedge the connection.

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame longer than {limit} bytes")]
    TooLong { limit: usize },
}

#[derive(Debug)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    limit: usize,
    /// Inside an over-long line whose error was already reported.
    discarding: bool,
}

impl FrameDecoder {
    pub fn new(limit: usize) -> Self {
        FrameDecoder {
            buf: Vec::new(),
            limit,
            discarding: false,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Returns the next complete frame (without its newline), or `None` when
    /// more bytes are needed. Blank lines are skipped.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            match self.buf.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                    line.pop();
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if std::mem::take(&mut self.discarding) {
                        continue;
                    }
                    if line.len() > self.limit {
                        return Some(Err(FrameError::TooLong { limit: self.limit }));
                    }
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Ok(line));
                }
                None if self.buf.len() > self.limit => {
                    self.buf.clear();
                    if self.discarding {
                        return None;
                    }
                    self.discarding = true;
                    return Some(Err(FrameError::TooLong { limit: self.limit }));
                }
                None => return None,
            }
        }
    }
}

/// Serialises one frame, newline included.
pub fn encode<T: Serialize>(frame: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(frame).expect("admin frames always serialise");
    out.push(b'\n');
    out
}

/// Parses one frame's bytes.
pub fn decode<T: DeserializeOwned>(line: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_pushes() {
        let mut d = FrameDecoder::new(100);
        d.push(b"{\"a\":1}\n{\"b\"");
        assert_eq!(d.next_frame(), Some(Ok(b"{\"a\":1}".to_vec())));
        assert_eq!(d.next_frame(), None);
        d.push(b":2}\r\n\n");
        assert_eq!(d.next_frame(), Some(Ok(b"{\"b\":2}".to_vec())));
        assert_eq!(d.next_frame(), None);
    }

    #[test]
    fn over_long_line_is_reported_once_then_skipped() {
        let mut d = FrameDecoder::new(8);
        d.push(b"0123456789");
        assert_eq!(d.next_frame(), Some(Err(FrameError::TooLong { limit: 8 })));
        d.push(b"0123456789abc");
        assert_eq!(d.next_frame(), None);
        d.push(b"xyz\nok\n");
        assert_eq!(d.next_frame(), Some(Ok(b"ok".to_vec())));
    }

    #[test]
    fn over_long_complete_line_is_an_error_and_the_next_line_survives() {
        let mut d = FrameDecoder::new(4);
        d.push(b"123456\nabc\n");
        assert_eq!(d.next_frame(), Some(Err(FrameError::TooLong { limit: 4 })));
        assert_eq!(d.next_frame(), Some(Ok(b"abc".to_vec())));
    }
}
