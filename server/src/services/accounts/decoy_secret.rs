//! The secret SCRAM decoy salts are derived from (see
//! [`roost_sasl::ScramServer::with_decoy`]): made once, on first need, and
//! kept in the data directory with mode 0600 (`services/secret_file.rs`),
//! so an unknown user's salt is the same after a restart, as a real user's
//! is.

/// The file's name in the data directory.
pub const FILE_NAME: &str = "scram-decoy.secret";

/// What removing a damaged file costs, for the error that names it.
pub const IF_REMOVED: &str = "unknown users' SCRAM salts then change once";

#[cfg(test)]
mod tests {
    use roost_sasl::DECOY_SECRET_LEN;

    use super::*;
    use crate::services::secret_file;

    #[test]
    fn kept_in_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let load = || {
            secret_file::load_or_create::<DECOY_SECRET_LEN>(&dir.path().join(FILE_NAME), IF_REMOVED)
        };
        let first = load().unwrap();
        assert!(dir.path().join(FILE_NAME).exists());
        assert_eq!(load().unwrap(), first);
    }
}
