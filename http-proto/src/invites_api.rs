//! The invite API's request (`GET /invites_api`, mod_invites_api): the
//! query string and where the API key comes from.

/// The parameters read from the query string; others are ignored.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InviteApiQuery {
    pub key: Option<String>,
    /// Answer with `303 See Other` to the invite page instead of JSON.
    pub redirect: bool,
}

impl InviteApiQuery {
    /// Reads the raw query (without `?`). A parameter sent twice counts as
    /// its last value, as Prosody reads it.
    pub fn parse(query: Option<&str>) -> InviteApiQuery {
        let mut params = InviteApiQuery::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*name {
                "key" => params.key = Some(value.into_owned()),
                // Prosody redirects for any value; an explicit "no" is honoured here.
                "redirect" => {
                    params.redirect = !matches!(&*value.to_ascii_lowercase(), "false" | "0" | "no")
                }
                _ => {}
            }
        }
        params
    }
}

/// Why a request brings no usable API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    #[error("an API key is required: send 'Authorization: Bearer KEY' or '?key=KEY'")]
    Missing,
    #[error("the Authorization header must be 'Bearer KEY'")]
    NotBearer,
}

/// The key from the `Authorization` header if there is one (its value, or
/// `""` when it is not text), else from `?key=`.
pub fn presented_key(
    authorization: Option<&str>,
    from_query: Option<String>,
) -> Result<String, KeyProblem> {
    match authorization {
        None => from_query
            .filter(|k| !k.is_empty())
            .ok_or(KeyProblem::Missing),
        Some(value) => crate::headers::bearer_token(value)
            .map(str::to_owned)
            .ok_or(KeyProblem::NotBearer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters() {
        assert_eq!(InviteApiQuery::parse(None), InviteApiQuery::default());
        let q = InviteApiQuery::parse(Some("key=a%2Bb&redirect&other=1"));
        assert_eq!(q.key.as_deref(), Some("a+b"));
        assert!(q.redirect, "a bare redirect asks for one");
        for no in ["false", "0", "NO"] {
            let q = InviteApiQuery::parse(Some(&format!("redirect={no}")));
            assert!(!q.redirect, "{no}");
        }
        assert!(InviteApiQuery::parse(Some("redirect=true")).redirect);
        assert!(InviteApiQuery::parse(Some("key=a&redirect=")).redirect);
        assert_eq!(
            InviteApiQuery::parse(Some("key=a%2Fb")).key.as_deref(),
            Some("a/b")
        );
        let q = InviteApiQuery::parse(Some("key=first&key=second"));
        assert_eq!(q.key.as_deref(), Some("second"));
    }

    #[test]
    fn keys() {
        assert_eq!(presented_key(None, Some("k".into())), Ok("k".into()));
        assert_eq!(
            presented_key(None, Some(String::new())),
            Err(KeyProblem::Missing)
        );
        assert_eq!(presented_key(None, None), Err(KeyProblem::Missing));
        // The header wins over the query, and must be well-formed.
        assert_eq!(
            presented_key(Some("Bearer h"), Some("q".into())),
            Ok("h".into())
        );
        assert_eq!(
            presented_key(Some("Basic h"), Some("q".into())),
            Err(KeyProblem::NotBearer)
        );
        assert_eq!(presented_key(Some(""), None), Err(KeyProblem::NotBearer));
    }
}
