//! Reloading while running (SIGHUP, `roostctl reload`): the configuration
//! file and the TLS certificate and key are read again and what can change
//! live is applied, keeping every session.
//!
//! A reload is all or nothing: a file that does not parse or a certificate
//! that does not load changes nothing, and the error says why. Live are
//! `log_level`, `[tls]` (the certificate and key, read again even when
//! their paths did not change, which is how a renewed certificate is
//! picked up), `[limits]` and `[invite_page]`; every other option is read
//! at start, and a difference is reported as needing a restart.

use std::path::PathBuf;
use std::sync::Arc;

use roost_common::admin::ReloadReport;
use roost_common::config::{Config, LogLevel};

use crate::logging::LogControl;
use crate::services::audit::{Actor, Audit, AuditAction, Entry};
use crate::tls::{CertReload, CertStore};

/// Does reloads, one at a time.
pub struct Reloader {
    /// `None`: roostd runs on the built-in defaults, which a reload reads
    /// again (the generated certificate may have been replaced).
    config_file: Option<PathBuf>,
    running: Arc<Config>,
    certs: Arc<CertStore>,
    log: LogControl,
    audit: Audit,
    /// Held through a reload, so there is one at a time; the log level
    /// applied last (the running `Config` keeps the one from the start).
    one_at_a_time: tokio::sync::Mutex<LogLevel>,
}

impl Reloader {
    pub fn new(
        config_file: Option<PathBuf>,
        running: Arc<Config>,
        certs: Arc<CertStore>,
        log: LogControl,
        audit: Audit,
    ) -> Reloader {
        Reloader {
            one_at_a_time: tokio::sync::Mutex::new(running.log_level),
            config_file,
            running,
            certs,
            log,
            audit,
        }
    }

    /// Reloads as `actor` asked (the server itself for SIGHUP); on `Err`
    /// nothing changed. Logs what it did either way, and records it in the
    /// audit log: what changed, or only that it was refused (a config
    /// error may quote the file, which may hold a roster service's secret).
    pub async fn reload(&self, actor: &Actor) -> anyhow::Result<ReloadReport> {
        let reloaded = self.reload_unrecorded().await;
        let entry = Entry::new(actor, AuditAction::ServerReload);
        let entry = match &reloaded {
            Ok(report) if report.changed.is_empty() => entry.detail("nothing changed"),
            Ok(report) => entry.detail(report.changed.join("; ")),
            Err(_) => entry.outcome("refused"),
        };
        self.audit.record_apart(entry).await;
        reloaded
    }

    async fn reload_unrecorded(&self) -> anyhow::Result<ReloadReport> {
        let mut log_level = self.one_at_a_time.lock().await;
        let file = self.config_file.clone();
        let certs = self.certs.clone();
        let running_data_dir = self.running.data_dir.clone();
        // Reading files is blocking work.
        let loaded = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let fresh = Config::load(file.as_deref())?;
            // Without a configured certificate, the one generated at start,
            // in the data directory that runs (a new data_dir waits for a
            // restart, as it says).
            let mut for_tls = fresh.clone();
            for_tls.data_dir = running_data_dir;
            let cert = certs.check(&for_tls)?;
            Ok((fresh, cert))
        })
        .await?;
        let (fresh, cert) = match loaded {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::error!("reload refused, nothing changed: {e:#}");
                return Err(e);
            }
        };
        let mut report = ReloadReport::default();
        if fresh.log_level != *log_level {
            self.log.set_level(fresh.log_level)?;
            report.changed.push(format!(
                "log_level: {} -> {}",
                log_level.as_str(),
                fresh.log_level.as_str()
            ));
            *log_level = fresh.log_level;
        }
        if let CertReload::Replaced { from } = self.certs.install(cert) {
            report
                .changed
                .push(format!("tls: new certificate from {}", from.display()));
        }
        diff_live(&self.running, &fresh, &mut report.changed);
        self.running.limits.replace((*fresh.limits.get()).clone());
        self.running
            .invite_page
            .replace((*fresh.invite_page.get()).clone());
        report.needs_restart = needs_restart(&self.running, &fresh);
        for line in &report.changed {
            tracing::info!("reload: {line}");
        }
        for option in &report.needs_restart {
            tracing::warn!(
                "reload: {option} differs from the running configuration; it applies at the next start"
            );
        }
        if report.changed.is_empty() {
            tracing::info!("reload: nothing changed");
        }
        Ok(report)
    }
}

/// Lines for the live tables that differ, one per option.
fn diff_live(running: &Config, fresh: &Config, changed: &mut Vec<String>) {
    let (old, new) = (running.limits.get(), fresh.limits.get());
    for (name, old, new) in [
        (
            "roster_items",
            old.roster_items as u64,
            new.roster_items as u64,
        ),
        (
            "directed_presences",
            old.directed_presences as u64,
            new.directed_presences as u64,
        ),
        (
            "user_invites_per_day",
            old.user_invites_per_day as u64,
            new.user_invites_per_day as u64,
        ),
        (
            "offline_messages_per_sender",
            old.offline_messages_per_sender as u64,
            new.offline_messages_per_sender as u64,
        ),
        ("offline_bytes", old.offline_bytes, new.offline_bytes),
        (
            "clients_per_account",
            old.clients_per_account as u64,
            new.clients_per_account as u64,
        ),
    ] {
        if old != new {
            changed.push(format!("limits.{name}: {old} -> {new}"));
        }
    }
    let (old, new) = (running.invite_page.get(), fresh.invite_page.get());
    if old.site_name != new.site_name {
        changed.push(format!(
            "invite_page.site_name: {} -> {}",
            old.site_name.as_deref().unwrap_or("(the host)"),
            new.site_name.as_deref().unwrap_or("(the host)")
        ));
    }
    if old.apps != new.apps {
        let names = |apps: &[roost_common::config::AppConfig]| {
            apps.iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        changed.push(format!(
            "invite_page.apps: [{}] -> [{}]",
            names(&old.apps),
            names(&new.apps)
        ));
    }
}

/// The options that differ but are read only at start. The destructuring
/// lists every field, so a new option cannot be added without deciding
/// here whether it is live.
fn needs_restart(running: &Config, fresh: &Config) -> Vec<String> {
    let Config {
        data_dir,
        hosts,
        admins,
        log_level: _,
        log_format,
        http,
        c2s,
        tls: _,
        auth,
        admin,
        invites,
        registration,
        invite_page: _,
        storage,
        limits: _,
        fast,
        roster_delegation,
        metrics,
        audit,
        archive,
    } = fresh;
    let mut differ = Vec::new();
    let mut check = |name: &str, same: bool| {
        if !same {
            differ.push(name.to_owned());
        }
    };
    check("data_dir", *data_dir == running.data_dir);
    check("hosts", *hosts == running.hosts);
    check("admins", *admins == running.admins);
    check("log_format", *log_format == running.log_format);
    check("http", *http == running.http);
    check("c2s", *c2s == running.c2s);
    check("auth", *auth == running.auth);
    check("admin", *admin == running.admin);
    check("invites", *invites == running.invites);
    check("registration", *registration == running.registration);
    check("storage", *storage == running.storage);
    check("fast", *fast == running.fast);
    check(
        "roster_delegation",
        *roster_delegation == running.roster_delegation,
    );
    check("metrics", *metrics == running.metrics);
    check("audit", *audit == running.audit);
    check("archive", *archive == running.archive);
    differ
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text, std::path::Path::new("/")).unwrap()
    }

    #[test]
    fn live_tables_are_reported_option_by_option() {
        let running = parse("");
        let fresh = parse(
            "[limits]\nroster_items = 50\n[invite_page]\nsite_name = \"Chat\"\n\
             [[invite_page.apps]]\nname = \"Dino\"\nplatforms = [\"Linux\"]\n\
             download_url = \"https://dino.im\"",
        );
        let mut changed = Vec::new();
        diff_live(&running, &fresh, &mut changed);
        assert_eq!(changed[0], "limits.roster_items: 1000 -> 50");
        assert_eq!(changed[1], "invite_page.site_name: (the host) -> Chat");
        assert!(
            changed[2].starts_with("invite_page.apps: [Conversations")
                && changed[2].ends_with("-> [Dino]"),
            "{changed:?}"
        );
        assert_eq!(changed.len(), 3);
        assert!(needs_restart(&running, &fresh).is_empty());
    }

    #[test]
    fn options_read_at_start_are_named_not_applied() {
        let running = parse("");
        let fresh = parse(
            "hosts = [\"chat.example\"]\nlog_format = \"json\"\n[c2s]\nmax_stanza_size = 70000",
        );
        assert_eq!(
            needs_restart(&running, &fresh),
            ["hosts", "log_format", "c2s"]
        );
        let mut changed = Vec::new();
        diff_live(&running, &fresh, &mut changed);
        assert!(changed.is_empty(), "{changed:?}");
    }
}
