//! Scrapes roostd's `/metrics` and reads it with a real OpenMetrics parser:
//! Python's prometheus_client (`tests/openmetrics/parse.py`, its strict
//! `openmetrics.parser`), in a venv under `target/` that the first use
//! makes (`crate::python`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::python::venv_python;
use crate::{Server, http};

/// The content type roostd must answer a scrape with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("openmetrics")
}

/// The venv's python, installed once per test binary.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| venv_python("openmetrics-venv", "prometheus_client", "0.26.0"))
}

/// One scrape, as the parser read it.
#[derive(Debug)]
pub struct Exposition {
    /// Family name → (type, unit).
    pub families: BTreeMap<String, (String, String)>,
    /// `name{label="value",...}` (labels sorted) → value.
    pub samples: BTreeMap<String, f64>,
    pub text: String,
}

/// The key of a sample in [`Exposition::samples`].
pub fn series(name: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let mut labels = labels.to_vec();
    labels.sort();
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", labels.join(","))
}

impl Exposition {
    /// Parses `text`; panics with the parser's error if it rejects it.
    pub fn parse(text: String) -> Exposition {
        let mut child = Command::new(python())
            .arg(here().join("parse.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the OpenMetrics parser");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write the exposition");
        let out = child.wait_with_output().expect("parser output");
        assert!(
            out.status.success(),
            "the OpenMetrics parser rejected the exposition: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let parsed: Value = serde_json::from_slice(&out.stdout).expect("parser JSON");
        let mut families = BTreeMap::new();
        let mut samples = BTreeMap::new();
        for family in parsed["families"].as_array().expect("families") {
            let name = family["name"].as_str().expect("name").to_owned();
            let kind = family["type"].as_str().expect("type").to_owned();
            let unit = family["unit"].as_str().unwrap_or("").to_owned();
            families.insert(name, (kind, unit));
            for sample in family["samples"].as_array().expect("samples") {
                let labels: Vec<(&str, &str)> = sample["labels"]
                    .as_object()
                    .expect("labels")
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().expect("label value")))
                    .collect();
                let key = series(sample["name"].as_str().expect("sample name"), &labels);
                samples.insert(key, sample["value"].as_f64().expect("value"));
            }
        }
        Exposition {
            families,
            samples,
            text,
        }
    }

    /// A sample's value; 0 for a series not exposed (yet).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .get(&series(name, labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// Whether the series is exposed at all.
    pub fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.samples.contains_key(&series(name, labels))
    }
}

/// Scrapes `server`'s `/metrics`, checks the answer's status and content
/// type, and parses it.
pub async fn scrape(server: &Server) -> Exposition {
    let response = http()
        .get(server.metrics_url("/metrics"))
        .send()
        .await
        .expect("scrape /metrics");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        CONTENT_TYPE
    );
    Exposition::parse(response.text().await.expect("exposition body"))
}
