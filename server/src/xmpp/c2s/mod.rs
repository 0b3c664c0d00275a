//! The client-to-server listener: accepts TCP (and direct TLS)
//! connections and runs one [`connection::Connection`] task for each.

pub mod admission;
mod auth;
mod connection;
mod fast;
pub mod feature_cache;
pub mod inline;
mod login;
pub mod nonzas;
mod offline_delivery;
pub(crate) mod register;
pub mod stream_management;
mod transport;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::handlers::XmppContext;

/// What every client connection shares.
pub struct C2sShared {
    pub xmpp: Arc<XmppContext>,
    pub tls: TlsAcceptor,
    /// What Bind2 can enable inline.
    pub bind2: inline::Bind2Registry,
    /// What a bound session may send besides stanzas.
    pub nonzas: nonzas::NonzaRegistry,
    /// Stream features, serialised once per combination.
    pub features: feature_cache::FeatureCache,
    /// The bounds on connections that have not authenticated yet.
    pub admission: Arc<admission::Admission>,
    /// Sessions that can be resumed (XEP-0198), by id.
    pub resumptions: Arc<stream_management::resumption::Resumptions>,
    /// Sessions waiting for their client to resume them.
    pub hibernating: stream_management::hibernation::Hibernating,
}

/// How often refused and evicted connections are summed up in the log.
const ADMISSION_REPORT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts connections on `listener` until `stop` turns true; each
/// connection then closes its stream itself.
pub async fn serve(
    listener: TcpListener,
    direct_tls: bool,
    shared: Arc<C2sShared>,
    stop: watch::Receiver<bool>,
) {
    let mut stopping = stop.clone();
    let mut report = tokio::time::interval(ADMISSION_REPORT_INTERVAL);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    // Over its address's share, the connection is closed
                    // here: no TLS, no task.
                    let Some(ticket) = shared.admission.admit(peer.ip()) else {
                        continue;
                    };
                    let _ = tcp.set_nodelay(true);
                    let connection =
                        connection::Connection::new(shared.clone(), tcp, peer, ticket);
                    tokio::spawn(connection.run(direct_tls, stop.clone()));
                }
                Err(e) => {
                    tracing::warn!("c2s accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = report.tick() => {
                if let Some(report) = shared.admission.take_report() {
                    tracing::warn!("c2s, last {ADMISSION_REPORT_INTERVAL:?}: {report}");
                }
            }
            _ = connection::stopped(&mut stopping) => break,
        }
    }
}

/// Binds every configured c2s address; returns (listener, direct TLS?) pairs.
pub async fn bind(
    config: &roost_common::config::C2sConfig,
) -> anyhow::Result<Vec<(TcpListener, bool)>> {
    use anyhow::Context as _;
    let mut listeners = Vec::new();
    let plain = config.bind.iter().map(|a| (a, false));
    let direct = config.direct_tls_bind.iter().map(|a| (a, true));
    for (addr, direct_tls) in plain.chain(direct) {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen for XMPP clients on {addr}"))?;
        listeners.push((listener, direct_tls));
    }
    Ok(listeners)
}

/// The addresses actually bound (useful when a port was 0).
pub fn local_addrs(listeners: &[(TcpListener, bool)]) -> Vec<SocketAddr> {
    listeners
        .iter()
        .filter_map(|(l, _)| l.local_addr().ok())
        .collect()
}
