//! Client records against a temporary database and a fake session table.

use crate::services::audit::TEST_ADMIN;
use roost_common::admin::ClientAuth;
use roost_sasl::fast::{FastMechanism, initiator_hash};

use super::*;
use crate::services::fast_tokens::FastRefusal;
use crate::services::sessions::LiveSession;
use crate::services::testing::{alice, fixture, full, id};

#[tokio::test]
async fn a_sasl2_login_is_recorded_with_its_first_user_agent() {
    let f = fixture(|_| {}).await;
    let agent = UserAgent {
        software: Some("TestApp".into()),
        device: Some("é".repeat(300)),
    };
    let recorded = f
        .clients
        .record(ClientLogin {
            user: &alice(),
            client: Some(&id("d4565fa7")),
            method: AuthMethod::Password,
            mechanism: "PLAIN",
            agent: &agent,
            jid: &full("TestApp~abc"),
        })
        .await
        .unwrap();
    assert_eq!(recorded, id("d4565fa7"));
    // A later login does not change the user agent, but the full JID.
    let other = UserAgent {
        software: Some("Renamed".into()),
        device: None,
    };
    f.clients
        .record(ClientLogin {
            user: &alice(),
            client: Some(&id("d4565fa7")),
            method: AuthMethod::Fast,
            mechanism: "HT-SHA-256-NONE",
            agent: &other,
            jid: &full("TestApp~def"),
        })
        .await
        .unwrap();
    let listed = f.clients.list(&alice()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let client = &listed[0];
    assert_eq!(client.id, "client/d4565fa7");
    assert_eq!(client.software.as_deref(), Some("TestApp"));
    assert_eq!(client.device.as_deref(), Some("é".repeat(256).as_str()));
    assert_eq!(
        client.jid.as_deref(),
        Some("alice@example.test/TestApp~def")
    );
    // FAST use alone is not access: it holds no token.
    assert_eq!(client.auth, vec![ClientAuth::Password]);
    assert!(!client.connected && !client.legacy);
    assert!(client.first_seen <= client.last_seen);
}

#[tokio::test]
async fn legacy_logins_are_told_apart_by_full_jid() {
    let f = fixture(|_| {}).await;
    let phone = f.login(None, AuthMethod::Password, "phone").await;
    assert_eq!(phone.as_str().len(), 12);
    // Another Clients on the same database: nothing remembered in memory.
    let again = Clients::new(
        f.db.clone(),
        f.config.clone(),
        Default::default(),
        f.audit.clone(),
    );
    let (user, agent) = (alice(), UserAgent::default());
    let mut ids = Vec::new();
    for resource in ["phone", "laptop"] {
        let jid = full(resource);
        let login = ClientLogin {
            user: &user,
            client: None,
            method: AuthMethod::Password,
            mechanism: "SCRAM-SHA-1",
            agent: &agent,
            jid: &jid,
        };
        ids.push(again.record(login).await.unwrap());
    }
    assert_eq!(ids[0], phone);
    assert_ne!(ids[1], phone);
    let listed = f.clients.list(&alice()).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|c| c.legacy && c.auth == [ClientAuth::Password])
    );
}

#[tokio::test]
async fn a_login_repeated_within_a_minute_costs_no_storage_job() {
    let mut f = fixture(|_| {}).await;
    let legacy = f.login(None, AuthMethod::Password, "phone").await;
    f.login(Some("c1"), AuthMethod::Password, "app").await;
    // With storage stopped, only logins that need no job succeed.
    let thread = f.thread.take().unwrap();
    tokio::task::spawn_blocking(move || thread.stop())
        .await
        .unwrap();
    assert_eq!(f.login(None, AuthMethod::Password, "phone").await, legacy);
    assert_eq!(
        f.login(Some("c1"), AuthMethod::Password, "app").await,
        id("c1")
    );
    let record = |client: Option<&'static str>, method, resource: &'static str| {
        let clients = f.clients.clone();
        async move {
            let client = client.map(id);
            clients
                .record(ClientLogin {
                    user: &alice(),
                    client: client.as_ref(),
                    method,
                    mechanism: "X",
                    agent: &UserAgent::default(),
                    jid: &full(resource),
                })
                .await
        }
    };
    // Another method, resource or client is written.
    assert!(record(Some("c1"), AuthMethod::Fast, "app").await.is_err());
    assert!(
        record(Some("c1"), AuthMethod::Password, "other")
            .await
            .is_err()
    );
    assert!(
        record(Some("c2"), AuthMethod::Password, "app")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_password_change_voids_the_throttle() {
    let f = fixture(|_| {}).await;
    f.login(Some("c1"), AuthMethod::Password, "app").await;
    f.accounts
        .set_password(&TEST_ADMIN, "alice@example.test", "crayon", None)
        .await
        .unwrap();
    assert!(f.clients.list(&alice()).await.unwrap().is_empty());
    // Logging in with the new password at once is written, not skipped.
    f.login(Some("c1"), AuthMethod::Password, "app").await;
    let listed = f.clients.list(&alice()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].auth, vec![ClientAuth::Password]);
}

#[tokio::test]
async fn past_the_cap_the_least_recently_seen_unconnected_clients_go_with_their_tokens() {
    let f = fixture(|c| c.limits.update(|l| l.clients_per_account = 3)).await;
    let token = f
        .fast
        .issue(
            &alice(),
            &id("a2"),
            FastMechanism::HtSha256None,
            crate::services::now_ms(),
        )
        .await
        .unwrap();
    for client in ["a1", "a2", "a3"] {
        f.login(Some(client), AuthMethod::Password, client).await;
    }
    f.sql("UPDATE clients SET last_seen = last_seen - 100 WHERE id IN ('a1', 'a2')")
        .await;
    // a1 is the oldest but connected, so a2 goes.
    f.directory
        .add("alice@example.test/a1", "a1", AuthMethod::Password);
    f.login(Some("a4"), AuthMethod::Password, "a4").await;
    let ids: Vec<String> = f
        .clients
        .list(&alice())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["client/a1", "client/a3", "client/a4"]);
    let refused = f
        .fast
        .authenticate(
            &alice(),
            &id("a2"),
            FastMechanism::HtSha256None,
            b"",
            &initiator_hash(token.token.as_bytes(), b""),
            false,
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(FastRefusal::NotAuthorized)),
        "{refused:?}"
    );
    // A token issued to a new client counts against the cap too.
    f.fast
        .issue(
            &alice(),
            &id("a5"),
            FastMechanism::HtSha256None,
            crate::services::now_ms(),
        )
        .await
        .unwrap();
    let listed = f.clients.list(&alice()).await.unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        listed
            .iter()
            .any(|c| c.id == "client/a5" && c.auth == [ClientAuth::Fast])
    );
}

#[tokio::test]
async fn the_list_shows_active_clients_by_last_seen_with_connected_and_auth() {
    let f = fixture(|_| {}).await;
    f.login(Some("both"), AuthMethod::Password, "both").await;
    f.fast
        .issue(
            &alice(),
            &id("both"),
            FastMechanism::HtSha256None,
            crate::services::now_ms(),
        )
        .await
        .unwrap();
    f.login(Some("old"), AuthMethod::Password, "old").await;
    f.login(Some("gone"), AuthMethod::Password, "gone").await;
    f.sql(
        "UPDATE clients SET last_seen = last_seen - 50 WHERE id = 'old';
         UPDATE clients SET password_used_at = NULL WHERE id = 'gone'",
    )
    .await;
    let listed = f.clients.list(&alice()).await.unwrap();
    let summary: Vec<(&str, &[ClientAuth], bool)> = listed
        .iter()
        .map(|c| (c.id.as_str(), c.auth.as_slice(), c.connected))
        .collect();
    assert_eq!(
        summary,
        [
            ("client/old", &[ClientAuth::Password][..], false),
            (
                "client/both",
                &[ClientAuth::Password, ClientAuth::Fast][..],
                false
            ),
        ]
    );
    // Connected is enough to be listed.
    f.directory
        .add("alice@example.test/gone", "gone", AuthMethod::Password);
    let listed = f.clients.list(&alice()).await.unwrap();
    let gone = listed.iter().find(|c| c.id == "client/gone").unwrap();
    assert!(gone.connected && gone.auth.is_empty());
}

#[tokio::test]
async fn revoking_a_connected_fast_client_ends_its_sessions_and_tokens() {
    let f = fixture(|_| {}).await;
    let token = f
        .fast
        .issue(
            &alice(),
            &id("f1"),
            FastMechanism::HtSha256None,
            crate::services::now_ms(),
        )
        .await
        .unwrap();
    f.login(Some("f1"), AuthMethod::Fast, "f1").await;
    f.directory
        .add("alice@example.test/f1", "f1", AuthMethod::Fast);
    f.directory
        .add("alice@example.test/other", "other", AuthMethod::Password);
    let revoked = f
        .clients
        .revoke(&TEST_ADMIN, &alice(), "client/f1")
        .await
        .unwrap();
    assert_eq!(
        revoked,
        Revocation {
            sessions_ended: 1,
            fast_tokens_deleted: 1,
            password_reset_required: false
        }
    );
    let ended = f.directory.ended.lock().unwrap().clone();
    assert_eq!(ended.len(), 1);
    assert_eq!(
        (ended[0].0.client.as_str(), ended[0].1),
        ("f1", SessionEnd::ClientRevoked)
    );
    let refused = f
        .fast
        .authenticate(
            &alice(),
            &id("f1"),
            FastMechanism::HtSha256None,
            b"",
            &initiator_hash(token.token.as_bytes(), b""),
            false,
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(FastRefusal::NotAuthorized)),
        "{refused:?}"
    );
    assert!(
        f.clients
            .list(&alice())
            .await
            .unwrap()
            .iter()
            .all(|c| c.id != "client/f1")
    );
}

#[tokio::test]
async fn revoking_a_fast_client_that_is_not_connected_deletes_its_token() {
    let f = fixture(|_| {}).await;
    f.fast
        .issue(
            &alice(),
            &id("f1"),
            FastMechanism::HtSha256None,
            crate::services::now_ms(),
        )
        .await
        .unwrap();
    let revoked = f
        .clients
        .revoke(&TEST_ADMIN, &alice(), "client/f1")
        .await
        .unwrap();
    assert_eq!(
        (revoked.sessions_ended, revoked.fast_tokens_deleted),
        (0, 1)
    );
    assert!(!revoked.password_reset_required);
}

#[tokio::test]
async fn revoking_a_password_client_ends_it_and_asks_for_a_password_reset() {
    let f = fixture(|_| {}).await;
    let legacy = f.login(None, AuthMethod::Password, "phone").await;
    f.directory.add(
        "alice@example.test/phone",
        legacy.as_str(),
        AuthMethod::Password,
    );
    let revoked = f
        .clients
        .revoke(&TEST_ADMIN, &alice(), &format!("client/{legacy}"))
        .await
        .unwrap();
    assert_eq!(
        revoked,
        Revocation {
            sessions_ended: 1,
            fast_tokens_deleted: 0,
            password_reset_required: true
        }
    );
}

#[tokio::test]
async fn a_legacy_session_on_a_server_chosen_resource_is_listed_and_revoked_unrecorded() {
    let f = fixture(|_| {}).await;
    f.directory.add(
        "alice@example.test/roost-x1",
        "roost-x1",
        AuthMethod::Password,
    );
    let listed = f.clients.list(&alice()).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, "client/roost-x1");
    assert!(listed[0].connected && listed[0].legacy);
    assert_eq!(listed[0].auth, [ClientAuth::Password]);
    assert_eq!(listed[0].first_seen, 1_700_000_000);
    let revoked = f
        .clients
        .revoke(&TEST_ADMIN, &alice(), "client/roost-x1")
        .await
        .unwrap();
    assert_eq!(
        revoked,
        Revocation {
            sessions_ended: 1,
            fast_tokens_deleted: 0,
            password_reset_required: true
        }
    );
    // Gone with its session, it is unknown.
    f.directory.live.lock().unwrap().clear();
    assert!(matches!(
        f.clients
            .revoke(&TEST_ADMIN, &alice(), "client/roost-x1")
            .await,
        Err(ServiceError::NotFound("client"))
    ));
}

#[tokio::test]
async fn revoking_an_inactive_client_does_nothing_and_succeeds() {
    let f = fixture(|_| {}).await;
    f.login(Some("old"), AuthMethod::Password, "old").await;
    f.accounts
        .set_password(&TEST_ADMIN, "alice@example.test", "crayon", None)
        .await
        .unwrap();
    let revoked = f
        .clients
        .revoke(&TEST_ADMIN, &alice(), "client/old")
        .await
        .unwrap();
    assert_eq!(revoked, Revocation::default());
}

#[tokio::test]
async fn unknown_or_malformed_selectors_are_not_found() {
    let f = fixture(|_| {}).await;
    f.login(Some("c1"), AuthMethod::Password, "c1").await;
    for selector in [
        "client/c2",
        "c1",
        "grant/c1",
        "software/c1",
        "",
        "client/",
        "client/a b",
    ] {
        let error = f
            .clients
            .revoke(&TEST_ADMIN, &alice(), selector)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ServiceError::NotFound("client")),
            "{selector}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_old_tokens() {
    let f = fixture(|_| {}).await;
    let login_before = crate::services::now_ms();
    let token = f
        .fast
        .issue(
            &alice(),
            &id("f1"),
            FastMechanism::HtSha256None,
            login_before,
        )
        .await
        .unwrap();
    f.login(Some("p1"), AuthMethod::Password, "p1").await;
    f.directory
        .add("alice@example.test/p1", "p1", AuthMethod::Password);
    f.directory
        .add("alice@example.test/p2", "p2", AuthMethod::Password);
    f.directory
        .add("alice@example.test/f1", "f1", AuthMethod::Fast);
    let changer = LiveSession {
        jid: full("p1"),
        client: id("p1"),
        method: AuthMethod::Password,
        since: 1_700_000_000,
    };
    f.accounts
        .set_password(&TEST_ADMIN, "alice@example.test", "crayon", Some(&changer))
        .await
        .unwrap();
    let ended = f.directory.ended.lock().unwrap().clone();
    let mut jids: Vec<_> = ended.iter().map(|(s, _)| s.jid.to_string()).collect();
    jids.sort();
    assert_eq!(jids, ["alice@example.test/f1", "alice@example.test/p2"]);
    assert!(
        ended
            .iter()
            .all(|(_, why)| *why == SessionEnd::PasswordChanged)
    );
    // p1 set the new password, so it knows it; f1's token no longer works.
    let listed = f.clients.list(&alice()).await.unwrap();
    let p1 = listed.iter().find(|c| c.id == "client/p1").unwrap();
    assert!(p1.connected && p1.auth == [ClientAuth::Password], "{p1:?}");
    let refused = f
        .fast
        .authenticate(
            &alice(),
            &id("f1"),
            FastMechanism::HtSha256None,
            b"",
            &initiator_hash(token.token.as_bytes(), b""),
            false,
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(FastRefusal::CredentialsExpired)),
        "{refused:?}"
    );
    // A password login that began before the change gets no token after it;
    // one that began after does.
    let late = f
        .fast
        .issue(
            &alice(),
            &id("p2"),
            FastMechanism::HtSha256None,
            login_before,
        )
        .await;
    assert!(matches!(late, Err(ServiceError::Forbidden(_))), "{late:?}");
    f.fast
        .issue(
            &alice(),
            &id("p2"),
            FastMechanism::HtSha256None,
            crate::services::now_ms() + 1,
        )
        .await
        .unwrap();
}

#[test]
fn client_ids_are_short_printable_and_without_spaces() {
    assert!(ClientId::parse("d4565fa7-4d72-4749-b3d3-740edbf87770").is_some());
    assert!(ClientId::parse(&"x".repeat(128)).is_some());
    for bad in ["", "a b", "a\tb", "a\u{0}b", "a\u{85}b"] {
        assert!(ClientId::parse(bad).is_none(), "{bad:?}");
    }
    assert!(ClientId::parse(&"x".repeat(129)).is_none());
}

#[tokio::test]
async fn a_deleted_account_gets_no_records_or_tokens() {
    let f = fixture(|_| {}).await;
    f.accounts
        .delete(&TEST_ADMIN, "alice@example.test")
        .await
        .unwrap();
    let recorded = f
        .clients
        .record(ClientLogin {
            user: &alice(),
            client: Some(&id("c1")),
            method: AuthMethod::Password,
            mechanism: "PLAIN",
            agent: &UserAgent::default(),
            jid: &full("c1"),
        })
        .await;
    assert!(
        matches!(recorded, Err(ServiceError::NotFound("account"))),
        "{recorded:?}"
    );
    let issued = f
        .fast
        .issue(
            &alice(),
            &id("c1"),
            FastMechanism::HtSha256None,
            crate::services::now_ms(),
        )
        .await;
    assert!(
        matches!(issued, Err(ServiceError::NotFound("account"))),
        "{issued:?}"
    );
}
