//! TLS for client connections: the configured certificate, or a
//! self-signed one generated on first start into the data directory and
//! reused after, so `cargo run` works with no setup at all.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

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

/// How long a generated certificate is valid. Clients trust a self-signed
/// certificate by remembering it (Conversations, Gajim and Dino ask once),
/// not through a CA that could revoke it, so an expiry would only make them
/// ask again; ten years stays clear of that without claiming forever.
const SELF_SIGNED_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Backdated, so a client whose clock is a little behind accepts it.
const SELF_SIGNED_BACKDATE: Duration = Duration::from_secs(24 * 3600);

/// A self-signed certificate naming the served hosts: the first as the
/// subject's common name, all of them as subject alternative names, as a
/// client shows them when it asks its user whether to trust it.
fn generate_self_signed(config: &Config, cert_path: &Path, key_path: &Path) -> anyhow::Result<()> {
    let names: Vec<String> = config.hosts.iter().map(|h| h.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names.clone())
        .context("cannot generate a self-signed certificate")?;
    let mut subject = rcgen::DistinguishedName::new();
    if let Some(first) = names.first() {
        subject.push(rcgen::DnType::CommonName, first.as_str());
    }
    params.distinguished_name = subject;
    let now = SystemTime::now();
    params.not_before = (now - SELF_SIGNED_BACKDATE).into();
    params.not_after = (now + SELF_SIGNED_LIFETIME).into();
    let key = rcgen::KeyPair::generate().context("cannot generate a key")?;
    let cert = params
        .self_signed(&key)
        .context("cannot generate a self-signed certificate")?;
    write_private(key_path, key.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, cert.pem())
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
