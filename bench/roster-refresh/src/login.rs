//! The login of one bench user: TCP, STARTTLS, TLS 1.3, then one SASL2
//! (XEP-0388) `<authenticate>` with PLAIN and Bind2 (XEP-0386) inline, so a
//! session is up after a single round trip past TLS. Not timed as a figure:
//! the benchmark measures the refresh, the logins only bring users online.

use std::io;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::conn::{excerpt, fail, find, Conn};
use crate::Target;

/// `<authenticate mechanism='PLAIN'>` with a client id and a Bind2 request.
fn plain_with_bind(username: &str, password: &str, index: u64) -> String {
    let initial = B64.encode(format!("\0{username}\0{password}"));
    format!(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>{initial}</initial-response>\
         <user-agent id='roster-bench-{index}'><software>roost-bench roster-refresh</software><device>bench</device></user-agent>\
         <bind xmlns='urn:xmpp:bind:0'><tag>roster</tag></bind></authenticate>"
    )
}

/// Logs `username` in; returns the connection with a bound resource, its
/// stream features read.
pub async fn login(t: &Target, username: &str, index: u64) -> io::Result<Conn> {
    let mut c = Conn::connect(t).await?;
    let features = c.open_stream(None).await?;
    if find(&features, b"<starttls").is_none() {
        return fail(format!("STARTTLS not offered: {}", excerpt(&features, 300)));
    }
    c.starttls().await?;
    let features = c
        .open_stream(Some(&format!("{username}@{}", t.domain)))
        .await?;
    if find(&features, b"urn:xmpp:sasl:2").is_none() || find(&features, b">PLAIN<").is_none() {
        return fail(format!(
            "SASL2 with PLAIN not offered after TLS: {}",
            excerpt(&features, 400)
        ));
    }
    c.write(plain_with_bind(username, &t.password, index).as_bytes())
        .await?;
    let mut success = c.read_until(b"<success").await?;
    success.extend(c.read_until(b"</success>").await?);
    if find(&success, b"<bound").is_none() {
        return fail(format!(
            "{username}: Bind2 did not bind: {}",
            excerpt(&success, 400)
        ));
    }
    // Stream features follow at once, on the same stream.
    c.read_features().await?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message_carries_nul_user_nul_password() {
        let m = plain_with_bind("bench7", "pw", 7);
        let at = m.find("<initial-response>").unwrap() + "<initial-response>".len();
        let end = m.find("</initial-response>").unwrap();
        assert_eq!(B64.decode(&m[at..end]).unwrap(), b"\0bench7\0pw");
        assert!(m.contains("<user-agent id='roster-bench-7'>"));
        assert!(m.contains("<bind xmlns='urn:xmpp:bind:0'><tag>roster</tag></bind>"));
    }
}
