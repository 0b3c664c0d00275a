//! A client connection's byte stream: plain TCP until STARTTLS, then TLS.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ProtocolVersion;
use tokio_rustls::server::TlsStream;

pub enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Transport {
    pub fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// The TLS version as admins read it (`TLSv1.3`); `None` in plain text.
    pub fn tls_version(&self) -> Option<&'static str> {
        let Transport::Tls(tls) = self else {
            return None;
        };
        Some(match tls.get_ref().1.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(ProtocolVersion::TLSv1_2) => "TLSv1.2",
            // rustls speaks no other version; say TLS rather than guess.
            _ => "TLS",
        })
    }

    /// Whether [`tls_exporter`](Self::tls_exporter) has data, without
    /// exporting it.
    pub fn has_tls_exporter(&self) -> bool {
        let Transport::Tls(tls) = self else {
            return false;
        };
        tls.get_ref().1.protocol_version() == Some(ProtocolVersion::TLSv1_3)
    }

    /// RFC 9266 `tls-exporter` channel binding data, for TLS 1.3 only (with
    /// TLS 1.2 it is only safe with extended master secret, which we do not
    /// check, so -PLUS is not offered there).
    pub fn tls_exporter(&self) -> Option<Vec<u8>> {
        let Transport::Tls(tls) = self else {
            return None;
        };
        let connection = tls.get_ref().1;
        if connection.protocol_version() != Some(ProtocolVersion::TLSv1_3) {
            return None;
        }
        connection
            .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
            .ok()
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
