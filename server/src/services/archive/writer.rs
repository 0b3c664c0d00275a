//! The archive's one writer: takes whatever messages are queued and writes
//! them in one storage job, so that tens of thousands of messages a second
//! cost a few jobs, not one each; the longer a job takes, the more the
//! next one takes at once. The queue is bounded in messages
//! ([`QUEUE_MESSAGES`]) and in bytes ([`QUEUE_BYTES`]): senders wait when
//! it is full, which slows them to the database's pace instead of growing
//! memory.
//!
//! Stamps are made never to decrease in the order rows are written, so
//! that the order of ids is the order of time and a time range is a range
//! of ids.

use roost_common::config::ArchiveConfig;
use tokio::sync::mpsc;

use super::store::{self, Bounds, Pending};
use super::{NewMessage, Write};
use crate::services::ServiceError;
use crate::storage::Db;

/// Messages waiting for the writer at most: also the most one job writes.
pub(super) const QUEUE_MESSAGES: usize = 16_384;
/// Bytes of stanzas waiting for the writer at most (a message counts as
/// at least one byte and at most this).
pub(super) const QUEUE_BYTES: usize = 32 * 1024 * 1024;
/// Messages written by one storage job at most.
const BATCH_MESSAGES: usize = QUEUE_MESSAGES;

pub(super) async fn run(db: Db, settings: ArchiveConfig, mut queue: mpsc::Receiver<Write>) {
    let bounds = Bounds {
        messages: i64::try_from(settings.max_messages_per_account).unwrap_or(i64::MAX),
        bytes: i64::try_from(settings.max_bytes_per_account).unwrap_or(i64::MAX),
    };
    // From the newest row written: stamps never decrease with ids, even
    // if the clock went back across a restart.
    let mut last_stamp = db
        .call(store::last_stamp)
        .await
        .unwrap_or_else(|e: ServiceError| {
            tracing::warn!("the archive's newest time could not be read: {e}");
            0
        });
    let mut received = Vec::with_capacity(BATCH_MESSAGES);
    while queue.recv_many(&mut received, BATCH_MESSAGES).await > 0 {
        let mut batch = Vec::with_capacity(received.len());
        let mut permits = Vec::with_capacity(received.len());
        let mut flushes = Vec::new();
        for write in received.drain(..) {
            match write {
                Write::Message(message, permit) => {
                    last_stamp = last_stamp.max(message.stamp_ms);
                    batch.push(pending(message, last_stamp));
                    permits.push(permit);
                }
                Write::Flush(done) => flushes.push(done),
            }
        }
        if !batch.is_empty() {
            let count = batch.len();
            let written = db
                .call(move |c| -> Result<(), ServiceError> {
                    store::insert_batch(c, &batch, bounds)
                })
                .await;
            if let Err(e) = written {
                tracing::warn!("{count} messages could not be archived: {e}");
            }
        }
        drop(permits);
        for done in flushes {
            let _ = done.send(());
        }
    }
}

fn pending(message: NewMessage, stamp_ms: i64) -> Pending {
    let (host, username) = super::parts(&message.owner);
    Pending {
        host,
        username,
        with: message.with.to_string(),
        stanza_id: message.stanza_id,
        stamp_ms,
        stanza: message.stanza,
    }
}
