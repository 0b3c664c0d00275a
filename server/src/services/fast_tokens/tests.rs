//! FAST tokens against a temporary database: issue, use, rotation, expiry
//! and what a copy of the database reveals.

use crate::services::audit::TEST_ADMIN;
use std::os::unix::fs::PermissionsExt as _;

use roost_sasl::fast::initiator_hash;

use super::*;
use crate::services::testing::{Fixture, alice, fixture, id};

const NONE: FastMechanism = FastMechanism::HtSha256None;

async fn login(
    f: &Fixture,
    client: &str,
    token: &str,
    invalidate: bool,
) -> Result<FastLogin, FastRefusal> {
    f.fast
        .authenticate(
            &alice(),
            &id(client),
            NONE,
            b"",
            &initiator_hash(token.as_bytes(), b""),
            invalidate,
            None,
        )
        .await
}

async fn issue(f: &Fixture, client: &str) -> String {
    f.fast
        .issue(&alice(), &id(client), NONE, crate::services::now_ms())
        .await
        .unwrap()
        .token
}

fn expired(result: Result<FastLogin, FastRefusal>) -> bool {
    matches!(result, Err(FastRefusal::CredentialsExpired))
}

fn refused(result: Result<FastLogin, FastRefusal>) -> bool {
    matches!(result, Err(FastRefusal::NotAuthorized))
}

#[tokio::test]
async fn an_issued_token_logs_in_and_the_server_proves_it_knows_it() {
    let f = fixture(|_| {}).await;
    let before = now();
    let issued = f
        .fast
        .issue(&alice(), &id("c1"), NONE, crate::services::now_ms())
        .await
        .unwrap();
    let lifetime = 21 * 86400;
    assert!((before + lifetime..=now() + lifetime).contains(&issued.expires_at));
    assert!(
        issued.token.starts_with("secret-token:fast-"),
        "{}",
        issued.token
    );
    let accepted = login(&f, "c1", &issued.token, false).await.unwrap();
    assert_eq!(
        accepted.responder,
        responder_hash(issued.token.as_bytes(), b"")
    );
    assert!(accepted.token.is_none());
    // Again: a used token keeps working.
    login(&f, "c1", &issued.token, false).await.unwrap();
    assert!(refused(
        login(&f, "c1", "secret-token:fast-guess", false).await
    ));
}

#[tokio::test]
async fn a_token_works_only_for_its_client_and_mechanism() {
    let f = fixture(|_| {}).await;
    let token = issue(&f, "c1").await;
    assert!(refused(login(&f, "c2", &token, false).await));
    let cb = b"exporter-bytes";
    let with_expr = f
        .fast
        .authenticate(
            &alice(),
            &id("c1"),
            FastMechanism::HtSha256Expr,
            cb,
            &initiator_hash(token.as_bytes(), cb),
            false,
            None,
        )
        .await;
    assert!(refused(with_expr));
    let expr = f
        .fast
        .issue(
            &alice(),
            &id("c3"),
            FastMechanism::HtSha256Expr,
            crate::services::now_ms(),
        )
        .await
        .unwrap()
        .token;
    let bound = f
        .fast
        .authenticate(
            &alice(),
            &id("c3"),
            FastMechanism::HtSha256Expr,
            cb,
            &initiator_hash(expr.as_bytes(), cb),
            false,
            None,
        )
        .await
        .unwrap();
    assert_eq!(bound.responder, responder_hash(expr.as_bytes(), cb));
    // The hash over other channel-binding data is not the token's.
    let other_channel = f
        .fast
        .authenticate(
            &alice(),
            &id("c3"),
            FastMechanism::HtSha256Expr,
            b"another channel",
            &initiator_hash(expr.as_bytes(), cb),
            false,
            None,
        )
        .await;
    assert!(refused(other_channel));
}

#[tokio::test]
async fn the_current_and_the_next_token_both_work_until_the_next_is_used() {
    let f = fixture(|_| {}).await;
    let first = issue(&f, "c1").await;
    login(&f, "c1", &first, false).await.unwrap();
    let second = issue(&f, "c1").await;
    // The client may not have received `second`: `first` still works.
    login(&f, "c1", &first, false).await.unwrap();
    login(&f, "c1", &second, false).await.unwrap();
    assert!(expired(login(&f, "c1", &first, false).await));
    login(&f, "c1", &second, false).await.unwrap();
    // A token issued but never used is replaced by the next issue.
    let third = issue(&f, "c1").await;
    let fourth = issue(&f, "c1").await;
    assert!(refused(login(&f, "c1", &third, false).await));
    login(&f, "c1", &fourth, false).await.unwrap();
    assert!(expired(login(&f, "c1", &second, false).await));
}

#[tokio::test]
async fn an_old_token_asks_for_rotation() {
    let f = fixture(|_| {}).await;
    let token = issue(&f, "c1").await;
    f.sql("UPDATE fast_tokens SET issued_at = issued_at - 86400")
        .await;
    assert!(
        login(&f, "c1", &token, false)
            .await
            .unwrap()
            .token
            .is_some()
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_and_deleted() {
    let f = fixture(|_| {}).await;
    let token = issue(&f, "c1").await;
    f.sql("UPDATE fast_tokens SET expires_at = 0").await;
    assert!(expired(login(&f, "c1", &token, false).await));
    assert_eq!(rows(&f).await.len(), 0);
    assert!(refused(login(&f, "c1", &token, false).await));
}

#[tokio::test]
async fn invalidate_deletes_the_token_after_the_login() {
    let f = fixture(|_| {}).await;
    let token = issue(&f, "c1").await;
    let accepted = login(&f, "c1", &token, true).await.unwrap();
    assert!(accepted.token.is_none());
    assert!(refused(login(&f, "c1", &token, false).await));
}

#[tokio::test]
async fn a_password_change_expires_every_token() {
    let f = fixture(|_| {}).await;
    let used = issue(&f, "c1").await;
    login(&f, "c1", &used, false).await.unwrap();
    let fresh = issue(&f, "c1").await;
    f.accounts
        .set_password(&TEST_ADMIN, "alice@example.test", "crayon", None)
        .await
        .unwrap();
    assert!(expired(login(&f, "c1", &used, false).await));
    assert!(expired(login(&f, "c1", &fresh, false).await));
    // A token issued to a login that began after the change works (a
    // login in the change's own millisecond counts as before it).
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let after = issue(&f, "c1").await;
    login(&f, "c1", &after, false).await.unwrap();
}

#[tokio::test]
async fn the_database_alone_holds_no_token_and_the_key_file_is_private() {
    let f = fixture(|_| {}).await;
    let token = issue(&f, "c1").await;
    let mode = std::fs::metadata(f.dir.path().join(KEY_FILE))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let secret = token.strip_prefix(TOKEN_PREFIX).unwrap();
    let mac = URL_SAFE_NO_PAD.decode(secret).unwrap();
    let stored = rows(&f).await;
    assert_eq!(stored.len(), 1);
    for column in &stored[0] {
        assert!(!contains(column, secret.as_bytes()), "{column:?}");
        assert!(!contains(column, &mac), "{column:?}");
    }
    // Another server key (the database copied elsewhere) makes other tokens.
    let (host, user) = clients::account(&alice());
    let token_id: [u8; TOKEN_ID_LEN] = stored[0][3].as_slice().try_into().unwrap();
    let account = (host, user);
    assert_eq!(
        derive(&f.fast.key().await.unwrap(), &account, &id("c1"), &token_id),
        token
    );
    assert_ne!(derive(&[7; KEY_LEN], &account, &id("c1"), &token_id), token);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every column of every stored token, as bytes.
async fn rows(f: &Fixture) -> Vec<Vec<Vec<u8>>> {
    f.db.call(|c| -> Result<_, ServiceError> {
        let mut st = c.prepare(
            "SELECT host, username, client, token_id, slot, mechanism,
                        CAST(issued_at AS TEXT), CAST(expires_at AS TEXT) FROM fast_tokens",
        )?;
        let rows = st
            .query_map([], |r| {
                (0..8)
                    .map(|i| match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                            Ok(t.to_vec())
                        }
                        other => Ok(format!("{other:?}").into_bytes()),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_token_in_use_is_checked_in_memory_and_a_revocation_forgets_it() {
    let f = fixture(|_| {}).await;
    let token = issue(&f, "c1").await;
    // The first use promotes the token in a storage job; the second reads
    // the rows and keeps them.
    login(&f, "c1", &token, false).await.unwrap();
    login(&f, "c1", &token, false).await.unwrap();
    // Rows gone from storage behind the service's back: the cache answers,
    // which shows that the login ran no storage job.
    f.sql("DELETE FROM fast_tokens").await;
    login(&f, "c1", &token, false).await.unwrap();
    assert!(refused(
        login(&f, "c1", "secret-token:fast-guess", false).await
    ));
    // Any change through the services forgets the account's rows.
    f.clients
        .revoke(&TEST_ADMIN, &alice(), "client/c1")
        .await
        .unwrap();
    assert!(refused(login(&f, "c1", &token, false).await));
}

#[tokio::test]
async fn rows_a_login_changed_are_not_kept() {
    let f = fixture(|_| {}).await;
    let token = issue(&f, "c1").await;
    // The first use promotes the token: a write, so its rows are not kept
    // (a login that read them before the write could put stale ones back).
    login(&f, "c1", &token, false).await.unwrap();
    f.sql("DELETE FROM fast_tokens").await;
    assert!(refused(login(&f, "c1", &token, false).await));
}
