//! The [`Names`] completion needs, asked of roostd over a connection of
//! their own (so that completing never disturbs the command connection).
//!
//! A completion may not hang the shell: all requests of one completion
//! share a small time budget, and a failure of any kind (roostd down, slow,
//! an older roostd that does not know `HostList`) gives no names, silently.
//! Hosts and account lists are kept for a few seconds, so that pressing Tab
//! repeatedly costs one round trip; client and session lists are always
//! asked afresh, since a revocation or a login changes them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use roost_common::admin::{Reply, Request};

use super::Names;
use crate::client::AdminClient;

/// How long one completion may wait for roostd, in all.
pub const COMPLETION_BUDGET: Duration = Duration::from_millis(800);

/// How long a fetched host or account list is reused.
const KEEP_FOR: Duration = Duration::from_secs(10);

pub struct RoostdNames {
    client: RefCell<AdminClient>,
    budget: Duration,
    cache: RefCell<Cache>,
}

#[derive(Default)]
struct Cache {
    hosts: Option<(Instant, Vec<String>)>,
    /// Account JIDs by host.
    jids: HashMap<String, (Instant, Vec<String>)>,
}

impl RoostdNames {
    /// Names from the roostd listening at `socket`.
    pub fn new(socket: &Path) -> Self {
        RoostdNames::with_budget(socket, COMPLETION_BUDGET)
    }

    /// With another time budget per completion (tests use a short one).
    pub fn with_budget(socket: &Path, budget: Duration) -> Self {
        RoostdNames {
            client: RefCell::new(AdminClient::new(socket)),
            budget,
            cache: RefCell::new(Cache::default()),
        }
    }

    fn deadline(&self) -> Instant {
        Instant::now() + self.budget
    }

    /// One request within the budget; `None` on any failure.
    fn call(&self, deadline: Instant, request: Request) -> Option<Reply> {
        let left = deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        let mut client = self.client.try_borrow_mut().ok()?;
        client.set_timeout(left);
        client.call(request).ok()
    }

    fn hosts_before(&self, deadline: Instant) -> Vec<String> {
        if let Some((fetched, hosts)) = &self.cache.borrow().hosts
            && fetched.elapsed() < KEEP_FOR
        {
            return hosts.clone();
        }
        let Some(Reply::Hosts { hosts }) = self.call(deadline, Request::HostList) else {
            return Vec::new();
        };
        self.cache.borrow_mut().hosts = Some((Instant::now(), hosts.clone()));
        hosts
    }

    fn jids_of(&self, host: &str, deadline: Instant) -> Vec<String> {
        if let Some((fetched, jids)) = self.cache.borrow().jids.get(host)
            && fetched.elapsed() < KEEP_FOR
        {
            return jids.clone();
        }
        let request = Request::UserList {
            host: host.to_owned(),
        };
        let Some(Reply::Users { users }) = self.call(deadline, request) else {
            return Vec::new();
        };
        let jids: Vec<String> = users.into_iter().map(|user| user.jid).collect();
        self.cache
            .borrow_mut()
            .jids
            .insert(host.to_owned(), (Instant::now(), jids.clone()));
        jids
    }
}

impl Names for RoostdNames {
    fn hosts(&self) -> Vec<String> {
        self.hosts_before(self.deadline())
    }

    fn jids(&self, prefix: &str) -> Vec<String> {
        let deadline = self.deadline();
        // Once the host part is being typed, only the hosts it may become
        // are worth a request.
        let host_prefix = prefix.split_once('@').map_or("", |(_, host)| host);
        self.hosts_before(deadline)
            .iter()
            .filter(|host| host.starts_with(host_prefix))
            .flat_map(|host| self.jids_of(host, deadline))
            .collect()
    }

    fn clients(&self, jid: &str) -> Vec<String> {
        let request = Request::UserClients {
            jid: jid.to_owned(),
        };
        match self.call(self.deadline(), request) {
            Some(Reply::Clients { clients }) => clients.into_iter().map(|c| c.id).collect(),
            _ => Vec::new(),
        }
    }

    fn sessions(&self, prefix: &str) -> Vec<String> {
        // Once a resource is being typed, only that account's sessions.
        let filter = prefix.split_once('/').map(|(bare, _)| bare.to_owned());
        let Some(Reply::C2sSessions { sessions }) =
            self.call(self.deadline(), Request::C2sList { filter })
        else {
            return Vec::new();
        };
        let mut jids: Vec<String> = sessions
            .into_iter()
            .flat_map(|s| {
                let bare = s.jid.split_once('/').map(|(bare, _)| bare.to_owned());
                std::iter::once(s.jid).chain(bare)
            })
            .collect();
        jids.sort();
        jids.dedup();
        jids
    }
}

#[cfg(test)]
mod tests;
