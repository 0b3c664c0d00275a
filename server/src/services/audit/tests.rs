//! The audit log through the real services: what each change records, the
//! filters, the purge, the bound on refusals, and that no secret is stored.

use roost_common::admin::{AuditQuery, InviteType, Role};
use roost_common::config::{Config, Synchronous};
use roost_common::jid::DomainName;
use std::sync::Arc;

use super::store::PURGE_BATCH;
use super::*;
use crate::services::Services;
use crate::services::invites::AdminInvite;

const ADMIN: Actor = Actor::Admin { uid: 1000 };

struct Fixture {
    _dir: tempfile::TempDir,
    db: Db,
    services: Services,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
    // The storage thread stops when the last `Db` is dropped.
    std::mem::forget(thread);
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        hosts: vec![
            DomainName::parse("example.test").unwrap(),
            DomainName::parse("other.test").unwrap(),
        ],
        ..Config::default()
    };
    config.auth.scram_iterations = 4096;
    config.auth.max_failures_per_account = 3;
    let metrics = Arc::new(crate::metrics::Metrics::new(&db));
    let services = Services::new(db.clone(), Arc::new(config), metrics).unwrap();
    Fixture {
        _dir: dir,
        db,
        services,
    }
}

impl Fixture {
    async fn entries(&self, query: AuditQuery) -> Vec<AuditEntry> {
        self.services.audit.query(query).await.unwrap()
    }

    async fn all(&self) -> Vec<AuditEntry> {
        self.entries(AuditQuery::default()).await
    }

    /// Every text the table holds, each column of each row.
    async fn raw_text(&self) -> String {
        self.db
            .call(|conn| -> Result<String, ServiceError> {
                let mut st = conn.prepare(
                    "SELECT actor_kind, actor, action, ifnull(host, ''), ifnull(jid, ''),
                            ifnull(subject, ''), outcome, ifnull(detail, '')
                     FROM audit_log",
                )?;
                let mut text = String::new();
                let mut rows = st.query([])?;
                while let Some(row) = rows.next()? {
                    for i in 0..8 {
                        text.push_str(&row.get::<_, String>(i)?);
                        text.push('\t');
                    }
                    text.push('\n');
                }
                Ok(text)
            })
            .await
            .unwrap()
    }
}

fn account_invite(host: &str) -> AdminInvite<'_> {
    AdminInvite {
        host,
        kind: InviteType::Account,
        inviter: None,
        ttl: None,
        uses: 1,
    }
}

#[tokio::test]
async fn each_admin_change_is_one_entry_with_actor_and_subject() {
    let f = fixture();
    let s = &f.services;
    let key = s
        .api_keys
        .create(&ADMIN, "example.test", None, None)
        .await
        .unwrap();
    s.api_keys
        .delete(&ADMIN, "example.test", &key.info.id)
        .await
        .unwrap();
    s.accounts
        .create(&ADMIN, "Bob@example.test", "pw-one", Role::User)
        .await
        .unwrap();
    s.accounts
        .set_password(&ADMIN, "bob@example.test", "pw-two", None)
        .await
        .unwrap();
    s.accounts
        .set_role(&ADMIN, "bob@example.test", Role::Admin)
        .await
        .unwrap();
    let (invite_id, _) = s
        .invites
        .create_by_admin(&ADMIN, account_invite("example.test"))
        .await
        .unwrap();
    s.invites
        .revoke(&ADMIN, "example.test", &invite_id.to_string())
        .await
        .unwrap();
    s.accounts.delete(&ADMIN, "bob@example.test").await.unwrap();

    let entries = f.all().await;
    let seen: Vec<_> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                e.action,
                e.host.as_deref(),
                e.jid.as_deref(),
                e.subject.as_deref(),
                e.outcome.as_str(),
            )
        })
        .collect();
    let invite = invite_id.to_string();
    assert_eq!(
        seen,
        [
            (
                AuditAction::ApiKeyCreate,
                Some("example.test"),
                None,
                Some(key.info.id.as_str()),
                "ok"
            ),
            (
                AuditAction::ApiKeyDelete,
                Some("example.test"),
                None,
                Some(key.info.id.as_str()),
                "ok"
            ),
            (
                AuditAction::AccountCreate,
                Some("example.test"),
                Some("bob@example.test"),
                None,
                "ok"
            ),
            (
                AuditAction::AccountPassword,
                Some("example.test"),
                Some("bob@example.test"),
                None,
                "ok"
            ),
            (
                AuditAction::AccountRole,
                Some("example.test"),
                Some("bob@example.test"),
                None,
                "ok"
            ),
            (
                AuditAction::InviteCreate,
                Some("example.test"),
                None,
                Some(invite.as_str()),
                "ok"
            ),
            (
                AuditAction::InviteRevoke,
                Some("example.test"),
                None,
                Some(invite.as_str()),
                "ok"
            ),
            (
                AuditAction::AccountDelete,
                Some("example.test"),
                Some("bob@example.test"),
                None,
                "ok"
            ),
        ]
    );
    assert!(entries.iter().all(|e| e.actor == ADMIN));
    assert!(
        entries.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
    let role = entries
        .iter()
        .find(|e| e.action == AuditAction::AccountRole)
        .unwrap();
    assert_eq!(role.detail.as_deref(), Some("role=admin"));
}

#[tokio::test]
async fn an_admin_refusal_is_recorded_with_its_code_and_nothing_else() {
    let f = fixture();
    let s = &f.services;
    assert!(
        s.accounts
            .delete(&ADMIN, "nobody@example.test")
            .await
            .is_err()
    );
    assert!(
        s.accounts
            .create(&ADMIN, "x@unknown.test", "pw", Role::User)
            .await
            .is_err()
    );
    let entries = f.all().await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[1].action, AuditAction::AccountDelete);
    assert_eq!(entries[1].outcome, "not_found");
    assert_eq!(entries[1].jid.as_deref(), Some("nobody@example.test"));
    assert_eq!(entries[0].action, AuditAction::AccountCreate);
    assert_eq!(entries[0].outcome, "unknown_host");
}

#[tokio::test]
async fn no_password_key_secret_or_invite_token_is_stored() {
    let f = fixture();
    let s = &f.services;
    let password = "Correct-Horse-Battery-Staple";
    s.accounts
        .create(&ADMIN, "carol@example.test", password, Role::User)
        .await
        .unwrap();
    s.accounts
        .set_password(&ADMIN, "carol@example.test", "Another-Secret-Phrase", None)
        .await
        .unwrap();
    let key = s
        .api_keys
        .create(&ADMIN, "example.test", Some("web".into()), None)
        .await
        .unwrap();
    let secret = key.key.split_once('/').unwrap().1.to_owned();
    let by_key = s.api_keys.create_invite(&key.key, None).await.unwrap();
    let (_, by_admin) = s
        .invites
        .create_by_admin(&ADMIN, account_invite("example.test"))
        .await
        .unwrap();
    // Revoked by its token: recorded by its id.
    s.invites
        .revoke(&ADMIN, "example.test", by_admin.token.as_str())
        .await
        .unwrap();
    // A wrong secret for a real key id.
    let wrong = format!("{}/{}", key.info.id, "A".repeat(secret.len()));
    assert!(s.api_keys.create_invite(&wrong, None).await.is_err());

    let text = f.raw_text().await;
    for secret_text in [
        password,
        "Another-Secret-Phrase",
        secret.as_str(),
        key.key.as_str(),
        wrong.as_str(),
        by_key.token.as_str(),
        by_admin.token.as_str(),
    ] {
        assert!(
            !text.contains(secret_text),
            "{secret_text} is in the audit table:\n{text}"
        );
    }
    let revoke = f
        .entries(AuditQuery {
            action: Some(AuditAction::InviteRevoke),
            ..AuditQuery::default()
        })
        .await;
    assert_eq!(revoke.len(), 1);
    assert!(revoke[0].subject.as_deref().unwrap().parse::<i64>().is_ok());
    let by_key_entries = f
        .entries(AuditQuery {
            action: Some(AuditAction::InviteCreate),
            ..AuditQuery::default()
        })
        .await;
    let actors: Vec<_> = by_key_entries
        .iter()
        .map(|e| (e.actor.clone(), e.outcome.as_str()))
        .collect();
    let key_actor = Actor::ApiKey {
        id: key.info.id.clone(),
    };
    assert_eq!(
        actors,
        [
            (key_actor.clone(), "unauthenticated"),
            (ADMIN, "ok"),
            (key_actor, "ok"),
        ]
    );
}

#[tokio::test]
async fn refusals_strangers_cause_are_bounded() {
    let f = fixture();
    for i in 0..200 {
        let bad = format!("nokey{i}/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert!(f.services.api_keys.create_invite(&bad, None).await.is_err());
    }
    let entries = f.all().await;
    assert_eq!(entries.len(), 20, "the refusal burst, then nothing");
    assert!(entries.iter().all(|e| e.outcome == "unauthenticated"));
}

#[tokio::test]
async fn a_login_lockout_is_recorded_once_when_it_starts() {
    let f = fixture();
    let limiter = &f.services.auth_limits;
    let address: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    for _ in 0..3 {
        limiter
            .begin(address, "alice@example.test")
            .unwrap()
            .failed();
    }
    // Refused attempts while locked record nothing more.
    for _ in 0..10 {
        assert!(limiter.begin(address, "alice@example.test").is_err());
    }
    // The entry is written by a task of its own, which has queued its job
    // once it has run to its first wait.
    tokio::task::yield_now().await;
    let entries = f.all().await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let lockout = &entries[0];
    assert_eq!(lockout.action, AuditAction::LoginLockout);
    assert_eq!(lockout.actor, Actor::Connection { address });
    assert_eq!(lockout.jid.as_deref(), Some("alice@example.test"));
    assert_eq!(lockout.host.as_deref(), Some("example.test"));
    assert_eq!(lockout.subject.as_deref(), Some("192.0.2.7"));
    assert_eq!(lockout.detail.as_deref(), Some("scope=account"));
}

#[tokio::test]
async fn filters_select_by_host_account_action_and_age() {
    let f = fixture();
    let s = &f.services;
    s.accounts
        .create(&ADMIN, "dan@example.test", "pw", Role::User)
        .await
        .unwrap();
    s.accounts
        .create(&ADMIN, "eve@other.test", "pw", Role::User)
        .await
        .unwrap();
    s.accounts
        .set_role(&ADMIN, "dan@example.test", Role::Admin)
        .await
        .unwrap();
    // An old entry, as if written long ago.
    f.db.call(|conn| -> Result<(), ServiceError> {
        conn.execute(
            "INSERT INTO audit_log (at, actor_kind, actor, action, host, jid, outcome)
             VALUES (?1, 'admin', '0', 'account.delete', 'example.test', 'old@example.test', 'ok')",
            [crate::services::now() - 7200],
        )?;
        Ok(())
    })
    .await
    .unwrap();

    let jids = |entries: Vec<AuditEntry>| -> Vec<(AuditAction, String)> {
        entries
            .into_iter()
            .map(|e| (e.action, e.jid.unwrap_or_default()))
            .collect()
    };
    let by_host = f
        .entries(AuditQuery {
            host: Some("other.test".into()),
            ..AuditQuery::default()
        })
        .await;
    assert_eq!(
        jids(by_host),
        [(AuditAction::AccountCreate, "eve@other.test".into())]
    );
    let by_jid = f
        .entries(AuditQuery {
            jid: Some("Dan@Example.TEST".into()),
            ..AuditQuery::default()
        })
        .await;
    assert_eq!(
        jids(by_jid),
        [
            (AuditAction::AccountRole, "dan@example.test".into()),
            (AuditAction::AccountCreate, "dan@example.test".into()),
        ]
    );
    let by_action = f
        .entries(AuditQuery {
            action: Some(AuditAction::AccountDelete),
            ..AuditQuery::default()
        })
        .await;
    assert_eq!(
        jids(by_action),
        [(AuditAction::AccountDelete, "old@example.test".into())]
    );
    let recent = f
        .entries(AuditQuery {
            since_secs: Some(3600),
            ..AuditQuery::default()
        })
        .await;
    assert_eq!(recent.len(), 3);
    let limited = f
        .entries(AuditQuery {
            limit: Some(1),
            ..AuditQuery::default()
        })
        .await;
    // The last written comes first.
    assert_eq!(
        jids(limited),
        [(AuditAction::AccountDelete, "old@example.test".into())]
    );
    for bad in [
        AuditQuery {
            host: Some("unknown.test".into()),
            ..AuditQuery::default()
        },
        AuditQuery {
            limit: Some(0),
            ..AuditQuery::default()
        },
        AuditQuery {
            limit: Some(MAX_AUDIT_LIMIT + 1),
            ..AuditQuery::default()
        },
    ] {
        assert!(s.audit.query(bad).await.is_err());
    }
}

#[tokio::test]
async fn the_purge_deletes_what_is_past_the_retention_in_batches() {
    let f = fixture();
    let retention = 90 * 24 * 3600;
    f.db.call(move |conn| -> Result<(), ServiceError> {
        let now = crate::services::now();
        let mut st = conn.prepare(
            "INSERT INTO audit_log (at, actor_kind, actor, action, outcome)
             VALUES (?1, 'server', '', 'roster.refresh', 'ok')",
        )?;
        for _ in 0..(2 * PURGE_BATCH + 5) {
            st.execute([now - retention - 10])?;
        }
        st.execute([now - retention + 600])?;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(f.services.audit.purge().await.unwrap(), 2 * PURGE_BATCH + 5);
    assert_eq!(
        f.all().await.len(),
        1,
        "the entry within the retention stays"
    );
    assert_eq!(f.services.audit.purge().await.unwrap(), 0);
}

#[tokio::test]
async fn a_contact_invite_redeemed_by_subscription_is_recorded_for_the_subscriber() {
    let f = fixture();
    let s = &f.services;
    for jid in ["ann@example.test", "ben@example.test"] {
        s.accounts
            .create(&ADMIN, jid, "pw", Role::User)
            .await
            .unwrap();
    }
    let (id, invite) = s
        .invites
        .create_by_admin(
            &ADMIN,
            AdminInvite {
                host: "example.test",
                kind: InviteType::Contact,
                inviter: Some("ann@example.test"),
                ttl: None,
                uses: 1,
            },
        )
        .await
        .unwrap();
    let ann = jid::BareJid::new("ann@example.test").unwrap();
    let ben = jid::BareJid::new("ben@example.test").unwrap();
    assert!(
        s.onboarding
            .redeem_contact(invite.token.as_str(), &ann, &ben)
            .await
            .unwrap()
    );
    let redeemed = f
        .entries(AuditQuery {
            action: Some(AuditAction::InviteRedeem),
            ..AuditQuery::default()
        })
        .await;
    assert_eq!(redeemed.len(), 1, "{redeemed:?}");
    assert_eq!(
        redeemed[0].actor,
        Actor::Xmpp {
            jid: "ben@example.test".into()
        }
    );
    assert_eq!(redeemed[0].jid.as_deref(), Some("ben@example.test"));
    assert_eq!(redeemed[0].subject, Some(id.to_string()));
    assert_eq!(redeemed[0].detail.as_deref(), Some("door=subscription"));
    let created = f
        .entries(AuditQuery {
            action: Some(AuditAction::InviteCreate),
            ..AuditQuery::default()
        })
        .await;
    assert_eq!(
        created[0].jid.as_deref(),
        Some("ann@example.test"),
        "the inviter"
    );
}

#[tokio::test]
async fn a_whole_key_typed_as_an_id_leaves_only_its_id() {
    let f = fixture();
    let key = f
        .services
        .api_keys
        .create(&ADMIN, "example.test", None, None)
        .await
        .unwrap();
    // A typo in the host: refused, and the key (typed whole) not kept.
    assert!(
        f.services
            .api_keys
            .delete(&ADMIN, "other.test", &key.key)
            .await
            .is_err()
    );
    let text = f.raw_text().await;
    let secret = key.key.split_once('/').unwrap().1;
    assert!(!text.contains(secret), "{text}");
    let entries = f.all().await;
    assert_eq!(entries[0].outcome, "not_found");
    assert_eq!(entries[0].subject.as_deref(), Some(key.info.id.as_str()));
}

#[tokio::test]
async fn a_roster_refresh_is_recorded_once_done_and_a_refused_one_too() {
    let f = fixture();
    // No host here delegates its rosters: refused before anything is fetched.
    let refused = f
        .services
        .roster_delegation
        .refresh_jids(&ADMIN, &["ann@example.test".into()])
        .await;
    assert!(refused.is_err());
    // Nothing asked for: nothing fetched, done.
    f.services
        .roster_delegation
        .refresh_jids(&ADMIN, &[])
        .await
        .unwrap();
    let entries = f
        .entries(AuditQuery {
            action: Some(AuditAction::RosterRefresh),
            ..AuditQuery::default()
        })
        .await;
    let seen: Vec<_> = entries
        .iter()
        .map(|e| (e.jid.as_deref(), e.outcome.as_str(), e.detail.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (None, "ok", Some("updated=0 errors=0")),
            (Some("ann@example.test"), "invalid", None),
        ]
    );
}

#[test]
fn what_an_admin_typed_is_recorded_as_stored() {
    let entry = Entry::new(&ADMIN, AuditAction::AccountDelete).jid("Alice@Example.TEST");
    assert_eq!(entry.jid.as_deref(), Some("alice@example.test"));
    assert_eq!(entry.host.as_deref(), Some("example.test"));
    let entry = Entry::new(&ADMIN, AuditAction::ApiKeyCreate).host("EXAMPLE.test");
    assert_eq!(entry.host.as_deref(), Some("example.test"));
    // Not a JID: kept as typed, for the record.
    let entry = Entry::new(&ADMIN, AuditAction::AccountDelete).jid("a@b@c");
    assert_eq!(entry.jid.as_deref(), Some("a@b@c"));
}
