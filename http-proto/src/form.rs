//! `application/x-www-form-urlencoded` bodies, read strictly, and the web
//! registration form (`POST /invite/TOKEN/register`) read from one.

/// Why a body is not a form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("a form body holds only visible ASCII (everything else is percent-encoded)")]
    RawByte,
    #[error("'%' must be followed by two hexadecimal digits")]
    BadEscape,
    #[error("a name or value is not UTF-8 once decoded")]
    NotUtf8,
}

/// Whether a `Content-Type` names a URL-encoded form (parameters ignored).
pub fn is_form_content_type(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Parses a form body strictly: browsers percent-encode everything outside
/// visible ASCII, so a raw byte outside it, a `%` not followed by two hex
/// digits, or a value that is not UTF-8 once decoded means the body is not
/// a form (lenient parsers would turn it into replacement characters and
/// register a name nobody typed).
pub fn parse(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    if !body.iter().all(|b| b.is_ascii_graphic()) {
        return Err(FormError::RawByte);
    }
    body.split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

fn decode(s: &[u8]) -> Result<String, FormError> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = s.get(i + 1).copied().and_then(hex);
                let lo = s.get(i + 2).copied().and_then(hex);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(FormError::BadEscape);
                };
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8)
}

/// The web registration form's fields. A field sent twice counts as its
/// first value; a missing one is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationForm {
    /// The form's CSRF value, to compare with the cookie's.
    pub csrf: String,
    /// Without surrounding whitespace: phone keyboards like to add a space
    /// after a word, and it is never meant.
    pub username: String,
    pub password: String,
    /// The confirmation; optional for clients that post without it.
    pub password_again: Option<String>,
}

impl RegistrationForm {
    pub fn parse(body: &[u8]) -> Result<RegistrationForm, FormError> {
        let fields = parse(body)?;
        let field = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        Ok(RegistrationForm {
            csrf: field("csrf").unwrap_or_default(),
            username: field("user").unwrap_or_default().trim().to_owned(),
            password: field("password").unwrap_or_default(),
            password_again: field("password2"),
        })
    }

    /// Whether the confirmation, when sent, differs from the password.
    pub fn passwords_differ(&self) -> bool {
        self.password_again
            .as_ref()
            .is_some_and(|again| *again != self.password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(body: &str) -> Vec<(String, String)> {
        parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn forms_parse_as_browsers_send_them() {
        assert_eq!(
            pairs("user=Alice+B&password=p%26%3D%25%C3%A9&&empty=&flag"),
            [
                ("user".into(), "Alice B".into()),
                ("password".into(), "p&=%é".into()),
                ("empty".into(), String::new()),
                ("flag".into(), String::new()),
            ]
        );
        assert_eq!(pairs(""), []);
        assert_eq!(pairs("a%2Bb=%2b"), [("a+b".into(), "+".into())]);
    }

    #[test]
    fn malformed_forms_are_refused() {
        for (body, why) in [
            (&b"user=%zz"[..], FormError::BadEscape),
            (b"user=%4", FormError::BadEscape),
            (b"user=%", FormError::BadEscape),
            (b"user=%ff", FormError::NotUtf8),
            (b"user=\xc3\xa9", FormError::RawByte),
            (b"user=a b", FormError::RawByte),
            (b"user=a\nb", FormError::RawByte),
            (b"user=%C3", FormError::NotUtf8), // a cut UTF-8 sequence
        ] {
            assert_eq!(parse(body), Err(why), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn registration_fields() {
        let form = RegistrationForm::parse(b"csrf=abc&user=+ann+&password=x%20y&user=bob").unwrap();
        assert_eq!(
            form,
            RegistrationForm {
                csrf: "abc".into(),
                username: "ann".into(),
                password: "x y".into(),
                password_again: None,
            }
        );
        assert!(!form.passwords_differ());
        let form = RegistrationForm::parse(b"password=a&password2=b").unwrap();
        assert_eq!(form.username, "");
        assert!(form.passwords_differ());
        let form = RegistrationForm::parse(b"password=a&password2=a").unwrap();
        assert!(!form.passwords_differ());
        assert_eq!(
            RegistrationForm::parse(b"user=%"),
            Err(FormError::BadEscape)
        );
    }

    #[test]
    fn content_types() {
        assert!(is_form_content_type(Some(
            "application/x-www-form-urlencoded"
        )));
        assert!(is_form_content_type(Some(
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
        )));
        assert!(!is_form_content_type(Some(
            "multipart/form-data; boundary=x"
        )));
        assert!(!is_form_content_type(Some("application/json")));
        assert!(!is_form_content_type(None));
    }
}
