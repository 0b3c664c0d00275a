//! TLS for client connections: the configured certificate, or a
//! self-signed one generated on first start into the data directory and
//! reused after, so `cargo run` works with no setup at all.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use roost_common::config::Config;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

/// Builds the rustls server configuration (ring provider, TLS 1.2 and 1.3).
pub fn server_config(config: &Config) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let (cert_path, key_path) = match (&config.tls.certificate, &config.tls.key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => {
            let (cert, key) = config.generated_tls_paths();
            if !cert.exists() || !key.exists() {
                generate_self_signed(config, &cert, &key)?;
            }
            (cert, key)
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .with_context(|| format!("cannot read certificate {}", cert_path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot parse certificate {}", cert_path.display()))?;
    if chain.is_empty() {
        bail!("no certificate found in {}", cert_path.display());
    }
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .with_context(|| format!("cannot read private key {}", key_path.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "certificate {} does not match key {}",
                cert_path.display(),
                key_path.display()
            )
        })?;
    // XMPP has no use for session tickets across restarts; a small in-memory
    // cache keeps resumption cheap without holding much memory per client.
    tls.session_storage = rustls::server::ServerSessionMemoryCache::new(1024);
    Ok(Arc::new(tls))
}

fn generate_self_signed(config: &Config, cert_path: &Path, key_path: &Path) -> anyhow::Result<()> {
    let names: Vec<String> = config.hosts.iter().map(|h| h.to_string()).collect();
    let certified = rcgen::generate_simple_self_signed(names)
        .context("cannot generate a self-signed certificate")?;
    write_private(key_path, certified.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, certified.cert.pem())
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    tracing::warn!(
        "no [tls] certificate configured: generated a self-signed one at {}",
        cert_path.display()
    );
    Ok(())
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        server_config(&config).unwrap();
        let (cert, key) = config.generated_tls_paths();
        let first = std::fs::read(&cert).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        server_config(&config).unwrap();
        assert_eq!(
            std::fs::read(&cert).unwrap(),
            first,
            "certificate regenerated"
        );
    }

    #[test]
    fn mismatched_files_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            tls: roost_common::config::TlsConfig {
                certificate: Some(cert),
                key: Some(dir.path().join("missing.pem")),
            },
            ..Config::default()
        };
        let err = server_config(&config).unwrap_err().to_string();
        assert!(err.contains("c.pem"), "{err}");
    }
}
