//! The public ledger's storage. The database is the source of truth: entries
//! (canonical JSON bytes) by index, every stored Merkle node, and signed
//! checkpoints. Rules:
//! - An entry is appended only by [`append`], inside the transaction that
//!   posts the journal entry it mirrors (so both commit or neither does). Its
//!   index comes from the `ledger` sequence, taken right after the journal's,
//!   which serialises appenders; the nodes it combines with are already
//!   committed by earlier appenders.
//! - Everything here is public: no scope, no actor. Reads never load the
//!   whole tree: tiles, proofs and roots read just the nodes they need.
//! - A checkpoint is signed for the committed size only, and is the same
//!   bytes whoever signs it (Ed25519 is deterministic), so several processes
//!   may sign without conflict.

mod check;
pub mod portal;

pub use check::LedgerReport;

use crate::entities::{ledger_checkpoints, ledger_entries, ledger_nodes, sequences};
use crate::{Store, StoreError, StoreResult};
use boai_ledger::audit::{totals_from_entries, ProjectTotals, PublishedProject, PublishedTotals};
use boai_ledger::tiles::encode_bundle;
use boai_ledger::tree::{self, Hash, NodeId};
use boai_ledger::{LedgerSigner, TilePath};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::HashMap;

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note, as served at `/ledger/checkpoint`.
    pub note: String,
    pub signed_at: DateTime<Utc>,
}

/// An inclusion proof of one entry against a tree size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    pub leaf: Hash,
    pub root: Hash,
    pub path: Vec<Hash>,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("ledger: {what}"))
}

fn to_u64(v: i64) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| corrupt(format!("negative index {v}")))
}

fn to_i64(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| corrupt(format!("index {v} too large")))
}

pub(crate) async fn read_nodes<C: ConnectionTrait>(conn: &C, ids: &[NodeId]) -> StoreResult<HashMap<NodeId, Hash>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(200) {
        let mut any = Condition::any();
        for id in chunk {
            any = any.add(
                Condition::all()
                    .add(ledger_nodes::Column::Level.eq(i16::from(id.level)))
                    .add(ledger_nodes::Column::Idx.eq(to_i64(id.index)?)),
            );
        }
        for row in ledger_nodes::Entity::find().filter(any).all(conn).await? {
            let id = NodeId {
                level: u8::try_from(row.level).map_err(|_| corrupt("level"))?,
                index: to_u64(row.idx)?,
            };
            out.insert(id, Hash::from_slice(&row.hash).map_err(corrupt)?);
        }
    }
    if let Some(missing) = ids.iter().find(|id| !out.contains_key(id)) {
        return Err(corrupt(format!("node {missing:?} is missing")));
    }
    Ok(out)
}

/// Takes the next log index inside the caller's transaction.
pub(crate) async fn next_index<C: ConnectionTrait>(conn: &C) -> StoreResult<u64> {
    let taken = crate::sequences::next_in_sequence(conn, "ledger").await?;
    to_u64(taken - 1)
}

/// Appends `body` (canonical entry bytes) at `index`, which the caller took
/// with [`next_index`] in this transaction, for journal entry `journal_id`.
pub(crate) async fn append<C: ConnectionTrait>(
    conn: &C,
    index: u64,
    journal_id: uuid::Uuid,
    body: &[u8],
) -> StoreResult<()> {
    let leaf = tree::leaf_hash(body);
    let sibling_ids = tree::left_siblings(index);
    let found = read_nodes(conn, &sibling_ids).await?;
    let siblings: Vec<Hash> = sibling_ids.iter().map(|id| found[id]).collect();
    let nodes = tree::appended(index, leaf, &siblings).map_err(corrupt)?;
    ledger_entries::Entity::insert(ledger_entries::ActiveModel {
        idx: Set(to_i64(index)?),
        journal_id: Set(journal_id),
        body: Set(body.to_vec()),
    })
    .exec_without_returning(conn)
    .await?;
    let mut rows = Vec::with_capacity(nodes.len());
    for (id, hash) in nodes {
        rows.push(ledger_nodes::ActiveModel {
            level: Set(i16::from(id.level)),
            idx: Set(to_i64(id.index)?),
            hash: Set(hash.0.to_vec()),
        });
    }
    ledger_nodes::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Where a bulk load leaves the digest of the log it wrote (`app_meta`), so
/// that a server starting on ten million entries does not fold them all on
/// its first portal request. A cache of public data: checks never read it.
const DIGEST_KEY: &str = "ledger_digest";

async fn load_digest<C: ConnectionTrait>(conn: &C) -> StoreResult<Option<boai_ledger::LedgerDigest>> {
    use crate::entities::app_meta;
    let Some(row) = app_meta::Entity::find_by_id(DIGEST_KEY.to_owned()).one(conn).await? else {
        return Ok(None);
    };
    // A snapshot that does not parse (older format) is only a lost cache.
    Ok(serde_json::from_str(&row.value).ok())
}

/// Keeps `digest` as the snapshot [`Store::ledger_digest`] starts from.
pub(crate) async fn save_digest<C: ConnectionTrait>(conn: &C, digest: &boai_ledger::LedgerDigest) -> StoreResult<()> {
    use crate::entities::app_meta;
    let value = serde_json::to_string(digest).map_err(|e| corrupt(format!("digest: {e}")))?;
    app_meta::Entity::insert(app_meta::ActiveModel {
        key: Set(DIGEST_KEY.to_owned()),
        value: Set(value),
    })
    .on_conflict(
        OnConflict::column(app_meta::Column::Key)
            .update_column(app_meta::Column::Value)
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

impl Store {
    /// The number of committed entries.
    pub async fn ledger_size(&self) -> StoreResult<u64> {
        ledger_size_on(&self.read).await
    }

    /// The root hash of the first `size` entries.
    pub async fn ledger_root(&self, size: u64) -> StoreResult<Hash> {
        let needs = tree::tree_hash_needs(size).map_err(corrupt)?;
        let nodes = read_nodes(&self.read, &needs).await?;
        tree::tree_hash(size, &nodes).map_err(corrupt)
    }

    /// The bytes of a tile, or `None` if the committed tree does not hold it
    /// (yet). A full tile never changes once it exists.
    pub async fn ledger_tile(&self, tile: TilePath) -> StoreResult<Option<Vec<u8>>> {
        // One statement: a node is stored only once its subtree is
        // complete and an entry only once committed, so all of a tile's rows
        // are there exactly when the tile lies within the committed tree.
        // Only a short answer needs the size, to tell "not yet" from a gap.
        let (start, end) = tile.range();
        let (start, end) = (to_i64(start)?, to_i64(end)?);
        let (found, bytes) = match tile {
            TilePath::Hashes { .. } => {
                let rows = ledger_nodes::Entity::find()
                    .filter(ledger_nodes::Column::Level.eq(i16::from(tile.tree_level())))
                    .filter(ledger_nodes::Column::Idx.gte(start))
                    .filter(ledger_nodes::Column::Idx.lt(end))
                    .order_by_asc(ledger_nodes::Column::Idx)
                    .all(&self.read)
                    .await?;
                (rows.len(), rows.into_iter().flat_map(|r| r.hash).collect())
            }
            TilePath::Entries { .. } => {
                let rows = self.ledger_entries(start, end).await?;
                let bundle = encode_bundle(rows.iter().map(|r| r.1.as_slice())).map_err(corrupt)?;
                (rows.len(), bundle)
            }
        };
        if found as i64 == end - start {
            return Ok(Some(bytes));
        }
        if !tile.within(self.ledger_size().await?) {
            return Ok(None);
        }
        Err(corrupt(format!("{} is missing nodes or entries", tile.path())))
    }

    /// Entries `[start, end)` with their journal ids, in log order.
    async fn ledger_entries(&self, start: i64, end: i64) -> StoreResult<Vec<(i64, Vec<u8>, uuid::Uuid)>> {
        Ok(ledger_entries::Entity::find()
            .filter(ledger_entries::Column::Idx.gte(start))
            .filter(ledger_entries::Column::Idx.lt(end))
            .order_by_asc(ledger_entries::Column::Idx)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|r| (r.idx, r.body, r.journal_id))
            .collect())
    }

    /// One entry's canonical bytes.
    pub async fn ledger_entry(&self, index: u64) -> StoreResult<Option<Vec<u8>>> {
        Ok(ledger_entries::Entity::find_by_id(to_i64(index)?)
            .one(&self.read)
            .await?
            .map(|r| r.body))
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub async fn ledger_inclusion(&self, index: u64, size: u64) -> StoreResult<InclusionProof> {
        let needs = tree::inclusion_needs(size, index).map_err(|_| StoreError::NotFound)?;
        let root_needs = tree::tree_hash_needs(size).map_err(corrupt)?;
        let mut ids = needs.clone();
        ids.extend(root_needs);
        ids.push(NodeId { level: 0, index });
        ids.sort();
        ids.dedup();
        let nodes = read_nodes(&self.read, &ids).await?;
        Ok(InclusionProof {
            index,
            size,
            leaf: nodes[&NodeId { level: 0, index }],
            root: tree::tree_hash(size, &nodes).map_err(corrupt)?,
            path: tree::prove_inclusion(size, index, &nodes).map_err(corrupt)?,
        })
    }

    /// The inclusion proof of entry `index` against `root`, a signed root of
    /// the tree of `size` entries: the path is checked to lead to that root
    /// (half the reads of [`Store::ledger_inclusion`], which recomputes the
    /// root from stored nodes). A path that does not is a corrupt store.
    pub async fn ledger_inclusion_in(&self, index: u64, size: u64, root: Hash) -> StoreResult<InclusionProof> {
        let leaf_id = NodeId { level: 0, index };
        let mut ids = tree::inclusion_needs(size, index).map_err(|_| StoreError::NotFound)?;
        ids.push(leaf_id);
        ids.sort();
        ids.dedup();
        let nodes = read_nodes(&self.read, &ids).await?;
        let leaf = nodes[&leaf_id];
        let path = tree::prove_inclusion(size, index, &nodes).map_err(corrupt)?;
        tree::check_inclusion(&path, size, root, index, leaf)
            .map_err(|e| corrupt(format!("the stored tree does not lead to the signed root: {e}")))?;
        Ok(InclusionProof {
            index,
            size,
            leaf,
            root,
            path,
        })
    }

    /// The consistency proof between the trees of `old_size` and `size` entries.
    pub async fn ledger_consistency(&self, size: u64, old_size: u64) -> StoreResult<Vec<Hash>> {
        let needs = tree::consistency_needs(size, old_size).map_err(|_| StoreError::NotFound)?;
        let nodes = read_nodes(&self.read, &needs).await?;
        tree::prove_consistency(size, old_size, &nodes).map_err(corrupt)
    }

    /// The newest signed checkpoint.
    pub async fn ledger_checkpoint(&self) -> StoreResult<Option<SignedCheckpoint>> {
        ledger_checkpoints::Entity::find()
            .order_by_desc(ledger_checkpoints::Column::Size)
            .limit(1)
            .one(&self.read)
            .await?
            .map(to_checkpoint)
            .transpose()
    }

    /// Signs a checkpoint for the committed size unless the newest one
    /// already covers it; returns the newest.
    pub async fn ledger_sign(&self, signer: &LedgerSigner) -> StoreResult<SignedCheckpoint> {
        let signed = self.sign_if_behind(signer).await?;
        self.remember_checkpoint(&signed);
        Ok(signed)
    }

    /// The newest checkpoint this process has signed or read, if any: at
    /// most one signing interval old while the signer runs. Proofs of
    /// entries it covers are made against it.
    pub fn ledger_checkpoint_recent(&self) -> Option<SignedCheckpoint> {
        self.latest_checkpoint.read().ok().and_then(|c| c.clone())
    }

    fn remember_checkpoint(&self, signed: &SignedCheckpoint) {
        if let Ok(mut latest) = self.latest_checkpoint.write() {
            if latest.as_ref().is_none_or(|l| l.size < signed.size) {
                *latest = Some(signed.clone());
            }
        }
    }

    async fn sign_if_behind(&self, signer: &LedgerSigner) -> StoreResult<SignedCheckpoint> {
        let size = self.ledger_size().await?;
        if let Some(latest) = self.ledger_checkpoint().await? {
            if latest.size >= size {
                return Ok(latest);
            }
        }
        let root = self.ledger_root(size).await?;
        let note = signer.sign(size, root).map_err(corrupt)?;
        let now = self.now();
        ledger_checkpoints::Entity::insert(ledger_checkpoints::ActiveModel {
            size: Set(to_i64(size)?),
            root: Set(root.0.to_vec()),
            note: Set(note.clone()),
            signed_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(ledger_checkpoints::Column::Size)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.write)
        .await?;
        Ok(SignedCheckpoint {
            size,
            root,
            note,
            signed_at: now,
        })
    }
}

fn to_checkpoint(m: ledger_checkpoints::Model) -> StoreResult<SignedCheckpoint> {
    Ok(SignedCheckpoint {
        size: to_u64(m.size)?,
        root: Hash::from_slice(&m.root).map_err(corrupt)?,
        note: m.note,
        signed_at: m.signed_at,
    })
}

async fn ledger_size_on<C: ConnectionTrait>(conn: &C) -> StoreResult<u64> {
    let value = sequences::Entity::find_by_id("ledger".to_owned())
        .one(conn)
        .await?
        .map(|s| s.value)
        .ok_or_else(|| corrupt("sequence missing"))?;
    to_u64(value)
}

impl Store {
    /// The portal's totals per project, read in one snapshot with the ledger
    /// size they correspond to. These come from the running totals the books
    /// keep, not from the ledger, so an auditor comparing them with sums of
    /// the entries compares two independent paths.
    pub async fn ledger_published_totals(&self) -> StoreResult<PublishedTotals> {
        use sea_orm::{IsolationLevel, TransactionTrait};
        let txn = match self.backend() {
            crate::Backend::Postgres => {
                self.read
                    .begin_with_config(Some(IsolationLevel::RepeatableRead), None)
                    .await?
            }
            crate::Backend::Sqlite => self.read.begin().await?,
        };
        let ledger_size = ledger_size_on(&txn).await?;
        let projects = crate::entities::projects::Entity::find()
            .filter(crate::entities::projects::Column::Status.ne("draft"))
            .order_by_asc(crate::entities::projects::Column::Code)
            .all(&txn)
            .await?;
        txn.commit().await?;
        Ok(PublishedTotals {
            ledger_size,
            projects: projects
                .into_iter()
                .map(|p| PublishedProject {
                    project_id: p.id.to_string(),
                    code: p.code,
                    name: p.name,
                    totals: ProjectTotals {
                        raised_fen: p.raised_fen,
                        allocated_fen: p.allocated_fen,
                        spent_fen: p.spent_fen,
                        refunded_fen: p.refunded_fen,
                    },
                })
                .collect(),
        })
    }

    /// Every entry of the first `size`, parsed, in log order (for portal
    /// sums and tests; pages through the table).
    pub async fn ledger_entries_parsed(&self, size: u64) -> StoreResult<Vec<boai_ledger::LedgerEntry>> {
        let mut out = Vec::with_capacity(size as usize);
        let mut start = 0i64;
        let end = to_i64(size)?;
        while start < end {
            let page_end = (start + 5_000).min(end);
            for (_, body, _) in self.ledger_entries(start, page_end).await? {
                out.push(boai_ledger::LedgerEntry::from_canonical(&body).map_err(corrupt)?);
            }
            start = page_end;
        }
        Ok(out)
    }

    /// The digest (totals, months, goods) of the first `size` ledger entries.
    /// The store keeps the last digest it made and reads only the entries
    /// appended since, so the cost follows the new entries, not the log's
    /// length. Checks (`ledger_sums`, `boai ledger check`) never use it: they
    /// read every entry.
    pub async fn ledger_digest(&self, size: u64) -> StoreResult<boai_ledger::LedgerDigest> {
        let mut kept = self.ledger_digest.lock().await;
        if kept.size == 0 {
            // A fresh process starts from the snapshot a bulk load left, if any.
            if let Some(saved) = load_digest(&self.read).await? {
                if saved.size <= size {
                    *kept = saved;
                }
            }
        }
        let mut digest = if kept.size <= size {
            std::mem::take(&mut *kept)
        } else {
            boai_ledger::LedgerDigest::default()
        };
        self.fold_into_digest(&mut digest, size).await?;
        if digest.size >= kept.size {
            *kept = digest.clone();
        }
        Ok(digest)
    }

    /// Folds the entries from `digest.size` up to `size` into `digest`.
    pub(crate) async fn fold_into_digest(&self, digest: &mut boai_ledger::LedgerDigest, size: u64) -> StoreResult<()> {
        let end = to_i64(size)?;
        let mut start = to_i64(digest.size)?;
        while start < end {
            let page_end = (start + 5_000).min(end);
            for (_, body, _) in self.ledger_entries(start, page_end).await? {
                let entry = boai_ledger::LedgerEntry::from_canonical(&body).map_err(corrupt)?;
                digest.add(&entry).map_err(corrupt)?;
            }
            start = page_end;
        }
        Ok(())
    }

    /// Per-project totals summed from the first `size` ledger entries.
    pub async fn ledger_sums(&self, size: u64) -> StoreResult<std::collections::BTreeMap<String, ProjectTotals>> {
        let entries = self.ledger_entries_parsed(size).await?;
        totals_from_entries(entries.iter()).map_err(corrupt)
    }
}
