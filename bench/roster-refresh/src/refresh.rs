//! The call under test: `POST /roster_admin/refresh` with a JSON array of
//! usernames, over one fresh HTTP/1.1 connection (`Connection: close`),
//! answer read to the end. Written by hand (a request line, four headers)
//! so that nothing but the call itself is inside the timed span.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::conn::{excerpt, fail, find};

/// Status and body of the answer.
pub async fn post(
    addr: (&str, u16),
    host: &str,
    path: &str,
    body: &[u8],
    limit: Duration,
) -> io::Result<(u16, Vec<u8>)> {
    let call = async {
        let mut s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(&[head.as_bytes(), body].concat()).await?;
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await?;
        Ok::<_, io::Error>(answer)
    };
    let answer = timeout(limit, call).await.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no answer within {limit:?}"),
        )
    })??;
    parse_response(&answer)
}

/// Status and body (de-chunked) of a whole HTTP/1.1 response.
fn parse_response(answer: &[u8]) -> io::Result<(u16, Vec<u8>)> {
    let Some(head_end) = find(answer, b"\r\n\r\n") else {
        return fail(format!("incomplete HTTP answer: {}", excerpt(answer, 300)));
    };
    let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line: {}", excerpt(answer, 100))))?;
    let body = &answer[head_end + 4..];
    if !head.contains("\r\ntransfer-encoding: chunked") {
        return Ok((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end =
            find(rest, b"\r\n").ok_or_else(|| io::Error::other("truncated chunk size"))?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| io::Error::other(format!("bad chunk size {size_text:?}")))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok((status, out));
        }
        if rest.len() < size {
            return fail("truncated chunk");
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_chunked_answers() {
        let (s, b) = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((s, &b[..]), (200, &b"{}"[..]));
        let (s, b) = parse_response(
            b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((s, &b[..]), (403, &b"{\"a\":1}"[..]));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_response(b"garbage\r\n\r\n").is_err());
    }
}
