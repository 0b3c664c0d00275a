//! The names the metrics count admin requests under: each request's and
//! each error kind's name on the wire (`api_key_create`, `not_found`), a
//! fixed set whatever a client sends.

use roost_common::admin::{ErrorKind, Request};

/// The command of a frame that could not be read as a request.
pub const UNREADABLE: &str = "unreadable";

pub fn command(request: &Request) -> &'static str {
    match request {
        Request::Hello => "hello",
        Request::HostList => "host_list",
        Request::ApiKeyCreate { .. } => "api_key_create",
        Request::ApiKeyList { .. } => "api_key_list",
        Request::ApiKeyDelete { .. } => "api_key_delete",
        Request::UserCreate { .. } => "user_create",
        Request::UserPassword { .. } => "user_password",
        Request::UserDelete { .. } => "user_delete",
        Request::UserList { .. } => "user_list",
        Request::UserSetRole { .. } => "user_set_role",
        Request::InviteCreate { .. } => "invite_create",
        Request::InviteList { .. } => "invite_list",
        Request::InviteShow { .. } => "invite_show",
        Request::InviteRevoke { .. } => "invite_revoke",
        Request::UserClients { .. } => "user_clients",
        Request::UserRevokeClient { .. } => "user_revoke_client",
        Request::RosterShow { .. } => "roster_show",
        Request::RosterRefresh { .. } => "roster_refresh",
        Request::Reload => "reload",
        Request::Backup { .. } => "backup",
        Request::Status => "status",
        Request::C2sList { .. } => "c2s_list",
        Request::C2sClose { .. } => "c2s_close",
        Request::Audit { .. } => "audit",
        Request::ArchiveSize { .. } => "archive_size",
        Request::ArchivePurge { .. } => "archive_purge",
    }
}

pub fn error_kind(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::BadRequest => "bad_request",
        ErrorKind::UnsupportedVersion => "unsupported_version",
        ErrorKind::TooLarge => "too_large",
        ErrorKind::UnknownHost => "unknown_host",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Conflict => "conflict",
        ErrorKind::Forbidden => "forbidden",
        ErrorKind::Internal => "internal",
    }
}

#[cfg(test)]
mod tests {
    use roost_common::admin::{ErrorKind, Request};

    /// The names are the wire's: what `roostctl --json` users and the
    /// protocol's documentation already know.
    #[test]
    fn names_are_the_wire_names() {
        for (request, wire) in [
            (Request::Hello, "\"hello\"".to_owned()),
            (Request::HostList, "\"host_list\"".to_owned()),
            (Request::Reload, "\"reload\"".to_owned()),
            (Request::Status, "\"status\"".to_owned()),
        ] {
            assert_eq!(serde_json::to_string(&request).unwrap(), wire);
            assert_eq!(format!("\"{}\"", super::command(&request)), wire);
        }
        let request = Request::UserDelete { jid: "a@b".into() };
        let wire = serde_json::to_value(&request).unwrap();
        assert!(wire.get(super::command(&request)).is_some(), "{wire}");
        for kind in [
            ErrorKind::BadRequest,
            ErrorKind::UnsupportedVersion,
            ErrorKind::TooLarge,
            ErrorKind::UnknownHost,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::Forbidden,
            ErrorKind::Internal,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                super::error_kind(kind),
                "{kind:?}"
            );
        }
    }
}
