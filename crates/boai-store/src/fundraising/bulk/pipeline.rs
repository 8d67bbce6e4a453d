//! Seeding's pipeline: [`BulkGiftWriter::prepare`] builds a batch's
//! statements from memory ([`BulkGiftWriter::reload`] read what it works
//! from), [`GiftInserter`] runs them in order on a task of its own while the
//! next batch is built, [`BulkGiftWriter::finish`] keeps the portal's digest.

use super::*;

/// A batch as [`BulkGiftWriter::prepare`] answers it.
pub enum Prepared {
    /// Built: insert it (after the batches prepared before it).
    Ready(PreparedGifts),
    /// Needs the database: write it with [`BulkGiftWriter::write`].
    NeedsDatabase(Vec<BulkGift>),
}

/// A batch's statements, built and hashed, to run in one transaction.
pub struct PreparedGifts {
    statements: Vec<sea_orm::Statement>,
    written: Vec<Gift>,
}

impl PreparedGifts {
    /// How many gifts the batch holds.
    pub fn len(&self) -> usize {
        self.written.len()
    }

    /// Whether the batch holds no gift.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// Runs the statements in one transaction on the store's writer.
    pub async fn insert(self, store: &Store) -> StoreResult<Vec<Gift>> {
        if self.statements.is_empty() {
            return Ok(self.written);
        }
        let txn = store.begin_write().await?;
        for statement in self.statements {
            txn.execute(statement).await?;
        }
        txn.commit().await?;
        Ok(self.written)
    }
}

/// Prepared batches the [`GiftInserter`] holds waiting at most (each a few
/// megabytes of statements).
const INSERT_QUEUE: usize = 2;

/// Inserts prepared batches in the order given, on a task of its own, so
/// that whoever prepares them goes on with the next meanwhile (seeding: the
/// rows of batch k+1 are built and hashed while batch k goes into the
/// database on sqlx's worker).
pub struct GiftInserter {
    queue: tokio::sync::mpsc::Sender<InsertJob>,
    task: Option<tokio::task::JoinHandle<StoreResult<()>>>,
}

enum InsertJob {
    Insert(PreparedGifts),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl GiftInserter {
    /// Starts the inserting task on `store`'s writer.
    pub fn start(store: &Store) -> GiftInserter {
        let (queue, mut jobs) = tokio::sync::mpsc::channel(INSERT_QUEUE);
        let store = store.clone();
        let task = tokio::spawn(async move {
            while let Some(job) = jobs.recv().await {
                match job {
                    InsertJob::Insert(prepared) => {
                        prepared.insert(&store).await?;
                    }
                    InsertJob::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
            Ok(())
        });
        GiftInserter {
            queue,
            task: Some(task),
        }
    }

    /// Queues a batch, waiting while the queue is full. A batch that failed
    /// to go in stops the inserter: its error comes back here or from a
    /// later call, and nothing queued after it is inserted.
    pub async fn insert(&mut self, prepared: PreparedGifts) -> StoreResult<()> {
        if self.queue.send(InsertJob::Insert(prepared)).await.is_err() {
            return Err(self.failure().await);
        }
        Ok(())
    }

    /// Waits until every batch queued so far is in.
    pub async fn flush(&mut self) -> StoreResult<()> {
        let (done, flushed) = tokio::sync::oneshot::channel();
        if self.queue.send(InsertJob::Flush(done)).await.is_err() || flushed.await.is_err() {
            return Err(self.failure().await);
        }
        Ok(())
    }

    /// Waits until every batch queued is in, and stops the task.
    pub async fn finish(mut self) -> StoreResult<()> {
        let task = self.task.take();
        drop(self);
        match task {
            Some(task) => task.await.map_err(inserter_stopped)?,
            None => Err(StoreError::Corrupt("the gift inserter stopped".into())),
        }
    }

    /// Why the task stopped.
    async fn failure(&mut self) -> StoreError {
        match self.task.take() {
            Some(task) => match task.await {
                Ok(Err(e)) => e,
                Ok(Ok(())) => StoreError::Corrupt("the gift inserter stopped".into()),
                Err(e) => inserter_stopped(e),
            },
            None => StoreError::Corrupt("the gift inserter stopped".into()),
        }
    }
}

fn inserter_stopped(e: tokio::task::JoinError) -> StoreError {
    StoreError::Corrupt(format!("the gift inserter stopped: {e}"))
}

/// Sets the audit chain's head (a seeding writer owns it).
fn set_audit_head(backend: sea_orm::DbBackend, seq: i64, hash: &str) -> sea_orm::Statement {
    use crate::entities::audit_head;
    use sea_orm::QueryTrait;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Seq, Expr::value(seq))
        .col_expr(audit_head::Column::Hash, Expr::value(hash.to_owned()))
        .filter(audit_head::Column::Id.eq(1))
        .build(backend)
}

impl BulkGiftWriter {
    /// Reads what [`BulkGiftWriter::prepare`] works from: the sequences'
    /// next numbers, the audit chain's head, every project and account, the
    /// tree's frontier and (folding in the entries posted since) the digest.
    /// Call it before the first `prepare`, and again after anything else
    /// wrote (month ends, [`BulkGiftWriter::write`]), with no prepared batch
    /// still to insert.
    pub async fn reload(&mut self, store: &Store) -> StoreResult<()> {
        use crate::entities::{audit_head, sequences};
        let conn = &store.write;
        let values: HashMap<String, i64> = sequences::Entity::find()
            .filter(sequences::Column::Name.is_in(["certificate", "journal", "ledger"]))
            .all(conn)
            .await?
            .into_iter()
            .map(|s| (s.name, s.value))
            .collect();
        let value = |name: &str| {
            values
                .get(name)
                .copied()
                .ok_or_else(|| StoreError::Corrupt(format!("sequence {name} missing")))
        };
        let head = audit_head::Entity::find()
            .filter(audit_head::Column::Id.eq(1))
            .one(conn)
            .await?
            .ok_or_else(|| StoreError::Corrupt("audit head row is missing".to_owned()))?;
        let size = u64::try_from(value("ledger")?).map_err(|_| StoreError::Corrupt("ledger sequence".into()))?;
        self.load_projects(conn, None).await?;
        if self.frontier_at != size {
            self.frontier = crate::ledger::read_nodes(conn, &tree::frontier(size)).await?;
            self.frontier_at = size;
        }
        if self.digest.size > size {
            self.digest = boai_ledger::LedgerDigest::default();
        }
        if self.digest.size != size {
            store.fold_into_digest(&mut self.digest, size).await?;
        }
        self.next = Some(SeedNumbers {
            numbers: Numbers {
                certificate: value("certificate")? + 1,
                journal: value("journal")? + 1,
                ledger: size,
            },
            audit_seq: head.seq,
            audit_hash: head.hash,
        });
        Ok(())
    }

    /// Builds `batch` (in time order) from memory alone — numbers, donors,
    /// projects, the tree's frontier and the audit chain's head as the
    /// last [`BulkGiftWriter::reload`] read them and earlier batches moved
    /// them — into the statements that write it, so that the caller can
    /// insert it while it prepares the next. Only for seeding: nothing else
    /// may write until every prepared batch is inserted, in order. A batch
    /// that needs the database (a donor not seen yet, a project not found
    /// or not open, numbers not read) comes back untouched, for
    /// [`BulkGiftWriter::write`] once the batches before it are in.
    pub fn prepare(&mut self, store: &Store, batch: Vec<BulkGift>) -> StoreResult<Prepared> {
        let Some(next) = self.next.clone() else {
            return Ok(Prepared::NeedsDatabase(batch));
        };
        let open = batch.iter().all(|g| {
            self.projects
                .get(&g.input.project_id.0)
                .is_some_and(|p| p.visible_to(&g.actor) && p.status == ProjectStatus::Open.as_str())
        });
        if !open {
            return Ok(Prepared::NeedsDatabase(batch));
        }
        let mut donor_ids = Vec::with_capacity(batch.len());
        for g in &batch {
            let known = match &g.input.donor {
                None => Some(None),
                Some(d) => self
                    .donor_key(store, d)
                    .and_then(|key| self.donors.get(&key).copied())
                    .map(Some),
            };
            match known {
                Some(id) => donor_ids.push(id),
                None => return Ok(Prepared::NeedsDatabase(batch)),
            }
        }
        let n = batch.len();
        let built = self.build_rows(store, &batch, donor_ids, (0..n).map(|_| None).collect(), next.numbers);
        let mut rows = built.inspect_err(|_| self.forget())?;
        let backend = store.write.get_database_backend();
        let mut statements = rows.statements(backend);
        let (audit_rows, audit_hash) = crate::audit::chain_rows(
            next.audit_seq + 1,
            next.audit_hash,
            rows.audit
                .drain(..)
                .map(|(i, change)| (&batch[i].actor, batch[i].at, change)),
        );
        let audit_seq = next.audit_seq + audit_rows.len() as i64;
        statements.extend(insert_statements(backend, audit_rows));
        statements.push(set_audit_head(backend, audit_seq, &audit_hash));
        let numbers = Numbers {
            certificate: next.numbers.certificate + n as i64,
            journal: next.numbers.journal + n as i64,
            ledger: next.numbers.ledger + n as u64,
        };
        for (name, last) in [
            ("certificate", numbers.certificate - 1),
            ("journal", numbers.journal - 1),
            ("ledger", to_i64(numbers.ledger)?),
        ] {
            statements.push(set_sequence(backend, name, last));
        }
        self.next = Some(SeedNumbers {
            numbers,
            audit_seq,
            audit_hash,
        });
        Ok(Prepared::Ready(PreparedGifts {
            statements,
            written: rows.written,
        }))
    }

    /// Folds in whatever was posted after the last batch and keeps the
    /// digest for the portal.
    pub async fn finish(mut self, store: &Store) -> StoreResult<()> {
        let size = store.ledger_size().await?;
        store.fold_into_digest(&mut self.digest, size).await?;
        crate::ledger::save_digest(&store.write, &self.digest).await
    }
}
