//! The GS2 header that starts a SCRAM exchange (RFC 5801 §4, RFC 5802 §7)
//! and the channel binding it announces (RFC 9266 `tls-exporter`).
//!
//! The header says whether the client binds the exchange to the TLS
//! channel (`p=TYPE`), could but believes the server cannot (`y`), or
//! cannot (`n`), and may carry an authorization identity (`a=`). Its exact
//! bytes come back, base64, in the client's final message, which is how a
//! man in the middle that edited it is caught.

use super::SaslFailure;

/// The channel binding type of RFC 9266, the one TLS 1.3 supports.
pub const TLS_EXPORTER: &str = "tls-exporter";
/// The TLS exporter label for `tls-exporter` data (RFC 9266 §2); the
/// exporter context is empty.
pub const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";
/// How many bytes of `tls-exporter` data to export (RFC 9266 §2).
pub const TLS_EXPORTER_LEN: usize = 32;

/// Channel binding data of the stream's TLS session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelBinding {
    /// The channel binding type, such as [`TLS_EXPORTER`].
    pub kind: &'static str,
    pub data: Vec<u8>,
}

impl ChannelBinding {
    /// `tls-exporter` data: [`TLS_EXPORTER_LEN`] bytes exported with
    /// [`TLS_EXPORTER_LABEL`] and no context.
    pub fn tls_exporter(data: Vec<u8>) -> ChannelBinding {
        ChannelBinding {
            kind: TLS_EXPORTER,
            data,
        }
    }
}

/// The client's channel binding flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CbFlag {
    /// `n`: the client does not support channel binding.
    Unsupported,
    /// `y`: the client supports it but thinks the server does not.
    ClientOnly,
    /// `p=TYPE`: the client binds to the channel with this type.
    Bound(String),
}

/// A parsed GS2 header.
#[derive(Debug)]
pub(crate) struct Gs2Header {
    pub flag: CbFlag,
    pub authzid: Option<String>,
    /// The header as sent, up to and including its second comma.
    pub raw: String,
}

/// Splits a SCRAM client-first message into its GS2 header and the rest
/// (the client-first-message-bare).
pub(crate) fn split_header(message: &str) -> Result<(Gs2Header, &str), SaslFailure> {
    let (flag, after_flag) = message
        .split_once(',')
        .ok_or(SaslFailure::MalformedRequest)?;
    let (authzid, bare) = after_flag
        .split_once(',')
        .ok_or(SaslFailure::MalformedRequest)?;
    let flag = match flag {
        "n" => CbFlag::Unsupported,
        "y" => CbFlag::ClientOnly,
        _ => {
            let name = flag
                .strip_prefix("p=")
                .filter(|n| is_cb_name(n))
                .ok_or(SaslFailure::MalformedRequest)?;
            CbFlag::Bound(name.to_owned())
        }
    };
    let authzid = match authzid {
        "" => None,
        _ => {
            let name = authzid
                .strip_prefix("a=")
                .ok_or(SaslFailure::MalformedRequest)?;
            Some(decode_saslname(name)?)
        }
    };
    let header_len = message.len() - bare.len();
    Ok((
        Gs2Header {
            flag,
            authzid,
            raw: message[..header_len].to_owned(),
        },
        bare,
    ))
}

/// `cb-name = 1*(ALPHA / DIGIT / "." / "-")`
fn is_cb_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

/// Decodes a `saslname` (RFC 5802 §5.1): `=2C` is a comma, `=3D` an equals
/// sign, and any other `=` (or a NUL, or nothing at all) is malformed.
pub(crate) fn decode_saslname(name: &str) -> Result<String, SaslFailure> {
    if name.is_empty() || name.contains(['\0', ',']) {
        return Err(SaslFailure::MalformedRequest);
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).ok_or(SaslFailure::MalformedRequest)?;
        out.push(match escape {
            "=2C" => ',',
            "=3D" => '=',
            _ => return Err(SaslFailure::MalformedRequest),
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let (h, bare) = split_header("n,,n=user,r=abc").unwrap();
        assert_eq!(
            (h.flag, h.authzid, h.raw.as_str()),
            (CbFlag::Unsupported, None, "n,,")
        );
        assert_eq!(bare, "n=user,r=abc");

        let (h, _) = split_header("y,a=admin=2Cx,n=u,r=x").unwrap();
        assert_eq!(h.flag, CbFlag::ClientOnly);
        assert_eq!(h.authzid.as_deref(), Some("admin,x"));
        assert_eq!(h.raw, "y,a=admin=2Cx,");

        let (h, _) = split_header("p=tls-exporter,,n=u,r=x").unwrap();
        assert_eq!(h.flag, CbFlag::Bound("tls-exporter".into()));
    }

    #[test]
    fn malformed_headers() {
        for bad in [
            "",
            "n",
            "n,",
            "x,,n=u,r=x",
            "p,,n=u,r=x",
            "p=,,n=u,r=x",
            "p=tls exporter,,n=u,r=x",
            "n,b=x,n=u,r=x",
            "n,a=,n=u,r=x",
            "n,a=x=2,n=u,r=x",
            "F,n,,n=u,r=x",
        ] {
            assert_eq!(
                split_header(bad).unwrap_err(),
                SaslFailure::MalformedRequest,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn saslnames() {
        assert_eq!(decode_saslname("a=3Db=2Cc").unwrap(), "a=b,c");
        assert_eq!(decode_saslname("plain").unwrap(), "plain");
        for bad in ["", "=", "=2", "=2c", "=41", "a\0b", "x="] {
            assert!(decode_saslname(bad).is_err(), "{bad:?}");
        }
    }
}
