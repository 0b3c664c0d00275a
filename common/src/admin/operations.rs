//! Running roostd: what a reload changed and what a backup wrote.

use serde::{Deserialize, Serialize};

/// What a reload did. Nothing is in `changed` when the files read the same
/// as what runs; options that differ but only apply at start are listed in
/// `needs_restart` and keep their running values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// One line per option applied, e.g. `log_level: info -> debug`.
    pub changed: Vec<String>,
    /// Options (or tables) that differ from the running configuration but
    /// are read only at start, e.g. `c2s`.
    pub needs_restart: Vec<String>,
}

/// A backup written by roostd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupInfo {
    /// Where it is, absolute.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// How long writing it took.
    pub millis: u64,
}
