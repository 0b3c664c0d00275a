//! Runs slixmpp, an independent Python XMPP library, against a test roostd
//! (`tests/slixmpp/phone.py`), from a venv under `target/` that the first
//! use makes (`crate::python`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::python::venv_python;
use crate::{HOST, Server, test_ca};

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("slixmpp")
}

/// The venv's python, installed once per test binary.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv_python("slixmpp-venv", "slixmpp", "1.17.0"))
}

/// Runs `script` (in `tests/slixmpp/`) against `server` with `password`
/// for every account; returns the JSON it prints, or panics with its
/// output.
pub fn run(server: &Server, script: &str, password: &str) -> serde_json::Value {
    let out = Command::new(python())
        .arg(here().join(script))
        .arg(server.c2s_port.to_string())
        .arg(&test_ca().pem_path)
        .arg(HOST)
        .arg(password)
        .output()
        .expect("run slixmpp");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed: {}\n{stdout}\nroostd: {}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {stdout}"))
}
