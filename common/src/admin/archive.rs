//! `roostctl archive size` and `archive purge`: what one account's message
//! archive (XEP-0313) holds, and how much a purge removed.

use serde::{Deserialize, Serialize};

/// One account's archive. Times in Unix milliseconds; `None` when empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveSizeInfo {
    pub jid: String,
    pub messages: u64,
    /// The stored messages' serialised size.
    pub bytes: u64,
    pub oldest_ms: Option<i64>,
    pub newest_ms: Option<i64>,
}

/// What `archive purge` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivePurgeInfo {
    pub jid: String,
    pub removed: u64,
}
