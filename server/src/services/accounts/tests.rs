//! Accounts against a temporary database, logging in through the SCRAM
//! state machine as a client would.

use crate::services::audit::TEST_ADMIN;
use roost_common::config::{AuthConfig, Synchronous};
use roost_common::jid::DomainName;

use super::*;
use roost_sasl::ScramServer;
use roost_sasl::test_client::ScramClient;

fn accounts() -> (tempfile::TempDir, Accounts) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
    let config = Arc::new(Config {
        hosts: ["example.test", "other.test"]
            .map(|h| DomainName::parse(h).unwrap())
            .into(),
        auth: AuthConfig {
            scram_iterations: 4096,
            ..AuthConfig::default()
        },
        ..Config::default()
    });
    let audit = crate::services::Audit::new(db.clone(), Hosts(config.clone()));
    let clients = crate::services::Clients::new(
        db.clone(),
        config.clone(),
        Default::default(),
        audit.clone(),
    );
    (
        dir,
        Accounts::new(
            db,
            Hosts(config.clone()),
            config,
            Default::default(),
            clients,
            audit,
        ),
    )
}

fn jid(s: &str) -> BareJid {
    BareJid::new(s).unwrap()
}

/// A SCRAM login through the state machine with what the service stored.
async fn scram_login(accounts: &Accounts, hash: ScramHash, user: &str, password: &str) -> bool {
    let mut server =
        ScramServer::new(hash, false, None, false).with_decoy([0; DECOY_SECRET_LEN], 4096);
    let mut client = ScramClient::new(hash, user, password, "n,,", &[]);
    let first = server.client_first(&client.first()).unwrap();
    let credentials = accounts
        .scram_credentials(&jid(&format!("{}@example.test", first.username)), hash)
        .await
        .unwrap();
    let last = client.last(&server.server_first(credentials.as_ref()));
    server.client_final(&last).is_ok()
}

#[tokio::test]
async fn created_accounts_log_in_with_both_scram_hashes() {
    let (_dir, accounts) = accounts();
    let created = accounts
        .create(&TEST_ADMIN, "Alice@Example.TEST", "pencil", Role::User)
        .await
        .unwrap();
    assert_eq!(created.to_string(), "alice@example.test");
    for hash in [ScramHash::Sha1, ScramHash::Sha256] {
        assert!(
            scram_login(&accounts, hash, "alice", "pencil").await,
            "{hash:?}"
        );
        assert!(
            !scram_login(&accounts, hash, "alice", "crayon").await,
            "{hash:?}"
        );
        assert!(
            !scram_login(&accounts, hash, "bob", "pencil").await,
            "{hash:?}"
        );
    }
    let sha1 = accounts
        .scram_credentials(&created, ScramHash::Sha1)
        .await
        .unwrap()
        .unwrap();
    let sha256 = accounts
        .scram_credentials(&created, ScramHash::Sha256)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((sha1.iterations, sha1.salt.len()), (4096, SALT_LEN));
    assert_ne!(sha1.salt, sha256.salt, "each hash gets its own salt");
}

#[tokio::test]
async fn plain_passwords_are_checked_against_the_stored_credentials() {
    let (_dir, accounts) = accounts();
    let alice = accounts
        .create(&TEST_ADMIN, "alice@example.test", "pencil", Role::User)
        .await
        .unwrap();
    assert!(accounts.verify_plain(&alice, "pencil").await.unwrap());
    assert!(!accounts.verify_plain(&alice, "Pencil").await.unwrap());
    assert!(!accounts.verify_plain(&alice, "").await.unwrap());
    assert!(
        !accounts
            .verify_plain(&jid("bob@example.test"), "pencil")
            .await
            .unwrap()
    );
    assert!(
        !accounts
            .verify_plain(&jid("example.test"), "pencil")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn duplicates_are_conflicts() {
    let (_dir, accounts) = accounts();
    accounts
        .create(&TEST_ADMIN, "alice@example.test", "a", Role::User)
        .await
        .unwrap();
    for again in [
        "alice@example.test",
        "ALICE@example.test",
        "alice@EXAMPLE.test.",
    ] {
        let err = accounts
            .create(&TEST_ADMIN, again, "b", Role::Admin)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Conflict(_)), "{again}: {err:?}");
        assert_eq!(err.to_string(), "account alice@example.test already exists");
    }
    // The same name on another host is another account.
    accounts
        .create(&TEST_ADMIN, "alice@other.test", "b", Role::User)
        .await
        .unwrap();
    assert!(
        accounts
            .verify_plain(&jid("alice@example.test"), "a")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn bad_jids_and_passwords_are_refused() {
    let (_dir, accounts) = accounts();
    for bad in [
        "",
        "alice",
        "example.test",
        "@example.test",
        "alice@",
        "alice@example.test/phone",
        "a@b@example.test",
        "al ice@example.test",
        "al\"ice@example.test",
    ] {
        let err = accounts
            .create(&TEST_ADMIN, bad, "pencil", Role::User)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Invalid(_)), "{bad:?}: {err:?}");
    }
    let err = accounts
        .create(&TEST_ADMIN, "alice@nowhere.test", "pencil", Role::User)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::UnknownHost(ref h) if h == "nowhere.test"),
        "{err:?}"
    );

    for (password, needle) in [
        ("", "empty"),
        ("\u{AD}", "empty"),
        ("bell\u{7}", "RFC 4013"),
    ] {
        let err = accounts
            .create(&TEST_ADMIN, "alice@example.test", password, Role::User)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Invalid(_)),
            "{password:?}: {err:?}"
        );
        assert!(err.to_string().contains(needle), "{password:?}: {err}");
    }
    assert!(!accounts.exists(&jid("alice@example.test")).await.unwrap());
}

#[tokio::test]
async fn passwords_change() {
    let (_dir, accounts) = accounts();
    let alice = accounts
        .create(&TEST_ADMIN, "alice@example.test", "old", Role::User)
        .await
        .unwrap();
    accounts
        .set_password(&TEST_ADMIN, "alice@example.test", "new", None)
        .await
        .unwrap();
    assert!(!accounts.verify_plain(&alice, "old").await.unwrap());
    assert!(accounts.verify_plain(&alice, "new").await.unwrap());
    assert!(scram_login(&accounts, ScramHash::Sha1, "alice", "new").await);

    let err = accounts
        .set_password(&TEST_ADMIN, "bob@example.test", "x", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound("account")), "{err:?}");
    let err = accounts
        .set_password(&TEST_ADMIN, "alice@example.test", "", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err:?}");
    assert!(accounts.verify_plain(&alice, "new").await.unwrap());
}

#[tokio::test]
async fn roles() {
    let (_dir, accounts) = accounts();
    let alice = accounts
        .create(&TEST_ADMIN, "alice@example.test", "a", Role::User)
        .await
        .unwrap();
    let root = accounts
        .create(&TEST_ADMIN, "root@example.test", "r", Role::Admin)
        .await
        .unwrap();
    assert_eq!(accounts.role(&alice).await.unwrap(), Some(Role::User));
    assert_eq!(accounts.role(&root).await.unwrap(), Some(Role::Admin));
    assert_eq!(accounts.role(&jid("bob@example.test")).await.unwrap(), None);

    accounts
        .set_role(&TEST_ADMIN, "alice@example.test", Role::Admin)
        .await
        .unwrap();
    assert_eq!(accounts.role(&alice).await.unwrap(), Some(Role::Admin));
    let err = accounts
        .set_role(&TEST_ADMIN, "bob@example.test", Role::Admin)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound("account")), "{err:?}");
}

#[tokio::test]
async fn lists_are_per_host_and_sorted() {
    let (_dir, accounts) = accounts();
    for jid in [
        "carol@example.test",
        "alice@example.test",
        "bob@other.test",
        "bob@example.test",
    ] {
        accounts
            .create(&TEST_ADMIN, jid, "x", Role::User)
            .await
            .unwrap();
    }
    accounts
        .set_role(&TEST_ADMIN, "bob@example.test", Role::Admin)
        .await
        .unwrap();
    let listed = accounts.list("Example.Test").await.unwrap();
    let jids: Vec<String> = listed.iter().map(|a| a.jid.to_string()).collect();
    assert_eq!(
        jids,
        [
            "alice@example.test",
            "bob@example.test",
            "carol@example.test"
        ]
    );
    assert_eq!(listed[1].role, Role::Admin);
    assert!(listed[0].created_at > 1_700_000_000);
    assert!(accounts.list("nowhere.test").await.is_err());
}

#[tokio::test]
async fn deleting_an_account_deletes_what_it_owns() {
    let (_dir, accounts) = accounts();
    let alice = accounts
        .create(&TEST_ADMIN, "alice@example.test", "a", Role::User)
        .await
        .unwrap();
    accounts
        .create(&TEST_ADMIN, "bob@example.test", "b", Role::User)
        .await
        .unwrap();
    accounts
        .db
        .call(|conn| -> Result<(), ServiceError> {
            conn.execute_batch(
                "INSERT INTO roster_items (host, username, contact)
                     VALUES ('example.test', 'alice', 'bob@example.test');
                 INSERT INTO subscription_requests (host, username, contact, stanza, received_at)
                     VALUES ('example.test', 'alice', 'carol@x', '<presence/>', 0);
                 INSERT INTO offline_messages (host, username, stanza, stored_at)
                     VALUES ('example.test', 'alice', '<message/>', 0);",
            )?;
            Ok(())
        })
        .await
        .unwrap();

    accounts
        .delete(&TEST_ADMIN, "alice@example.test")
        .await
        .unwrap();
    assert!(!accounts.exists(&alice).await.unwrap());
    let left: i64 = accounts
        .db
        .call(|conn| -> Result<i64, ServiceError> {
            Ok(conn.query_row(
                "SELECT (SELECT count(*) FROM scram_credentials WHERE username = 'alice')
                      + (SELECT count(*) FROM roster_items)
                      + (SELECT count(*) FROM subscription_requests)
                      + (SELECT count(*) FROM offline_messages)",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert!(accounts.exists(&jid("bob@example.test")).await.unwrap());

    let err = accounts
        .delete(&TEST_ADMIN, "alice@example.test")
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound("account")), "{err:?}");
    assert!(accounts.delete(&TEST_ADMIN, "alice").await.is_err());
}

#[tokio::test]
async fn the_decoy_secret_is_kept_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        let (db, _thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
        let config = Arc::new(Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        });
        let audit = crate::services::Audit::new(db.clone(), Hosts(config.clone()));
        let clients = crate::services::Clients::new(
            db.clone(),
            config.clone(),
            Default::default(),
            audit.clone(),
        );
        Accounts::new(
            db,
            Hosts(config.clone()),
            config,
            Default::default(),
            clients,
            audit,
        )
    };
    let secret = start().decoy_secret().await.unwrap();
    // Another start on the same directory (a restart) reads the same one.
    assert_eq!(start().decoy_secret().await.unwrap(), secret);
    assert!(dir.path().join(decoy_secret::FILE_NAME).exists());
}
