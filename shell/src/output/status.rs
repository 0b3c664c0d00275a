//! How `status` is shown. Contracts, frozen by the `status*` files under
//! `shell/tests/snapshots/`:
//!
//! - when stdout is not a terminal, `FIELD<TAB>VALUE` lines: `version`,
//!   `started_at` (Unix seconds), `uptime_secs`, one `host<TAB>HOST<TAB>SESSIONS`
//!   line per host, `memory_rss_bytes` (empty when unknown),
//!   `database_bytes`, one `c2s<TAB>ADDRESS` and `c2s_direct_tls<TAB>ADDRESS`
//!   line per listener, `http<TAB>ADDRESS`, `admin_socket<TAB>PATH`, one
//!   `metrics<TAB>ADDRESS` line per metrics listener. New fields are only
//!   ever appended.
//! - with `--json` `{"version", "started_at", "uptime_secs", "hosts":
//!   [{"host", "sessions"}], "memory_rss_bytes", "database_bytes",
//!   "listeners": {"c2s", "c2s_direct_tls", "http", "admin_socket", "metrics"}}`.
//!
//! On a terminal, one field per line with sizes and durations for people.

use roost_common::admin::StatusInfo;
use roost_common::time::utc_minutes;
use serde::Serialize;

use super::{Style, json, printable};

/// `status` as `--json` shows it, apart from the wire type so that the
/// protocol can grow without changing this contract. The field order is
/// part of the contract.
#[derive(Serialize)]
struct StatusJson<'a> {
    version: &'a str,
    started_at: i64,
    uptime_secs: u64,
    hosts: Vec<HostJson<'a>>,
    memory_rss_bytes: Option<u64>,
    database_bytes: u64,
    listeners: ListenersJson<'a>,
}

#[derive(Serialize)]
struct HostJson<'a> {
    host: &'a str,
    sessions: u64,
}

#[derive(Serialize)]
struct ListenersJson<'a> {
    c2s: &'a [String],
    c2s_direct_tls: &'a [String],
    http: &'a str,
    admin_socket: &'a str,
    metrics: &'a [String],
}

pub fn show(status: &StatusInfo, style: Style) -> String {
    match style {
        Style::Json => json(&StatusJson {
            version: &status.version,
            started_at: status.started_at,
            uptime_secs: status.uptime_secs,
            hosts: status
                .hosts
                .iter()
                .map(|h| HostJson {
                    host: &h.host,
                    sessions: h.sessions,
                })
                .collect(),
            memory_rss_bytes: status.memory_rss_bytes,
            database_bytes: status.database_bytes,
            listeners: ListenersJson {
                c2s: &status.listeners.c2s,
                c2s_direct_tls: &status.listeners.c2s_direct_tls,
                http: &status.listeners.http,
                admin_socket: &status.listeners.admin_socket,
                metrics: &status.listeners.metrics,
            },
        }),
        Style::Lines => lines(status),
        Style::Table => fields(status),
    }
}

fn lines(status: &StatusInfo) -> String {
    let mut text = format!(
        "version\t{}\nstarted_at\t{}\nuptime_secs\t{}\n",
        printable(&status.version),
        status.started_at,
        status.uptime_secs
    );
    for host in &status.hosts {
        text.push_str(&format!(
            "host\t{}\t{}\n",
            printable(&host.host),
            host.sessions
        ));
    }
    text.push_str(&format!(
        "memory_rss_bytes\t{}\ndatabase_bytes\t{}\n",
        status
            .memory_rss_bytes
            .map_or_else(String::new, |b| b.to_string()),
        status.database_bytes
    ));
    let listeners = &status.listeners;
    for address in &listeners.c2s {
        text.push_str(&format!("c2s\t{}\n", printable(address)));
    }
    for address in &listeners.c2s_direct_tls {
        text.push_str(&format!("c2s_direct_tls\t{}\n", printable(address)));
    }
    text.push_str(&format!(
        "http\t{}\nadmin_socket\t{}\n",
        printable(&listeners.http),
        printable(&listeners.admin_socket)
    ));
    for address in &listeners.metrics {
        text.push_str(&format!("metrics\t{}\n", printable(address)));
    }
    text
}

fn fields(status: &StatusInfo) -> String {
    let mut fields = vec![
        ("version", printable(&status.version).into_owned()),
        ("started", utc_minutes(status.started_at)),
        ("uptime", duration(status.uptime_secs)),
    ];
    let total: u64 = status.hosts.iter().map(|h| h.sessions).sum();
    fields.push(("sessions", total.to_string()));
    let width = status
        .hosts
        .iter()
        .map(|h| printable(&h.host).chars().count())
        .max()
        .unwrap_or(0);
    for host in &status.hosts {
        fields.push((
            "",
            format!("{:<width$}  {}", printable(&host.host), host.sessions),
        ));
    }
    fields.push((
        "memory",
        status
            .memory_rss_bytes
            .map_or_else(|| "unknown".into(), size),
    ));
    fields.push(("database", size(status.database_bytes)));
    let listeners = &status.listeners;
    let c2s = listeners
        .c2s
        .iter()
        .map(|a| format!("{} (STARTTLS)", printable(a)))
        .chain(
            listeners
                .c2s_direct_tls
                .iter()
                .map(|a| format!("{} (direct TLS)", printable(a))),
        );
    let mut label = "c2s";
    for listener in c2s {
        fields.push((label, listener));
        label = "";
    }
    fields.push(("http", printable(&listeners.http).into_owned()));
    fields.push(("admin", printable(&listeners.admin_socket).into_owned()));
    let mut label = "metrics";
    for address in &listeners.metrics {
        fields.push((label, printable(address).into_owned()));
        label = "";
    }
    fields
        .into_iter()
        .map(|(label, value)| format!("{label:<9} {value}\n"))
        .collect()
}

/// `3d 4h`, `12m 3s`, `42s`: the two largest units.
pub(super) fn duration(secs: u64) -> String {
    let units = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    let Some(first) = units.iter().position(|(unit, _)| secs >= *unit) else {
        return "0s".into();
    };
    units[first..]
        .iter()
        .take(2)
        .scan(secs, |left, (unit, name)| {
            let count = *left / unit;
            *left %= unit;
            Some(format!("{count}{name}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bytes in binary units with one decimal: `512 B`, `1.5 KiB`, `12.0 MiB`.
pub(super) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
pub(crate) mod tests;
