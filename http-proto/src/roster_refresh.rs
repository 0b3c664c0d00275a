//! The body of `POST /roster_admin/refresh`: a JSON array of usernames.

/// The usernames, as sent (duplicates and invalid names are the service's
/// business); `None` when the body is not a JSON array of strings.
pub fn parse_usernames(body: &[u8]) -> Option<Vec<String>> {
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_of_strings_only() {
        assert_eq!(
            parse_usernames(br#" ["ann", "bob", "ann"] "#),
            Some(vec!["ann".into(), "bob".into(), "ann".into()])
        );
        assert_eq!(parse_usernames(b"[]"), Some(vec![]));
        for bad in [
            &b""[..],
            b"{}",
            b"[1]",
            b"[\"a\",]",
            b"\"ann\"",
            b"[\"a\"] x",
        ] {
            assert_eq!(
                parse_usernames(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
