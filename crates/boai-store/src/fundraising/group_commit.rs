//! Group commit for gifts. Every gift recorded through
//! [`ScopedStore::donation_create`] goes to one writer task per store, which
//! takes all gifts waiting at that moment (up to [`MAX_BATCH`]) and writes them
//! in ONE transaction, so one fsync (SQLite WAL `synchronous=FULL`,
//! PostgreSQL `synchronous_commit=on`) serves the whole batch.
//!
//! Rules:
//! - The batch is written whole, a few multi-row statements for all of it.
//!   If a gift is refused (closed or invisible project, conflicting
//!   idempotency key, …) that transaction is rolled back and a new one writes
//!   each gift in a savepoint of its own: the refused gift fails alone with
//!   its own error; the others commit.
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

use crate::entities::projects;
use crate::idempotency::{IdempotencyClaim, StoredResponse};
use crate::{ScopedStore, StoreError, StoreResult};
use boai_domain::fundraising::DonationForCreate;
use boai_domain::validation::FieldErrors;
use sea_orm::{ColumnTrait, DbErr, QueryFilter, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::bulk::{BulkGift, BulkGiftWriter};
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
    let mut writer: Option<BulkGiftWriter> = None;
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        write_batch(&mut writer, std::mem::take(&mut batch)).await;
    }
}

/// Writes one batch in one transaction: first all of it at once (the bulk
/// writer: a few multi-row statements for the whole batch); if a gift is
/// refused, that transaction is rolled back and a new one writes each gift
/// in its own savepoint, so the failing gift fails alone.
async fn write_batch(writer: &mut Option<BulkGiftWriter>, batch: Vec<GiftJob>) {
    let Some(store) = batch.first().map(|job| job.scoped.store.clone()) else {
        return;
    };
    let mut txn = match store.begin_write().await {
        Ok(txn) => txn,
        Err(e) => {
            fail_all(batch.into_iter().map(|job| job.reply), &e);
            return;
        }
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    match write_all(writer, &store, &txn, &batch).await {
        Ok(gifts) => {
            for (job, gift) in batch.into_iter().zip(gifts) {
                outcomes.push((job.reply, Ok(gift)));
            }
        }
        Err(e) if !is_refusal(&e) => {
            // The database failed (not a gift): nothing of the batch is kept.
            fail_batch(txn, batch.into_iter().map(|job| job.reply), &e).await;
            return;
        }
        Err(_) => {
            // A gift was refused: start again, each gift on its own.
            if let Err(e) = txn.rollback().await {
                fail_all(batch.into_iter().map(|job| job.reply), &e);
                return;
            }
            txn = match store.begin_write().await {
                Ok(txn) => txn,
                Err(e) => {
                    fail_all(batch.into_iter().map(|job| job.reply), &e);
                    return;
                }
            };
            for job in batch {
                let outcome = write_one(&txn, &job.scoped, job.input, job.idempotency).await;
                if let Err(e) = &outcome {
                    if !is_refusal(e) {
                        // A transaction whose statement or savepoint failed
                        // may be aborted; PostgreSQL answers COMMIT on an
                        // aborted transaction with ROLLBACK and no error, so
                        // committing it would acknowledge gifts that are not
                        // there. Fail the whole batch instead.
                        let mut replies: Vec<_> = outcomes.into_iter().map(|(reply, _)| reply).collect();
                        replies.push(job.reply);
                        fail_batch(txn, replies.into_iter(), e).await;
                        return;
                    }
                }
                outcomes.push((job.reply, outcome));
            }
        }
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

/// The whole batch through the bulk writer, with its idempotency records,
/// straight in the batch's transaction (which the caller rolls back whole
/// on any error).
async fn write_all(
    writer: &mut Option<BulkGiftWriter>,
    store: &crate::Store,
    txn: &sea_orm::DatabaseTransaction,
    batch: &[GiftJob],
) -> StoreResult<Vec<Gift>> {
    if writer.is_none() {
        *writer = Some(BulkGiftWriter::on(store, txn, false).await?);
    }
    let Some(writer) = writer.as_mut() else {
        return Err(StoreError::Corrupt("gift writer".into()));
    };
    let now = store.now();
    let gifts: Vec<BulkGift> = batch
        .iter()
        .map(|job| BulkGift {
            at: now,
            actor: job.scoped.actor.clone(),
            input: job.input.clone(),
        })
        .collect();
    let written = async {
        let written = writer.write_in(store, txn, &gifts).await?;
        let keys = batch
            .iter()
            .zip(&written)
            .filter_map(|(job, gift)| {
                let (claim, render) = job.idempotency.as_ref()?;
                job.scoped.idempotency_row(claim, render(gift))
            })
            .collect();
        crate::idempotency::record_rows(txn, keys).await?;
        Ok::<_, StoreError>(written)
    }
    .await;
    if written.is_err() {
        writer.forget();
    }
    written
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
        // A project the actor cannot see is answered as one that is not there.
        if scoped
            .projects_select()
            .filter(projects::Column::Id.eq(input.project_id.0))
            .one(&savepoint)
            .await?
            .is_none()
        {
            let mut errors = FieldErrors::new();
            errors.add("project_id", "项目不存在");
            return Err(errors.into());
        }
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

/// A gift refused for what it is (its project, its key, its input), after
/// which the transaction is still good; anything else is a database failure.
fn is_refusal(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::NotFound | StoreError::Forbidden | StoreError::Invalid(_) | StoreError::Conflict(_)
    )
}

/// Rolls the batch back and answers every gift of it with the failure (the
/// leftover batch of a failed write; the callers may retry with their keys).
async fn fail_batch(
    txn: sea_orm::DatabaseTransaction,
    replies: impl Iterator<Item = oneshot::Sender<StoreResult<Gift>>>,
    cause: &StoreError,
) {
    tracing::warn!(error = %cause, "gift batch rolled back after a database failure");
    let _ = txn.rollback().await;
    let cause = DbErr::Custom(cause.to_string());
    fail_all(replies, &cause);
}

fn fail_all(replies: impl Iterator<Item = oneshot::Sender<StoreResult<Gift>>>, cause: &DbErr) {
    for reply in replies {
        let _ = reply.send(Err(StoreError::Unavailable(DbErr::Custom(cause.to_string()))));
    }
}
