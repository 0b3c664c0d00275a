use std::sync::Arc;
use std::time::Duration;

use jid::BareJid;
use roost_common::config::{ArchivePolicy, Config, Synchronous};
use roost_common::jid::DomainName;
use rusqlite::params;

use super::*;
use crate::services::audit::TEST_ADMIN;
use crate::services::events::Events;
use crate::storage::DbThread;

struct Fixture {
    _dir: tempfile::TempDir,
    _thread: DbThread,
    db: Db,
    archive: Archive,
    alice: BareJid,
    bob: BareJid,
    carol: BareJid,
}

async fn fixture(configure: impl FnOnce(&mut Config)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
    db.call(|c| -> Result<(), ServiceError> {
        c.execute_batch(
            "INSERT INTO accounts (host, username, created_at)
             VALUES ('x.test', 'alice', 0), ('x.test', 'bob', 0), ('x.test', 'carol', 0);",
        )?;
        Ok(())
    })
    .await
    .unwrap();
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        hosts: vec![DomainName::parse("x.test").unwrap()],
        ..Config::default()
    };
    configure(&mut config);
    let config = Arc::new(config);
    let hosts = Hosts(config.clone());
    let audit = Audit::new(db.clone(), hosts.clone());
    let archive = Archive::new(db.clone(), config, hosts, audit, &Events::default());
    Fixture {
        _dir: dir,
        _thread: thread,
        db,
        archive,
        alice: BareJid::new("alice@x.test").unwrap(),
        bob: BareJid::new("bob@x.test").unwrap(),
        carol: BareJid::new("carol@x.test").unwrap(),
    }
}

/// A message for `owner` whose body is `name`, with an id made for it.
async fn message(
    archive: &Archive,
    owner: &BareJid,
    with: &BareJid,
    name: &str,
    stamp_ms: i64,
) -> NewMessage {
    NewMessage {
        owner: owner.clone(),
        with: with.clone(),
        id: archive.reserve(stamp_ms).await.unwrap().id(),
        stanza: format!("<message xmlns='jabber:client'><body>{name}</body></message>").into(),
    }
}

/// `n` messages for alice, `m0`..: even ones with bob, odd ones with carol,
/// one millisecond apart from `t0`.
async fn fill(f: &Fixture, n: usize) {
    for i in 0..n {
        let with = if i % 2 == 0 { &f.bob } else { &f.carol };
        let m = message(&f.archive, &f.alice, with, &format!("m{i}"), T0 + i as i64).await;
        f.archive.append(m).await;
    }
}

const T0: i64 = 1_700_000_000_000;

/// The names (bodies) of a page's messages.
fn ids(page: &Page) -> Vec<String> {
    page.items
        .iter()
        .map(|i| {
            let body = i.stanza.split_once("<body>").map_or("", |(_, rest)| rest);
            body.split_once("</body>")
                .map_or("", |(name, _)| name)
                .to_owned()
        })
        .collect()
}

/// The stanza id of `owner`'s message named `name`.
async fn id_named(f: &Fixture, owner: &BareJid, name: &str) -> String {
    let page = f
        .archive
        .query(owner, query(MAX_PAGE), PAGE_BYTES)
        .await
        .unwrap();
    let at = ids(&page).iter().position(|n| n == name).unwrap();
    page.items[at].stanza_id.clone()
}

fn names(range: impl Iterator<Item = usize>) -> Vec<String> {
    range.map(|i| format!("m{i}")).collect()
}

fn query(max: usize) -> Query {
    Query {
        max,
        ..Query::default()
    }
}

#[tokio::test]
async fn paging_forwards_and_backwards_covers_everything_once() {
    let f = fixture(|_| {}).await;
    fill(&f, 23).await;
    let mut forwards = Vec::new();
    let mut after = None;
    loop {
        let page = f
            .archive
            .query(
                &f.alice,
                Query {
                    after: after.clone(),
                    ..query(5)
                },
                PAGE_BYTES,
            )
            .await
            .unwrap();
        assert_eq!(page.count, Some(23));
        forwards.extend(ids(&page));
        after = page.items.last().map(|i| i.stanza_id.clone());
        if page.complete {
            break;
        }
    }
    assert_eq!(forwards, names(0..23));

    let mut backwards = Vec::new();
    let mut before = Before::Last;
    loop {
        let page = f
            .archive
            .query(
                &f.alice,
                Query {
                    before: Some(before.clone()),
                    ..query(5)
                },
                PAGE_BYTES,
            )
            .await
            .unwrap();
        // Each page is in time order; pages come newest first.
        let mut page_ids = ids(&page);
        page_ids.extend(backwards);
        backwards = page_ids;
        if page.complete {
            break;
        }
        before = Before::Id(page.items[0].stanza_id.clone());
    }
    assert_eq!(backwards, names(0..23));
    let last = f
        .archive
        .query(
            &f.alice,
            Query {
                before: Some(Before::Last),
                ..query(3)
            },
            PAGE_BYTES,
        )
        .await
        .unwrap();
    assert_eq!(ids(&last), names(20..23));
    assert!(!last.complete);
}

#[tokio::test]
async fn filters_by_contact_time_and_ids() {
    let f = fixture(|_| {}).await;
    fill(&f, 20).await;
    let with_bob = f
        .archive
        .query(
            &f.alice,
            Query {
                with: Some("bob@x.test".into()),
                ..query(50)
            },
            PAGE_BYTES,
        )
        .await
        .unwrap();
    assert_eq!(ids(&with_bob), names((0..20).step_by(2)));
    assert_eq!(with_bob.count, None, "counted only without filters");
    assert!(with_bob.complete);

    let range = f
        .archive
        .query(
            &f.alice,
            Query {
                start_ms: Some(T0 + 5),
                end_ms: Some(T0 + 9),
                ..query(50)
            },
            PAGE_BYTES,
        )
        .await
        .unwrap();
    assert_eq!(ids(&range), names(5..10));

    let between = f
        .archive
        .query(
            &f.alice,
            Query {
                after_id: Some(id_named(&f, &f.alice, "m3").await),
                before_id: Some(id_named(&f, &f.alice, "m7").await),
                ..query(50)
            },
            PAGE_BYTES,
        )
        .await
        .unwrap();
    assert_eq!(ids(&between), names(4..7));

    let chosen = f
        .archive
        .query(
            &f.alice,
            Query {
                ids: vec![
                    id_named(&f, &f.alice, "m12").await,
                    id_named(&f, &f.alice, "m2").await,
                    "nothing".into(),
                ],
                ..query(50)
            },
            PAGE_BYTES,
        )
        .await
        .unwrap();
    assert_eq!(ids(&chosen), vec!["m2".to_owned(), "m12".to_owned()]);

    let future = f
        .archive
        .query(
            &f.alice,
            Query {
                start_ms: Some(T0 + 1000),
                ..query(50)
            },
            PAGE_BYTES,
        )
        .await
        .unwrap();
    assert!(future.items.is_empty() && future.complete);
}

#[tokio::test]
async fn an_unknown_or_foreign_id_is_not_found() {
    let f = fixture(|_| {}).await;
    fill(&f, 3).await;
    let bobs = message(&f.archive, &f.bob, &f.alice, "bobs", T0).await;
    f.archive.append(bobs).await;
    let bobs = id_named(&f, &f.bob, "bobs").await;
    // An id of the current form that was never made, too.
    let unmade = ArchiveId::from_row(ArchiveId::parse(&bobs).unwrap().row() + 1).to_string();
    for q in [
        Query {
            after: Some("nope".into()),
            ..query(5)
        },
        Query {
            before: Some(Before::Id(bobs.clone())),
            ..query(5)
        },
        Query {
            after: Some(unmade),
            ..query(5)
        },
        Query {
            after_id: Some("nope".into()),
            ..query(5)
        },
    ] {
        let error = f
            .archive
            .query(&f.alice, q.clone(), PAGE_BYTES)
            .await
            .unwrap_err();
        assert!(matches!(error, ServiceError::NotFound(_)), "{q:?}: {error}");
    }
}

#[tokio::test]
async fn archives_are_per_owner_and_max_zero_only_counts() {
    let f = fixture(|_| {}).await;
    fill(&f, 4).await;
    let b0 = message(&f.archive, &f.bob, &f.alice, "b0", T0).await;
    f.archive.append(b0).await;
    let bobs = f
        .archive
        .query(&f.bob, query(50), PAGE_BYTES)
        .await
        .unwrap();
    assert_eq!(ids(&bobs), vec!["b0".to_owned()]);
    let count = f
        .archive
        .query(&f.alice, query(0), PAGE_BYTES)
        .await
        .unwrap();
    assert!(count.items.is_empty());
    assert_eq!(count.count, Some(4));
    // A row for an account that does not exist is dropped by the writer.
    let nobody = BareJid::new("nobody@x.test").unwrap();
    let n0 = message(&f.archive, &nobody, &f.alice, "n0", T0).await;
    f.archive.append(n0).await;
    f.archive.flush().await;
    let rows: i64 =
        f.db.call(|c| -> Result<i64, ServiceError> {
            Ok(c.query_row("SELECT count(*) FROM archive", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    assert_eq!(rows, 5);
}

#[tokio::test]
async fn an_account_past_its_bounds_loses_its_oldest_messages() {
    let f = fixture(|c| {
        c.archive.max_messages_per_account = 10;
    })
    .await;
    fill(&f, 25).await;
    let page = f
        .archive
        .query(&f.alice, query(50), PAGE_BYTES)
        .await
        .unwrap();
    assert_eq!(ids(&page), names(15..25));
    assert_eq!(page.count, Some(10));
    let size = f.archive.size(&f.alice).await.unwrap();
    assert_eq!(size.messages, 10);
    assert_eq!(size.oldest_ms, Some(T0 + 15));
    assert_eq!(size.newest_ms, Some(T0 + 24));

    let one = message(&f.archive, &f.alice, &f.bob, "m0", 0)
        .await
        .stanza
        .len() as u64;
    let f = fixture(|c| {
        c.archive.max_bytes_per_account = 3 * one + 1;
    })
    .await;
    fill(&f, 8).await;
    let page = f
        .archive
        .query(&f.alice, query(50), PAGE_BYTES)
        .await
        .unwrap();
    assert_eq!(ids(&page), names(5..8));
    assert_eq!(f.archive.size(&f.alice).await.unwrap().bytes, 3 * one);
}

#[tokio::test]
async fn a_page_stops_at_its_byte_budget() {
    let f = fixture(|_| {}).await;
    let big = "x".repeat(PAGE_BYTES / 3 + 1);
    for i in 0..5 {
        let mut m = message(&f.archive, &f.alice, &f.bob, &format!("m{i}"), T0 + i).await;
        let name = format!("m{i}");
        m.stanza =
            format!("<message xmlns='jabber:client'><body>{name}</body>{big}</message>").into();
        f.archive.append(m).await;
    }
    let page = f
        .archive
        .query(&f.alice, query(50), PAGE_BYTES)
        .await
        .unwrap();
    assert_eq!(ids(&page), names(0..3), "the third passes the budget");
    assert!(!page.complete);
}

#[tokio::test]
async fn a_smaller_budget_from_the_caller_still_gives_one_message() {
    let f = fixture(|_| {}).await;
    fill(&f, 3).await;
    let page = f.archive.query(&f.alice, query(50), 10).await.unwrap();
    assert_eq!(ids(&page), names(0..1));
    assert!(!page.complete);
}

#[tokio::test]
async fn stamps_never_go_back_in_write_order() {
    let f = fixture(|_| {}).await;
    let late = message(&f.archive, &f.alice, &f.bob, "late", T0 + 10).await;
    f.archive.append(late).await;
    let early = message(&f.archive, &f.alice, &f.bob, "early", T0).await;
    f.archive.append(early).await;
    let page = f
        .archive
        .query(&f.alice, query(50), PAGE_BYTES)
        .await
        .unwrap();
    let stamps: Vec<i64> = page.items.iter().map(|i| i.stamp_ms).collect();
    assert_eq!(stamps, vec![T0 + 10, T0 + 10]);
}

#[tokio::test]
async fn purge_and_expiry_delete_and_keep_the_totals() {
    let f = fixture(|_| {}).await;
    let now = crate::services::now_ms();
    let day = 24 * 3600 * 1000;
    for (i, age_days) in [400i64, 10, 3, 0].into_iter().enumerate() {
        let at = now - age_days * day;
        let mine = message(&f.archive, &f.alice, &f.bob, &format!("m{i}"), at).await;
        f.archive.append(mine).await;
        let bobs = message(&f.archive, &f.bob, &f.alice, &format!("b{i}"), at).await;
        f.archive.append(bobs).await;
    }
    // The default retention is 365 days.
    f.archive.flush().await;
    assert_eq!(f.archive.expire().await.unwrap(), 2);
    let purged = f
        .archive
        .purge(
            &TEST_ADMIN,
            &f.alice,
            Some(Duration::from_secs(5 * 24 * 3600)),
        )
        .await
        .unwrap();
    assert_eq!(purged.removed, 1);
    let size = f.archive.size(&f.alice).await.unwrap();
    assert_eq!(size.messages, 2);
    assert_eq!(
        ids(&f
            .archive
            .query(&f.alice, query(9), PAGE_BYTES)
            .await
            .unwrap()),
        names(2..4)
    );
    let all = f.archive.purge(&TEST_ADMIN, &f.alice, None).await.unwrap();
    assert_eq!(all.removed, 2);
    assert_eq!(f.archive.size(&f.alice).await.unwrap().messages, 0);
    assert_eq!(
        f.archive.size(&f.bob).await.unwrap().messages,
        3,
        "bob's stay"
    );
    let audited: Vec<String> =
        f.db.call(|c| -> Result<Vec<String>, ServiceError> {
            let mut st = c.prepare(
                "SELECT detail FROM audit_log WHERE action = 'archive.purge' ORDER BY id",
            )?;
            Ok(st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    assert_eq!(
        audited,
        vec![
            "1 removed, older than 432000s".to_owned(),
            "2 removed, all".to_owned()
        ]
    );
}

#[tokio::test]
async fn a_host_with_a_shorter_retention_expires_sooner() {
    let f = fixture(|c| {
        c.hosts.push(DomainName::parse("y.test").unwrap());
        c.archive.hosts.insert(
            DomainName::parse("y.test").unwrap(),
            roost_common::config::ArchiveHostConfig {
                retention: Duration::from_secs(24 * 3600),
            },
        );
    })
    .await;
    f.db.call(|c| -> Result<(), ServiceError> {
        c.execute(
            "INSERT INTO accounts (host, username, created_at) VALUES ('y.test', 'yann', 0)",
            [],
        )?;
        Ok(())
    })
    .await
    .unwrap();
    let yann = BareJid::new("yann@y.test").unwrap();
    let two_days_ago = crate::services::now_ms() - 2 * 24 * 3600 * 1000;
    let y0 = message(&f.archive, &yann, &f.alice, "y0", two_days_ago).await;
    f.archive.append(y0).await;
    let a0 = message(&f.archive, &f.alice, &yann, "a0", two_days_ago).await;
    f.archive.append(a0).await;
    f.archive.flush().await;
    assert_eq!(f.archive.expire().await.unwrap(), 1);
    assert_eq!(f.archive.size(&yann).await.unwrap().messages, 0);
    assert_eq!(f.archive.size(&f.alice).await.unwrap().messages, 1);
}

#[tokio::test]
async fn preferences_decide_and_survive_a_restart_of_the_cache() {
    let f = fixture(|_| {}).await;
    assert!(
        f.archive.wants(&f.alice, &f.bob).await.unwrap(),
        "default always"
    );
    f.archive
        .set_prefs(
            &f.alice,
            Prefs {
                default: ArchivePolicy::Roster,
                always: vec![f.carol.clone()],
                never: vec![],
            },
        )
        .await
        .unwrap();
    assert!(
        !f.archive.wants(&f.alice, &f.bob).await.unwrap(),
        "not in the roster"
    );
    assert!(f.archive.wants(&f.alice, &f.carol).await.unwrap(), "always");
    f.db.call(|c| -> Result<(), ServiceError> {
        c.execute(
            "INSERT INTO roster_items (host, username, contact) VALUES ('x.test', 'alice', ?1)",
            params!["bob@x.test"],
        )?;
        Ok(())
    })
    .await
    .unwrap();
    assert!(
        f.archive.wants(&f.alice, &f.bob).await.unwrap(),
        "in the roster"
    );
    // A fresh service reads the stored preferences.
    let config = Arc::new(Config {
        hosts: vec![DomainName::parse("x.test").unwrap()],
        ..Config::default()
    });
    let hosts = Hosts(config.clone());
    let fresh = Archive::new(
        f.db.clone(),
        config,
        hosts.clone(),
        Audit::new(f.db.clone(), hosts),
        &Events::default(),
    );
    let prefs = fresh.prefs(&f.alice).await.unwrap();
    assert_eq!(prefs.default, ArchivePolicy::Roster);
    assert_eq!(prefs.always, vec![f.carol.clone()]);
    assert_eq!(
        fresh.prefs(&f.bob).await.unwrap().default,
        ArchivePolicy::Always
    );
    let too_many = Prefs {
        default: ArchivePolicy::Always,
        always: (0..=MAX_PREFS_JIDS)
            .map(|i| BareJid::new(&format!("u{i}@x.test")).unwrap())
            .collect(),
        never: vec![],
    };
    assert!(matches!(
        f.archive.set_prefs(&f.alice, too_many).await,
        Err(ServiceError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_deleted_account_loses_its_preferences_and_its_archive() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
    let add_alice = |db: Db| async move {
        db.call(|c| -> Result<(), ServiceError> {
            c.execute(
                "INSERT INTO accounts (host, username, created_at) VALUES ('x.test', 'alice', 0)",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    };
    add_alice(db.clone()).await;
    let config = Arc::new(Config {
        hosts: vec![DomainName::parse("x.test").unwrap()],
        ..Config::default()
    });
    let hosts = Hosts(config.clone());
    let events = Events::default();
    let archive = Archive::new(
        db.clone(),
        config,
        hosts.clone(),
        Audit::new(db.clone(), hosts),
        &events,
    );
    let alice = BareJid::new("alice@x.test").unwrap();
    let never = Prefs {
        default: ArchivePolicy::Never,
        always: vec![],
        never: vec![],
    };
    archive.set_prefs(&alice, never).await.unwrap();
    let a0 = message(&archive, &alice, &alice, "a0", T0).await;
    archive.append(a0).await;
    archive.flush().await;
    db.call(|c| -> Result<(), ServiceError> {
        c.execute("DELETE FROM accounts WHERE username = 'alice'", [])?;
        Ok(())
    })
    .await
    .unwrap();
    events.emit(AccountEvent::Deleted(alice.clone()));
    add_alice(db.clone()).await;
    // The event is followed by a task of its own: give it its turn.
    let mut turns = 0;
    while archive.prefs(&alice).await.unwrap().default != ArchivePolicy::Always {
        turns += 1;
        assert!(turns < 10_000, "the deletion was never followed");
        tokio::task::yield_now().await;
    }
    let size = archive.size(&alice).await.unwrap();
    assert_eq!((size.messages, size.oldest_ms), (0, None));
    assert!(
        archive
            .query(&alice, query(5), PAGE_BYTES)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn never_wins_over_always() {
    let jid = BareJid::new("a@x.test").unwrap();
    let prefs = Prefs {
        default: ArchivePolicy::Always,
        always: vec![jid.clone()],
        never: vec![jid.clone()],
    };
    assert_eq!(prefs.decide(&jid), Some(false));
}

#[tokio::test]
async fn a_page_costs_the_same_deep_into_a_large_archive() {
    let f = fixture(|_| {}).await;
    // Written straight to the table: 20,000 rows in one job.
    f.db.call(|c| -> Result<(), ServiceError> {
        c.execute(
            "INSERT INTO archive_owners (owner, host, username) VALUES (7, 'x.test', 'alice')",
            [],
        )?;
        let mut st = c.prepare(
            "INSERT INTO archive (owner, stanza_id, with_jid, stamp, bytes, stanza)
             VALUES (7, ?1, 'bob@x.test', ?2, 1, 'x')",
        )?;
        for i in 0..20_000i64 {
            st.execute(params![format!("m{i}"), T0 + i])?;
        }
        Ok(())
    })
    .await
    .unwrap();
    // Every query walks an index (ordered by row id after its columns)
    // between two row ids, or looks rows up by id: no plan scans or sorts.
    let plans: Vec<String> =
        f.db.call(|c| -> Result<Vec<String>, ServiceError> {
            let mut plans = Vec::new();
            for (index, filter) in [
                (" INDEXED BY archive_by_owner", ""),
                (
                    " INDEXED BY archive_by_with",
                    " AND with_jid = 'bob@x.test'",
                ),
                (" NOT INDEXED", " AND id IN (12, 13)"),
                (
                    " NOT INDEXED",
                    " AND with_jid = 'bob@x.test' AND id IN (12, 13, 14, 15)",
                ),
            ] {
                let sql = format!(
                    "EXPLAIN QUERY PLAN SELECT stanza_id FROM archive{index}
                     WHERE owner = 7 AND id > 10 AND id < 90000{filter}
                     ORDER BY id DESC LIMIT 51"
                );
                let mut st = c.prepare(&sql)?;
                let detail: Vec<String> = st
                    .query_map([], |r| r.get::<_, String>(3))?
                    .collect::<Result<_, _>>()?;
                plans.push(detail.join("; "));
            }
            Ok(plans)
        })
        .await
        .unwrap();
    assert!(plans[0].contains("rowid>? AND rowid<?"), "{}", plans[0]);
    for plan in &plans[2..] {
        assert!(
            plan.contains("USING INTEGER PRIMARY KEY (rowid=?)"),
            "{plan}"
        );
    }
    for plan in &plans {
        assert!(plan.contains("USING"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
    }
    // Rows written before ids were made from time keep their string ids.
    let deep = f
        .archive
        .query(
            &f.alice,
            Query {
                after: Some("m19900".into()),
                ..query(50)
            },
            PAGE_BYTES,
        )
        .await
        .unwrap();
    let stanza_ids =
        |page: &Page| -> Vec<String> { page.items.iter().map(|i| i.stanza_id.clone()).collect() };
    assert_eq!(stanza_ids(&deep), names(19901..19951));
    // A message archived now follows them.
    let now = message(&f.archive, &f.alice, &f.bob, "now", T0 + 30_000).await;
    f.archive.append(now).await;
    let last = f
        .archive
        .query(
            &f.alice,
            Query {
                after: Some("m19998".into()),
                ..query(50)
            },
            PAGE_BYTES,
        )
        .await
        .unwrap();
    assert_eq!(last.items.len(), 2);
    assert_eq!(stanza_ids(&last)[0], "m19999");
    assert_eq!(ids(&last)[1], "now");
    assert_eq!(
        ArchiveId::parse(&stanza_ids(&last)[1]).map(ArchiveId::stamp_ms),
        Some(T0 + 30_000)
    );
}

/// Times become ids by a binary search over ids: it finds the first row
/// stamped late enough, with rows missing in between and stamps repeated.
#[tokio::test]
async fn a_time_is_found_among_ids_with_gaps_and_repeated_stamps() {
    let f = fixture(|_| {}).await;
    let wrong =
        f.db.call(|c| -> Result<Vec<String>, ServiceError> {
            c.execute(
                "INSERT INTO archive_owners (owner, host, username) VALUES (1, 'x.test', 'alice')",
                [],
            )?;
            let mut st = c.prepare(
                "INSERT INTO archive (id, owner, stanza_id, with_jid, stamp, bytes, stanza)
                 VALUES (?1, 1, ?1, 'bob@x.test', ?2, 1, 'x')",
            )?;
            // Ids 10, 13, 16, ... with stamps in pairs: 100, 100, 101, 101, ...
            let rows: Vec<(i64, i64)> = (0..200).map(|i| (10 + 3 * i, 100 + i / 2)).collect();
            for (id, stamp) in &rows {
                st.execute(params![id, stamp])?;
            }
            let mut wrong = Vec::new();
            for target in 90..210 {
                let expected = rows.iter().find(|(_, s)| *s >= target).map(|(id, _)| *id);
                let found = store::first_id_from(c, target)?;
                if found != expected {
                    wrong.push(format!("stamp {target}: {found:?}, not {expected:?}"));
                }
            }
            Ok(wrong)
        })
        .await
        .unwrap();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// After an upgrade, new ids follow the rows written before ids were made
/// from the time, in time too, even with the clock gone back.
#[tokio::test]
async fn new_ids_follow_rows_of_the_earlier_kind() {
    let f = fixture(|_| {}).await;
    f.db.call(|c| -> Result<(), ServiceError> {
        c.execute_batch(
            "INSERT INTO archive_owners (owner, host, username) VALUES (1, 'x.test', 'alice');
             INSERT INTO archive (id, owner, stanza_id, with_jid, stamp, bytes, stanza)
             VALUES (41, 1, 'earlier-kind-id1', 'bob@x.test', 1700000005000, 1, 'x');",
        )?;
        Ok(())
    })
    .await
    .unwrap();
    let now = message(&f.archive, &f.alice, &f.bob, "now", T0).await;
    assert_eq!(now.id.stamp_ms(), T0 + 5000, "not before the newest row");
    f.archive.append(now).await;
    let page = f
        .archive
        .query(&f.alice, query(50), PAGE_BYTES)
        .await
        .unwrap();
    assert_eq!(page.items[0].stanza_id, "earlier-kind-id1");
    assert_eq!(ids(&page)[1], "now");
    let stamps: Vec<i64> = page.items.iter().map(|i| i.stamp_ms).collect();
    assert_eq!(stamps, [T0 + 5000, T0 + 5000]);
}

/// A query waits for a message whose id was made (at routing) but which is
/// not queued yet (still being delivered), and then finds it.
#[tokio::test]
async fn a_query_waits_for_a_message_on_its_way_and_finds_it() {
    let f = fixture(|_| {}).await;
    fill(&f, 2).await;
    let reservation = f.archive.reserve(T0 + 10).await.unwrap();
    let on_its_way = NewMessage {
        owner: f.alice.clone(),
        with: f.bob.clone(),
        id: reservation.id(),
        stanza: "<message xmlns='jabber:client'><body>late</body></message>".into(),
    };
    let archive = f.archive.clone();
    let alice = f.alice.clone();
    let reader =
        tokio::spawn(async move { archive.query(&alice, query(50), PAGE_BYTES).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!reader.is_finished(), "it waits for the id in flight");
    f.archive.append(on_its_way).await;
    drop(reservation);
    let page = tokio::time::timeout(Duration::from_secs(2), reader)
        .await
        .expect("answered once the message is queued")
        .unwrap();
    assert_eq!(ids(&page), ["m0", "m1", "late"]);
}
