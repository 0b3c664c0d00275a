//! Invite API keys (mod_invites_api): create, list, delete, and the one
//! operation a key is good for, creating an account invite.
//!
//! A key is `ID/SECRET`; only a hash of the secret is stored and it is
//! compared in constant time. Lookups go to the database every time, so a
//! deleted key stops working with the next request.

use std::time::Duration;

use roost_common::admin::ApiKeyInfo;
use roost_common::jid::DomainName;
use rusqlite::{OptionalExtension as _, Row, params};

use super::audit::{self, Actor, Audit, AuditAction, Entry};
use super::invites::{self, CreatedInvite, Creator, InviteKind, Invites, NewInvite};
use super::secrets::{self, SECRET_BYTES};
use super::{Hosts, ServiceError, now};
use crate::storage::Db;

/// Longest key name accepted, in characters.
const MAX_NAME_CHARS: usize = 200;

#[derive(Clone)]
pub struct ApiKeys {
    db: Db,
    hosts: Hosts,
    invites: Invites,
    audit: Audit,
}

/// A new key: the whole key (shown once) and what is stored of it.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: String,
    pub info: ApiKeyInfo,
}

impl ApiKeys {
    pub fn new(db: Db, hosts: Hosts, invites: Invites, audit: Audit) -> ApiKeys {
        ApiKeys {
            db,
            hosts,
            invites,
            audit,
        }
    }

    pub async fn create(
        &self,
        actor: &Actor,
        host: &str,
        name: Option<String>,
        expires_in: Option<Duration>,
    ) -> Result<CreatedKey, ServiceError> {
        let result = self.create_checked(actor, host, name, expires_in).await;
        self.audit
            .settle(result, || {
                Entry::new(actor, AuditAction::ApiKeyCreate).host(host)
            })
            .await
    }

    async fn create_checked(
        &self,
        actor: &Actor,
        host: &str,
        name: Option<String>,
        expires_in: Option<Duration>,
    ) -> Result<CreatedKey, ServiceError> {
        let host = self.hosts.resolve(host)?;
        let expires_in = expires_in
            .map(roost_common::config::check_lifetime)
            .transpose()
            .map_err(ServiceError::Invalid)?;
        let name = name.map(validate_name).transpose()?.flatten();
        let id = secrets::random_short_id();
        let secret = secrets::random_id(SECRET_BYTES);
        let created_at = now();
        let info = ApiKeyInfo {
            id: id.clone(),
            host: host.to_string(),
            name,
            created_at,
            // At most a hundred years (checked above): no overflow.
            expires_at: expires_in.map(|d| created_at.saturating_add(d.as_secs() as i64)),
            last_used_at: None,
            invites_created: 0,
        };
        let stored = info.clone();
        let secret_hash = secrets::hash(&secret);
        let recorded = Entry::new(actor, AuditAction::ApiKeyCreate)
            .host(&host)
            .subject(&id);
        self.db
            .call(move |conn| -> Result<(), ServiceError> {
                conn.execute(
                    "INSERT INTO api_keys (id, host, name, secret_hash, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        stored.id,
                        stored.host,
                        stored.name,
                        secret_hash,
                        stored.created_at,
                        stored.expires_at
                    ],
                )?;
                audit::insert(conn, &recorded)
            })
            .await?;
        Ok(CreatedKey {
            key: format!("{id}/{secret}"),
            info,
        })
    }

    /// The host's keys, oldest first.
    pub async fn list(&self, host: &str) -> Result<Vec<ApiKeyInfo>, ServiceError> {
        let host = self.hosts.resolve(host)?;
        self.db
            .call(move |conn| -> Result<_, ServiceError> {
                let mut st = conn.prepare(
                    "SELECT id, host, name, created_at, expires_at, last_used_at, invites_created
                     FROM api_keys WHERE host = ?1 ORDER BY created_at, id",
                )?;
                let keys = st
                    .query_map(params![host.as_str()], info_from_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(keys)
            })
            .await
    }

    pub async fn delete(&self, actor: &Actor, host: &str, id: &str) -> Result<(), ServiceError> {
        let result = self.delete_checked(actor, host, id).await;
        self.audit
            .settle(result, || {
                // An id as typed; were it a whole key, only its id part.
                let id = id.split_once('/').map_or(id, |(id, _)| id);
                Entry::new(actor, AuditAction::ApiKeyDelete)
                    .host(host)
                    .subject(id)
            })
            .await
    }

    async fn delete_checked(
        &self,
        actor: &Actor,
        host: &str,
        id: &str,
    ) -> Result<(), ServiceError> {
        let host = self.hosts.resolve(host)?;
        let recorded = Entry::new(actor, AuditAction::ApiKeyDelete)
            .host(&host)
            .subject(id);
        let id = id.to_owned();
        self.db
            .call(move |conn| -> Result<(), ServiceError> {
                let deleted = conn.execute(
                    "DELETE FROM api_keys WHERE id = ?1 AND host = ?2",
                    params![id, host.as_str()],
                )?;
                if deleted == 0 {
                    return Err(ServiceError::NotFound("key"));
                }
                audit::insert(conn, &recorded)
            })
            .await
    }

    /// Checks `presented` (`ID/SECRET`) and creates one single-use account
    /// invite on the key's host. When the request named one of our hosts
    /// (`for_host`), the key must belong to it. Recorded with the key's id
    /// as the actor; a refusal within the refusal allowance (strangers may
    /// try keys at will), with the id as presented when it has a key's
    /// shape.
    pub async fn create_invite(
        &self,
        presented: &str,
        for_host: Option<DomainName>,
    ) -> Result<CreatedInvite, ServiceError> {
        let host = for_host.as_ref().map(ToString::to_string);
        let result = self.create_invite_checked(presented, for_host).await;
        self.audit
            .settle(result, || {
                let id = split_key(presented).map_or("", |(id, _)| id);
                let entry = Entry::new(
                    &Actor::ApiKey { id: id.to_owned() },
                    AuditAction::InviteCreate,
                );
                match host {
                    Some(host) => entry.host(host),
                    None => entry,
                }
            })
            .await
    }

    async fn create_invite_checked(
        &self,
        presented: &str,
        for_host: Option<DomainName>,
    ) -> Result<CreatedInvite, ServiceError> {
        let (id, secret) = split_key(presented)?;
        let (id, secret) = (id.to_owned(), secret.to_owned());
        let invites = self.invites.clone();
        let row = self
            .db
            .call(move |conn| -> Result<_, ServiceError> {
                let found = conn
                    .prepare_cached(
                        "SELECT host, secret_hash, expires_at FROM api_keys WHERE id = ?1",
                    )?
                    .query_row(params![id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, Option<i64>>(2)?,
                        ))
                    })
                    .optional()?;
                let Some((host, secret_hash, expires_at)) = found else {
                    return Err(ServiceError::Unauthenticated("invalid API key"));
                };
                if !secrets::matches(&secret, &secret_hash) {
                    return Err(ServiceError::Unauthenticated("invalid API key"));
                }
                let now = now();
                if expires_at.is_some_and(|e| now > e) {
                    return Err(ServiceError::Unauthenticated("API key expired"));
                }
                let host = DomainName::parse(&host)
                    .map_err(|_| ServiceError::Forbidden("API key belongs to no served host"))?;
                if for_host.as_ref().is_some_and(|h| *h != host) {
                    return Err(ServiceError::Forbidden("API key belongs to another host"));
                }
                let row = invites.prepare(NewInvite {
                    jid: host.to_string(),
                    host,
                    kind: InviteKind::Account,
                    creator: Creator::ApiKey(id.clone()),
                    inviter: None,
                    ttl: None,
                    uses: Some(1),
                });
                let actor = Actor::ApiKey { id: id.clone() };
                invites::insert_recorded(conn, &row, Some(&id), &actor)?;
                conn.prepare_cached(
                    "UPDATE api_keys SET last_used_at = ?1, invites_created = invites_created + 1
                     WHERE id = ?2",
                )?
                .execute(params![now, id])?;
                Ok(row)
            })
            .await?;
        Ok(self.invites.created(row))
    }
}

fn split_key(presented: &str) -> Result<(&str, &str), ServiceError> {
    const MALFORMED: ServiceError = ServiceError::Unauthenticated("malformed API key");
    let (id, secret) = presented.split_once('/').ok_or(MALFORMED)?;
    if !secrets::is_base64url(id)
        || !secrets::is_base64url(secret)
        || id.len() > 64
        || secret.len() > 128
    {
        return Err(MALFORMED);
    }
    Ok((id, secret))
}

/// Trims a key name; an empty one means no name.
fn validate_name(name: String) -> Result<Option<String>, ServiceError> {
    let name = name.trim();
    if name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            "a key name cannot contain control characters".into(),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::Invalid(format!(
            "a key name is at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

fn info_from_row(r: &Row<'_>) -> rusqlite::Result<ApiKeyInfo> {
    Ok(ApiKeyInfo {
        id: r.get(0)?,
        host: r.get(1)?,
        name: r.get(2)?,
        created_at: r.get(3)?,
        expires_at: r.get(4)?,
        last_used_at: r.get(5)?,
        invites_created: r.get::<_, i64>(6)?.max(0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shapes() {
        assert!(split_key("abc/def").is_ok());
        for bad in [
            "", "/", "abc", "abc/", "/def", "a b/c", "abc/d+f", "abc/d/f",
        ] {
            assert!(split_key(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            validate_name("  my key ".into()).unwrap().as_deref(),
            Some("my key")
        );
        assert_eq!(validate_name("   ".into()).unwrap(), None);
        assert!(validate_name("a\nb".into()).is_err());
        assert!(validate_name("x".repeat(201)).is_err());
    }
}
