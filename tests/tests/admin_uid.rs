//! The admin socket against another user (issue 11): `roostctl` run under
//! another uid (with `setpriv`) is refused, first by the socket's mode and,
//! with the way opened, by roostd's own peer check (recorded in the audit
//! log), each with a clear message; root is served. Needs root to switch
//! uid.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use roost_tests::{HOST, Server, roostctl_bin, stderr};

/// The uid and gid of `nobody`.
const NOBODY: &str = "65534";

fn as_nobody(roostctl: &Path, socket: &Path) -> Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
        ])
        .arg(roostctl)
        .arg("--socket")
        .arg(socket)
        .args(["user", "list", HOST])
        .output()
        .expect("setpriv runs")
}

fn open_to_all(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn another_user_is_refused_and_root_is_served() {
    // SAFETY: geteuid cannot fail.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test switches to uid {NOBODY} and must run as root"
    );
    let mut server = Server::start();
    // A copy of roostctl that nobody may run, wherever the build put it.
    let bin = tempfile::tempdir().unwrap();
    open_to_all(bin.path(), 0o755);
    let roostctl = bin.path().join("roostctl");
    std::fs::copy(roostctl_bin(), &roostctl).unwrap();
    open_to_all(&roostctl, 0o755);

    // The socket is 0600 in a private directory: the kernel refuses first.
    let refused = as_nobody(&roostctl, &server.socket_path());
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("permission denied"),
        "{}",
        stderr(&refused)
    );

    // An operator who opens the way (a group, a chmod) still cannot let
    // other users in: roostd checks the peer's uid itself.
    let data = server.socket_path().parent().unwrap().to_owned();
    open_to_all(server.dir.path(), 0o711);
    open_to_all(&data, 0o711);
    open_to_all(&server.socket_path(), 0o666);
    let refused = as_nobody(&roostctl, &server.socket_path());
    assert_ne!(refused.status.code(), Some(0), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(&format!("uid {NOBODY} may not use the admin socket")),
        "{}",
        stderr(&refused)
    );
    // Root is served.
    let served = Command::new(&roostctl)
        .arg("--socket")
        .arg(server.socket_path())
        .args(["user", "list", HOST])
        .output()
        .unwrap();
    assert_eq!(served.status.code(), Some(0), "{}", stderr(&served));
    // The peer check's refusal is in the audit log (issue 12), by the
    // refused uid; the kernel's refusal never reached roostd.
    let audit = server.ctl(&["audit", "--json", "--action", "admin.connect"]);
    let entries: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor_kind"], "admin");
    assert_eq!(entries[0]["actor"], NOBODY);
    assert_eq!(entries[0]["outcome"], "forbidden");

    let (_, log) = server.terminate();
    assert!(
        log.contains(&format!("uid {NOBODY} may not use the admin socket")),
        "roostd logs the refusal: {log}"
    );
}
