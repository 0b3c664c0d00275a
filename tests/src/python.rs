//! Python packages the tests drive (an OpenMetrics parser, slixmpp), each
//! pinned from PyPI in a venv of its own under `target/`, made on first use
//! by `tests/python/install-venv.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bin_dir;

/// The python of venv `name` with `package` at `version` installed;
/// installs it when missing or of another version.
pub fn venv_python(name: &str, package: &str, version: &str) -> PathBuf {
    let venv = bin_dir().parent().expect("target/<profile>").join(name);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/install-venv.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&venv)
        .args([package, version])
        .status()
        .expect("run tests/python/install-venv.sh");
    assert!(status.success(), "installing {package} {version} failed");
    venv.join("bin").join("python")
}
