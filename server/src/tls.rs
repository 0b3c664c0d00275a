//! TLS for client connections: the configured certificate, or a
//! self-signed one generated on first start into the data directory and
//! reused after, so `cargo run` works with no setup at all.
//!
//! The certificate is served through a [`CertStore`] rather than fixed in
//! the rustls configuration, so a reload (SIGHUP, `roostctl reload`) can
//! swap it: handshakes after the swap get the new one, sessions already up
//! keep theirs.

mod self_signed;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context as _, bail};
use roost_common::config::Config;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

/// Builds the rustls server configuration (ring provider, TLS 1.2 and 1.3)
/// and the store its certificate comes from.
pub fn server_config(
    config: &Config,
) -> anyhow::Result<(Arc<rustls::ServerConfig>, Arc<CertStore>)> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = Arc::new(CertStore {
        current: RwLock::new(load(config, &provider, Generate::IfMissing)?),
        provider: provider.clone(),
    });
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(store.clone());
    // XMPP has no use for session tickets across restarts; a small in-memory
    // cache keeps resumption cheap without holding much memory per client.
    tls.session_storage = rustls::server::ServerSessionMemoryCache::new(1024);
    Ok((Arc::new(tls), store))
}

/// The certificate and key every new handshake gets.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

/// What a reload did to the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertReload {
    /// Files read again; the end-entity certificate differs.
    Replaced { from: PathBuf },
    /// Files read again; the same certificate.
    Unchanged,
}

/// A certificate and key read and checked, not yet served.
pub struct CheckedCert {
    key: Arc<CertifiedKey>,
    from: PathBuf,
}

impl CertStore {
    /// Reads the certificate and key `config` names (or the generated
    /// pair) again and checks them. A file that cannot be read or parsed,
    /// or a key that is not the certificate's, is the error.
    /// Without a configured pair this reads the generated one, which a
    /// reload never makes: it was made at start.
    pub fn check(&self, config: &Config) -> anyhow::Result<CheckedCert> {
        Ok(CheckedCert {
            key: load(config, &self.provider, Generate::Never)?,
            from: paths(config).0,
        })
    }

    /// Serves `cert` to handshakes from now on.
    pub fn install(&self, cert: CheckedCert) -> CertReload {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        // The whole chain: a reload that adds a missing intermediate to an
        // unchanged certificate must serve it.
        if current.cert == cert.key.cert {
            return CertReload::Unchanged;
        }
        *current = cert.key;
        CertReload::Replaced { from: cert.from }
    }
}

impl CertStore {
    /// What a handshake starting now gets.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The certificate and key files: configured, or the generated pair.
fn paths(config: &Config) -> (PathBuf, PathBuf) {
    match (&config.tls.certificate, &config.tls.key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone()),
        _ => config.generated_tls_paths(),
    }
}

/// Whether [`load`] may make the self-signed pair.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Generate {
    IfMissing,
    Never,
}

/// Reads (generating first, when allowed, if none is configured and none
/// was made yet) the certificate chain and its key, and checks they belong
/// together.
fn load(
    config: &Config,
    provider: &rustls::crypto::CryptoProvider,
    generate: Generate,
) -> anyhow::Result<Arc<CertifiedKey>> {
    let (cert_path, key_path) = paths(config);
    if generate == Generate::IfMissing
        && config.tls.certificate.is_none()
        && (!cert_path.exists() || !key_path.exists())
    {
        self_signed::generate(config, &cert_path, &key_path)?;
    }
    let chain = read_chain(&cert_path)?;
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .with_context(|| format!("cannot read private key {}", key_path.display()))?;
    let certified = CertifiedKey::from_der(chain, key, provider).with_context(|| {
        format!(
            "certificate {} does not match key {}",
            cert_path.display(),
            key_path.display()
        )
    })?;
    Ok(Arc::new(certified))
}

fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read certificate {}", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("cannot parse certificate {}", path.display()))?;
    if chain.is_empty() {
        bail!("no certificate found in {}", path.display());
    }
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    /// A fresh self-signed pair for `name`, written to `dir`.
    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    #[test]
    fn reload_swaps_a_good_certificate_and_keeps_the_old_one_on_a_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write_pair(dir.path(), "one.example");
        let config = Config {
            data_dir: dir.path().to_owned(),
            tls: roost_common::config::TlsConfig {
                certificate: Some(cert.clone()),
                key: Some(key.clone()),
            },
            ..Config::default()
        };
        let (_, store) = server_config(&config).unwrap();
        let first = store.current().cert[0].clone();
        assert_eq!(
            store.check(&config).map(|c| store.install(c)).unwrap(),
            CertReload::Unchanged
        );

        write_pair(dir.path(), "two.example");
        assert_eq!(
            store.check(&config).map(|c| store.install(c)).unwrap(),
            CertReload::Replaced { from: cert.clone() }
        );
        let second = store.current().cert[0].clone();
        assert_ne!(first, second);

        // The same certificate with an intermediate added: served too.
        let intermediate = rcgen::CertificateParams::new(vec!["ca.example".to_owned()])
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap();
        let mut chain = std::fs::read_to_string(&cert).unwrap();
        chain.push_str(&intermediate.pem());
        std::fs::write(&cert, chain).unwrap();
        assert_eq!(
            store.check(&config).map(|c| store.install(c)).unwrap(),
            CertReload::Replaced { from: cert.clone() }
        );
        assert_eq!(store.current().cert.len(), 2);
        assert_eq!(store.current().cert[0], second);

        // A key that is not the certificate's: refused, the second stays.
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&key, other.serialize_pem()).unwrap();
        let err = format!(
            "{:#}",
            store.check(&config).map(|c| store.install(c)).unwrap_err()
        );
        assert!(err.contains("does not match"), "{err}");
        assert_eq!(store.current().cert[0], second);

        std::fs::write(&cert, "garbage").unwrap();
        assert!(store.check(&config).map(|c| store.install(c)).is_err());
        assert_eq!(store.current().cert[0], second);
    }

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
    fn the_generated_certificate_names_the_hosts_and_lasts_ten_years() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            hosts: vec![
                roost_common::jid::DomainName::parse("chat.example").unwrap(),
                roost_common::jid::DomainName::parse("other.example").unwrap(),
            ],
            ..Config::default()
        };
        server_config(&config).unwrap();
        let (cert, _) = config.generated_tls_paths();
        let der = CertificateDer::from_pem_file(&cert).unwrap();
        let count = |needle: &[u8]| der.windows(needle.len()).filter(|w| *w == needle).count();
        // The subject's common name and the SAN, as issuer and subject.
        assert_eq!(
            count(b"chat.example"),
            3,
            "CN twice (issuer, subject) and a SAN"
        );
        assert_eq!(count(b"other.example"), 1, "a SAN");
        assert_eq!(count(b"rcgen"), 0, "no placeholder name");
        // Validity: two UTCTimes (tag 0x17, 13 bytes, YYMMDDhhmmssZ), from
        // about now to ten years on, not rcgen's 1975 to 4096 (a
        // GeneralizedTime, tag 0x18).
        let years: Vec<u64> = der
            .windows(15)
            .filter(|w| w[..2] == [0x17, 0x0d] && w[14] == b'Z')
            .map(|w| {
                2000 + std::str::from_utf8(&w[2..4])
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .collect();
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let this_year = 1970 + secs / 31_556_952;
        assert_eq!(years.len(), 2, "{years:?}");
        assert!(years[0].abs_diff(this_year) <= 1, "{years:?}");
        assert!((9..=11).contains(&(years[1] - years[0])), "{years:?}");
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
