//! `audit` output; the line and JSON shapes against checked-in snapshots.

use roost_common::admin::{AuditAction, AuditActor};

use super::*;
use crate::output::tests::assert_snapshot;

/// One entry of each kind of actor, newest first, as roostd sends them.
fn sample_entries() -> Vec<AuditEntry> {
    let entry = |id: i64, actor: AuditActor, action: AuditAction| AuditEntry {
        id,
        at: 1_700_000_000 + id,
        actor,
        action,
        host: Some("example.com".into()),
        jid: None,
        subject: None,
        outcome: "ok".into(),
        detail: None,
    };
    let mut lockout = entry(
        6,
        AuditActor::Connection {
            address: "2001:db8::".parse().unwrap(),
        },
        AuditAction::LoginLockout,
    );
    lockout.jid = Some("alice@example.com".into());
    lockout.subject = Some("2001:db8::".into());
    lockout.detail = Some("scope=account".into());
    let mut redeem = entry(
        5,
        AuditActor::Web {
            address: "192.0.2.10".parse().unwrap(),
        },
        AuditAction::InviteRedeem,
    );
    redeem.jid = Some("bob@example.com".into());
    redeem.subject = Some("12".into());
    redeem.detail = Some("door=web".into());
    let mut remove = entry(
        4,
        AuditActor::Xmpp {
            jid: "carol@example.com".into(),
        },
        AuditAction::AccountDelete,
    );
    remove.jid = Some("carol@example.com".into());
    let mut by_key = entry(
        3,
        AuditActor::ApiKey {
            id: "k1a2b3".into(),
        },
        AuditAction::InviteCreate,
    );
    by_key.outcome = "unauthenticated".into();
    by_key.detail = Some("7 earlier not recorded (rate limit)".into());
    let mut key = entry(
        2,
        AuditActor::Admin { uid: 1000 },
        AuditAction::ApiKeyCreate,
    );
    key.subject = Some("k1a2b3".into());
    let mut refresh = entry(1, AuditActor::Server, AuditAction::RosterRefresh);
    refresh.host = None;
    vec![lockout, redeem, remove, by_key, key, refresh]
}

#[test]
fn lines_contract() {
    assert_snapshot("audit.tsv", &list(&sample_entries(), Style::Lines));
    assert_eq!(list(&[], Style::Lines), "");
}

#[test]
fn json_contract() {
    assert_snapshot("audit.json", &list(&sample_entries(), Style::Json));
    assert_eq!(list(&[], Style::Json), "[]\n");
}

#[test]
fn table_shows_every_entry() {
    let text = list(&sample_entries(), Style::Table);
    for expected in [
        "2023-11-14 22:13:26",
        "connection:2001:db8::",
        "login.lockout",
        "web:192.0.2.10",
        "xmpp:carol@example.com",
        "api_key:k1a2b3",
        "admin:1000",
        "unauthenticated",
        "server",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    assert_eq!(list(&[], Style::Table), "No audit log entries match.\n");
}
