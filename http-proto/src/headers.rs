//! Request headers that decide who may do what: `Authorization: Bearer`,
//! `Cookie` and `Origin`.

use subtle::ConstantTimeEq as _;

/// The token of an `Authorization: Bearer TOKEN` value (scheme in any
/// case, token trimmed); `None` for another scheme or an empty token.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim_start().split_once([' ', '\t'])?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The values of every cookie called `name` in `Cookie` header values (a
/// browser may send several, from different paths).
pub fn cookie_values<'a>(
    cookie_headers: impl Iterator<Item = &'a str>,
    name: &'a str,
) -> impl Iterator<Item = &'a str> {
    cookie_headers
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (n, v) = pair.trim().split_once('=')?;
            (n == name).then_some(v)
        })
}

/// Whether `value` is `len` base64url characters, as the random values we
/// hand out are.
pub fn is_secret_value(value: &str, len: usize) -> bool {
    value.len() == len
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a cookie's value and a form's are one value of `len` base64url
/// characters, compared in time that does not depend on where they differ.
pub fn secret_values_match(cookie: &str, field: &str, len: usize) -> bool {
    is_secret_value(cookie, len)
        && cookie.len() == field.len()
        && bool::from(cookie.as_bytes().ct_eq(field.as_bytes()))
}

/// A POST without `Origin` (older browsers, scripts) is judged by other
/// checks alone; one with an `Origin` must come from us: the public URL's
/// origin, or the origin whose host part is the `Host` the request was sent
/// to (`Origin: null`, sent by sandboxed or privacy-hardened contexts, is
/// not ours).
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, public_url: &str) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    let origin = origin.trim();
    if origin.eq_ignore_ascii_case(origin_of(public_url)) {
        return true;
    }
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h.trim()))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer_token("Bearer s3cret"), Some("s3cret"));
        assert_eq!(bearer_token("bearer\ts3cret "), Some("s3cret"));
        assert_eq!(bearer_token("  BEARER  s3cret"), Some("s3cret"));
        assert_eq!(bearer_token("Basic s3cret"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token(""), None);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let headers = ["a=1; roost_csrf=X; b=2", "roost_csrf=Y", "broken; =z"];
        let found: Vec<_> = cookie_values(headers.into_iter(), "roost_csrf").collect();
        assert_eq!(found, ["X", "Y"]);
        assert_eq!(cookie_values([].into_iter(), "roost_csrf").count(), 0);
    }

    #[test]
    fn secret_values_compare_exactly() {
        let v = "AbCdEfGhIjKlMnOpQrStUv-_";
        assert!(secret_values_match(v, v, 24));
        let other = "AbCdEfGhIjKlMnOpQrStUv-A";
        assert!(!secret_values_match(v, other, 24));
        assert!(!secret_values_match(v, &v[..23], 24));
        assert!(!secret_values_match(v, "", 24));
        assert!(
            !secret_values_match("", "", 24),
            "an empty cookie never matches"
        );
        assert!(
            !secret_values_match("short", "short", 24),
            "nor a malformed one"
        );
        let not_base64 = "AbCdEfGhIjKlMnOpQrStUv+/";
        assert!(!secret_values_match(not_base64, not_base64, 24));
    }

    #[test]
    fn origins() {
        let public = "https://chat.example/base";
        assert_eq!(origin_of(public), "https://chat.example");
        assert_eq!(origin_of("http://127.0.0.1:5280"), "http://127.0.0.1:5280");
        // No Origin: the other checks decide.
        assert!(origin_allowed(None, None, public));
        assert!(origin_allowed(Some("https://chat.example"), None, public));
        assert!(origin_allowed(Some("HTTPS://Chat.Example"), None, public));
        // Behind a proxy the public URL may differ; the Host the browser
        // used is ours too.
        assert!(origin_allowed(
            Some("http://127.0.0.1:5280"),
            Some("127.0.0.1:5280"),
            public
        ));
        assert!(!origin_allowed(
            Some("https://evil.example"),
            Some("chat.example"),
            public
        ));
        assert!(!origin_allowed(Some("null"), Some("chat.example"), public));
        assert!(!origin_allowed(
            Some("http://127.0.0.1:5281"),
            Some("127.0.0.1:5280"),
            public
        ));
        assert!(!origin_allowed(
            Some("chat.example"),
            Some("chat.example"),
            public
        ));
    }
}
