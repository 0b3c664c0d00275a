//! Admin requests → service calls → admin replies; and the one place where
//! service errors become admin-protocol errors.

use std::time::Duration;

use roost_common::admin::{AdminError, ErrorKind, Reply, Request};

use crate::services::{ServiceError, Services};

pub async fn run(request: Request, services: &Services) -> Result<Reply, AdminError> {
    Ok(match request {
        Request::Hello => Reply::Hello {
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        Request::ApiKeyCreate {
            host,
            name,
            expires_in_secs,
        } => {
            let created = services
                .api_keys
                .create(&host, name, expires_in_secs.map(Duration::from_secs))
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
            services.api_keys.delete(&host, &id).await?;
            Reply::Deleted
        }
    })
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
                tracing::error!("admin request failed in storage: {inner}");
                ErrorKind::Internal
            }
        };
        AdminError::new(kind, e.to_string())
    }
}
