//! Telling systemd how roostd is doing (`Type=notify`): ready once every
//! listener is bound, reloading, stopping, and watchdog pings. Each call
//! is a no-op when `NOTIFY_SOCKET` is unset, so nothing changes outside
//! systemd.

use std::time::Duration;

use sd_notify::NotifyState;

use crate::storage::{Db, StorageError};

pub fn ready() {
    notify(&[NotifyState::Ready]);
}

pub fn stopping() {
    notify(&[NotifyState::Stopping]);
}

/// Brackets a reload: systemd (`Type=notify-reload` or `ExecReload`)
/// waits until `READY=1` follows.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        Err(e) => tracing::warn!("cannot tell systemd about the reload: {e}"),
    }
}

/// Pings the watchdog at half its interval while roostd works: each ping
/// follows a no-op job answered by the storage thread, so a storage thread
/// that hangs (or a runtime that no longer schedules this task) stops the
/// pings and systemd restarts roostd. Returns at once without a watchdog.
pub async fn watchdog(db: Db) {
    let Some(interval) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = (interval / 2).max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let probe = db.call(|_| Ok::<(), StorageError>(()));
        match tokio::time::timeout(interval, probe).await {
            Ok(Ok(())) => notify(&[NotifyState::Watchdog]),
            Ok(Err(e)) => tracing::warn!("watchdog: storage failed a no-op job: {e}"),
            Err(_) => tracing::warn!("watchdog: storage did not answer within {interval:?}"),
        }
    }
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("cannot notify systemd: {e}");
    }
}
