//! The live sessions as an admin sees and ends them (`roostctl c2s list`,
//! `c2s close`): what an admin typed becomes a [`SessionScope`] on a host
//! roostd serves, and the directory's sessions become admin-protocol rows.

use jid::{BareJid, FullJid, Jid};
use roost_common::admin::SessionInfo;

use super::{SessionDetails, SessionScope, Sessions};
use crate::services::audit::{self, Actor, Audit, AuditAction, Entry};
use crate::services::{Hosts, ServiceError};

/// The stream error's text when the admin gave none.
pub const DEFAULT_CLOSE_TEXT: &str = "Your session was ended by an administrator";

/// Longest reason an admin may give, in bytes: it goes into a stream error.
pub const MAX_CLOSE_TEXT: usize = 1024;

#[derive(Clone)]
pub struct SessionAdmin {
    hosts: Hosts,
    sessions: Sessions,
    audit: Audit,
}

impl SessionAdmin {
    pub fn new(hosts: Hosts, sessions: Sessions, audit: Audit) -> SessionAdmin {
        SessionAdmin {
            hosts,
            sessions,
            audit,
        }
    }

    /// Ends the sessions `jid` names (see [`Self::end`]) as `actor` asked,
    /// recorded in the audit log whatever the outcome.
    pub async fn close(
        &self,
        actor: &Actor,
        jid: &str,
        reason: Option<&str>,
    ) -> Result<usize, ServiceError> {
        let ended = self.end(jid, reason);
        let entry = Entry::new(actor, AuditAction::SessionClose).subject(jid);
        let entry = match (&ended, reason) {
            (Ok(n), Some(reason)) => entry.detail(format!("sessions={n} reason={reason}")),
            (Ok(n), None) => entry.detail(format!("sessions={n}")),
            (Err(e), _) => entry.outcome(audit::code(e)),
        };
        self.audit.record_apart(entry).await;
        ended
    }

    /// The sessions `filter` names (a host, a bare or a full JID; `None`
    /// for all), sorted by JID.
    pub fn list(&self, filter: Option<&str>) -> Result<Vec<SessionInfo>, ServiceError> {
        let scope = match filter {
            None => SessionScope::All,
            Some(text) => self.scope(text)?,
        };
        let now = crate::services::now();
        let mut rows: Vec<SessionInfo> = self
            .sessions
            .details(&scope)
            .into_iter()
            .map(|details| row(details, now))
            .collect();
        rows.sort_by(|a, b| a.jid.cmp(&b.jid));
        Ok(rows)
    }

    /// Ends the session of a full JID, or every session of a bare JID,
    /// telling each client `reason` (or [`DEFAULT_CLOSE_TEXT`]). Returns
    /// how many ended; none is an error ([`ServiceError::NotFound`]), so
    /// that a mistyped resource does not pass for a kick.
    fn end(&self, jid: &str, reason: Option<&str>) -> Result<usize, ServiceError> {
        let scope = match self.scope(jid)? {
            SessionScope::Host(_) => {
                return Err(ServiceError::Invalid(format!(
                    "'{jid}' is a host; name an account (user@host) or a session (user@host/resource)"
                )));
            }
            scope => scope,
        };
        let text = reason.map(str::trim).filter(|r| !r.is_empty());
        if text.is_some_and(|t| t.len() > MAX_CLOSE_TEXT) {
            return Err(ServiceError::Invalid(format!(
                "the reason is longer than {MAX_CLOSE_TEXT} bytes"
            )));
        }
        // XML 1.0 cannot carry most control characters: the client would
        // get a stream it cannot read instead of the reason.
        if text.is_some_and(|t| t.chars().any(not_for_xml)) {
            return Err(ServiceError::Invalid(
                "the reason may not contain control characters".into(),
            ));
        }
        match self
            .sessions
            .close(&scope, text.unwrap_or(DEFAULT_CLOSE_TEXT))
        {
            0 => Err(ServiceError::NotFound("session")),
            ended => Ok(ended),
        }
    }

    /// A host roostd serves, or an account's or a session's JID on one.
    fn scope(&self, text: &str) -> Result<SessionScope, ServiceError> {
        let jid = Jid::new(text)
            .map_err(|e| ServiceError::Invalid(format!("'{text}' is not a valid JID: {e}")))?;
        let host = self.hosts.resolve(jid.domain().as_str())?;
        let Some(node) = jid.node() else {
            if jid.resource().is_some() {
                return Err(ServiceError::Invalid(format!(
                    "'{text}' names no user; write user@host or user@host/resource"
                )));
            }
            return Ok(SessionScope::Host(host.to_string()));
        };
        let bare = BareJid::new(&format!("{node}@{host}"))
            .map_err(|e| ServiceError::Invalid(format!("'{text}' is not a valid JID: {e}")))?;
        Ok(match jid.resource() {
            None => SessionScope::Account(bare),
            Some(resource) => {
                SessionScope::Session(FullJid::new(&format!("{bare}/{resource}")).map_err(|e| {
                    ServiceError::Invalid(format!("'{text}' is not a valid JID: {e}"))
                })?)
            }
        })
    }
}

/// A character a stream error's text may not hold: controls other than
/// tab and line breaks, and the non-characters XML excludes.
fn not_for_xml(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// One session as `c2s list` shows it, its idle time counted to `now`.
fn row(details: SessionDetails, now: i64) -> SessionInfo {
    let connected = &details.connected;
    SessionInfo {
        jid: details.session.jid.to_string(),
        address: connected.peer.to_string(),
        tls: connected.tls.map(str::to_owned),
        mechanism: connected.mechanism.to_owned(),
        software: connected.agent.software.clone(),
        device: connected.agent.device.clone(),
        since: details.session.since,
        idle_secs: u64::try_from(now - details.last_active).unwrap_or(0),
        hibernated: details.hibernated,
    }
}

#[cfg(test)]
mod tests;
