//! The self-signed certificate roostd makes on first start when none is
//! configured.

use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use roost_common::config::Config;

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
pub(super) fn generate(config: &Config, cert_path: &Path, key_path: &Path) -> anyhow::Result<()> {
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
