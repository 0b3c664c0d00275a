use crate::services::audit::TEST_ADMIN;
use std::net::IpAddr;
use std::sync::Arc;

use jid::{BareJid, FullJid};
use roost_common::config::{Config, Synchronous};

use super::*;
use crate::services::events::Events;

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
use crate::services::rosters::Rosters;

struct Fixture {
    _dir: tempfile::TempDir,
    onboarding: Onboarding,
    accounts: Accounts,
    rosters: Rosters,
    events: crate::services::events::EventReceiver,
}

fn fixture(configure: impl FnOnce(&mut Config)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, _thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
    let mut config = Config::default();
    // Fast key derivation: these tests are about rules, not PBKDF2.
    config.auth.scram_iterations = 4096;
    configure(&mut config);
    let config = Arc::new(config);
    let hosts = Hosts(config.clone());
    let events = Events::default();
    let audit = crate::services::Audit::new(db.clone(), hosts.clone());
    let clients = crate::services::Clients::new(
        db.clone(),
        config.clone(),
        Default::default(),
        audit.clone(),
    );
    let accounts = Accounts::new(
        db.clone(),
        hosts.clone(),
        config.clone(),
        events.clone(),
        clients,
        audit.clone(),
    );
    let invites = Invites::new(
        db.clone(),
        hosts.clone(),
        accounts.clone(),
        config.clone(),
        audit.clone(),
    );
    let onboarding = Onboarding::new(
        db.clone(),
        hosts,
        accounts.clone(),
        invites,
        config,
        events.clone(),
        audit,
    );
    Fixture {
        _dir: dir,
        onboarding,
        accounts,
        rosters: Rosters::new(db, &Config::default()),
        events: events.subscribe(),
    }
}

fn full(jid: &str) -> FullJid {
    FullJid::new(&format!("{jid}/phone")).unwrap()
}

fn bare(jid: &str) -> BareJid {
    BareJid::new(jid).unwrap()
}

/// The token of a created invite, as its URI carries it.
fn token_of(invite: &CreatedInvite) -> String {
    invite.token.as_str().to_owned()
}

impl Fixture {
    /// An invite that `by` makes over XMPP on localhost.
    async fn invite(&self, by: &str, request: UserInviteRequest) -> CreatedInvite {
        self.onboarding
            .create_for_user(&full(by), "localhost", request)
            .await
            .unwrap()
    }

    async fn user(&self, jid: &str, role: Role) {
        self.accounts
            .create(&TEST_ADMIN, jid, "password-1", role)
            .await
            .unwrap();
    }

    async fn subscription(&self, user: &str, contact: &str) -> Option<Subscription> {
        self.rosters
            .get(&bare(user))
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|i| i.contact == contact)
            .map(|i| i.subscription)
    }
}

#[tokio::test]
async fn who_may_create_which_invite() {
    let f = fixture(|c| c.admins = vec!["boss@localhost".into()]);
    f.user("boss@localhost", Role::User).await;
    f.user("root@localhost", Role::Admin).await;
    f.user("bob@localhost", Role::User).await;
    for admin in ["boss@localhost", "root@localhost"] {
        assert!(
            f.onboarding.is_admin(&bare(admin)).await.unwrap(),
            "{admin}"
        );
        let account = f.invite(admin, UserInviteRequest::Account).await;
        assert_eq!(account.kind, InviteKind::Account);
        assert!(account.uri.starts_with("xmpp:localhost?register;preauth="));
        let contact = f.invite(admin, UserInviteRequest::Contact).await;
        assert_eq!(contact.kind, InviteKind::AccountAndContact);
        assert!(
            contact
                .uri
                .starts_with(&format!("xmpp:{admin}?roster;preauth="))
        );
    }
    assert!(!f.onboarding.is_admin(&bare("bob@localhost")).await.unwrap());
    assert!(matches!(
        f.onboarding
            .create_for_user(
                &full("bob@localhost"),
                "localhost",
                UserInviteRequest::Account
            )
            .await,
        Err(UserInviteError::Service(ServiceError::Forbidden(_)))
    ));
    let contact = f.invite("bob@localhost", UserInviteRequest::Contact).await;
    assert_eq!(contact.kind, InviteKind::Contact);
    assert!(!contact.uri.contains("ibr=y"));
    // Another host's user may not use this host's commands.
    assert!(
        !f.onboarding
            .may_create(
                &bare("bob@elsewhere.test"),
                "localhost",
                UserInviteRequest::Contact
            )
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn options_widen_and_narrow_user_invites() {
    let open = fixture(|c| c.invites.allow_user_invites = true);
    open.user("bob@localhost", Role::User).await;
    let invite = open
        .invite("bob@localhost", UserInviteRequest::Contact)
        .await;
    assert_eq!(invite.kind, InviteKind::AccountAndContact);

    let closed = fixture(|c| c.invites.allow_contact_invites = false);
    closed.user("bob@localhost", Role::User).await;
    closed.user("root@localhost", Role::Admin).await;
    assert!(matches!(
        closed
            .onboarding
            .create_for_user(
                &full("bob@localhost"),
                "localhost",
                UserInviteRequest::Contact
            )
            .await,
        Err(UserInviteError::Service(ServiceError::Forbidden(_)))
    ));
    assert!(
        closed
            .onboarding
            .may_create(
                &bare("root@localhost"),
                "localhost",
                UserInviteRequest::Contact
            )
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn registering_takes_the_single_use_once() {
    let mut f = fixture(|_| {});
    f.user("root@localhost", Role::Admin).await;
    let invite = f.invite("root@localhost", UserInviteRequest::Account).await;
    let token = token_of(&invite);
    assert!(f.onboarding.registration_invite(&token).await.is_ok());
    let jid = f
        .onboarding
        .register(&TEST_ADMIN, "localhost", &token, "Carol", "a long password")
        .await
        .unwrap();
    assert_eq!(jid, bare("carol@localhost"));
    assert!(f.accounts.exists(&jid).await.unwrap());
    assert!(matches!(
        f.onboarding
            .register(&TEST_ADMIN, "localhost", &token, "dave", "another password")
            .await,
        Err(RegistrationError::InviteInvalid)
    ));
    assert!(!f.accounts.exists(&bare("dave@localhost")).await.unwrap());
    // The inviter (who made the account invite over XMPP) is told.
    match f.events.recv().await.unwrap() {
        AccountEvent::InviteUsed(used) => {
            assert_eq!(used.inviter, Some(bare("root@localhost")));
            assert_eq!(used.invitee, jid);
            assert!(used.registered && used.notify && used.pushes.is_empty());
        }
        other => panic!("unexpected event {other:?}"),
    }
}

#[tokio::test]
async fn refused_registrations_keep_the_token() {
    let f = fixture(|_| {});
    f.user("taken@localhost", Role::User).await;
    f.user("root@localhost", Role::Admin).await;
    let invite = f.invite("root@localhost", UserInviteRequest::Account).await;
    let token = token_of(&invite);
    let register = |user: &'static str, password: &'static str| {
        let (onboarding, token) = (f.onboarding.clone(), token.clone());
        async move {
            onboarding
                .register(&TEST_ADMIN, "localhost", &token, user, password)
                .await
        }
    };
    assert!(matches!(
        register("taken", "a long password").await,
        Err(RegistrationError::UsernameTaken)
    ));
    assert!(matches!(
        register("Taken", "a long password").await,
        Err(RegistrationError::UsernameTaken)
    ));
    for bad in ["", "a b", "x@y", "x/y", "a:b"] {
        assert!(
            matches!(
                register(bad, "a long password").await,
                Err(RegistrationError::UsernameInvalid)
            ),
            "{bad:?}"
        );
    }
    match register("erin", "short").await {
        Err(RegistrationError::WeakPassword(m)) => assert!(m.contains("minimum 8"), "{m}"),
        other => panic!("{other:?}"),
    }
    match register("erin", "erin-is-great").await {
        Err(RegistrationError::WeakPassword(m)) => assert!(m.contains("username"), "{m}"),
        other => panic!("{other:?}"),
    }
    // The token survived every refusal.
    assert_eq!(
        register("erin", "a long password").await.unwrap(),
        bare("erin@localhost")
    );
}

#[tokio::test]
async fn racing_registrations_create_one_account() {
    let f = fixture(|_| {});
    f.user("root@localhost", Role::Admin).await;
    let invite = f.invite("root@localhost", UserInviteRequest::Account).await;
    let token = token_of(&invite);
    let attempts = (0..8).map(|i| {
        let (onboarding, token) = (f.onboarding.clone(), token.clone());
        tokio::spawn(async move {
            onboarding
                .register(
                    &TEST_ADMIN,
                    "localhost",
                    &token,
                    &format!("racer{i}"),
                    "a long password",
                )
                .await
        })
    });
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(RegistrationError::InviteInvalid) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(
        f.accounts
            .list("localhost")
            .await
            .unwrap()
            .iter()
            .filter(|a| a.jid.to_string().starts_with("racer"))
            .count(),
        1
    );
}

#[tokio::test]
async fn invite_only_and_open_registration() {
    let closed = fixture(|_| {});
    assert!(matches!(
        closed
            .onboarding
            .register_open(
                &TEST_ADMIN,
                "localhost",
                LOOPBACK,
                "frank",
                "a long password"
            )
            .await,
        Err(RegistrationError::InviteOnly)
    ));
    let open = fixture(|c| c.registration.invite_only = false);
    assert!(
        open.onboarding
            .register_open(
                &TEST_ADMIN,
                "localhost",
                LOOPBACK,
                "frank",
                "a long password"
            )
            .await
            .is_ok()
    );
    // A contact-only token never registers anyone.
    open.user("bob@localhost", Role::User).await;
    let contact = open
        .invite("bob@localhost", UserInviteRequest::Contact)
        .await;
    assert!(matches!(
        open.onboarding
            .registration_invite(&token_of(&contact))
            .await,
        Err(RegistrationError::InviteInvalid)
    ));
    assert!(matches!(
        open.onboarding
            .register(
                &TEST_ADMIN,
                "localhost",
                &token_of(&contact),
                "gina",
                "a long password"
            )
            .await,
        Err(RegistrationError::InviteInvalid)
    ));
}

#[tokio::test]
async fn open_registration_is_limited_per_address_invites_are_not() {
    let f = fixture(|c| {
        c.registration.invite_only = false;
        c.registration.max_registrations_per_address = 2;
    });
    let open = |user: &'static str, from: IpAddr| {
        let onboarding = f.onboarding.clone();
        async move {
            onboarding
                .register_open(&TEST_ADMIN, "localhost", from, user, "a long password")
                .await
        }
    };
    open("one", LOOPBACK).await.unwrap();
    // A refused registration does not count.
    assert!(matches!(
        open("one", LOOPBACK).await,
        Err(RegistrationError::UsernameTaken)
    ));
    open("two", LOOPBACK).await.unwrap();
    assert!(matches!(
        open("three", LOOPBACK).await,
        Err(RegistrationError::TooManyRegistrations(_))
    ));
    assert!(!f.accounts.exists(&bare("three@localhost")).await.unwrap());
    open("four", "192.0.2.9".parse().unwrap()).await.unwrap();
    // An invite is its own limit.
    f.user("root@localhost", Role::Admin).await;
    let invite = f.invite("root@localhost", UserInviteRequest::Account).await;
    f.onboarding
        .register(
            &TEST_ADMIN,
            "localhost",
            &token_of(&invite),
            "five",
            "a long password",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn contact_invites_make_mutual_contacts() {
    let f = fixture(|c| c.invites.allow_user_invites = true);
    f.user("bob@localhost", Role::User).await;
    f.user("dave@localhost", Role::User).await;
    f.user("eve@localhost", Role::User).await;
    // Registering with an account-and-contact invite.
    let both = f.invite("bob@localhost", UserInviteRequest::Contact).await;
    f.onboarding
        .register(
            &TEST_ADMIN,
            "localhost",
            &token_of(&both),
            "carol",
            "a long password",
        )
        .await
        .unwrap();
    assert_eq!(
        f.subscription("bob@localhost", "carol@localhost").await,
        Some(Subscription::Both)
    );
    assert_eq!(
        f.subscription("carol@localhost", "bob@localhost").await,
        Some(Subscription::Both)
    );
    // An existing account presenting the token to the inviter (XEP-0379).
    let invite = f.invite("bob@localhost", UserInviteRequest::Contact).await;
    let token = token_of(&invite);
    // Shown to someone else than the inviter, it is not valid, and not used.
    assert!(
        !f.onboarding
            .redeem_contact(&token, &bare("eve@localhost"), &bare("dave@localhost"))
            .await
            .unwrap()
    );
    assert!(
        f.onboarding
            .redeem_contact(&token, &bare("bob@localhost"), &bare("dave@localhost"))
            .await
            .unwrap()
    );
    assert_eq!(
        f.subscription("dave@localhost", "bob@localhost").await,
        Some(Subscription::Both)
    );
    assert_eq!(
        f.subscription("bob@localhost", "dave@localhost").await,
        Some(Subscription::Both)
    );
    // Used up: a second redemption is an ordinary request.
    assert!(
        !f.onboarding
            .redeem_contact(&token, &bare("bob@localhost"), &bare("eve@localhost"))
            .await
            .unwrap()
    );
    assert_eq!(f.subscription("eve@localhost", "bob@localhost").await, None);
}

#[tokio::test]
async fn users_create_a_bounded_number_of_invites_a_day() {
    let f = fixture(|c| {
        c.limits.update(|l| l.user_invites_per_day = 2);
        c.admins = vec!["boss@localhost".into()];
    });
    f.user("bob@localhost", Role::User).await;
    f.user("boss@localhost", Role::User).await;
    f.invite("bob@localhost", UserInviteRequest::Contact).await;
    f.invite("bob@localhost", UserInviteRequest::Contact).await;
    assert!(matches!(
        f.onboarding
            .create_for_user(
                &full("bob@localhost"),
                "localhost",
                UserInviteRequest::Contact
            )
            .await,
        Err(UserInviteError::DailyLimit(2))
    ));
    // Admins are not counted.
    for _ in 0..3 {
        f.invite("boss@localhost", UserInviteRequest::Account).await;
    }
    // A day later, bob may again.
    f.onboarding
        .db
        .call(|c| -> Result<(), ServiceError> {
            c.execute(
                "UPDATE user_invites_created SET created_at = created_at - ?1",
                params![INVITE_DAY_SECS],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    f.invite("bob@localhost", UserInviteRequest::Contact).await;
}
