//! `[archive]`: the message archive (XEP-0313 Message Archive Management):
//! whether it runs, what it keeps by default, for how long, and what one
//! account's archive may cost. `[archive.hosts."HOST"]` sets another
//! retention for one host.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::jid::DomainName;

/// The longest `retention`: ten years.
pub const MAX_RETENTION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The largest `max_message_bytes`: a stored message is read back in a page
/// of results, which must fit a session's queue.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveConfig {
    /// Off: no message is archived, no stanza id is added, and the archive
    /// is neither advertised nor answered.
    pub enabled: bool,
    /// What is archived for an account that set no preference of its own
    /// (XEP-0313 `default`): "always", "roster" or "never".
    pub default: ArchivePolicy,
    /// How long messages are kept; older ones are deleted in the background.
    #[serde(deserialize_with = "super::duration")]
    pub retention: Duration,
    /// Most messages kept for one account; past it the oldest go first.
    pub max_messages_per_account: u64,
    /// Most bytes of messages kept for one account; past it the oldest go first.
    pub max_bytes_per_account: u64,
    /// A message larger than this (serialised) is delivered but not archived.
    pub max_message_bytes: usize,
    /// Per-host settings that differ from the above.
    pub hosts: BTreeMap<DomainName, ArchiveHostConfig>,
}

/// `[archive.hosts."HOST"]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveHostConfig {
    /// How long this host's messages are kept.
    #[serde(deserialize_with = "super::duration")]
    pub retention: Duration,
}

/// XEP-0313's default preference: which messages are archived when the
/// account's own lists name neither party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchivePolicy {
    /// Every message (Prosody's `default_archive_policy = true`).
    Always,
    /// Messages with contacts in the account's roster.
    Roster,
    /// None.
    Never,
}

impl ArchivePolicy {
    /// The name XEP-0313 gives it in `<prefs default='…'/>`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchivePolicy::Always => "always",
            ArchivePolicy::Roster => "roster",
            ArchivePolicy::Never => "never",
        }
    }

    pub fn parse(text: &str) -> Option<ArchivePolicy> {
        match text {
            "always" => Some(ArchivePolicy::Always),
            "roster" => Some(ArchivePolicy::Roster),
            "never" => Some(ArchivePolicy::Never),
            _ => None,
        }
    }
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            enabled: true,
            default: ArchivePolicy::Always,
            retention: Duration::from_secs(365 * 24 * 3600),
            max_messages_per_account: 1_000_000,
            max_bytes_per_account: 1024 * 1024 * 1024,
            max_message_bytes: 64 * 1024,
            hosts: BTreeMap::new(),
        }
    }
}

impl ArchiveConfig {
    /// How long `host`'s messages are kept.
    pub fn retention_of(&self, host: &DomainName) -> Duration {
        self.hosts.get(host).map_or(self.retention, |h| h.retention)
    }

    /// Checks the bounds; an error names the option.
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.retention > MAX_RETENTION {
            return Err(("retention", "archive.retention: at most 10 years".into()));
        }
        for (key, value) in [
            ("max_messages_per_account", self.max_messages_per_account),
            ("max_bytes_per_account", self.max_bytes_per_account),
            ("max_message_bytes", self.max_message_bytes as u64),
        ] {
            if value == 0 {
                return Err((key, format!("archive.{key}: at least 1")));
            }
        }
        if self.max_message_bytes > MAX_MESSAGE_BYTES {
            return Err((
                "max_message_bytes",
                format!("archive.max_message_bytes: at most {MAX_MESSAGE_BYTES}"),
            ));
        }
        for (host, settings) in &self.hosts {
            if settings.retention > MAX_RETENTION {
                return Err((
                    "retention",
                    format!("archive.hosts.\"{host}\".retention: at most 10 years"),
                ));
            }
        }
        Ok(())
    }
}
