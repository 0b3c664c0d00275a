//! Fuzzes what the HTTP front door reads from strangers
//! (`roost-http-proto`): form bodies and the web registration form, the
//! invite API's query and key, the roster refresh body, and the
//! `Authorization`, `Cookie` and `Origin` headers. Nothing may panic, and
//! what is accepted must keep the parsers' promises.
//!
//! Input layout: the first byte picks the parser; the rest is its input
//! (for the headers, split at the first two NUL bytes into several values).

#![no_main]

use libfuzzer_sys::fuzz_target;
use roost_http_proto::form::{self, RegistrationForm};
use roost_http_proto::headers;
use roost_http_proto::invites_api::{InviteApiQuery, presented_key};
use roost_http_proto::roster_refresh;

/// Percent-encodes everything but unreserved characters, as a browser would.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn forms(body: &[u8]) {
    let Ok(fields) = form::parse(body) else {
        assert!(RegistrationForm::parse(body).is_err());
        return;
    };
    // A form written back out reads as the same fields.
    let again: Vec<String> = fields
        .iter()
        .map(|(n, v)| format!("{}={}", encode(n), encode(v)))
        .collect();
    assert_eq!(
        form::parse(again.join("&").as_bytes()).as_ref(),
        Ok(&fields)
    );
    let registration = RegistrationForm::parse(body).expect("a form is a registration form");
    assert_eq!(registration.username, registration.username.trim());
    assert!(registration.username.len() <= body.len());
}

fn invite_api(query: &str) {
    let params = InviteApiQuery::parse(Some(query));
    if let Some(key) = &params.key {
        assert!(key.len() <= query.len() * 3);
    }
    if let Ok(key) = presented_key(None, params.key.clone()) {
        assert!(!key.is_empty());
    }
    if let Ok(key) = presented_key(Some(query), None) {
        assert!(!key.is_empty() && key == key.trim() && query.contains(key.as_str()));
    }
}

fn header_values(values: &str) {
    let mut parts = values.splitn(3, '\0');
    let first = parts.next().unwrap_or("");
    let second = parts.next();
    let third = parts.next().unwrap_or("");
    if let Some(token) = headers::bearer_token(first) {
        assert!(!token.is_empty() && token == token.trim() && first.contains(token));
    }
    let cookies = [first, second.unwrap_or(""), third];
    for value in headers::cookie_values(cookies.into_iter(), "roost_csrf") {
        assert!(!value.contains(';'));
        // A value matches itself exactly when it is well-formed.
        assert_eq!(
            headers::secret_values_match(value, value, 24),
            headers::is_secret_value(value, 24)
        );
    }
    // An Origin is allowed only as the public URL's origin or as the Host
    // the request was sent to.
    if headers::origin_allowed(Some(first), second, third) {
        let origin = first.trim().to_ascii_lowercase();
        let as_host = ["http://", "https://"].iter().any(|scheme| {
            second.is_some_and(|h| origin == format!("{scheme}{}", h.trim().to_ascii_lowercase()))
        });
        assert!(as_host || third.to_ascii_lowercase().starts_with(&origin));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => forms(input),
        1 => invite_api(&String::from_utf8_lossy(input)),
        2 => {
            if let Some(names) = roster_refresh::parse_usernames(input) {
                assert!(names.iter().map(String::len).sum::<usize>() <= input.len());
            }
        }
        _ => header_values(&String::from_utf8_lossy(input)),
    }
});
