//! Group commit for gifts. Every gift recorded through
//! [`ScopedStore::donation_create`] goes to one writer task per store, which
//! takes all gifts waiting at that moment (up to [`MAX_BATCH`]) and writes them
//! in ONE transaction, so one fsync (SQLite WAL `synchronous=FULL`,
//! PostgreSQL `synchronous_commit=on`) serves the whole batch.
//!
//! Rules:
//! - Each gift is written inside a savepoint of its own: a gift that fails
//!   (closed project, conflicting idempotency key, …) is rolled back alone and
//!   answered with its own error; the others commit.
//! - A caller is answered only after the batch's COMMIT returned: an
//!   acknowledged gift is durable. If the COMMIT fails, every gift of the batch
//!   is answered with that failure and none of them exists.
//! - No waiting to fill a batch: the writer starts as soon as one gift is
//!   queued, and what arrives while it writes forms the next batch. Under no
//!   load a gift costs what it did without batching; under load the batch
//!   grows with the queue.
//! - Ledger leaves are sequenced by this one writer (and by the `ledger`
//!   sequence row that every money write takes, see the lock order).
//! - The task holds no store while idle: each job carries its own scoped
//!   store, so the task ends when the last store (the sender's owner) is gone.

use crate::idempotency::{IdempotencyClaim, StoredResponse};
use crate::{ScopedStore, StoreError, StoreResult};
use boai_domain::fundraising::DonationForCreate;
use sea_orm::{DbErr, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::Gift;

/// Most gifts written in one transaction.
pub const MAX_BATCH: usize = 256;

/// Renders the answer stored under an idempotency key from the gift written.
pub type GiftRenderer = fn(&super::Gift) -> StoredResponse;

/// One gift waiting to be written.
pub(crate) struct GiftJob {
    pub(crate) scoped: ScopedStore,
    pub(crate) input: DonationForCreate,
    pub(crate) idempotency: Option<(IdempotencyClaim, GiftRenderer)>,
    pub(crate) reply: oneshot::Sender<StoreResult<Gift>>,
}

/// The queue into a store's gift writer.
pub(crate) type GiftQueue = mpsc::Sender<GiftJob>;

/// Starts a writer task on the current runtime; it ends when every sender is gone.
pub(crate) fn start() -> GiftQueue {
    let (sender, receiver) = mpsc::channel(4 * MAX_BATCH);
    tokio::spawn(run(receiver));
    sender
}

async fn run(mut queue: mpsc::Receiver<GiftJob>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        write_batch(std::mem::take(&mut batch)).await;
    }
}

/// Writes one batch in one transaction, each gift in its own savepoint.
async fn write_batch(batch: Vec<GiftJob>) {
    let Some(store) = batch.first().map(|job| job.scoped.store.clone()) else {
        return;
    };
    let txn = match store.write.begin().await {
        Ok(txn) => txn,
        Err(e) => {
            fail_all(batch.into_iter().map(|job| job.reply), &e);
            return;
        }
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        let outcome = write_one(&txn, &job.scoped, job.input, job.idempotency).await;
        outcomes.push((job.reply, outcome));
    }
    match txn.commit().await {
        Ok(()) => {
            for (reply, outcome) in outcomes {
                // A caller that went away (client hung up) still has its
                // gift: it is durable, and the idempotency key finds it.
                let _ = reply.send(outcome);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, gifts = outcomes.len(), "gift batch failed to commit");
            fail_all(outcomes.into_iter().map(|(reply, _)| reply), &e);
        }
    }
}

async fn write_one(
    txn: &sea_orm::DatabaseTransaction,
    scoped: &ScopedStore,
    input: DonationForCreate,
    idempotency: Option<(IdempotencyClaim, GiftRenderer)>,
) -> StoreResult<Gift> {
    let savepoint = txn.begin().await?;
    let now = scoped.store.now();
    let written = async {
        let gift = scoped.record_gift(&savepoint, input, now).await?;
        if let Some((claim, render)) = &idempotency {
            scoped.idempotency_record(&savepoint, claim, render(&gift)).await?;
        }
        Ok::<_, StoreError>(gift)
    }
    .await;
    match written {
        Ok(gift) => {
            savepoint.commit().await?;
            Ok(gift)
        }
        Err(e) => {
            savepoint.rollback().await?;
            Err(e)
        }
    }
}

fn fail_all(replies: impl Iterator<Item = oneshot::Sender<StoreResult<Gift>>>, cause: &DbErr) {
    for reply in replies {
        let _ = reply.send(Err(StoreError::Unavailable(DbErr::Custom(cause.to_string()))));
    }
}
