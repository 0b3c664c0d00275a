//! Which admin socket roostctl talks to.
//!
//! In order: `--socket`; the socket named by the config file given with
//! `--config` or `ROOST_CONFIG` (clap has already merged those two);
//! `ROOST_SOCKET`; the built-in default, `./data/roostd.sock`. The config
//! file is read only when one is named, so the common case costs nothing.

use std::ffi::OsString;
use std::path::PathBuf;

use roost_common::config::{Config, ConfigError};
use roost_shell::grammar::ConnectionArgs;

/// `socket_env` is the value of `ROOST_SOCKET`; empty counts as unset.
pub fn resolve(
    args: &ConnectionArgs,
    socket_env: Option<OsString>,
) -> Result<PathBuf, ConfigError> {
    if let Some(socket) = &args.socket {
        return Ok(socket.clone());
    }
    if let Some(config) = &args.config {
        return Ok(Config::load(Some(config))?.socket_path());
    }
    if let Some(socket) = socket_env.filter(|s| !s.is_empty()) {
        return Ok(PathBuf::from(socket));
    }
    Ok(Config::default().socket_path())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn args(socket: Option<&str>, config: Option<&Path>) -> ConnectionArgs {
        ConnectionArgs {
            socket: socket.map(PathBuf::from),
            config: config.map(Path::to_path_buf),
        }
    }

    /// A config file naming `socket`, relative to the file's directory.
    fn config_naming(socket: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roost.toml");
        std::fs::write(&path, format!("[admin]\nsocket = \"{socket}\"\n")).unwrap();
        (dir, path)
    }

    #[test]
    fn socket_option_wins() {
        let (_dir, config) = config_naming("from-config.sock");
        let resolved = resolve(
            &args(Some("/flag.sock"), Some(&config)),
            Some("/env.sock".into()),
        );
        assert_eq!(resolved.unwrap(), Path::new("/flag.sock"));
    }

    #[test]
    fn config_file_comes_next() {
        let (dir, config) = config_naming("from-config.sock");
        let resolved = resolve(&args(None, Some(&config)), Some("/env.sock".into()));
        assert_eq!(resolved.unwrap(), dir.path().join("from-config.sock"));
    }

    #[test]
    fn config_without_socket_uses_its_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("roost.toml");
        std::fs::write(&config, "data_dir = \"/var/lib/roost\"\n").unwrap();
        let resolved = resolve(&args(None, Some(&config)), None);
        assert_eq!(resolved.unwrap(), Path::new("/var/lib/roost/roostd.sock"));
    }

    #[test]
    fn then_the_environment_then_the_default() {
        assert_eq!(
            resolve(&args(None, None), Some("/env.sock".into())).unwrap(),
            Path::new("/env.sock")
        );
        assert_eq!(
            resolve(&args(None, None), Some("".into())).unwrap(),
            Path::new("./data/roostd.sock")
        );
        assert_eq!(
            resolve(&args(None, None), None).unwrap(),
            Path::new("./data/roostd.sock")
        );
    }

    #[test]
    fn a_bad_config_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let err = resolve(&args(None, Some(&missing)), None).unwrap_err();
        assert!(err.to_string().contains("missing.toml"), "{err}");

        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[admin]\nsockt = \"x\"\n").unwrap();
        let err = resolve(&args(None, Some(&bad)), None).unwrap_err();
        assert!(err.to_string().contains("bad.toml:2"), "{err}");
    }
}
