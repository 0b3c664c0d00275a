//! Roster delegation against a real roster service on loopback (axum),
//! whose answers each test sets: fetch and store, the changes a refresh
//! finds, one request for concurrent fetches, failures that keep the last
//! good copy, the timeout, and who may call the refresh.

use crate::services::audit::TEST_ADMIN;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use roost_common::config::{Config, RosterDelegationConfig, RosterUrl};
use roost_common::jid::DomainName;

use super::*;
use crate::services::accounts::Role;
use crate::services::clients::AuthMethod;
use crate::services::events::EventReceiver;
use crate::services::rosters::{ItemChange, Rosters, Subscription};
use crate::services::testing::{Fixture, alice, fixture};

/// What the service answers, and what it saw.
#[derive(Default)]
struct Service {
    status: Option<StatusCode>,
    body: String,
    delay: Duration,
    requests: Vec<(String, HeaderMap)>,
}

type Shared = Arc<Mutex<Service>>;

async fn answer(
    State(service): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let (status, body, delay) = {
        let mut s = service.lock().unwrap();
        s.requests.push((user, headers));
        (s.status.unwrap_or(StatusCode::OK), s.body.clone(), s.delay)
    };
    tokio::time::sleep(delay).await;
    (status, body)
}

struct Setup {
    fx: Fixture,
    service: Shared,
    delegation: RosterDelegation,
    rosters: Rosters,
    events: EventReceiver,
    _authorization_file: tempfile::NamedTempFile,
}

async fn setup(configure: impl FnOnce(&mut RosterDelegationConfig)) -> Setup {
    let service = Shared::default();
    let app = axum::Router::new()
        .route("/contacts/{user}", axum::routing::get(answer))
        .with_state(service.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "Bearer backend-key\n").unwrap();
    let mut delegation = RosterDelegationConfig {
        url: RosterUrl::try_from(format!("http://127.0.0.1:{port}/contacts/%s")).unwrap(),
        timeout: Duration::from_secs(5),
        authorization_file: Some(secret.path().to_owned()),
        ca_file: None,
        refresh_allow: vec![AddressPrefix::host(IpAddr::from([127, 0, 0, 1]))],
        refresh_secret_file: None,
        refresh_body_limit: 1024,
        max_concurrent_requests: 4,
    };
    configure(&mut delegation);
    let fx = fixture(|c: &mut Config| {
        c.roster_delegation
            .insert(DomainName::parse("example.test").unwrap(), delegation);
    })
    .await;
    let events = Events::default();
    let receiver = events.subscribe();
    let delegation = RosterDelegation::new(
        fx.db.clone(),
        &fx.config,
        events,
        fx.sessions.clone(),
        fx.audit.clone(),
    )
    .unwrap();
    Setup {
        rosters: Rosters::new(fx.db.clone(), &fx.config),
        fx,
        service,
        delegation,
        events: receiver,
        _authorization_file: secret,
    }
}

impl Setup {
    fn answers(&self, body: &str) {
        let mut s = self.service.lock().unwrap();
        s.body = body.to_owned();
        s.status = None;
    }

    fn requests(&self) -> usize {
        self.service.lock().unwrap().requests.len()
    }

    async fn contacts(&self) -> Vec<(String, Option<String>, Vec<String>)> {
        let roster = self.rosters.get(&alice()).await.unwrap();
        roster
            .items
            .into_iter()
            .map(|i| {
                assert_eq!(i.subscription, Subscription::Both);
                assert!(!i.ask && !i.approved);
                (i.contact, i.name, i.groups)
            })
            .collect()
    }

    async fn refresh(&self, names: &[&str]) -> RefreshOutcome {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        self.delegation
            .refresh("example.test", &names)
            .await
            .unwrap()
    }
}

const BOB_CARL: &str = r#"{"bob@example.test": {"name": "Bob", "groups": {"Friends": true}},
                           "carl@example.test": {"name": "Carl"}}"#;

#[tokio::test]
async fn a_fetch_stores_the_roster_and_a_refresh_pushes_the_difference() {
    let mut s = setup(|_| {}).await;
    s.answers(BOB_CARL);
    s.delegation
        .before_roster_get(&crate::services::testing::full("phone"))
        .await;
    assert_eq!(
        s.contacts().await,
        vec![
            (
                "bob@example.test".into(),
                Some("Bob".into()),
                vec!["Friends".into()]
            ),
            ("carl@example.test".into(), Some("Carl".into()), vec![]),
        ]
    );
    {
        let service = s.service.lock().unwrap();
        let (user, headers) = &service.requests[0];
        assert_eq!(user, "alice");
        assert_eq!(headers["accept"], "application/json");
        assert_eq!(headers["authorization"], "Bearer backend-key");
    }
    let Ok(AccountEvent::RosterReplaced {
        changes, answering, ..
    }) = s.events.try_recv()
    else {
        panic!("the first fetch adds two contacts");
    };
    assert_eq!(changes.len(), 2);
    assert_eq!(answering, [crate::services::testing::full("phone")]);

    // Bob renamed, Carl gone, Dora new.
    s.answers(
        r#"{"bob@example.test": {"name": "Bobby", "groups": ["Friends"]},
            "dora@example.test": {}}"#,
    );
    let outcome = s.refresh(&["alice"]).await;
    assert_eq!(
        outcome,
        RefreshOutcome {
            updated: 1,
            failures: vec![]
        }
    );
    let Ok(AccountEvent::RosterReplaced {
        user,
        changes,
        answering,
    }) = s.events.try_recv()
    else {
        panic!("a refresh that changed something tells the front doors");
    };
    assert_eq!(user, alice());
    assert!(answering.is_empty(), "no roster get waited: {answering:?}");
    let summary: Vec<(ItemChange, String, bool)> = changes
        .iter()
        .map(|(c, p)| (*c, p.item.contact.clone(), p.removed))
        .collect();
    assert_eq!(
        summary,
        vec![
            (ItemChange::Changed, "bob@example.test".into(), false),
            (ItemChange::Added, "dora@example.test".into(), false),
            (ItemChange::Removed, "carl@example.test".into(), true),
        ]
    );
    let versions: Vec<i64> = changes.iter().map(|(_, p)| p.version).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");

    // The same answer again changes nothing and tells nobody.
    assert_eq!(s.refresh(&["alice"]).await.updated, 1);
    assert!(s.events.try_recv().is_err());
}

#[tokio::test]
async fn concurrent_first_roster_gets_make_one_request() {
    let mut s = setup(|_| {}).await;
    s.answers(BOB_CARL);
    s.service.lock().unwrap().delay = Duration::from_millis(200);
    let gets = (0..5).map(|i| {
        let delegation = s.delegation.clone();
        async move {
            delegation
                .before_roster_get(&crate::services::testing::full(&format!("r{i}")))
                .await
        }
    });
    futures_join_all(gets).await;
    assert_eq!(s.requests(), 1);
    assert_eq!(s.contacts().await.len(), 2);
    // Every roster get that waited gets the roster in its answer: the
    // fetch's pushes skip them all.
    let Ok(AccountEvent::RosterReplaced { mut answering, .. }) = s.events.try_recv() else {
        panic!("the fetch added two contacts");
    };
    answering.sort();
    let mut waited: Vec<FullJid> = (0..5)
        .map(|i| crate::services::testing::full(&format!("r{i}")))
        .collect();
    waited.sort();
    assert_eq!(answering, waited);
}

#[tokio::test]
async fn an_online_period_fetches_once() {
    let s = setup(|_| {}).await;
    s.answers(BOB_CARL);
    let phone = crate::services::testing::full("phone");
    let laptop = crate::services::testing::full("laptop");
    let online = |jid: &str| {
        s.fx.directory.add(
            &format!("alice@example.test/{jid}"),
            jid,
            AuthMethod::Password,
        )
    };
    let offline = |jid: &FullJid| {
        s.fx.directory
            .live
            .lock()
            .unwrap()
            .retain(|l| l.jid != *jid)
    };
    online("phone");
    s.delegation.before_roster_get(&phone).await;
    assert_eq!(s.requests(), 1);
    s.delegation.before_roster_get(&phone).await;
    assert_eq!(s.requests(), 1, "a second roster get of the session");
    online("laptop");
    s.delegation.before_roster_get(&laptop).await;
    assert_eq!(s.requests(), 1, "the phone's fetch serves the laptop");
    offline(&phone);
    s.delegation.before_roster_get(&laptop).await;
    assert_eq!(
        s.requests(),
        1,
        "the period goes on while the laptop is online"
    );
    // Everyone left; a new period fetches anew, even with a known resource.
    offline(&laptop);
    s.fx.directory
        .live
        .lock()
        .unwrap()
        .push(crate::services::sessions::LiveSession {
            jid: phone.clone(),
            client: crate::services::testing::id("phone"),
            method: AuthMethod::Password,
            since: 1_800_000_000,
        });
    s.delegation.before_roster_get(&phone).await;
    assert_eq!(s.requests(), 2);
}

#[tokio::test]
async fn a_failed_fetch_is_tried_again_at_the_next_roster_get() {
    let s = setup(|_| {}).await;
    s.fx.directory
        .add("alice@example.test/phone", "phone", AuthMethod::Password);
    let phone = crate::services::testing::full("phone");
    s.service.lock().unwrap().status = Some(StatusCode::BAD_GATEWAY);
    s.delegation.before_roster_get(&phone).await;
    assert!(s.contacts().await.is_empty());
    s.answers(BOB_CARL);
    s.delegation.before_roster_get(&phone).await;
    assert_eq!(s.requests(), 2);
    assert_eq!(s.contacts().await.len(), 2);
}

#[tokio::test]
async fn failures_keep_the_last_good_copy_and_say_why() {
    let s = setup(|_| {}).await;
    s.answers(BOB_CARL);
    assert_eq!(s.refresh(&["alice"]).await.updated, 1);
    for (status, body, needle) in [
        (
            Some(StatusCode::INTERNAL_SERVER_ERROR),
            BOB_CARL,
            "HTTP 500",
        ),
        (Some(StatusCode::NOT_FOUND), BOB_CARL, "HTTP 404"),
        (None, "<html>oops</html>", "not a roster"),
        (None, r#"{"bob@example.test": {}"#, "not a roster"),
        (None, "null", "not a roster"),
    ] {
        {
            let mut service = s.service.lock().unwrap();
            service.status = status;
            service.body = body.to_owned();
        }
        let outcome = s.refresh(&["alice"]).await;
        assert_eq!(outcome.updated, 0);
        assert!(outcome.failures[0].reason.contains(needle), "{outcome:?}");
        assert_eq!(
            s.contacts().await.len(),
            2,
            "{needle}: the last good copy stays"
        );
    }
}

#[tokio::test]
async fn a_service_that_hangs_costs_at_most_the_timeout() {
    let s = setup(|d| d.timeout = Duration::from_millis(300)).await;
    s.answers(BOB_CARL);
    s.service.lock().unwrap().delay = Duration::from_secs(30);
    let started = Instant::now();
    let outcome = s.refresh(&["alice"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        outcome.failures[0]
            .reason
            .contains("no answer within 300 ms"),
        "{outcome:?}"
    );
    let started = Instant::now();
    s.delegation
        .before_roster_get(&crate::services::testing::full("phone"))
        .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(s.contacts().await.is_empty());
}

#[tokio::test]
async fn a_refused_connection_is_a_failure() {
    let s = setup(|d| {
        d.url = RosterUrl::try_from("http://127.0.0.1:9/contacts/%s".to_owned()).unwrap();
    })
    .await;
    let outcome = s.refresh(&["alice"]).await;
    assert!(
        outcome.failures[0].reason.contains("request failed"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn refresh_counts_each_username_once() {
    let s = setup(|_| {}).await;
    s.answers(BOB_CARL);
    s.fx.accounts
        .create(&TEST_ADMIN, "bob@example.test", "pencil1", Role::User)
        .await
        .unwrap();
    let outcome = s
        .refresh(&["alice", "Alice", "bob", "nobody-yet", "bad@name", ""])
        .await;
    // alice (twice, the second folded by nodeprep), bob, and an account
    // still to be made are updated; the two malformed names are not.
    assert_eq!(outcome.updated, 3, "{outcome:?}");
    let bad: Vec<&str> = outcome.failures.iter().map(|f| f.jid.as_str()).collect();
    assert_eq!(bad, ["@example.test", "bad@name@example.test"]);
    assert_eq!(
        s.requests(),
        2,
        "no request for the account that does not exist"
    );
    assert_eq!(s.refresh(&[]).await, RefreshOutcome::default());
}

#[tokio::test]
async fn usernames_are_percent_encoded_in_the_url() {
    let s = setup(|_| {}).await;
    s.answers("{}");
    s.fx.accounts
        .create(&TEST_ADMIN, "élan+x@example.test", "pencil1", Role::User)
        .await
        .unwrap();
    assert_eq!(s.refresh(&["élan+x"]).await.updated, 1);
    // The service decodes it back whole (unencoded, `+` would be a space
    // in a query and the é an invalid URL).
    assert_eq!(s.service.lock().unwrap().requests[0].0, "élan+x");
}

#[tokio::test]
async fn dot_usernames_are_never_put_in_the_url() {
    let s = setup(|_| {}).await;
    s.answers(BOB_CARL);
    for name in [".", ".."] {
        s.fx.accounts
            .create(
                &TEST_ADMIN,
                &format!("{name}@example.test"),
                "pencil1",
                Role::User,
            )
            .await
            .unwrap();
    }
    let outcome = s.refresh(&[".", ".."]).await;
    assert_eq!(outcome.updated, 0, "{outcome:?}");
    assert!(
        outcome
            .failures
            .iter()
            .all(|f| f.reason.contains("cannot be put in a URL")),
        "{outcome:?}"
    );
    assert_eq!(s.requests(), 0);
}

#[tokio::test]
async fn subscription_changes_leave_a_delegated_roster_alone() {
    let s = setup(|_| {}).await;
    s.answers(BOB_CARL);
    assert_eq!(s.refresh(&["alice"]).await.updated, 1);
    let bob = BareJid::new("bob@example.test").unwrap();
    // What a contact's roster removal would apply to alice's side.
    assert_eq!(
        s.rosters.inbound_unsubscribe(&alice(), &bob).await.unwrap(),
        None
    );
    assert_eq!(
        s.rosters
            .inbound_unsubscribed(&alice(), &bob)
            .await
            .unwrap(),
        None
    );
    assert!(
        s.rosters
            .inbound_subscribe(&alice(), &bob, String::new())
            .await
            .is_err()
    );
    assert!(matches!(
        s.rosters.remove(&alice(), &bob).await,
        Err(crate::services::rosters::RosterError::Managed(_))
    ));
    assert_eq!(
        s.contacts().await.len(),
        2,
        "still both, as the service says"
    );
}

#[tokio::test]
async fn refresh_jids_refuses_hosts_without_delegation() {
    let s = setup(|_| {}).await;
    let e = s
        .delegation
        .refresh_jids(
            &TEST_ADMIN,
            &["alice@example.test".into(), "x@elsewhere.test".into()],
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("elsewhere.test has no roster delegation"),
        "{e}"
    );
    assert!(
        s.delegation
            .refresh_jids(&TEST_ADMIN, &["nonsense".into()])
            .await
            .is_err()
    );
    assert_eq!(s.requests(), 0);
}

#[tokio::test]
async fn who_may_refresh() {
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "s3cret\n").unwrap();
    let path = secret.path().to_owned();
    let s = setup(move |d| d.refresh_secret_file = Some(path)).await;
    let local = IpAddr::from([127, 0, 0, 1]);
    let check = |host, peer, bearer| s.delegation.check_refresh_caller(host, peer, bearer, false);
    assert_eq!(check("example.test", local, Some("s3cret")), Ok(()));
    assert_eq!(
        check("example.test", IpAddr::from([127, 0, 0, 2]), Some("s3cret")),
        Err(RefreshDenied::Address)
    );
    assert_eq!(
        check(
            "example.test",
            "::ffff:127.0.0.1".parse().unwrap(),
            Some("s3cret")
        ),
        Ok(())
    );
    for wrong in [None, Some("s3cre"), Some("s3cret2"), Some("")] {
        assert_eq!(
            check("example.test", local, wrong),
            Err(RefreshDenied::Secret)
        );
    }
    assert_eq!(
        check("elsewhere.test", local, Some("s3cret")),
        Err(RefreshDenied::NotDelegated)
    );
    // Through a proxy, the secret is what counts.
    assert_eq!(
        s.delegation
            .check_refresh_caller("example.test", local, Some("s3cret"), true),
        Ok(())
    );
}

#[tokio::test]
async fn without_a_secret_proxied_calls_are_refused() {
    let s = setup(|_| {}).await;
    let local = IpAddr::from([127, 0, 0, 1]);
    let d = &s.delegation;
    assert_eq!(
        d.check_refresh_caller("example.test", local, None, false),
        Ok(())
    );
    assert_eq!(
        d.check_refresh_caller("example.test", local, None, true),
        Err(RefreshDenied::Proxied)
    );
}

#[tokio::test]
async fn the_refresh_host_comes_from_the_host_header() {
    let s = setup(|_| {}).await;
    let host = |named| s.delegation.refresh_host(named);
    assert_eq!(host(Some("example.test")).as_deref(), Some("example.test"));
    assert_eq!(host(Some("Example.TEST")).as_deref(), Some("example.test"));
    // An address or a proxy's name: the one delegated host.
    assert_eq!(host(Some("127.0.0.1")).as_deref(), Some("example.test"));
    assert_eq!(host(None).as_deref(), Some("example.test"));

    // A host we serve without delegation has no refresh endpoint.
    let mut config = (*s.fx.config).clone();
    config.hosts.push(DomainName::parse("plain.test").unwrap());
    let delegation = RosterDelegation::new(
        s.fx.db.clone(),
        &config,
        Events::default(),
        Sessions::default(),
        s.fx.audit.clone(),
    )
    .unwrap();
    assert_eq!(delegation.refresh_host(Some("plain.test")), None);
    assert_eq!(
        delegation.refresh_host(Some("127.0.0.1")).as_deref(),
        Some("example.test")
    );
}

#[tokio::test]
async fn a_missing_secret_file_is_a_setup_error() {
    let fx = fixture(|c: &mut Config| {
        c.roster_delegation.insert(
            DomainName::parse("example.test").unwrap(),
            RosterDelegationConfig {
                url: RosterUrl::try_from("http://127.0.0.1:9/%s".to_owned()).unwrap(),
                timeout: Duration::from_secs(1),
                authorization_file: Some("/nonexistent/roster.secret".into()),
                ca_file: None,
                refresh_allow: vec![],
                refresh_secret_file: None,
                refresh_body_limit: 1024,
                max_concurrent_requests: 1,
            },
        );
    })
    .await;
    let e = RosterDelegation::new(
        fx.db.clone(),
        &fx.config,
        Events::default(),
        Sessions::default(),
        fx.audit.clone(),
    )
    .err()
    .expect("setup fails");
    let text = e.to_string();
    assert!(
        text.contains("example.test") && text.contains("/nonexistent/roster.secret"),
        "{text}"
    );
}

async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

/// An HTTPS roster service with a self-signed certificate for localhost,
/// answering every request with an empty roster.
async fn tls_service() -> (u16, tempfile::NamedTempFile) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::rustls;

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), certified.cert.pem()).unwrap();
    let key =
        rustls_pki_types::PrivateKeyDer::try_from(certified.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, ca)
}

#[tokio::test]
async fn https_services_are_verified_against_the_configured_ca() {
    let (port, ca) = tls_service().await;
    let url = RosterUrl::try_from(format!("https://localhost:{port}/contacts/%s")).unwrap();
    let trusted = {
        let (url, ca) = (url.clone(), ca.path().to_owned());
        setup(move |d| {
            d.url = url;
            d.ca_file = Some(ca);
        })
        .await
    };
    assert_eq!(trusted.refresh(&["alice"]).await.updated, 1);
    // The system's store does not know this certificate.
    let untrusted = setup(move |d| d.url = url).await;
    let outcome = untrusted.refresh(&["alice"]).await;
    assert_eq!(outcome.updated, 0, "{outcome:?}");
    assert!(
        outcome.failures[0].reason.contains("certificate"),
        "{outcome:?}"
    );
}
