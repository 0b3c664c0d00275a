//! roostd: the Roost XMPP server.
//!
//! Module order is one-way: front doors ([`http`], [`admin`]) call
//! [`services`], which alone use [`storage`]. [`run`] wires them together.

pub mod admin;
pub mod cli;
pub mod http;
mod lock;
pub mod logging;
pub mod metrics;
mod open_files;
pub mod priority;
pub mod reload;
pub mod services;
pub mod storage;
mod systemd;
pub mod tls;
pub mod xmpp;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use roost_common::config::Config;

use crate::services::Services;
use crate::storage::Db;

/// How often expired invites, and audit log entries and archived messages
/// past their retention, are deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// What `run` needs besides the configuration.
pub struct RunOptions {
    /// The file the configuration came from, read again on reload.
    pub config_file: Option<PathBuf>,
    /// The logger's level control, for reloads.
    pub log: logging::LogControl,
}

/// Serves until SIGTERM or SIGINT, then shuts down cleanly: stops accepting,
/// finishes requests in flight, commits storage, removes the admin socket.
/// SIGHUP reloads ([`reload`]).
pub async fn run(config: Config, options: RunOptions) -> anyhow::Result<()> {
    let config = Arc::new(config);
    // Caught from the start, so a SIGTERM sent as soon as roostd says it is
    // ready (or while it starts) stops it cleanly instead of killing it.
    let (shutdown, hangups) = ShutdownSignal::install()?;
    open_files::raise(&config);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let _lock = lock::DataDirLock::acquire(&config.data_dir)?;
    let (db, db_thread) = Db::open(&config.database_path(), config.storage.synchronous)?;
    let metrics = Arc::new(metrics::Metrics::new(&db));
    let services = Services::new(db.clone(), config.clone(), metrics.clone())?;

    let (tls_config, certs) = tls::server_config(&config)?;
    let tls = tokio_rustls::TlsAcceptor::from(tls_config);
    let reloader = Arc::new(reload::Reloader::new(
        options.config_file,
        config.clone(),
        certs,
        options.log,
        services.audit.clone(),
    ));
    let http_listener = tokio::net::TcpListener::bind(config.http.bind)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http.bind))?;
    let c2s_listeners = xmpp::c2s::bind(&config.c2s).await?;
    let c2s_addrs = xmpp::c2s::local_addrs(&c2s_listeners);
    let metrics_listeners = metrics::bind(&config.metrics.bind).await?;
    services.status.attach_listeners(bound_listeners(
        &config,
        &http_listener,
        &c2s_listeners,
        &metrics_listeners,
    ));
    // The admin socket comes last: once it exists, roostd is ready.
    let admin = admin::AdminSocket::bind(&config.socket_path())?;
    tracing::info!(
        hosts = ?config.hosts.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
        http = %config.http.bind,
        c2s = ?c2s_addrs,
        metrics = ?config.metrics.bind,
        admin_socket = %config.socket_path().display(),
        "roostd {} ready",
        env!("CARGO_PKG_VERSION")
    );

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut http_stop = stop_rx.clone();
    let http = tokio::spawn(http::serve(
        http_listener,
        services.clone(),
        config.clone(),
        async move {
            let _ = http_stop.wait_for(|stop| *stop).await;
        },
    ));
    let admin_task = {
        let context = admin::AdminContext {
            services: services.clone(),
            reloader: reloader.clone(),
        };
        let stop = stop_rx.clone();
        tokio::spawn(async move { admin.serve(context, stop).await })
    };
    let hangups = tokio::spawn(reload_on_sighup(reloader, hangups));
    let watchdog = tokio::spawn(systemd::watchdog(db.clone()));
    let purge = tokio::spawn(purge_expired(services.clone()));
    let xmpp = Arc::new(xmpp::handlers::XmppContext::new(
        services.clone(),
        config.clone(),
    ));
    let c2s = Arc::new(xmpp::c2s::C2sShared {
        xmpp: xmpp.clone(),
        tls,
        bind2: xmpp::c2s::inline::Bind2Registry::with_core_features(),
        nonzas: xmpp::c2s::nonzas::NonzaRegistry::with_core_nonzas(),
        features: xmpp::c2s::feature_cache::FeatureCache::default(),
        admission: xmpp::c2s::admission::Admission::new(&config.c2s),
        resumptions: Arc::default(),
        hibernating: Default::default(),
    });
    let account_watch = tokio::spawn(xmpp::handlers::follow_account_events(xmpp.clone()));
    let sampled = Arc::new(metrics::Sampled {
        db,
        unauthenticated: {
            let admission = c2s.admission.clone();
            Box::new(move || admission.held())
        },
        bound: {
            let router = xmpp.router.clone();
            Box::new(move || router.session_count())
        },
        hibernated: {
            let c2s = c2s.clone();
            Box::new(move || c2s.hibernating.count())
        },
    });
    let metrics_tasks: Vec<_> = metrics_listeners
        .into_iter()
        .map(|listener| {
            let mut stop = stop_rx.clone();
            tokio::spawn(metrics::serve(
                listener,
                metrics.clone(),
                sampled.clone(),
                async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                },
            ))
        })
        .collect();
    let c2s_tasks: Vec<_> = c2s_listeners
        .into_iter()
        .map(|(listener, direct_tls)| {
            tokio::spawn(xmpp::c2s::serve(
                listener,
                direct_tls,
                c2s.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();

    systemd::ready();
    shutdown.received().await;
    systemd::stopping();
    tracing::info!("shutting down");
    hangups.abort();
    watchdog.abort();
    let _ = stop_tx.send(true);
    admin_task.abort();
    purge.abort();
    account_watch.abort();
    match tokio::time::timeout(Duration::from_secs(10), http).await {
        Ok(Ok(Err(e))) => tracing::warn!("HTTP listener ended with an error: {e}"),
        Err(_) => tracing::warn!("HTTP requests still running after 10 s; closing them"),
        _ => {}
    }
    for task in metrics_tasks {
        // A scrape takes milliseconds; one still running is cut short.
        if tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .is_err()
        {
            tracing::debug!("a metrics scrape was still running at shutdown");
        }
    }
    let _ = admin_task.await;
    let _ = purge.await;
    for task in c2s_tasks {
        let _ = task.await;
    }
    // Connections close their streams on the stop signal; give them a moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while xmpp.router.session_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(c2s);
    drop(xmpp);
    // What routing queued for the archive is written before storage stops.
    services.archive.flush().await;
    drop(services);
    drop(sampled);
    tokio::task::spawn_blocking(move || db_thread.stop())
        .await
        .context("storage thread panicked")?;
    tracing::info!("stopped");
    Ok(())
}

/// Where roostd listens, as bound (a configured port 0 is the real one
/// here), for `roostctl status`.
fn bound_listeners(
    config: &Config,
    http: &tokio::net::TcpListener,
    c2s: &[(tokio::net::TcpListener, bool)],
    metrics: &[tokio::net::TcpListener],
) -> roost_common::admin::ListenerInfo {
    let addresses = |direct_tls: bool| {
        c2s.iter()
            .filter(|(_, direct)| *direct == direct_tls)
            .filter_map(|(listener, _)| listener.local_addr().ok())
            .map(|addr| addr.to_string())
            .collect()
    };
    roost_common::admin::ListenerInfo {
        c2s: addresses(false),
        c2s_direct_tls: addresses(true),
        http: http
            .local_addr()
            .map_or_else(|_| config.http.bind.to_string(), |addr| addr.to_string()),
        admin_socket: config.socket_path().display().to_string(),
        metrics: metrics
            .iter()
            .filter_map(|listener| listener.local_addr().ok())
            .map(|addr| addr.to_string())
            .collect(),
    }
}

async fn purge_expired(services: Services) {
    let mut tick = tokio::time::interval(PURGE_INTERVAL);
    loop {
        tick.tick().await;
        match services.invites.purge().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("deleted {n} expired invites"),
            Err(e) => tracing::warn!("invite purge failed: {e}"),
        }
        match services.audit.purge().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("deleted {n} audit log entries past audit.retention"),
            Err(e) => tracing::warn!("audit log purge failed: {e}"),
        }
        match services.archive.expire().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("deleted {n} archived messages past archive.retention"),
            Err(e) => tracing::warn!("archive expiry failed: {e}"),
        }
    }
}

/// Reloads at each SIGHUP; the outcome goes to the log.
async fn reload_on_sighup(
    reloader: Arc<reload::Reloader>,
    mut hangups: tokio::signal::unix::Signal,
) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading");
        systemd::reloading();
        // The reloader logs what it changed or why it refused.
        let _ = reloader.reload(&services::audit::Actor::Server).await;
        systemd::ready();
    }
}

/// SIGTERM and SIGINT, caught.
struct ShutdownSignal {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Also catches SIGHUP, from the start too so that one sent early does
    /// not kill roostd (its default action), and returns it.
    fn install() -> anyhow::Result<(ShutdownSignal, tokio::signal::unix::Signal)> {
        use tokio::signal::unix::{SignalKind, signal};
        let shutdown = ShutdownSignal {
            term: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
        };
        let hangups = signal(SignalKind::hangup()).context("cannot catch SIGHUP")?;
        Ok((shutdown, hangups))
    }

    async fn received(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
