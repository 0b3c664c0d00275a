//! What `roostctl status` reports: version, uptime, sessions by host,
//! memory, database size and listeners. Cheap enough to be asked often: the
//! session counts are counters, the rest a few file metadata reads.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use roost_common::admin::{HostSessions, ListenerInfo, StatusInfo};
use roost_common::config::Config;

use super::Sessions;
use crate::storage::Db;

#[derive(Clone)]
pub struct ServerStatus {
    started: Instant,
    started_at: i64,
    db: Db,
    config: Arc<Config>,
    sessions: Sessions,
    /// The addresses as bound, attached once the listeners exist.
    listeners: Arc<OnceLock<ListenerInfo>>,
}

impl ServerStatus {
    /// Counts uptime from now.
    pub fn new(db: Db, config: Arc<Config>, sessions: Sessions) -> ServerStatus {
        ServerStatus {
            started: Instant::now(),
            started_at: super::now(),
            db,
            config,
            sessions,
            listeners: Arc::default(),
        }
    }

    /// Records where roostd listens, as bound (a configured port 0 becomes
    /// the real one); later calls are ignored.
    pub fn attach_listeners(&self, listeners: ListenerInfo) {
        let _ = self.listeners.set(listeners);
    }

    pub fn report(&self) -> StatusInfo {
        let counts = self.sessions.count_by_host();
        StatusInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: self.started_at,
            uptime_secs: self.started.elapsed().as_secs(),
            hosts: self
                .config
                .hosts
                .iter()
                .map(|host| HostSessions {
                    host: host.to_string(),
                    sessions: counts.get(host.as_str()).copied().unwrap_or(0) as u64,
                })
                .collect(),
            memory_rss_bytes: crate::metrics::process::resident_bytes(),
            database_bytes: self.db.size_on_disk(),
            listeners: self
                .listeners
                .get()
                .cloned()
                .unwrap_or_else(|| configured_listeners(&self.config)),
        }
    }
}

/// The listeners as configured, before any is bound.
fn configured_listeners(config: &Config) -> ListenerInfo {
    let addresses = |list: &[std::net::SocketAddr]| list.iter().map(ToString::to_string).collect();
    ListenerInfo {
        c2s: addresses(&config.c2s.bind),
        c2s_direct_tls: addresses(&config.c2s.direct_tls_bind),
        http: config.http.bind.to_string(),
        admin_socket: config.socket_path().display().to_string(),
        metrics: addresses(&config.metrics.bind),
    }
}

#[cfg(test)]
mod tests {
    use roost_common::config::Synchronous;
    use roost_common::jid::DomainName;

    use super::*;
    use crate::services::clients::AuthMethod;
    use crate::services::testing::FakeDirectory;

    #[tokio::test]
    async fn reports_sessions_by_host_memory_database_and_listeners() {
        let dir = tempfile::tempdir().unwrap();
        let (db, thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            hosts: vec![
                DomainName::parse("example.test").unwrap(),
                DomainName::parse("other.test").unwrap(),
            ],
            ..Config::default()
        };
        config.http.bind = "127.0.0.1:5280".parse().unwrap();
        config.c2s.bind = vec!["127.0.0.1:0".parse().unwrap()];
        let sessions = Sessions::default();
        let directory = Arc::new(FakeDirectory::default());
        sessions.attach(directory.clone());
        directory.add("alice@other.test/a", "c1", AuthMethod::Password);
        directory.add("bob@other.test/b", "c2", AuthMethod::Password);
        let status = ServerStatus::new(db, Arc::new(config), sessions);

        let report = status.report();
        assert_eq!(report.version, env!("CARGO_PKG_VERSION"));
        assert!(report.uptime_secs < 60);
        assert!((report.started_at - crate::services::now()).abs() < 60);
        let hosts: Vec<_> = report
            .hosts
            .iter()
            .map(|h| (h.host.as_str(), h.sessions))
            .collect();
        assert_eq!(hosts, [("example.test", 0), ("other.test", 2)]);
        assert!(report.memory_rss_bytes.unwrap() > 1024 * 1024);
        assert!(report.database_bytes > 0);
        assert_eq!(report.listeners.c2s, ["127.0.0.1:0"]);
        assert_eq!(report.listeners.http, "127.0.0.1:5280");
        assert!(report.listeners.admin_socket.ends_with("roostd.sock"));

        let bound = ListenerInfo {
            c2s: vec!["127.0.0.1:45222".into()],
            ..report.listeners.clone()
        };
        status.attach_listeners(bound.clone());
        assert_eq!(status.report().listeners, bound, "as bound, once attached");
        drop(status);
        thread.stop();
    }
}
