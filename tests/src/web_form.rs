//! The web registration form (`/invite/TOKEN/register`) as a browser fills
//! it: the form is fetched for its CSRF cookie and field, then posted with
//! a username and the password twice.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};

use crate::http;

/// A registration form, fetched and ready to post.
pub struct WebForm {
    pub url: String,
    pub cookie: String,
    pub csrf: String,
}

impl WebForm {
    /// Fetches the form at `url` (an invite's landing page plus
    /// `/register`); panics unless it is served.
    pub async fn open(url: &str) -> WebForm {
        let r = http().get(url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        let cookie = csrf_cookie(r.headers());
        let html = r.text().await.unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).expect("a CSRF field") + marker.len();
        let csrf = html[start..].split('"').next().unwrap().to_owned();
        WebForm {
            url: url.to_owned(),
            cookie,
            csrf,
        }
    }

    /// Posts `user` with `password` twice; the status and the page.
    pub async fn submit(&self, user: &str, password: &str) -> (StatusCode, String) {
        let r = http()
            .post(&self.url)
            .header("cookie", &self.cookie)
            .form(&[
                ("csrf", self.csrf.as_str()),
                ("user", user),
                ("password", password),
                ("password2", password),
            ])
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

/// The `roost_csrf=VALUE` pair a response sets.
fn csrf_cookie(headers: &HeaderMap) -> String {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("roost_csrf="))
        .expect("a CSRF cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}
