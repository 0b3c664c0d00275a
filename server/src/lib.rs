//! roostd: the Roost XMPP server.
//!
//! Module order is one-way: front doors ([`http`], [`admin`]) call
//! [`services`], which alone use [`storage`]. [`run`] wires them together.

pub mod admin;
pub mod cli;
pub mod http;
mod lock;
mod open_files;
pub mod services;
pub mod storage;
pub mod tls;
pub mod xmpp;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use roost_common::config::Config;

use crate::services::Services;
use crate::storage::Db;

/// How often expired invites and audit log entries past their retention
/// are deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// Serves until SIGTERM or SIGINT, then shuts down cleanly: stops accepting,
/// finishes requests in flight, commits storage, removes the admin socket.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    // Caught from the start, so a SIGTERM sent as soon as roostd says it is
    // ready (or while it starts) stops it cleanly instead of killing it.
    let shutdown = ShutdownSignal::install()?;
    open_files::raise(&config);
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let _lock = lock::DataDirLock::acquire(&config.data_dir)?;
    let (db, db_thread) = Db::open(&config.database_path(), config.storage.synchronous)?;
    let services = Services::new(db, config.clone())?;

    let tls = tokio_rustls::TlsAcceptor::from(tls::server_config(&config)?);
    let http_listener = tokio::net::TcpListener::bind(config.http.bind)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http.bind))?;
    let c2s_listeners = xmpp::c2s::bind(&config.c2s).await?;
    let c2s_addrs = xmpp::c2s::local_addrs(&c2s_listeners);
    // The admin socket comes last: once it exists, roostd is ready.
    let admin = admin::AdminSocket::bind(&config.socket_path())?;
    tracing::info!(
        hosts = ?config.hosts.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
        http = %config.http.bind,
        c2s = ?c2s_addrs,
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
        let services = services.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move { admin.serve(services, stop).await })
    };
    let purge = tokio::spawn(purge_expired(services.clone()));
    let xmpp = Arc::new(xmpp::handlers::XmppContext::new(
        services.clone(),
        config.clone(),
    ));
    let c2s = Arc::new(xmpp::c2s::C2sShared {
        xmpp: xmpp.clone(),
        tls,
        bind2: xmpp::c2s::inline::Bind2Registry::default(),
        features: xmpp::c2s::feature_cache::FeatureCache::default(),
        admission: xmpp::c2s::admission::Admission::new(&config.c2s),
    });
    let account_watch = tokio::spawn(xmpp::handlers::follow_account_events(xmpp.clone()));
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

    shutdown.received().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    admin_task.abort();
    purge.abort();
    account_watch.abort();
    match tokio::time::timeout(Duration::from_secs(10), http).await {
        Ok(Ok(Err(e))) => tracing::warn!("HTTP listener ended with an error: {e}"),
        Err(_) => tracing::warn!("HTTP requests still running after 10 s; closing them"),
        _ => {}
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
    drop(services);
    tokio::task::spawn_blocking(move || db_thread.stop())
        .await
        .context("storage thread panicked")?;
    tracing::info!("stopped");
    Ok(())
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
    }
}

/// SIGTERM and SIGINT, caught.
struct ShutdownSignal {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    fn install() -> anyhow::Result<ShutdownSignal> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignal {
            term: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
        })
    }

    async fn received(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
