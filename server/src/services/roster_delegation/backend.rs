//! One host's roster service seen as an HTTP client: the request (URL,
//! headers, timeout), a bounded read of the answer, and why a fetch failed.
//!
//! Requests in flight are capped per host (`max_concurrent_requests`), and
//! the whole request, waiting for a permit included, runs under the
//! configured timeout, so a slow or silent service costs each caller at
//! most that long and never more than the cap in connections.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use roost_common::config::{RosterDelegationConfig, RosterUrl};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use tokio::sync::Semaphore;
use tokio_rustls::rustls;

/// The largest answer read (4 MiB): a full roster of `[limits]
/// roster_items` with long names fits many times over.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Why the service's configuration cannot be used; names the file.
#[derive(Debug, thiserror::Error)]
#[error("roster_delegation.\"{host}\": {message}")]
pub struct SetupError {
    pub host: String,
    pub message: String,
}

/// Why a fetch failed: logged with the user and the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("request failed: {0}")]
    Transport(String),
    #[error("answered HTTP {0}, not 200")]
    Status(u16),
    #[error("answer larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    #[error("answer is not a roster: {0}")]
    Invalid(String),
    #[error("'.' and '..' cannot be put in a URL path")]
    Unplaceable,
}

pub struct Backend {
    url: RosterUrl,
    timeout: Duration,
    client: reqwest::Client,
    permits: Semaphore,
}

impl Backend {
    /// Reads the files the configuration names and builds the client.
    pub fn new(host: &str, config: &RosterDelegationConfig) -> Result<Backend, SetupError> {
        let fail = |message: String| SetupError {
            host: host.to_owned(),
            message,
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(path) = &config.authorization_file {
            let value = read_secret(path).map_err(&fail)?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                fail(format!(
                    "authorization_file {}: not a valid header value",
                    path.display()
                ))
            })?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        // Checked with the parser requests use, so that a URL the config
        // check let through (a bad port, a broken IPv6 literal) stops
        // roostd rather than failing every fetch.
        let sample = config.url.for_user("user").unwrap_or_default();
        reqwest::Url::parse(&sample).map_err(|e| fail(format!("url '{}': {e}", config.url)))?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls_config(config.ca_file.as_deref()).map_err(&fail)?)
            .default_headers(headers)
            .user_agent(concat!("roostd/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            // Straight to the configured URL: an HTTP(S)_PROXY in roostd's
            // environment must not quietly route the credentials elsewhere.
            .no_proxy()
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))?;
        Ok(Backend {
            url: config.url.clone(),
            timeout: config.timeout,
            client,
            permits: Semaphore::new(config.max_concurrent_requests),
        })
    }

    /// The URL for `username`, or what to log when there is none.
    pub fn url_for(&self, username: &str) -> String {
        self.url
            .for_user(username)
            .unwrap_or_else(|| self.url.to_string())
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The body of a 200 answer for `username`, at most [`MAX_ANSWER_BYTES`].
    pub async fn fetch(&self, username: &str) -> Result<Vec<u8>, FetchError> {
        let url = self.url.for_user(username).ok_or(FetchError::Unplaceable)?;
        tokio::time::timeout(self.timeout, async {
            let _permit = self.permits.acquire().await.expect("never closed");
            let mut response = self
                .client
                .get(&url)
                .send()
                .await
                .map_err(|e| FetchError::Transport(describe(e)))?;
            if response.status() != reqwest::StatusCode::OK {
                return Err(FetchError::Status(response.status().as_u16()));
            }
            if response
                .content_length()
                .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
            {
                return Err(FetchError::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| FetchError::Transport(describe(e)))?
            {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        })
        .await
        .unwrap_or(Err(FetchError::Timeout(self.timeout)))
    }
}

/// reqwest's error with its causes: "error sending request" alone does
/// not tell an operator that the connection was refused. The URL is left
/// out: the log line has it already.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A secret file's trimmed content; errors name the file.
pub fn read_secret(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(text.to_owned())
}

/// rustls with the ring provider (the only one in roostd), trusting the
/// system's CA store or, when configured, only the CAs in `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("ca_file {}: no usable certificate", path.display()));
            }
        }
        None => {
            // A missing or partly unreadable system store is not fatal: an
            // http:// service needs none, and an https:// one fails its
            // fetches with a logged reason.
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::debug!("system CA store: {e}");
            }
            roots.add_parsable_certificates(found.certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
