//! An XMPP client stream whose every step returns an error instead of
//! panicking: under `kill -9` a connection that breaks is the expected
//! outcome, and the load workers must tell it from a wrong answer.

use std::pin::Pin;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_xmpp::minidom::Element;

use crate::HOST;

/// How long one read may wait. Far longer than any answer takes from a
/// live roostd; a killed one breaks the connection at once.
const STEP: Duration = Duration::from_secs(10);

/// What ended a step: the connection broke or timed out.
pub type Broken = String;

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub struct XmppStream {
    io: Pin<Box<dyn Io>>,
    /// Received and not yet consumed.
    pending: String,
}

impl XmppStream {
    /// TCP, a stream header, STARTTLS and a new stream over TLS; returns
    /// the stream at its (pre-authentication) features.
    pub async fn connect_tls(addr: &str) -> Result<XmppStream, Broken> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let mut stream = XmppStream {
            io: Box::pin(tcp),
            pending: String::new(),
        };
        stream.open().await?;
        stream
            .send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await?;
        stream.read_until("<proceed").await?;
        stream.read_until(">").await?;
        let name = rustls_pki_types::ServerName::try_from(HOST).expect("host name");
        let tls = crate::raw::tls_connector()
            .connect(name, stream.io)
            .await
            .map_err(|e| format!("TLS handshake: {e}"))?;
        let mut stream = XmppStream {
            io: Box::pin(tls),
            pending: String::new(),
        };
        stream.open().await?;
        Ok(stream)
    }

    /// Connects, logs in as `jid` (a bare JID on [`HOST`]) with PLAIN and
    /// binds `resource`; a refused login is an error too.
    pub async fn login(
        addr: &str,
        jid: &str,
        password: &str,
        resource: &str,
    ) -> Result<XmppStream, Broken> {
        let mut stream = XmppStream::connect_tls(addr).await?;
        let user = jid.split('@').next().unwrap_or(jid);
        let creds =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        stream
            .send(&format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
            ))
            .await?;
        let answer = stream.read_until_any(&["<success", "</failure>"]).await?;
        if !answer.contains("<success") {
            return Err(format!("login refused: {answer}"));
        }
        stream.read_until(">").await?;
        stream.open().await?;
        let bind = stream
            .iq(
                "set",
                "bind1",
                &format!(
                    "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>{resource}</resource></bind>"
                ),
            )
            .await?;
        if bind.answer.attr("type") != Some("result") {
            return Err(format!("bind refused: {}", String::from(&bind.answer)));
        }
        Ok(stream)
    }

    /// Sends a stream header and reads up to the end of the features.
    async fn open(&mut self) -> Result<(), Broken> {
        self.send(&format!(
            "<?xml version='1.0'?><stream:stream to='{HOST}' version='1.0' xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams'>"
        ))
        .await?;
        self.read_until("</stream:features>").await.map(drop)
    }

    pub async fn send(&mut self, text: &str) -> Result<(), Broken> {
        let write = async {
            self.io.write_all(text.as_bytes()).await?;
            self.io.flush().await
        };
        match tokio::time::timeout(STEP, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write: {e}")),
            Err(_) => Err("write timed out".into()),
        }
    }

    async fn read_until(&mut self, needle: &str) -> Result<String, Broken> {
        self.read_until_any(&[needle]).await
    }

    /// Reads until one of `needles` has arrived; returns the text up to
    /// and including the first one.
    async fn read_until_any(&mut self, needles: &[&str]) -> Result<String, Broken> {
        let deadline = tokio::time::Instant::now() + STEP;
        let mut buf = [0u8; 8192];
        loop {
            if let Some(end) = needles
                .iter()
                .filter_map(|n| self.pending.find(n).map(|i| i + n.len()))
                .min()
            {
                return Ok(self.pending.drain(..end).collect());
            }
            match tokio::time::timeout_at(deadline, self.io.read(&mut buf)).await {
                Err(_) => return Err(format!("timed out waiting for {needles:?}")),
                Ok(Ok(0)) => return Err("connection closed".into()),
                Ok(Err(e)) => return Err(format!("read: {e}")),
                Ok(Ok(n)) => self.pending.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    }

    /// The next whole stanza; the end of the stream is an error.
    pub async fn next_stanza(&mut self) -> Result<Element, Broken> {
        let head = self.read_until(">").await?;
        let start = head
            .find('<')
            .ok_or_else(|| format!("no tag in {head:?}"))?;
        let mut text = head[start..].to_owned();
        if text.starts_with("</") {
            return Err("the server ended the stream".into());
        }
        if !text.ends_with("/>") {
            let name: String = text[1..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            text.push_str(&self.read_until(&format!("</{name}>")).await?);
        }
        parse(&text)
    }

    /// Sends `<iq type=KIND id=ID>PAYLOAD</iq>` and reads up to its answer.
    pub async fn iq(&mut self, kind: &str, id: &str, payload: &str) -> Result<Answer, Broken> {
        self.send(&format!("<iq type='{kind}' id='{id}'>{payload}</iq>"))
            .await?;
        self.answer_to(id).await
    }

    /// Reads stanzas up to the answer to iq `id`.
    pub async fn answer_to(&mut self, id: &str) -> Result<Answer, Broken> {
        let mut before = Vec::new();
        loop {
            let stanza = self.next_stanza().await?;
            if stanza.name() == "iq"
                && stanza.attr("id") == Some(id)
                && matches!(stanza.attr("type"), Some("result" | "error"))
            {
                return Ok(Answer {
                    answer: stanza,
                    before,
                });
            }
            before.push(stanza);
        }
    }

    /// Ends the stream and reads until the server has closed the
    /// connection; returns the stanzas that came meanwhile. roostd closes
    /// only after it has deleted the offline messages it delivered, so
    /// none of them can come again.
    pub async fn close(mut self) -> Result<Vec<Element>, Broken> {
        self.send("</stream:stream>").await?;
        let mut rest = Vec::new();
        match tokio::time::timeout(STEP, self.io.read_to_end(&mut rest)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("read: {e}")),
            Err(_) => return Err("the server kept the connection open".into()),
        }
        self.pending.push_str(&String::from_utf8_lossy(&rest));
        let text = std::mem::take(&mut self.pending);
        let text = text.trim_end();
        let text = text.strip_suffix("</stream:stream>").unwrap_or(text);
        let wrapped = parse(&format!("<all>{text}</all>"))?;
        Ok(wrapped.children().cloned().collect())
    }
}

/// An iq's answer and the stanzas that arrived before it.
pub struct Answer {
    pub answer: Element,
    pub before: Vec<Element>,
}

impl Answer {
    pub fn is_result(&self) -> bool {
        self.answer.attr("type") == Some("result")
    }

    /// The stanza error condition of an error answer.
    pub fn condition(&self) -> Option<String> {
        error_condition(&self.answer)
    }
}

/// The defined condition of a stanza's `<error/>`, if it carries one.
pub fn error_condition(stanza: &Element) -> Option<String> {
    stanza
        .get_child("error", "jabber:client")?
        .children()
        .find(|c| c.ns() == "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name() != "text")
        .map(|c| c.name().to_owned())
}

/// One stanza's text as an element in `jabber:client`, as on the stream.
fn parse(text: &str) -> Result<Element, Broken> {
    let wrapped = format!(
        "<wrapper xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>{text}</wrapper>"
    );
    let wrapper: Element = wrapped
        .parse()
        .map_err(|e| format!("unparsable XML from the server ({e}): {text}"))?;
    wrapper
        .children()
        .next()
        .cloned()
        .ok_or_else(|| format!("no stanza in {text:?}"))
}
