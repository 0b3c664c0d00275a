//! Invites made by an admin with roostctl, end to end: each type is
//! created, its landing page answers, invite list shows it, and a revoked
//! invite's page is gone.

use reqwest::StatusCode;
use roost_tests::{HOST, Server, http, stderr, stdout};

/// Runs roostctl, expecting success; returns its standard output.
fn ok(server: &Server, args: &[&str]) -> String {
    let out = server.ctl(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

async fn landing_status(url: &str) -> StatusCode {
    http().get(url).send().await.unwrap().status()
}

#[tokio::test]
async fn create_list_and_revoke() {
    let server = Server::start();
    let inviter = format!("bob@{HOST}");
    server.create_user(&inviter, "bob's password");

    // Account (the default): one line, the landing page.
    let printed = ok(&server, &["invite", "create", HOST]);
    assert_eq!(printed.lines().count(), 1, "{printed:?}");
    let account_url = printed.trim().to_owned();
    assert!(
        account_url.starts_with(&server.url("/invite/")),
        "{account_url}"
    );
    assert_eq!(landing_status(&account_url).await, StatusCode::OK);

    // Contact and both, with --json.
    let contact: serde_json::Value = serde_json::from_str(&ok(
        &server,
        &[
            "invite",
            "create",
            HOST,
            "--type",
            "contact",
            "--inviter",
            &inviter,
            "--json",
        ],
    ))
    .unwrap();
    let contact_url = contact["url"].as_str().unwrap().to_owned();
    let contact_token = contact_url.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        contact["uri"],
        format!("xmpp:{inviter}?roster;preauth={contact_token}")
    );
    assert_eq!(contact["kind"], "contact");
    assert_eq!(contact["uses"], 1);
    assert_eq!(landing_status(&contact_url).await, StatusCode::OK);

    let both: serde_json::Value = serde_json::from_str(&ok(
        &server,
        &[
            "invite",
            "create",
            HOST,
            "--type",
            "both",
            "--inviter",
            &inviter,
            "--ttl",
            "1h",
            "--uses",
            "3",
            "--json",
        ],
    ))
    .unwrap();
    let both_url = both["url"].as_str().unwrap().to_owned();
    assert!(both["uri"].as_str().unwrap().ends_with(";ibr=y"), "{both}");
    assert_eq!(both["kind"], "both");
    assert_eq!(both["uses"], 3);
    let both_id = both["id"].as_i64().unwrap();
    let expires = both["expires_at"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now + 3590..=now + 3610).contains(&expires), "{expires}");
    assert_eq!(landing_status(&both_url).await, StatusCode::OK);

    // list: oldest first, one tab-separated line each when piped.
    let listed = ok(&server, &["invite", "list", HOST]);
    let rows: Vec<Vec<&str>> = listed.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3, "{listed}");
    let kinds: Vec<&str> = rows.iter().map(|r| r[1]).collect();
    assert_eq!(kinds, ["account", "contact", "both"]);
    assert!(
        rows.iter().all(|r| r.len() == 4 && r[3] == "admin"),
        "{listed}"
    );
    assert_eq!(rows[2][0], both_id.to_string());
    assert_eq!(rows[2][2], expires.to_string());
    assert!(!listed.contains(&contact_token), "tokens are never listed");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&server, &["invite", "list", HOST, "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[2]["uses_left"], 3);

    // Revoke by id, then by token: the landing pages are gone.
    assert_eq!(
        ok(&server, &["invite", "revoke", HOST, &both_id.to_string()]),
        ""
    );
    assert_eq!(landing_status(&both_url).await, StatusCode::NOT_FOUND);
    ok(&server, &["invite", "revoke", HOST, &contact_token]);
    assert_eq!(landing_status(&contact_url).await, StatusCode::NOT_FOUND);
    assert_eq!(landing_status(&account_url).await, StatusCode::OK);
    assert_eq!(ok(&server, &["invite", "list", HOST]).lines().count(), 1);

    // Revoking again: not found.
    let out = server.ctl(&["invite", "revoke", HOST, &contact_token]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invite not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn refusals() {
    let server = Server::start();

    let out = server.ctl(&["invite", "create", "nowhere.test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown host"), "{}", stderr(&out));
    let out = server.ctl(&["invite", "list", "nowhere.test"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    for bad in [
        &["--uses", "0"][..],
        &["--uses", "many"],
        &["--ttl", "soon"],
        &["--ttl", "0"],
        &["--type", "friend"],
    ] {
        let mut args = vec!["invite", "create", HOST];
        args.extend_from_slice(bad);
        let out = server.ctl(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }

    let out = server.ctl(&["invite", "create", HOST, "--type", "contact"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--inviter"), "{}", stderr(&out));

    // An inviter without an account.
    let out = server.ctl(&[
        "invite",
        "create",
        HOST,
        "--type",
        "both",
        "--inviter",
        &format!("nobody@{HOST}"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("inviter"), "{}", stderr(&out));

    assert_eq!(ok(&server, &["invite", "list", HOST]), "");
}
