//! The invites API story of mod_invites_api, end to end: roostctl makes a
//! key, a real HTTP client makes invites with it, the landing page shows
//! them, and a deleted key stops working.

use std::collections::HashSet;

use reqwest::StatusCode;
use roost_tests::{HOST, OTHER_HOST, Server, http, stderr, stdout};

fn is_key(key: &str) -> bool {
    let ok = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    matches!(key.split_once('/'), Some((id, secret)) if ok(id, 12) && ok(secret, 36))
}

fn token_of(location: &str) -> &str {
    location.rsplit('/').next().unwrap()
}

/// `GET /invites_api` with the key in the Authorization header.
async fn bearer_request(client: &reqwest::Client, server: &Server, key: &str) -> reqwest::Response {
    client
        .get(server.url("/invites_api"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

fn assert_cors(h: &reqwest::header::HeaderMap) {
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["access-control-allow-methods"], "OPTIONS, GET");
    assert_eq!(
        h["access-control-allow-headers"],
        "Content-Type, Authorization"
    );
    assert_eq!(h["access-control-max-age"], "7200");
}

#[tokio::test]
async fn the_whole_story() {
    let server = Server::start();
    let client = http();

    let out = server.ctl(&["invites-api", "create", HOST, "My key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert_eq!(
        printed.lines().count(),
        1,
        "create must print exactly one line: {printed:?}"
    );
    let key = printed.trim().to_owned();
    assert!(is_key(&key), "not ID/SECRET: {key:?}");
    let id = key.split_once('/').unwrap().0.to_owned();

    // ?key= → 201 with the landing page in Location.
    let r = client
        .get(server.url("/invites_api"))
        .query(&[("key", &key)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_cors(r.headers());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&server.url("/invite/")), "{location}");
    let token = token_of(&location).to_owned();
    assert_eq!(token.len(), 24);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["url"], location.as_str());
    assert_eq!(body["uri"], format!("xmpp:{HOST}?register;preauth={token}"));

    // The landing page names the service and links the xmpp: URI.
    let page = client.get(&location).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(html.contains(HOST), "{html}");
    assert!(
        html.contains(&format!("href=\"xmpp:{HOST}?register;preauth={token}\"")),
        "{html}"
    );

    // Bearer with no query string at all (Prosody answers 500 here).
    let r = bearer_request(&client, &server, &key).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let second = r.headers()["location"].to_str().unwrap().to_owned();
    assert_ne!(second, location, "each request makes a new invite");

    // redirect=true → 303 to a new landing page.
    let r = client
        .get(server.url("/invites_api"))
        .query(&[("key", key.as_str()), ("redirect", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let third = r.headers()["location"].to_str().unwrap();
    assert!(third.starts_with(&server.url("/invite/")));
    assert_eq!(
        client.get(third).send().await.unwrap().status(),
        StatusCode::OK
    );

    // list: Prosody's ID<TAB>NAME when piped, and the extra facts in JSON.
    let out = server.ctl(&["invites-api", "list", HOST]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{id}\tMy key\n"));
    let out = server.ctl(&["--json", "invites-api", "list", HOST]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["id"], id.as_str());
    assert_eq!(keys[0]["name"], "My key");
    assert_eq!(keys[0]["invites_created"], 3);
    assert!(keys[0]["last_used_at"].as_i64().unwrap() >= keys[0]["created_at"].as_i64().unwrap());
    assert!(keys[0]["expires_at"].is_null());

    // The other host has no keys.
    let out = server.ctl(&["invites-api", "list", OTHER_HOST]);
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");

    // delete → the key stops working at once; invites made with it stay valid.
    let out = server.ctl(&["invites-api", "delete", HOST, &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let r = bearer_request(&client, &server, &key).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(stdout(&server.ctl(&["invites-api", "list", HOST])), "");
    assert_eq!(
        client.get(&location).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn prosody_spelling_works_the_same() {
    let server = Server::start();
    let out = server.ctl(&["mod_invites_api", "create", HOST]);
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&out).trim().to_owned();
    assert!(is_key(&key));
    let id = key.split_once('/').unwrap().0;
    let out = server.ctl(&["mod_invites_api", "list", HOST]);
    assert_eq!(stdout(&out), format!("{id}\t<unknown>\n"));
    let out = server.ctl(&["mod_invites_api", "delete", HOST, id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&server.ctl(&["mod_invites_api", "list", HOST])), "");
}

/// Every way to present a bad key gets a 4xx with a short JSON body.
#[tokio::test]
async fn bad_keys_are_refused_with_4xx_and_json() {
    let server = Server::start();
    let client = http();
    let key = server.create_key(HOST, "k");
    let (id, secret) = key.split_once('/').unwrap();
    let other = server.create_key(OTHER_HOST, "other");

    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode)> = vec![
        (
            "no key",
            client.get(server.url("/invites_api")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "empty key",
            client.get(server.url("/invites_api?key=")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "no slash",
            client.get(server.url("/invites_api?key=abcdef")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "empty secret",
            client.get(server.url(&format!("/invites_api?key={id}/"))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "unknown id",
            client.get(server.url(&format!("/invites_api?key=AAAAAAAAAAAA/{secret}"))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong secret",
            client.get(server.url(&format!("/invites_api?key={id}/{}", "A".repeat(36)))),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "bad escapes",
            client.get(server.url("/invites_api?key=%ZZ%%2")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "basic auth",
            client
                .get(server.url("/invites_api"))
                .header("Authorization", format!("Basic {key}")),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "basic auth beats a good ?key=",
            client
                .get(server.url(&format!("/invites_api?key={key}")))
                .header("Authorization", "Basic x"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "empty bearer",
            client
                .get(server.url("/invites_api"))
                .header("Authorization", "Bearer "),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "key of another host",
            client
                .get(server.url("/invites_api"))
                .bearer_auth(&other)
                .header("Host", HOST),
            StatusCode::FORBIDDEN,
        ),
        (
            "POST",
            client.post(server.url("/invites_api")).bearer_auth(&key),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "HEAD",
            client.head(server.url("/invites_api")).bearer_auth(&key),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "trailing slash",
            client.get(server.url("/invites_api/")).bearer_auth(&key),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (what, request, want) in cases {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), want, "{what}");
        if what != "trailing slash" {
            let cors = r.headers().get("access-control-allow-origin");
            assert_eq!(
                cors.map(|v| v.as_bytes()),
                Some(&b"*"[..]),
                "{what}: CORS on errors too"
            );
        }
        if want == StatusCode::UNAUTHORIZED {
            let challenge = r.headers()["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
        }
        if what == "HEAD" {
            continue; // a HEAD answer has no body
        }
        let body: serde_json::Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: no JSON body: {e}"));
        assert!(
            body["error"].is_string() && body["message"].is_string(),
            "{what}: {body}"
        );
    }

    // The same key of the other host works when the request does not name a host of ours.
    let r = bearer_request(&client, &server, &other).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["uri"]
            .as_str()
            .unwrap()
            .starts_with(&format!("xmpp:{OTHER_HOST}?register"))
    );

    // None of the refused requests made an invite.
    let out = server.ctl(&["--json", "invites-api", "list", HOST]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys[0]["invites_created"], 0);
}

#[tokio::test]
async fn preflight_is_answered_for_browser_apps() {
    let server = Server::start();
    let r = http()
        .request(reqwest::Method::OPTIONS, server.url("/invites_api"))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_cors(r.headers());
    assert_eq!(r.headers()["access-control-expose-headers"], "Location");
}

#[tokio::test]
async fn expired_key_is_refused() {
    let server = Server::start();
    let out = server.ctl(&["invites-api", "create", HOST, "short", "--expires-in", "1s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let key = stdout(&out).trim().to_owned();
    let client = http();
    let r = bearer_request(&client, &server, &key).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let out = server.ctl(&["--json", "invites-api", "list", HOST]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(keys[0]["expires_at"].as_i64().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = bearer_request(&client, &server, &key).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn invalid_and_expired_invites_get_the_invalid_page() {
    let server = Server::start_with("[invites]\nexpiry = 1\n");
    let client = http();
    for path in [
        "/invite/AAAAAAAAAAAAAAAAAAAAAAAA",
        "/invite/short",
        "/invite/%00%ff",
    ] {
        let r = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(r.text().await.unwrap().contains("Invite invalid"), "{path}");
    }
    let key = server.create_key(HOST, "k");
    let r = bearer_request(&client, &server, &key).await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        client.get(&location).send().await.unwrap().status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = client.get(&location).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Invite invalid"));
}

/// 200 invites at once are 200 distinct, valid invites, and none is lost
/// to a `kill -9` right after they were acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invites_are_distinct_and_survive_kill_9() {
    let mut server = Server::start();
    let key = server.create_key(HOST, "load");
    let client = http();
    let requests = (0..200).map(|_| {
        let request = client
            .get(server.url("/invites_api"))
            .bearer_auth(&key)
            .send();
        async move {
            let r = request.await.expect("request");
            assert_eq!(r.status(), StatusCode::CREATED);
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    });
    let locations: Vec<String> = futures_join_all(requests).await;
    let distinct: HashSet<&String> = locations.iter().collect();
    assert_eq!(distinct.len(), 200);

    server.kill9_and_restart();

    for location in &locations {
        let r = client.get(location).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{location} lost after kill -9");
    }
    let out = server.ctl(&["--json", "invites-api", "list", HOST]);
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys[0]["invites_created"], 200);
}

/// Runs futures concurrently on the runtime and collects their results in order.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[test]
fn lifetimes_that_overflow_are_refused_on_both_sides() {
    let server = Server::start();
    // roostctl: a usage error (exit 2) naming the limit, nothing sent.
    let too_long: [&[&str]; 3] = [
        &[
            "invites-api",
            "create",
            HOST,
            "--expires-in",
            "18446744073709551615",
        ],
        &["invites-api", "create", HOST, "--expires-in", "200y"],
        &["invite", "create", HOST, "--ttl", "18446744073709551615"],
    ];
    for args in too_long {
        let out = server.ctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(stderr(&out).contains("100 years"), "{args:?}: {out:?}");
    }
    // The server refuses the same from a raw admin request, without
    // wrapping the value into a past (or any) expiry.
    let mut admin = server.admin_connection();
    let key = admin.request(&format!(
        r#"{{"v":1,"id":1,"request":{{"api_key_create":{{"host":"{HOST}","name":null,"expires_in_secs":18446744073709551615}}}}}}"#
    ));
    assert_eq!(key["outcome"]["error"]["kind"], "bad_request", "{key}");
    assert!(
        key["outcome"]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("100 years")),
        "{key}"
    );
    let invite = admin.request(&format!(
        r#"{{"v":1,"id":2,"request":{{"invite_create":{{"host":"{HOST}","kind":"account","inviter":null,"ttl_secs":18446744073709551615,"uses":1}}}}}}"#
    ));
    assert_eq!(
        invite["outcome"]["error"]["kind"], "bad_request",
        "{invite}"
    );
    // Nothing was created; the longest lifetime allowed still works.
    assert_eq!(stdout(&server.ctl(&["invites-api", "list", HOST])), "");
    assert_eq!(stdout(&server.ctl(&["invite", "list", HOST])), "");
    let out = server.ctl(&["invite", "create", HOST, "--ttl", "3153600000"]);
    assert!(out.status.success(), "{out:?}");
}
