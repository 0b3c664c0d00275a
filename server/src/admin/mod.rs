//! The admin socket: a Unix socket in the data directory, mode 0600, that
//! only processes of roostd's own user (or root) may use. Each connection
//! reads request frames, answers each with one response frame, and lives
//! until the client closes it; connections are independent of each other.

mod dispatch;
mod names;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use roost_common::admin::{AdminError, ErrorKind, MAX_REQUEST_LEN, RequestFrame, ResponseFrame};
use roost_common::frame::{self, FrameDecoder};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use std::sync::Arc;

use crate::reload::Reloader;
use crate::services::Services;
use crate::services::audit::Actor;

/// What admin commands act on.
#[derive(Clone)]
pub struct AdminContext {
    pub services: Services,
    pub reloader: Arc<Reloader>,
}

/// The bound admin socket; the file is removed when this is dropped.
pub struct AdminSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl AdminSocket {
    /// Binds `path` with mode 0600. A stale socket file left by a crashed
    /// roostd is replaced; a live one means another roostd runs here.
    pub fn bind(path: &Path) -> anyhow::Result<AdminSocket> {
        if path.exists() {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                bail!(
                    "another roostd is already serving the admin socket {}",
                    path.display()
                );
            }
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // Bind under a umask that leaves no window in which others could connect.
        // SAFETY: umask only swaps the process's file mode mask.
        let old = unsafe { libc::umask(0o177) };
        let bound = UnixListener::bind(path);
        unsafe { libc::umask(old) };
        let listener =
            bound.with_context(|| format!("cannot bind admin socket {}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set permissions of {}", path.display()))?;
        Ok(AdminSocket {
            listener,
            path: path.to_owned(),
        })
    }

    /// Accepts admin clients until the task is dropped. Open connections
    /// are closed once `stop` turns true, so an idle `roostctl shell` cannot
    /// hold up shutdown.
    pub async fn serve(&self, context: AdminContext, stop: watch::Receiver<bool>) {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    let mut stop = stop.clone();
                    let connection = handle(stream, context.clone());
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = connection => {}
                            _ = stop.wait_for(|s| *s) => {}
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("admin socket accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn handle(mut stream: UnixStream, context: AdminContext) {
    let services = &context.services;
    let actor = match check_peer(&stream) {
        Ok(uid) => Actor::Admin { uid },
        Err((uid, refusal)) => {
            tracing::warn!("admin socket: {refusal}");
            if let Some(uid) = uid {
                services.audit.admin_refused(uid).await;
            }
            let answer = ResponseFrame::error(0, AdminError::new(ErrorKind::Forbidden, refusal));
            let _ = stream.write_all(&frame::encode(&answer)).await;
            return;
        }
    };
    let mut decoder = FrameDecoder::new(MAX_REQUEST_LEN);
    let mut buf = vec![0u8; 8192];
    loop {
        while let Some(next) = decoder.next_frame() {
            let answer = match next {
                Ok(line) => answer(&line, &context, &actor).await,
                Err(e) => {
                    ResponseFrame::error(0, AdminError::new(ErrorKind::TooLarge, e.to_string()))
                }
            };
            if stream.write_all(&frame::encode(&answer)).await.is_err() {
                return;
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => decoder.push(&buf[..n]),
        }
    }
}

/// Answers one request frame, counted for the metrics by command and
/// outcome; changes are made as `actor`, the uid behind the connection.
async fn answer(line: &[u8], context: &AdminContext, actor: &Actor) -> ResponseFrame {
    let metrics = &context.services.metrics;
    let request = match RequestFrame::read(line) {
        Ok(request) => request,
        Err((id, error)) => {
            metrics.admin_command(names::UNREADABLE, names::error_kind(error.kind));
            return ResponseFrame::error(id, error);
        }
    };
    let command = names::command(&request.request);
    let outcome = dispatch::run(request.request, &context.services, &context.reloader, actor).await;
    match outcome {
        Ok(reply) => {
            metrics.admin_command(command, "ok");
            ResponseFrame::ok(request.id, reply)
        }
        Err(e) => {
            metrics.admin_command(command, names::error_kind(e.kind));
            ResponseFrame::error(request.id, e)
        }
    }
}

/// Only roostd's own user and root may administer it: the peer's uid, or
/// why not (with the uid when it could be read).
fn check_peer(stream: &UnixStream) -> Result<u32, (Option<u32>, String)> {
    let cred = stream
        .peer_cred()
        .map_err(|e| (None, format!("cannot read the peer's credentials: {e}")))?;
    // SAFETY: geteuid cannot fail.
    let own = unsafe { libc::geteuid() };
    if cred.uid() == own || cred.uid() == 0 {
        Ok(cred.uid())
    } else {
        Err((
            Some(cred.uid()),
            format!(
                "uid {} may not use the admin socket (only uid {own} and root may)",
                cred.uid()
            ),
        ))
    }
}
