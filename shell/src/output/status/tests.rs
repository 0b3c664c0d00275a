//! `status` output; the line and JSON shapes against checked-in snapshots.

use roost_common::admin::{HostSessions, ListenerInfo};

use super::*;
use crate::output::tests::assert_snapshot;

/// A roostd up for a day and a bit with two hosts, one of them idle, a
/// STARTTLS and a direct TLS listener.
pub(crate) fn sample_status() -> StatusInfo {
    StatusInfo {
        version: "0.1.0".into(),
        started_at: 1_700_000_000,
        uptime_secs: 93_784,
        hosts: vec![
            HostSessions {
                host: "example.com".into(),
                sessions: 3,
            },
            HostSessions {
                host: "chat.example.org".into(),
                sessions: 0,
            },
        ],
        memory_rss_bytes: Some(25_165_824),
        database_bytes: 1_572_864,
        listeners: ListenerInfo {
            c2s: vec!["0.0.0.0:5222".into(), "[::]:5222".into()],
            c2s_direct_tls: vec!["0.0.0.0:5223".into()],
            http: "127.0.0.1:5280".into(),
            admin_socket: "/var/lib/roost/roostd.sock".into(),
            metrics: vec!["127.0.0.1:5290".into()],
        },
    }
}

#[test]
fn lines_contract() {
    assert_snapshot("status.tsv", &show(&sample_status(), Style::Lines));
}

#[test]
fn json_contract() {
    assert_snapshot("status.json", &show(&sample_status(), Style::Json));
    let unknown = StatusInfo {
        memory_rss_bytes: None,
        ..sample_status()
    };
    let json: serde_json::Value = serde_json::from_str(&show(&unknown, Style::Json)).unwrap();
    assert_eq!(json["memory_rss_bytes"], serde_json::Value::Null);
    assert!(
        show(&unknown, Style::Lines).contains("\nmemory_rss_bytes\t\n"),
        "empty when unknown"
    );
}

#[test]
fn the_terminal_gets_sizes_and_durations_for_people() {
    let text = show(&sample_status(), Style::Table);
    for expected in [
        "version   0.1.0\n",
        "started   2023-11-14 22:13 UTC\n",
        "uptime    1d 2h\n",
        "sessions  3\n",
        "          example.com       3\n",
        "          chat.example.org  0\n",
        "memory    24.0 MiB\n",
        "database  1.5 MiB\n",
        "c2s       0.0.0.0:5222 (STARTTLS)\n",
        "          [::]:5222 (STARTTLS)\n",
        "          0.0.0.0:5223 (direct TLS)\n",
        "http      127.0.0.1:5280\n",
        "admin     /var/lib/roost/roostd.sock\n",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    let unknown = StatusInfo {
        memory_rss_bytes: None,
        ..sample_status()
    };
    assert!(show(&unknown, Style::Table).contains("memory    unknown\n"));
}

#[test]
fn durations_and_sizes() {
    assert_eq!(duration(0), "0s");
    assert_eq!(duration(42), "42s");
    assert_eq!(duration(723), "12m 3s");
    assert_eq!(duration(3600), "1h 0m");
    assert_eq!(duration(3 * 86_400 + 4 * 3600 + 5 * 60), "3d 4h");
    assert_eq!(size(512), "512 B");
    assert_eq!(size(1536), "1.5 KiB");
    assert_eq!(size(5 << 40), "5.0 TiB");
}
