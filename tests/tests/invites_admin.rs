//! Invites made by an admin with roostctl, end to end: each type is
//! created, its landing page answers, invite list shows it, and a revoked
//! invite's page is gone; once redeemed over XMPP, invite list and invite
//! show tell who used it and when.

use reqwest::StatusCode;
use roost_tests::raw::{preauth, register, tls_stream};
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
    // The first release's four columns, then STATUS and USED_BY.
    assert!(
        rows.iter()
            .all(|r| r.len() == 6 && r[3] == "admin" && r[4] == "pending" && r[5].is_empty()),
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

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Creates an account invite with `invite create --json`; returns its id
/// and token.
fn account_invite(server: &Server, extra: &[&str]) -> (i64, String) {
    let mut args = vec!["invite", "create", HOST, "--json"];
    args.extend_from_slice(extra);
    let created: serde_json::Value = serde_json::from_str(&ok(server, &args)).unwrap();
    let uri = created["uri"].as_str().expect("uri");
    let token = uri.split("preauth=").nth(1).expect("token in the URI");
    (created["id"].as_i64().expect("id"), token.to_owned())
}

/// Registers `user` over a fresh XMPP stream with an invite token.
async fn register_with(server: &Server, token: &str, user: &str) {
    let (mut client, _) = tls_stream(server).await;
    let answer = preauth(&mut client, "p1", token).await;
    assert!(answer.contains("type='result'"), "preauth: {answer}");
    let answer = register(&mut client, "r1", user, "a long password").await;
    assert!(
        answer.contains("type='result'"),
        "register {user}: {answer}"
    );
}

/// Splits `invite list` lines into their tab-separated columns.
fn rows(listed: &str) -> Vec<Vec<String>> {
    listed
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// `JID,SECONDS` from the USED_BY column, checked to lie in `window`.
fn used_by(cell: &str, window: &std::ops::RangeInclusive<i64>) -> Vec<String> {
    cell.split(' ')
        .map(|entry| {
            let (jid, at) = entry.rsplit_once(',').expect("JID,SECONDS");
            let at: i64 = at.parse().expect("seconds");
            assert!(window.contains(&at), "{entry} not in {window:?}");
            jid.to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redemptions_show_in_list_and_show() {
    let server = Server::start();
    let (single, single_token) = account_invite(&server, &[]);
    let (multi, multi_token) = account_invite(&server, &["--uses", "2"]);

    let before = now();
    register_with(&server, &single_token, "carol").await;
    register_with(&server, &multi_token, "dave").await;
    let window = before..=now();

    // Pending only: the used-up invite is gone, the multi-use one shows its
    // first use.
    let pending = rows(&ok(&server, &["invite", "list", HOST]));
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0][0], multi.to_string());
    assert_eq!(pending[0][4], "pending");
    assert_eq!(used_by(&pending[0][5], &window), [format!("dave@{HOST}")]);

    // --all: the used-up one too, oldest first, used by carol.
    let all = rows(&ok(&server, &["invite", "list", HOST, "--all"]));
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[0][0], single.to_string());
    assert_eq!(all[0][4], "used");
    assert_eq!(used_by(&all[0][5], &window), [format!("carol@{HOST}")]);
    assert_eq!(all[1], pending[0]);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&server, &["invite", "list", HOST, "--all", "--json"])).unwrap();
    assert_eq!(json[0]["status"], "used");
    assert_eq!(json[0]["uses_left"], 0);
    assert_eq!(json[1]["uses_left"], 1);
    assert_eq!(json[1]["redemptions"][0]["jid"], format!("dave@{HOST}"));

    // show, by id and by token: the redemption with a plausible time.
    let shown: serde_json::Value = serde_json::from_str(&ok(
        &server,
        &["invite", "show", HOST, &single.to_string(), "--json"],
    ))
    .unwrap();
    assert_eq!(shown["id"], single);
    assert_eq!(shown["kind"], "account");
    assert_eq!(shown["status"], "used");
    assert_eq!(shown["creator"], "admin");
    assert_eq!(shown["inviter"], serde_json::Value::Null);
    let redemptions = shown["redemptions"].as_array().unwrap();
    assert_eq!(redemptions.len(), 1, "{shown}");
    assert_eq!(redemptions[0]["jid"], format!("carol@{HOST}"));
    let at = redemptions[0]["redeemed_at"].as_i64().unwrap();
    assert!(window.contains(&at), "{at} not in {window:?}");
    let by_token: serde_json::Value = serde_json::from_str(&ok(
        &server,
        &["invite", "show", HOST, &single_token, "--json"],
    ))
    .unwrap();
    assert_eq!(by_token, shown);

    // Piped, FIELD<TAB>VALUE lines; the shell reading a script gives the same.
    let text = ok(&server, &["invite", "show", HOST, &multi.to_string()]);
    assert!(text.contains("\nstatus\tpending\n"), "{text}");
    assert!(text.contains("\nuses_left\t1\n"), "{text}");
    assert!(
        text.contains(&format!("\nredemption\tdave@{HOST}\t")),
        "{text}"
    );
    let script = server.ctl_with_stdin(&["shell"], &format!("invite show {HOST} {multi}\n"));
    assert!(script.status.success(), "{}", stderr(&script));
    assert_eq!(stdout(&script), text);

    // Unknown: exit 1, one line.
    let out = server.ctl(&["invite", "show", HOST, "9999"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        format!("roostctl: no invite 9999 on {HOST}\n")
    );
    let out = server.ctl(&["invite", "show", "nowhere.test", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("unknown host"), "{}", stderr(&out));
}
