//! Admin requests → service calls → admin replies; and the one place where
//! service errors become admin-protocol errors. Commands that change
//! something pass the admin's [`Actor`] to the service, which records them
//! in the audit log; reads (lists, shows, the audit log itself) are not
//! recorded.

use std::time::Duration;

use jid::BareJid;

use roost_common::admin::{
    AdminError, CreatedInviteInfo, ErrorKind, Reply, Request, Role, UserInfo,
};

use crate::metrics::InviteCreatedBy;
use crate::reload::Reloader;
use crate::services::audit::Actor;
use crate::services::invites::AdminInvite;
use crate::services::{ServiceError, Services};

pub async fn run(
    request: Request,
    services: &Services,
    reloader: &Reloader,
    actor: &Actor,
) -> Result<Reply, AdminError> {
    Ok(match request {
        Request::Hello => Reply::Hello {
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        Request::HostList => Reply::Hosts {
            hosts: services.hosts.names(),
        },
        Request::ApiKeyCreate {
            host,
            name,
            expires_in_secs,
        } => {
            let created = services
                .api_keys
                .create(actor, &host, name, expires_in_secs.map(Duration::from_secs))
                .await?;
            Reply::ApiKeyCreated {
                key: created.key,
                info: created.info,
            }
        }
        Request::ApiKeyList { host } => Reply::ApiKeys {
            keys: services.api_keys.list(&host).await?,
        },
        Request::ApiKeyDelete { host, id } => {
            services.api_keys.delete(actor, &host, &id).await?;
            Reply::Deleted
        }
        Request::UserCreate {
            jid,
            password,
            role,
        } => {
            let jid = services
                .accounts
                .create(actor, &jid, &password.0, role.unwrap_or(Role::User))
                .await?;
            Reply::UserCreated {
                jid: jid.to_string(),
            }
        }
        Request::UserPassword { jid, password } => {
            services
                .accounts
                .set_password(actor, &jid, &password.0, None)
                .await?;
            Reply::Done
        }
        Request::UserDelete { jid } => {
            services.accounts.delete(actor, &jid).await?;
            Reply::Deleted
        }
        Request::UserList { host } => Reply::Users {
            users: services
                .accounts
                .list(&host)
                .await?
                .into_iter()
                .map(|account| UserInfo {
                    jid: account.jid.to_string(),
                    role: account.role,
                    created_at: account.created_at,
                })
                .collect(),
        },
        Request::UserSetRole { jid, role } => {
            services.accounts.set_role(actor, &jid, role).await?;
            Reply::Done
        }
        Request::InviteCreate {
            host,
            kind,
            inviter,
            ttl_secs,
            uses,
        } => {
            let (id, created) = services
                .invites
                .create_by_admin(
                    actor,
                    AdminInvite {
                        host: &host,
                        kind,
                        inviter: inviter.as_deref(),
                        ttl: ttl_secs.map(Duration::from_secs),
                        uses,
                    },
                )
                .await?;
            services.metrics.invites.created(InviteCreatedBy::Admin);
            Reply::InviteCreated {
                invite: CreatedInviteInfo {
                    url: created.landing_url,
                    uri: created.uri,
                    id,
                    expires_at: created.expires_at,
                    kind,
                    uses,
                },
            }
        }
        Request::InviteList { host, all } => Reply::Invites {
            invites: services.invites.list(&host, all).await?,
        },
        Request::InviteShow { host, invite } => Reply::Invite {
            // The message names what was asked for, which the service's
            // generic "invite not found" cannot.
            invite: services
                .invites
                .show(&host, &invite)
                .await?
                .ok_or_else(|| {
                    AdminError::new(ErrorKind::NotFound, format!("no invite {invite} on {host}"))
                })?,
        },
        Request::InviteRevoke { host, invite } => {
            services.invites.revoke(actor, &host, &invite).await?;
            Reply::Deleted
        }
        Request::UserClients { jid } => {
            let user = existing_account(services, &jid).await?;
            Reply::Clients {
                clients: services.clients.list(&user).await?,
            }
        }
        Request::RosterShow { jid } => {
            let user = existing_account(services, &jid).await?;
            Reply::Roster {
                roster: services.rosters.show(&user).await?,
            }
        }
        Request::RosterRefresh { jids } => {
            let outcome = services
                .roster_delegation
                .refresh_jids(actor, &jids)
                .await?;
            Reply::RosterRefreshed {
                updated: outcome.updated,
                errors: u32::try_from(outcome.failures.len()).unwrap_or(u32::MAX),
                failures: outcome.failures,
            }
        }
        Request::UserRevokeClient { jid, client } => {
            let user = existing_account(services, &jid).await?;
            let revoked = services
                .clients
                .revoke(actor, &user, &client)
                .await
                .map_err(|e| match e {
                    ServiceError::NotFound(_) => {
                        AdminError::new(ErrorKind::NotFound, "Client not found")
                    }
                    e => e.into(),
                })?;
            Reply::ClientRevoked {
                sessions_ended: revoked.sessions_ended,
                fast_tokens_deleted: revoked.fast_tokens_deleted,
                password_reset_required: revoked.password_reset_required,
            }
        }
        Request::Reload => Reply::Reloaded {
            report: reloader.reload(actor).await.map_err(|e| {
                AdminError::new(
                    ErrorKind::BadRequest,
                    format!("reload refused, nothing was changed: {e:#}"),
                )
            })?,
        },
        Request::Backup { path } => Reply::BackedUp {
            backup: services.backups.write(actor, &path).await?,
        },
        // Issue 12: status and sessions.
        Request::Status => Reply::Status {
            status: services.status.report(),
        },
        Request::C2sList { filter } => Reply::C2sSessions {
            sessions: services.session_admin.list(filter.as_deref())?,
        },
        Request::C2sClose { jid, reason } => {
            let ended = services
                .session_admin
                .close(actor, &jid, reason.as_deref())
                .await
                .map_err(|e| match e {
                    // Names what was asked for, which "session not found" cannot.
                    ServiceError::NotFound(_) if jid.contains('/') => {
                        AdminError::new(ErrorKind::NotFound, format!("no session {jid}"))
                    }
                    ServiceError::NotFound(_) => {
                        AdminError::new(ErrorKind::NotFound, format!("no session of {jid}"))
                    }
                    e => e.into(),
                })?;
            Reply::C2sClosed {
                sessions_ended: u32::try_from(ended).unwrap_or(u32::MAX),
            }
        }
        Request::Audit { query } => Reply::Audit {
            entries: services.audit.query(query).await?,
        },
        Request::ArchiveSize { jid } => {
            let user = existing_account(services, &jid).await?;
            Reply::ArchiveSize {
                size: services.archive.size(&user).await?,
            }
        }
        Request::ArchivePurge { jid, before_secs } => {
            let user = existing_account(services, &jid).await?;
            let before = before_secs.map(Duration::from_secs);
            Reply::ArchivePurged {
                purge: services.archive.purge(actor, &user, before).await?,
            }
        }
    })
}

/// The account `jid` names, which must exist: a typo in the JID says so
/// rather than "no clients".
async fn existing_account(services: &Services, jid: &str) -> Result<BareJid, AdminError> {
    let user = services.accounts.parse_jid(jid)?;
    if !services.accounts.exists(&user).await? {
        return Err(AdminError::new(
            ErrorKind::NotFound,
            format!("no account {user}"),
        ));
    }
    Ok(user)
}

impl From<ServiceError> for AdminError {
    fn from(e: ServiceError) -> Self {
        let kind = match &e {
            ServiceError::Invalid(_) => ErrorKind::BadRequest,
            ServiceError::UnknownHost(_) => ErrorKind::UnknownHost,
            ServiceError::NotFound(_) => ErrorKind::NotFound,
            ServiceError::Conflict(_) => ErrorKind::Conflict,
            ServiceError::Unauthenticated(_) | ServiceError::Forbidden(_) => ErrorKind::Forbidden,
            ServiceError::Storage(inner) => {
                inner.log_refusal("an admin request");
                return AdminError::new(
                    ErrorKind::Internal,
                    format!("nothing was changed: {inner}; try again later"),
                );
            }
        };
        AdminError::new(kind, e.to_string())
    }
}
