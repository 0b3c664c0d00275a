//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL password`, in one message.
//!
//! Parsing only; the password is checked against the stored SCRAM
//! credentials with [`ScramCredentials::verify_plain`](super::ScramCredentials::verify_plain),
//! which applies SASLprep to it.

use super::SaslFailure;

/// Splits a PLAIN message into (authzid, authcid, password).
///
/// The authcid is prepared with SASLprep, as a SCRAM username is, so both
/// mechanisms hand the caller the same form. An empty authzid is none.
/// Anything but valid UTF-8 with exactly two NULs, a non-empty authcid and
/// a non-empty password is `malformed-request`.
pub fn parse_plain(message: &[u8]) -> Result<(Option<String>, String, String), SaslFailure> {
    let text = std::str::from_utf8(message).map_err(|_| SaslFailure::MalformedRequest)?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslFailure::MalformedRequest);
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslFailure::MalformedRequest);
    }
    let authcid = stringprep::saslprep(authcid).map_err(|_| SaslFailure::MalformedRequest)?;
    if authcid.is_empty() {
        return Err(SaslFailure::MalformedRequest);
    }
    let authzid = (!authzid.is_empty()).then(|| authzid.to_owned());
    Ok((authzid, authcid.into_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4616_examples() {
        assert_eq!(
            parse_plain(b"\0tim\0tanstaaftanstaaf").unwrap(),
            (None, "tim".into(), "tanstaaftanstaaf".into())
        );
        assert_eq!(
            parse_plain(b"Ursel\0Kurt\0xipj3plmq").unwrap(),
            (Some("Ursel".into()), "Kurt".into(), "xipj3plmq".into())
        );
    }

    #[test]
    fn authcid_is_saslprepped_password_left_as_sent() {
        assert_eq!(
            parse_plain("\0us\u{AD}er\0pass\u{A0}word".as_bytes()).unwrap(),
            (None, "user".into(), "pass\u{A0}word".into())
        );
    }

    #[test]
    fn malformed() {
        for bad in [
            &b""[..],
            b"\0",
            b"\0\0",
            b"\0user\0",
            b"\0\0password",
            b"user\0password",
            b"a\0b\0c\0d",
            b"\0user\0pass\0word",
            b"\0\xff\xfe\0password",
            "\0\u{AD}\0password".as_bytes(),
            "\0bell\u{7}\0password".as_bytes(),
        ] {
            assert_eq!(
                parse_plain(bad),
                Err(SaslFailure::MalformedRequest),
                "{bad:?}"
            );
        }
    }
}
