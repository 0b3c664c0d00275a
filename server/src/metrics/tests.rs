//! The registry's names, types, units and labels, and that each count moves
//! only its own series.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use roost_common::config::Synchronous;

use super::*;
use crate::storage::{Db, DbThread};

fn setup() -> (tempfile::TempDir, Db, DbThread, Metrics) {
    let dir = tempfile::tempdir().unwrap();
    let (db, thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
    let metrics = Metrics::new(&db);
    (dir, db, thread, metrics)
}

fn sampled(db: &Db, unauthenticated: Arc<AtomicUsize>, bound: usize) -> Sampled {
    Sampled {
        db: db.clone(),
        unauthenticated: Box::new(move || unauthenticated.load(Ordering::Relaxed)),
        bound: Box::new(move || bound),
        hibernated: Box::new(|| 0),
    }
}

/// The samples of an exposition: `name{labels}` → value, checking the
/// lines' shape on the way (every sample's family has a `# TYPE`, the
/// text ends with `# EOF`).
fn samples(text: &str) -> BTreeMap<String, f64> {
    assert!(text.ends_with("# EOF\n"), "{text}");
    let mut typed = Vec::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            typed.push(rest.split(' ').next().unwrap().to_owned());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect(line);
        let name = series.split('{').next().unwrap();
        assert!(
            typed.iter().any(|family| name.starts_with(family.as_str())),
            "{name} has no # TYPE before it"
        );
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{name}"
        );
        samples.insert(series.to_owned(), value.parse().expect(line));
    }
    samples
}

#[test]
fn names_types_units_and_labels() {
    let (_dir, db, thread, metrics) = setup();
    let text = metrics.render(&sampled(&db, Arc::default(), 0));
    for line in [
        "# TYPE roost_c2s_sessions gauge",
        "# TYPE roost_logins counter",
        "# TYPE roost_stanzas counter",
        "# TYPE roost_offline_messages_stored counter",
        "# TYPE roost_archive_messages counter",
        "# TYPE roost_invites_created counter",
        "# TYPE roost_invites_redeemed counter",
        "# TYPE roost_storage_job_duration_seconds histogram",
        "# UNIT roost_storage_job_duration_seconds seconds",
        "# TYPE roost_database_size_bytes gauge",
        "# UNIT roost_database_size_bytes bytes",
        "# TYPE process_start_time_seconds gauge",
        "# TYPE process_resident_memory_bytes gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    // Families with labels from the traffic appear with their first series.
    assert!(!text.contains("roost_http_requests"), "{text}");
    assert!(!text.contains("roost_admin_commands"), "{text}");
    let samples = samples(&text);
    // Counters that exist from the start, at 0, so a rate is defined
    // before the first event.
    for series in [
        r#"roost_logins_total{mechanism="SCRAM-SHA-256-PLUS",outcome="success"}"#,
        r#"roost_logins_total{mechanism="PLAIN",outcome="refused"}"#,
        r#"roost_logins_total{mechanism="HT-SHA-256-NONE",outcome="failure"}"#,
        r#"roost_logins_total{mechanism="other",outcome="failure"}"#,
        r#"roost_stanzas_total{direction="in",kind="message"}"#,
        r#"roost_stanzas_total{direction="out",kind="iq"}"#,
        r#"roost_invites_created_total{door="xmpp_adhoc"}"#,
        r#"roost_invites_redeemed_total{door="web"}"#,
        "roost_offline_messages_stored_total",
        "roost_archive_messages_total",
        r#"roost_c2s_sessions{state="unauthenticated"}"#,
        r#"roost_c2s_sessions{state="bound"}"#,
    ] {
        assert_eq!(samples.get(series), Some(&0.0), "{series} in\n{text}");
    }
    assert!(samples[r#"roost_storage_job_duration_seconds_bucket{le="0.0001"}"#] == 0.0);
    assert!(samples.contains_key(r#"roost_storage_job_duration_seconds_bucket{le="10.0"}"#));
    assert!(samples["process_start_time_seconds"] > 1.7e9);
    assert!(samples["process_resident_memory_bytes"] > 0.0);
    assert!(samples["roost_database_size_bytes"] > 0.0);
    drop(db);
    thread.stop();
}

#[test]
fn counts_move_their_own_series_only() {
    let (_dir, db, thread, metrics) = setup();
    let unauthenticated = Arc::new(AtomicUsize::new(3));
    let sampled = sampled(&db, unauthenticated.clone(), 2);
    let before = samples(&metrics.render(&sampled));

    metrics.login("SCRAM-SHA-1", LoginOutcome::Success);
    metrics.login("SCRAM-SHA-1", LoginOutcome::Success);
    metrics.login(OTHER_MECHANISM, LoginOutcome::Failure);
    metrics.stanzas.received.count("message");
    metrics
        .stanzas
        .sent
        .count_serialised(b"<presence from='a@b/c'/>");
    metrics.stanzas.sent.count_serialised(b"<stream:error/>");
    metrics.offline_message_stored();
    metrics.archive_message();
    metrics.archive_message();
    metrics.invites.created(InviteCreatedBy::Api);
    metrics.invites.redeemed(InviteRedeemedBy::XmppSubscription);
    metrics.http_request("/invite/{token}", 404);
    metrics.http_request(UNMATCHED_ROUTE, 404);
    metrics.http_request(UNMATCHED_ROUTE, 404);
    metrics.admin_command("invite_create", "ok");
    unauthenticated.store(1, Ordering::Relaxed);

    let after = samples(&metrics.render(&sampled));
    let moved: BTreeMap<_, _> = after
        .iter()
        .filter(|(series, value)| before.get(*series) != Some(value))
        .filter(|(series, _)| !series.starts_with("process_") && !series.contains("database"))
        .map(|(series, value)| (series.as_str(), *value))
        .collect();
    let expected: BTreeMap<&str, f64> = [
        (
            r#"roost_logins_total{mechanism="SCRAM-SHA-1",outcome="success"}"#,
            2.0,
        ),
        (
            r#"roost_logins_total{mechanism="other",outcome="failure"}"#,
            1.0,
        ),
        (r#"roost_stanzas_total{direction="in",kind="message"}"#, 1.0),
        (
            r#"roost_stanzas_total{direction="out",kind="presence"}"#,
            1.0,
        ),
        (r#"roost_stanzas_total{direction="out",kind="other"}"#, 1.0),
        ("roost_offline_messages_stored_total", 1.0),
        ("roost_archive_messages_total", 2.0),
        (r#"roost_invites_created_total{door="api"}"#, 1.0),
        (
            r#"roost_invites_redeemed_total{door="xmpp_subscription"}"#,
            1.0,
        ),
        (
            r#"roost_http_requests_total{route="/invite/{token}",status="404"}"#,
            1.0,
        ),
        (
            r#"roost_http_requests_total{route="unmatched",status="404"}"#,
            2.0,
        ),
        (
            r#"roost_admin_commands_total{command="invite_create",outcome="ok"}"#,
            1.0,
        ),
        (r#"roost_c2s_sessions{state="unauthenticated"}"#, 1.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(moved, expected);
    assert_eq!(
        before[r#"roost_c2s_sessions{state="unauthenticated"}"#],
        3.0
    );
    assert_eq!(after[r#"roost_c2s_sessions{state="bound"}"#], 2.0);
    drop(db);
    thread.stop();
}

#[tokio::test]
async fn storage_jobs_are_timed() {
    let (_dir, db, thread, metrics) = setup();
    let sampled = sampled(&db, Arc::default(), 0);
    for _ in 0..3 {
        db.call(|conn| -> Result<i64, crate::storage::StorageError> {
            Ok(conn.query_row("SELECT 1", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    }
    let samples = samples(&metrics.render(&sampled));
    assert_eq!(samples["roost_storage_job_duration_seconds_count"], 3.0);
    assert_eq!(
        samples[r#"roost_storage_job_duration_seconds_bucket{le="+Inf"}"#],
        3.0
    );
    assert!(samples["roost_storage_job_duration_seconds_sum"] > 0.0);
    drop(db);
    thread.stop();
}
