//! The invite landing page and web registration (Prosody's
//! mod_invites_page, mod_register_apps and mod_invites_register_web), end to
//! end over real HTTP against the real roostd: an invite made through the
//! HTTP API is followed to its page, the form is fetched and posted with its
//! CSRF cookie and field, refusals keep the token, and the new account logs
//! in over XMPP. The same pages in a real browser: `tests/browser/`.

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{StatusCode, Url};
use roost_tests::raw::RawClient;
use roost_tests::{HOST, Server, http, stderr, stdout};

const PASSWORD: &str = "correct horse battery";

/// An account invite made through the HTTP API, as a web app would: its
/// landing page URL.
async fn api_invite(server: &Server) -> String {
    let key = server.create_key(HOST, "web tests");
    server.api_invite(&key).await
}

/// An invite made with `roostctl invite create HOST ARGS… --json`: its
/// landing page URL and `xmpp:` URI.
fn ctl_invite(server: &Server, args: &[&str]) -> (String, String) {
    let mut all = vec!["invite", "create", HOST];
    all.extend_from_slice(args);
    all.push("--json");
    let out = server.ctl(&all);
    assert!(out.status.success(), "{all:?}: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    (
        v["url"].as_str().unwrap().to_owned(),
        v["uri"].as_str().unwrap().to_owned(),
    )
}

fn token_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

/// The registration page as the landing page links it (relative link).
fn register_url(landing: &str) -> String {
    let url = Url::parse(landing).unwrap();
    url.join(&format!("{}/register", token_of(landing)))
        .unwrap()
        .to_string()
}

fn users(server: &Server) -> Vec<String> {
    let out = server.ctl(&["user", "list", HOST]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// `name=value` of the CSRF cookie the form page set.
fn csrf_cookie(headers: &HeaderMap) -> String {
    let set = headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("roost_csrf="))
        .unwrap_or_else(|| panic!("no CSRF cookie in {headers:?}"));
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    set.split(';').next().unwrap().to_owned()
}

/// The value of the form's hidden CSRF field.
fn csrf_field(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF field in {html}"))
        + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The form page, and what a browser would send back with a POST.
struct Form {
    url: String,
    cookie: String,
    csrf: String,
    html: String,
}

async fn get_form(url: &str) -> Form {
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    let cookie = csrf_cookie(r.headers());
    let html = r.text().await.unwrap();
    let csrf = csrf_field(&html);
    assert_eq!(
        cookie,
        format!("roost_csrf={csrf}"),
        "cookie and field agree"
    );
    Form {
        url: url.to_owned(),
        cookie,
        csrf,
        html,
    }
}

struct Posted {
    status: StatusCode,
    headers: HeaderMap,
    html: String,
}

/// POSTs `fields` (URL-encoded) with the form's cookie, as a browser would.
async fn post(url: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Posted {
    let mut request = http().post(url).form(fields);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let r = request.send().await.unwrap();
    Posted {
        status: r.status(),
        headers: r.headers().clone(),
        html: r.text().await.unwrap(),
    }
}

impl Form {
    /// Posts user, password and its confirmation with the CSRF cookie and field.
    async fn submit(&self, user: &str, password: &str, again: &str) -> Posted {
        post(
            &self.url,
            Some(&self.cookie),
            &[
                ("csrf", &self.csrf),
                ("user", user),
                ("password", password),
                ("password2", again),
            ],
        )
        .await
    }
}

/// The roster of `user` over XMPP: `(jid, subscription)` of each item.
async fn roster(server: &Server, user: &str) -> Vec<(String, String)> {
    let mut client = RawClient::bound(server, user, PASSWORD, "web").await;
    client
        .send("<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>")
        .await;
    let answer = client.read_iq("roster1").await;
    assert!(answer.contains("type='result'"), "{answer}");
    let attr = |item: &str, name: &str| {
        let start = item.find(&format!("{name}='"))? + name.len() + 2;
        Some(item[start..].split('\'').next()?.to_owned())
    };
    answer
        .split("<item ")
        .skip(1)
        .map(|item| {
            let item = item.split('>').next().unwrap();
            (
                attr(item, "jid").unwrap_or_default(),
                attr(item, "subscription").unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_api_invite_registers_in_the_browser_and_logs_in() {
    let server = Server::start();
    let landing = api_invite(&server).await;
    let token = token_of(&landing).to_owned();
    let uri = format!("xmpp:{HOST}?register;preauth={token}");

    // The landing page: service, apps, xmpp: link, QR, registration link.
    let r = http().get(&landing).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["link"], format!("<{uri}>; rel=\"alternate\"").as_str());
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(h["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("<h1>Invite to {HOST}</h1>")),
        "{html}"
    );
    assert!(html.contains("You have been invited to chat"), "{html}");
    assert!(!html.contains("invited to chat with"), "no inviter: {html}");
    assert!(
        html.contains(&format!(
            "<a class=\"button\" href=\"{uri}\">Open in your app</a>"
        )),
        "{html}"
    );
    assert!(
        html.contains("<svg ") && html.contains("class=\"qr\""),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "href=\"{token}/register\">Register in your browser"
        )),
        "{html}"
    );
    // One card per default app, each with its kind of button.
    for app in ["Conversations", "Monal", "Siskin IM", "Dino", "Gajim"] {
        assert!(html.contains(&format!("<h3>{app}</h3>")), "{app}: {html}");
    }
    let encoded = format!("xmpp%3a{HOST}%3fregister%3bpreauth%3d{token}");
    assert!(
        html.contains(&format!(
            "href=\"https://play.google.com/store/apps/details?id=eu.siacs.conversations&#38;referrer={encoded}\""
        )),
        "Conversations' magic link: {html}"
    );
    assert!(
        html.contains(&format!("href=\"{token}/register?app=dino\"")),
        "{html}"
    );
    assert!(html.contains("client-platform-badge-android"), "{html}");
    // No script, no asset from anywhere.
    for banned in ["<script", " src=", "<img", "<link rel=\"stylesheet\""] {
        assert!(!html.contains(banned), "{banned}: {html}");
    }

    // The form.
    let form = get_form(&register_url(&landing)).await;
    assert!(
        form.html.contains(&format!("@{HOST}</span>")),
        "{}",
        form.html
    );
    assert!(form.html.contains("minlength=\"8\""), "{}", form.html);
    assert!(form.html.contains("<form method=\"post\""), "{}", form.html);

    // Refusals re-render with one message and the username, and keep the token.
    let cases = [
        ("", PASSWORD, PASSWORD, "Please fill in all fields."),
        ("alice", "", "", "Please fill in all fields."),
        (
            "al ice",
            PASSWORD,
            PASSWORD,
            "This username contains invalid characters.",
        ),
        (
            "alice@x",
            PASSWORD,
            PASSWORD,
            "This username contains invalid characters.",
        ),
        (
            "alice",
            "s3cr3t",
            "s3cr3t",
            "Password is too short (minimum 8 characters).",
        ),
        (
            "alice",
            PASSWORD,
            "something else",
            "The two passwords do not match.",
        ),
        (
            "bob",
            PASSWORD,
            PASSWORD,
            "This username is already in use.",
        ),
    ];
    server.create_user(&format!("bob@{HOST}"), "bob's password");
    for (user, password, again, message) in cases {
        let r = form.submit(user, password, again).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{user:?}: {}",
            r.html
        );
        assert!(r.html.contains(message), "{user:?}: {message}: {}", r.html);
        assert!(
            r.html.contains(&format!("value=\"{user}\"")),
            "keeps the username {user:?}: {}",
            r.html
        );
        if !password.is_empty() {
            assert!(
                !r.html.contains(password),
                "echoed the password: {}",
                r.html
            );
        }
    }
    assert_eq!(users(&server), [format!("bob@{HOST}")]);
    assert_eq!(
        http().get(&landing).send().await.unwrap().status(),
        StatusCode::OK,
        "refusals must not consume the token"
    );

    // Success: the JID as normalised, the next steps, no password.
    let r = form.submit("Alice", PASSWORD, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.html);
    assert_eq!(r.headers["cache-control"], "no-store");
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    let jid = format!("alice@{HOST}");
    assert!(
        r.html.contains(&format!(
            "Your account <span class=\"jid\">{jid}</span> is ready."
        )),
        "{}",
        r.html
    );
    assert!(
        r.html.contains(&format!("href=\"xmpp:{jid}\"")),
        "{}",
        r.html
    );
    assert!(r.html.contains("<svg "), "QR code: {}", r.html);
    assert!(
        r.html.contains("<h3>Conversations</h3>"),
        "apps: {}",
        r.html
    );
    assert!(!r.html.contains(PASSWORD), "echoed the password");
    let cleared = r
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .any(|v| v.to_str().unwrap().starts_with("roost_csrf=;"));
    assert!(cleared, "the CSRF cookie is dropped: {:?}", r.headers);
    let mut listed = users(&server);
    listed.sort();
    assert_eq!(listed, [jid.clone(), format!("bob@{HOST}")]);

    // The account works over XMPP.
    let mut client = RawClient::bound(&server, "alice", PASSWORD, "web").await;
    client
        .send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    assert!(client.read_iq("p1").await.contains("type='result'"));

    // The token is used up: every door says so, and no second account.
    for url in [&landing, &form.url] {
        let r = http().get(url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{url}");
        assert!(r.text().await.unwrap().contains("Invite invalid"));
    }
    let r = form.submit("carol", PASSWORD, PASSWORD).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.html.contains("Invite invalid"));
    assert_eq!(users(&server).len(), 2);
}

/// A complete registration of `mallory` with `csrf` in the form.
fn mallory(csrf: &str) -> [(&str, &str); 3] {
    [("csrf", csrf), ("user", "mallory"), ("password", PASSWORD)]
}

#[tokio::test]
async fn forged_and_malformed_posts_change_nothing() {
    let server = Server::start();
    let landing = api_invite(&server).await;
    let form = get_form(&register_url(&landing)).await;
    let other = {
        // A well-formed value that is not this form's.
        let mut c = form.csrf.clone().into_bytes();
        c[0] = if c[0] == b'A' { b'B' } else { b'A' };
        String::from_utf8(c).unwrap()
    };
    let other_cookie = format!("roost_csrf={other}");

    let forbidden = [
        // No CSRF field.
        post(
            &form.url,
            Some(&form.cookie),
            &[("user", "mallory"), ("password", PASSWORD)],
        )
        .await,
        // No cookie (a cross-site form post: SameSite=Strict withholds it).
        post(&form.url, None, &mallory(&form.csrf)).await,
        // Field and cookie differ, either way round.
        post(&form.url, Some(&form.cookie), &mallory(&other)).await,
        post(&form.url, Some(&other_cookie), &mallory(&form.csrf)).await,
    ];
    for r in &forbidden {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.html);
        assert!(r.html.contains("security check failed"), "{}", r.html);
        assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    }

    // A matching CSRF pair sent from another site's page.
    let client = http();
    let fields = mallory(&form.csrf);
    for origin in ["https://evil.example", "null"] {
        let r = client
            .post(&form.url)
            .header("cookie", &form.cookie)
            .header("origin", origin)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin}");
        assert!(r.text().await.unwrap().contains("another site"));
    }

    // Bodies that are not our form.
    let raw = |body: Vec<u8>, content_type: &'static str| {
        client
            .post(&form.url)
            .header("cookie", &form.cookie)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let form_type = "application/x-www-form-urlencoded";
    let csrf = &form.csrf;
    let cases: Vec<(Vec<u8>, &str, StatusCode)> = vec![
        (
            format!("csrf={csrf}&user=%zz&password=x").into_bytes(),
            form_type,
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("csrf={csrf}&user=%ff%fe&password=x").into_bytes(),
            form_type,
            StatusCode::BAD_REQUEST,
        ),
        (
            [format!("csrf={csrf}&user=").as_bytes(), b"\xe9\x00"].concat(),
            form_type,
            StatusCode::BAD_REQUEST,
        ),
        (
            format!("{{\"csrf\":\"{csrf}\",\"user\":\"mallory\"}}").into_bytes(),
            "application/json",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            format!("csrf={csrf}&user={}", "a".repeat(20 * 1024)).into_bytes(),
            form_type,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (body, content_type, status) in cases {
        let r = raw(body, content_type).await.unwrap();
        assert_eq!(r.status(), status, "{content_type}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    }

    // Nothing was created and the invite still works.
    assert_eq!(users(&server), Vec::<String>::new());
    let r = form.submit("mallory", PASSWORD, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.html);
    assert_eq!(users(&server), [format!("mallory@{HOST}")]);
}

#[tokio::test]
async fn an_account_and_contact_invite_makes_mutual_contacts() {
    let server = Server::start();
    let bob = format!("bob@{HOST}");
    server.create_user(&bob, PASSWORD);
    let (landing, uri) = ctl_invite(&server, &["--type", "both", "--inviter", &bob]);

    let r = http().get(&landing).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "You have been invited to chat with <strong>{bob}</strong>"
        )),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"{uri}\"")), "{html}");
    assert!(html.contains("Register in your browser"), "{html}");

    let form = get_form(&register_url(&landing)).await;
    assert!(
        form.html
            .contains(&format!("You and <strong>{bob}</strong> will be contacts")),
        "{}",
        form.html
    );
    let r = form.submit("dave", PASSWORD, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.html);
    assert!(
        r.html.contains(&format!(
            "<strong>{bob}</strong> is already in your contacts"
        )),
        "{}",
        r.html
    );

    let dave = format!("dave@{HOST}");
    assert_eq!(
        roster(&server, "dave").await,
        [(bob.clone(), "both".to_owned())]
    );
    assert_eq!(roster(&server, "bob").await, [(dave, "both".to_owned())]);
}

#[tokio::test]
async fn a_contact_invite_page_offers_no_registration() {
    let server = Server::start();
    let bob = format!("bob@{HOST}");
    server.create_user(&bob, PASSWORD);
    let (landing, uri) = ctl_invite(&server, &["--type", "contact", "--inviter", &bob]);
    assert!(uri.contains("?roster;preauth="), "{uri}");

    let r = http().get(&landing).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["link"],
        format!("<{uri}>; rel=\"alternate\"").as_str()
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&format!("<h1>Add {bob} as a contact</h1>")),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<a class=\"button\" href=\"{uri}\">Open in your app</a>"
        )),
        "{html}"
    );
    assert!(html.contains("<svg "), "QR: {html}");
    assert!(!html.contains("/register"), "no registration link: {html}");
    assert!(!html.contains("Register in your browser"), "{html}");
    assert!(!html.contains(">Register<"), "{html}");

    // Its registration page does not exist, whichever method.
    let url = register_url(&landing);
    let r = http().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers().get(SET_COOKIE).is_none());
    assert!(r.text().await.unwrap().contains("Invite invalid"));
    let r = post(&url, None, &[("user", "eve"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(users(&server), [bob]);
    // And the invite is still there for an XMPP client.
    assert_eq!(
        http().get(&landing).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_tokens_get_the_invalid_page_on_every_method() {
    let server = Server::start();
    let client = http();
    for path in [
        "/invite/AAAAAAAAAAAAAAAAAAAAAAAA/register",
        "/invite/short/register",
        "/invite/%00%ff/register",
    ] {
        let url = server.url(path);
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "GET {path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert!(r.text().await.unwrap().contains("Invite invalid"));
        // Without a query string, body, cookie or content type (Prosody: 500).
        let r = client.post(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "POST {path}");
        assert!(r.text().await.unwrap().contains("Invite invalid"));
    }
    // A valid invite's form posted with nothing at all: refused, not a 5xx.
    let landing = api_invite(&server).await;
    let r = client.post(register_url(&landing)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = client.put(register_url(&landing)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(users(&server), Vec::<String>::new());
}

#[tokio::test]
async fn truncated_links_and_other_paths_under_invite_get_the_invalid_page() {
    let server = Server::start();
    let landing = api_invite(&server).await;
    let token = token_of(&landing);
    for path in [
        "/invite".to_owned(),
        "/invite/".to_owned(),
        "/invite/setup/conversations".to_owned(),
        format!("/invite/{token}/"),
        format!("/invite/{token}/register/more"),
        "/invite/a/b/c".to_owned(),
    ] {
        let r = http().get(server.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "GET {path}");
        assert_eq!(
            r.headers()["content-type"],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert!(
            r.text().await.unwrap().contains("Invite invalid"),
            "GET {path}"
        );
    }
    // The real pages are still there.
    let r = http().get(&landing).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Pages follow `[invite_page]` and `[registration]`.
#[tokio::test]
async fn pages_follow_the_config() {
    let server = Server::start_with(
        "[invite_page]\nsite_name = \"Roost Test Chat\"\n\
         [[invite_page.apps]]\nname = \"Cheogram\"\nplatforms = [\"Android\"]\n\
         text = \"Chat with anyone.\"\ndownload_url = \"https://cheogram.example/get\"\n\
         [registration]\nmin_password_length = 12\n",
    );
    let landing = api_invite(&server).await;
    let html = http()
        .get(&landing)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<h1>Invite to Roost Test Chat</h1>"),
        "{html}"
    );
    assert!(html.contains("<h3>Cheogram</h3>"), "{html}");
    assert!(
        !html.contains("Conversations"),
        "only the configured apps: {html}"
    );
    let form = get_form(&register_url(&landing)).await;
    assert!(form.html.contains("minlength=\"12\""), "{}", form.html);
    assert!(
        form.html.contains("At least 12 characters."),
        "{}",
        form.html
    );
    let r = form.submit("alice", "ten chars!", "ten chars!").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.html
            .contains("Password is too short (minimum 12 characters)."),
        "{}",
        r.html
    );
}
