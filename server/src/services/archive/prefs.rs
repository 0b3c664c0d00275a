//! Archiving preferences (XEP-0313 §6): per account a default ("always",
//! "roster", "never") and two lists of JIDs, always and never archived.
//!
//! Every message asks them twice (sender and recipient), so they are kept
//! in memory: the accounts that set their own are read at the first need,
//! then changed together with the database. Accounts that never set any
//! cost nothing; each list holds at most [`MAX_PREFS_JIDS`] JIDs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jid::BareJid;
use roost_common::config::ArchivePolicy;
use rusqlite::params;
use tokio::sync::OnceCell;

use crate::services::ServiceError;
use crate::storage::Db;

/// Most JIDs in one account's always or never list.
pub const MAX_PREFS_JIDS: usize = 100;

/// One account's preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefs {
    pub default: ArchivePolicy,
    pub always: Vec<BareJid>,
    pub never: Vec<BareJid>,
}

impl Prefs {
    fn of_policy(default: ArchivePolicy) -> Prefs {
        Prefs {
            default,
            always: Vec::new(),
            never: Vec::new(),
        }
    }

    /// Whether messages with `with` are archived; `None` when that depends
    /// on the roster. A JID in both lists is not archived.
    pub fn decide(&self, with: &BareJid) -> Option<bool> {
        if self.never.contains(with) {
            return Some(false);
        }
        if self.always.contains(with) {
            return Some(true);
        }
        match self.default {
            ArchivePolicy::Always => Some(true),
            ArchivePolicy::Never => Some(false),
            ArchivePolicy::Roster => None,
        }
    }
}

/// host, username, policy, always, never as stored.
type StoredRow = (String, String, String, String, String);

/// The preferences of every account that set its own.
pub(super) struct PrefsCache {
    server_default: Arc<Prefs>,
    loaded: OnceCell<()>,
    set: Mutex<HashMap<BareJid, Arc<Prefs>>>,
}

impl PrefsCache {
    pub fn new(default: ArchivePolicy) -> PrefsCache {
        PrefsCache {
            server_default: Arc::new(Prefs::of_policy(default)),
            loaded: OnceCell::new(),
            set: Mutex::new(HashMap::new()),
        }
    }

    async fn load(&self, db: &Db) -> Result<(), ServiceError> {
        self.loaded
            .get_or_try_init(|| async {
                let rows = db
                    .call(|c| -> Result<Vec<StoredRow>, ServiceError> {
                        let mut st = c.prepare(
                            "SELECT host, username, policy, always, never FROM archive_prefs",
                        )?;
                        let rows = st
                            .query_map([], |r| {
                                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                            })?
                            .collect::<Result<_, _>>()?;
                        Ok(rows)
                    })
                    .await?;
                let mut set = self.set.lock().expect("prefs lock");
                for (host, username, policy, always, never) in rows {
                    let Ok(owner) = BareJid::new(&format!("{username}@{host}")) else {
                        continue;
                    };
                    let prefs = Prefs {
                        default: ArchivePolicy::parse(&policy)
                            .unwrap_or(self.server_default.default),
                        always: read_list(&always),
                        never: read_list(&never),
                    };
                    set.insert(owner, Arc::new(prefs));
                }
                Ok(())
            })
            .await
            .copied()
    }

    pub async fn get(&self, db: &Db, owner: &BareJid) -> Result<Arc<Prefs>, ServiceError> {
        self.load(db).await?;
        let set = self.set.lock().expect("prefs lock");
        Ok(set
            .get(owner)
            .cloned()
            .unwrap_or_else(|| self.server_default.clone()))
    }

    pub async fn set(&self, db: &Db, owner: &BareJid, prefs: Prefs) -> Result<(), ServiceError> {
        if prefs.always.len() > MAX_PREFS_JIDS || prefs.never.len() > MAX_PREFS_JIDS {
            return Err(ServiceError::Invalid(format!(
                "at most {MAX_PREFS_JIDS} JIDs in each list"
            )));
        }
        self.load(db).await?;
        let (host, username) = super::parts(owner);
        let (policy, always, never) = (
            prefs.default.as_str(),
            write_list(&prefs.always),
            write_list(&prefs.never),
        );
        let stored = db
            .call(move |c| -> Result<bool, ServiceError> {
                Ok(c.prepare_cached(
                    "INSERT INTO archive_prefs (host, username, policy, always, never)
                     SELECT ?1, ?2, ?3, ?4, ?5
                     WHERE EXISTS (SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2)
                     ON CONFLICT (host, username) DO UPDATE SET
                         policy = excluded.policy, always = excluded.always, never = excluded.never",
                )?
                .execute(params![host, username, policy, always, never])?
                    == 1)
            })
            .await?;
        if !stored {
            return Err(ServiceError::NotFound("account"));
        }
        self.set
            .lock()
            .expect("prefs lock")
            .insert(owner.clone(), Arc::new(prefs));
        Ok(())
    }

    pub fn forget(&self, owner: &BareJid) {
        self.set.lock().expect("prefs lock").remove(owner);
    }
}

fn read_list(text: &str) -> Vec<BareJid> {
    text.lines().filter_map(|l| BareJid::new(l).ok()).collect()
}

fn write_list(jids: &[BareJid]) -> String {
    jids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
