//! The archive's one writer: takes whatever messages are queued and writes
//! them in one storage job, so that tens of thousands of messages a second
//! cost a few jobs, not one each; the longer a job takes, the more the
//! next one takes at once.
//!
//! The queue is bounded by [`QUEUE_BYTES`], each message counting its
//! stanza and what it costs beside ([`queue_cost`]): senders wait when it
//! is full, which slows them to the database's pace instead of growing
//! memory. Messages give their shares back as their rows are written, a
//! few hundred at a time, not when the whole batch is, so that waiting
//! senders move on steadily instead of all stopping for a whole batch.

use roost_common::config::ArchiveConfig;
use tokio::sync::mpsc;

use super::store::{self, Bounds, Pending};
use super::{NewMessage, Write};
use crate::services::ServiceError;
use crate::storage::Db;

/// Bytes waiting for the writer at most: 16 MiB, some 25,000 chat
/// messages.
pub(super) const QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// What a queued message costs beside its stanza (its JIDs and its place
/// in the queue and the batch).
const MESSAGE_OVERHEAD: usize = 256;
/// Messages written by one storage job at most: a commit and the WAL it
/// writes stay short.
const BATCH_MESSAGES: usize = 16_384;

/// The permits `message` holds while it waits.
pub(super) fn queue_cost(message: &NewMessage) -> u32 {
    let bytes = (message.stanza.len() + MESSAGE_OVERHEAD).min(QUEUE_BYTES);
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

pub(super) async fn run(
    db: Db,
    settings: ArchiveConfig,
    mut queue: mpsc::UnboundedReceiver<Write>,
) {
    let bounds = Bounds {
        messages: i64::try_from(settings.max_messages_per_account).unwrap_or(i64::MAX),
        bytes: i64::try_from(settings.max_bytes_per_account).unwrap_or(i64::MAX),
    };
    let mut received = Vec::with_capacity(BATCH_MESSAGES);
    while queue.recv_many(&mut received, BATCH_MESSAGES).await > 0 {
        let mut batch = Vec::with_capacity(received.len());
        let mut flushes = Vec::new();
        for write in received.drain(..) {
            match write {
                Write::Message(message, permit) => batch.push(pending(message, permit)),
                Write::Flush(done) => flushes.push(done),
            }
        }
        if !batch.is_empty() {
            // In id order, rows go to the end of the table.
            batch.sort_unstable_by_key(|row| row.id);
            let count = batch.len();
            let written = db
                .call(move |c| -> Result<(), ServiceError> {
                    store::insert_batch(c, batch, bounds)
                })
                .await;
            if let Err(e) = written {
                tracing::warn!("{count} messages could not be archived: {e}");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

fn pending(message: NewMessage, permit: tokio::sync::OwnedSemaphorePermit) -> Pending {
    let (host, username) = super::parts(&message.owner);
    Pending {
        id: message.id,
        host,
        username,
        with: message.with.to_string(),
        stanza: message.stanza,
        queued: permit,
    }
}
