//! The two logins this tool makes: a password login over SASL2 that asks
//! for a FAST token (setup), and the FAST login that is timed.

use std::io;

use crate::conn::{excerpt, fail, find, Conn};
use crate::sasl2::{self, Success, FAST_MECHANISM};
use crate::Target;

/// Connect, stream, STARTTLS, TLS handshake, and the stream after it with
/// `from` (FAST is offered only when the stream header names the user; it
/// is left out of the plaintext header, as clients do, so the username
/// does not travel in clear). Returns the features after TLS.
async fn secure_stream(t: &Target, jid: &str) -> io::Result<(Conn, Vec<u8>)> {
    let mut c = Conn::connect(t).await?;
    let features = c.open_stream(None).await?;
    if find(&features, b"<starttls").is_none() {
        return fail(format!("STARTTLS not offered: {}", excerpt(&features, 300)));
    }
    c.starttls().await?;
    let features = c.open_stream(Some(jid)).await?;
    Ok((c, features))
}

async fn read_success(c: &mut Conn) -> io::Result<Success> {
    let mut el = c.read_until(b"<success").await?;
    el.extend(c.read_until(b"</success>").await?);
    sasl2::parse_success(&el).map_err(io::Error::other)
}

/// The account's name and the client id this tool uses for it.
pub fn account(t: &Target, index: u64) -> (String, String) {
    (
        format!("{}{index}", t.prefix),
        format!("{}{index}", t.client_prefix),
    )
}

/// Setup: SASL2 PLAIN with `<request-token>`; the token from `<success>`.
pub async fn request_token(t: &Target, index: u64) -> io::Result<String> {
    let (user, client_id) = account(t, index);
    let (mut c, features) = secure_stream(t, &format!("{user}@{}", t.domain)).await?;
    if find(&features, b"urn:xmpp:sasl:2").is_none() || find(&features, b">PLAIN<").is_none() {
        return fail(format!(
            "SASL2 with PLAIN not offered after TLS: {}",
            excerpt(&features, 400)
        ));
    }
    c.write(sasl2::plain_with_token_request(&user, &t.password, &client_id).as_bytes())
        .await?;
    let success = read_success(&mut c).await?;
    c.close().await;
    success
        .token
        .ok_or_else(|| io::Error::other(format!("{user}: no FAST <token> in <success>")))
}

/// A timed login: FAST with Bind2 inline, the features that follow
/// `<success>` without a restart, initial presence, and a ping whose reply
/// proves both were processed. Returns the open connection and the token
/// the server rotated to, if it did.
pub async fn fast_login(t: &Target, index: u64, token: &str) -> io::Result<(Conn, Option<String>)> {
    let (user, client_id) = account(t, index);
    let (mut c, features) = secure_stream(t, &format!("{user}@{}", t.domain)).await?;
    if find(&features, b"urn:xmpp:fast:0").is_none()
        || find(&features, format!(">{FAST_MECHANISM}<").as_bytes()).is_none()
    {
        return fail(format!(
            "FAST {FAST_MECHANISM} not offered after TLS: {}",
            excerpt(&features, 400)
        ));
    }
    c.write(sasl2::fast_with_bind(&user, token, &client_id, &t.tag).as_bytes())
        .await?;
    let success = read_success(&mut c).await?;
    match &success.additional_data {
        Some(data) if data[..] == sasl2::ht_hash(token, b"Responder") => {}
        Some(_) => return fail(format!("{user}: wrong responder hash in <additional-data>")),
        None => {
            return fail(format!(
                "{user}: no <additional-data> (responder hash) in <success>"
            ))
        }
    }
    if !success.bound
        || !success
            .authorization_identifier
            .as_deref()
            .is_some_and(|a| a.contains('/'))
    {
        return fail(format!(
            "{user}: Bind2 did not bind (bound: {}, authorization-identifier: {:?})",
            success.bound, success.authorization_identifier
        ));
    }
    // Stream features follow at once, on the same stream.
    c.read_features().await?;
    c.write(
        format!(
            "<presence/><iq type='get' id='pg1' to='{}'><ping xmlns='urn:xmpp:ping'/></iq>",
            t.domain
        )
        .as_bytes(),
    )
    .await?;
    c.read_until(b"pg1").await?;
    c.read_until(b">").await?;
    let tail = c.consumed_tail(400);
    let iq = tail
        .windows(3)
        .rposition(|w| w == b"<iq")
        .map(|i| &tail[i..])
        .unwrap_or(tail);
    if find(iq, b"type='result'").is_none() && find(iq, b"type=\"result\"").is_none() {
        return fail(format!(
            "{user}: ping not answered with a result: {}",
            excerpt(iq, 300)
        ));
    }
    Ok((c, success.token))
}
