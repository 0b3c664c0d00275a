//! Admission of client connections before they authenticate: what a flood
//! of TCP connections may cost is bounded here.
//!
//! Every accepted connection asks for a [`Ticket`] and holds it until it
//! authenticates or closes. Two limits apply (`[c2s]`):
//!
//! - **Per source address** (IPv6: per /64, as the login limits count):
//!   one more connection than `max_unauthenticated_per_address` is refused
//!   at once, before any TLS or task exists, which is as cheap as refusing
//!   gets.
//! - **In total**: when `max_unauthenticated_connections` tickets are out,
//!   a new connection is still admitted and an older one is *evicted*
//!   instead: the oldest of the address holding the most tickets. Refusing
//!   the newcomer would let a flood that got in first lock every real
//!   client out until its connections time out; evicting the oldest
//!   connection of the busiest address makes a flood mostly evict itself,
//!   and even a flood spread over many addresses must open as many
//!   connections as the limit before a newcomer's turn comes, which gives a
//!   client that negotiates in well under a second its time.
//!
//! Refusals and evictions are counted and logged as a summary by the
//! listener ([`Admission::take_report`]): one log line per refused
//! connection would turn a flood into a log flood.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use roost_common::config::C2sConfig;
use tokio::sync::oneshot;

use crate::services::auth_limits::source;

/// Most addresses whose refusals are counted one by one between two
/// reports; past it refusals are only counted in total.
const MAX_REFUSING_SOURCES: usize = 1024;

pub struct Admission {
    max_total: usize,
    max_per_source: usize,
    table: Mutex<Table>,
}

/// A connection's place among the unauthenticated ones; given back when
/// dropped (the connection authenticated or closed).
pub struct Ticket {
    admission: Arc<Admission>,
    source: IpAddr,
    id: u64,
    evicted: oneshot::Receiver<()>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    total: usize,
    /// Each source's tickets, oldest first.
    by_source: HashMap<IpAddr, VecDeque<Entry>>,
    /// Every source with tickets, keyed so that the last one is the source
    /// to evict from: the most tickets, then the oldest ticket.
    by_load: BTreeSet<LoadKey>,
    report: Report,
}

type LoadKey = (usize, Reverse<u64>, IpAddr);

struct Entry {
    id: u64,
    evict: oneshot::Sender<()>,
}

/// What was refused and evicted since the last report.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Connections closed at once: their address had its share.
    pub refused: u64,
    /// Connections closed to make room for a new one.
    pub evicted: u64,
    refused_by_source: HashMap<IpAddr, u64>,
}

impl Admission {
    pub fn new(config: &C2sConfig) -> Arc<Admission> {
        Arc::new(Admission {
            max_total: config.max_unauthenticated_connections.max(1),
            max_per_source: config.max_unauthenticated_per_address.max(1),
            table: Mutex::default(),
        })
    }

    /// A ticket for a new connection from `ip`, or `None` when its address
    /// already holds its share (close the connection at once).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Ticket> {
        let source = source(ip);
        let mut table = self.lock();
        let held = table.by_source.get(&source).map_or(0, VecDeque::len);
        if held >= self.max_per_source {
            table.report.count_refusal(source);
            return None;
        }
        if table.total >= self.max_total {
            table.evict_one();
        }
        let id = table.next_id;
        table.next_id += 1;
        let (evict, evicted) = oneshot::channel();
        table.change(source, |entries| entries.push_back(Entry { id, evict }));
        table.total += 1;
        Some(Ticket {
            admission: self.clone(),
            source,
            id,
            evicted,
        })
    }

    /// What was refused and evicted since the last call; `None` if nothing.
    pub fn take_report(&self) -> Option<Report> {
        let report = std::mem::take(&mut self.lock().report);
        (report.refused > 0 || report.evicted > 0).then_some(report)
    }

    /// Unauthenticated connections held now.
    pub fn held(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // The table stays consistent at every await-free step; a panic
        // elsewhere must not stop admissions.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Ticket {
    /// Completes when this connection was evicted to make room: it should
    /// close. Never completes otherwise.
    pub async fn evicted(&mut self) {
        if (&mut self.evicted).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut table = self.admission.lock();
        let id = self.id;
        let mut removed = false;
        table.change(self.source, |entries| {
            if let Some(at) = entries.iter().position(|e| e.id == id) {
                entries.remove(at);
                removed = true;
            }
        });
        if removed {
            table.total -= 1;
        }
    }
}

impl Table {
    /// Applies `edit` to `source`'s tickets, keeping `by_load` in step and
    /// forgetting a source without tickets.
    fn change(&mut self, source: IpAddr, edit: impl FnOnce(&mut VecDeque<Entry>)) {
        let entries = self.by_source.entry(source).or_default();
        if let Some(key) = load_key(source, entries) {
            self.by_load.remove(&key);
        }
        edit(entries);
        match load_key(source, entries) {
            Some(key) => {
                self.by_load.insert(key);
            }
            None => {
                self.by_source.remove(&source);
            }
        }
    }

    /// Evicts the oldest ticket of the source holding the most.
    fn evict_one(&mut self) {
        let Some(&(_, _, source)) = self.by_load.last() else {
            return;
        };
        let mut evicted = None;
        self.change(source, |entries| evicted = entries.pop_front());
        if let Some(entry) = evicted {
            // The connection may be gone already; its ticket's drop then
            // finds nothing to remove.
            let _ = entry.evict.send(());
            self.total -= 1;
            self.report.evicted += 1;
        }
    }
}

fn load_key(source: IpAddr, entries: &VecDeque<Entry>) -> Option<LoadKey> {
    let oldest = entries.front()?;
    Some((entries.len(), Reverse(oldest.id), source))
}

impl Report {
    fn count_refusal(&mut self, source: IpAddr) {
        self.refused += 1;
        let known = self.refused_by_source.len();
        if let Some(count) = self.refused_by_source.get_mut(&source) {
            *count += 1;
        } else if known < MAX_REFUSING_SOURCES {
            self.refused_by_source.insert(source, 1);
        }
    }

    /// The address refused most often, and how often.
    pub fn most_refused(&self) -> Option<(IpAddr, u64)> {
        self.refused_by_source
            .iter()
            .max_by_key(|(source, count)| (**count, Reverse(**source)))
            .map(|(source, count)| (*source, *count))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connections refused (address over c2s.max_unauthenticated_per_address",
            self.refused
        )?;
        if let Some((source, count)) = self.most_refused() {
            write!(f, "; most from {source}: {count}")?;
        }
        write!(
            f,
            "), {} unauthenticated connections closed to make room \
             (c2s.max_unauthenticated_connections)",
            self.evicted
        )
    }
}

#[cfg(test)]
mod tests;
