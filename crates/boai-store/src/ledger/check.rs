//! `boai ledger check`: the ledger against the books, in the database. It
//! recomputes the tree from the stored entries and compares every stored
//! node and signed checkpoint with it; compares every ledger entry with the
//! journal entry and lines it mirrors (and every gift with both); and
//! compares the newest checkpoint this server signed (kept in the data
//! folder) with the database, which shows a database rolled back to an
//! older copy.

use super::{corrupt, to_u64, SignedCheckpoint};
use crate::entities::{accounts, donors, gifts, journal_entries, journal_lines, ledger_checkpoints, ledger_entries};
use crate::funds::{ledger_entry_for, to_entry, EntryMeta};
use crate::{Store, StoreResult};
use boai_domain::funds::EntryKind;
use boai_domain::ids::ProjectId;
use boai_ledger::tree::{leaf_hash, MemoryTree, NodeId};
use boai_ledger::{LedgerEntry, VerifierKey};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// What the check found.
#[derive(Debug, Default, Clone)]
pub struct LedgerReport {
    pub size: u64,
    pub entries_checked: u64,
    pub journal_entries: u64,
    pub gifts: u64,
    pub passed: Vec<String>,
    pub problems: Vec<String>,
}

impl LedgerReport {
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }
}

const PAGE: u64 = 2_000;

impl Store {
    /// Checks the ledger against the books. `key` verifies stored
    /// checkpoints; `witness` is the newest checkpoint this server signed.
    pub async fn ledger_check(
        &self,
        key: Option<&VerifierKey>,
        witness: Option<&SignedCheckpoint>,
        progress: &dyn Fn(u64, u64),
    ) -> StoreResult<LedgerReport> {
        let mut report = LedgerReport {
            size: self.ledger_size().await?,
            ..LedgerReport::default()
        };
        let size = report.size;
        // The journal, with each entry's net-asset change per fund.
        let net_accounts: HashMap<uuid::Uuid, uuid::Uuid> = accounts::Entity::find()
            .filter(accounts::Column::Kind.eq("net_assets"))
            .all(&self.read)
            .await?
            .into_iter()
            .map(|a| (a.id, a.fund_id))
            .collect();
        let mut deltas: HashMap<uuid::Uuid, Vec<(ProjectId, i64)>> = HashMap::new();
        for line in journal_lines::Entity::find().all(&self.read).await? {
            if let Some(fund) = net_accounts.get(&line.account_id) {
                let d = line.credit_fen - line.debit_fen;
                let v = deltas.entry(line.entry_id).or_default();
                match v.iter_mut().find(|(f, _)| f.0 == *fund) {
                    Some((_, x)) => *x += d,
                    None => v.push((ProjectId(*fund), d)),
                }
            }
        }
        let journal: Vec<journal_entries::Model> = journal_entries::Entity::find()
            .order_by_asc(journal_entries::Column::Seq)
            .all(&self.read)
            .await?;
        report.journal_entries = journal.len() as u64;
        let mut by_id: HashMap<uuid::Uuid, &journal_entries::Model> = HashMap::new();
        for j in &journal {
            by_id.insert(j.id, j);
            match j.ledger_index {
                None => report
                    .problems
                    .push(format!("journal entry {} (#{}) has no ledger entry", j.id, j.seq)),
                Some(i) if to_u64(i).map_or(true, |i| i >= size) => report.problems.push(format!(
                    "journal entry {} (#{}) names ledger index {i}, beyond the ledger's {size} entries",
                    j.id, j.seq
                )),
                Some(_) => {}
            }
        }
        let kinds_of: HashMap<uuid::Uuid, String> = journal.iter().map(|j| (j.id, j.kind.clone())).collect();
        // Gifts, for their public parts.
        let donor_names: HashMap<uuid::Uuid, String> = donors::Entity::find()
            .all(&self.read)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect();
        let gift_rows = gifts::Entity::find().all(&self.read).await?;
        report.gifts = gift_rows.len() as u64;
        let gift_of_journal: HashMap<uuid::Uuid, &gifts::Model> =
            gift_rows.iter().map(|g| (g.journal_entry_id, g)).collect();
        for g in &gift_rows {
            match by_id.get(&g.journal_entry_id) {
                None => report
                    .problems
                    .push(format!("gift {} has no journal entry", g.certificate_no)),
                Some(j) => {
                    if j.amount_fen != g.amount_fen || j.project_id != g.project_id {
                        report.problems.push(format!(
                            "gift {}: amount {} fen / project {} differ from its journal entry's {} fen / {}",
                            g.certificate_no, g.amount_fen, g.project_id, j.amount_fen, j.project_id
                        ));
                    }
                    if j.ledger_index != g.ledger_index {
                        report.problems.push(format!(
                            "gift {}: ledger index {:?} differs from its journal entry's {:?}",
                            g.certificate_no, g.ledger_index, j.ledger_index
                        ));
                    }
                }
            }
        }
        // The entries, page by page, rebuilding the tree.
        let mut tree = MemoryTree::new();
        let mut seen_journal: HashMap<uuid::Uuid, u64> = HashMap::new();
        let mut start = 0u64;
        while start < size {
            let rows = ledger_entries::Entity::find()
                .filter(ledger_entries::Column::Idx.gte(start as i64))
                .filter(ledger_entries::Column::Idx.lt((start + PAGE).min(size) as i64))
                .order_by_asc(ledger_entries::Column::Idx)
                .all(&self.read)
                .await?;
            for row in rows {
                let index = to_u64(row.idx)?;
                if index != tree.size() {
                    report.problems.push(format!(
                        "ledger entry {} is missing (next stored is {index})",
                        tree.size()
                    ));
                    return Ok(report);
                }
                tree.push(leaf_hash(&row.body)).map_err(corrupt)?;
                report.entries_checked += 1;
                if let Some(other) = seen_journal.insert(row.journal_id, index) {
                    report.problems.push(format!(
                        "ledger entries {other} and {index} mirror the same journal entry"
                    ));
                }
                let entry = match LedgerEntry::from_canonical(&row.body) {
                    Ok(e) => e,
                    Err(e) => {
                        report.problems.push(format!("ledger entry {index}: {e}"));
                        continue;
                    }
                };
                let Some(j) = by_id.get(&row.journal_id) else {
                    report.problems.push(format!(
                        "ledger entry {index} mirrors journal entry {}, which is gone",
                        row.journal_id
                    ));
                    continue;
                };
                if j.ledger_index != Some(row.idx) {
                    report.problems.push(format!(
                        "ledger entry {index}: journal entry {} names ledger index {:?}",
                        j.id, j.ledger_index
                    ));
                }
                let expected = expected_entry(j, &deltas, &kinds_of, &entry, gift_of_journal.get(&j.id), &donor_names);
                let empty = Vec::new();
                let mut from_lines: Vec<(String, i64)> = deltas
                    .get(&j.id)
                    .unwrap_or(&empty)
                    .iter()
                    .filter(|(_, d)| *d != 0)
                    .map(|(f, d)| (f.to_string(), *d))
                    .collect();
                from_lines.sort();
                let mut implied = boai_ledger::audit::net_deltas(&entry).unwrap_or_default();
                implied.sort();
                if from_lines != implied {
                    report.problems.push(format!(
                        "journal entry #{} (ledger {index}): its lines move net assets {from_lines:?}, the ledger says {implied:?}",
                        j.seq
                    ));
                }
                match expected {
                    Ok(expected) if expected == entry => {}
                    Ok(expected) => report.problems.push(format!(
                        "ledger entry {index} does not match journal entry #{}: ledger says {} fen {} at {}, books say {} fen {} at {}",
                        j.seq, entry.amount_fen, entry.kind, entry.at, expected.amount_fen, expected.kind, expected.at
                    )),
                    Err(e) => report.problems.push(format!("ledger entry {index}: {e}")),
                }
            }
            start += PAGE;
            progress(tree.size().min(size), size);
        }
        if tree.size() != size {
            report.problems.push(format!(
                "the ledger should hold {size} entries but holds {}",
                tree.size()
            ));
            return Ok(report);
        }
        let stored = ledger_entries::Entity::find()
            .filter(ledger_entries::Column::Idx.gte(size as i64))
            .count(&self.read)
            .await?;
        if stored > 0 {
            report
                .problems
                .push(format!("{stored} ledger entries lie beyond the ledger's size {size}"));
        }
        let books = self.books_check().await?;
        if books.holds() {
            report
                .passed
                .push("every running balance equals the sum of its journal lines".to_owned());
        } else {
            report.problems.push(format!(
                "the books do not hold: accounts {:?}, unbalanced entries {:?}, overdrawn {:?}",
                books.mismatched_accounts, books.unbalanced_entries, books.overdrawn_accounts
            ));
        }
        report.passed.push(format!(
            "{} ledger entries match their {} journal entries and {} gifts",
            report.entries_checked, report.journal_entries, report.gifts
        ));
        // Stored nodes against the recomputed tree.
        let mut bad_nodes = 0u64;
        let mut node_count = 0u64;
        let mut last: Option<(i16, i64)> = None;
        loop {
            let mut q = crate::entities::ledger_nodes::Entity::find()
                .order_by_asc(crate::entities::ledger_nodes::Column::Level)
                .order_by_asc(crate::entities::ledger_nodes::Column::Idx)
                .limit(PAGE * 5);
            if let Some((level, idx)) = last {
                use sea_orm::Condition;
                q = q.filter(
                    Condition::any()
                        .add(crate::entities::ledger_nodes::Column::Level.gt(level))
                        .add(
                            Condition::all()
                                .add(crate::entities::ledger_nodes::Column::Level.eq(level))
                                .add(crate::entities::ledger_nodes::Column::Idx.gt(idx)),
                        ),
                );
            }
            let rows = q.all(&self.read).await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                node_count += 1;
                let id = NodeId {
                    level: u8::try_from(r.level).unwrap_or(u8::MAX),
                    index: to_u64(r.idx)?,
                };
                if tree.nodes().get(&id).map(|h| h.0.as_slice()) != Some(r.hash.as_slice()) {
                    bad_nodes += 1;
                }
            }
            last = rows.last().map(|r| (r.level, r.idx));
        }
        if bad_nodes > 0 || node_count != tree.nodes().len() as u64 {
            report.problems.push(format!(
                "{bad_nodes} stored tree nodes differ from the tree recomputed from the entries ({node_count} stored, {} expected)",
                tree.nodes().len()
            ));
        } else {
            report
                .passed
                .push(format!("all {node_count} stored tree nodes equal the recomputed tree"));
        }
        // Signed checkpoints.
        let checkpoints = ledger_checkpoints::Entity::find().all(&self.read).await?;
        let mut bad_checkpoints = 0;
        for c in &checkpoints {
            let csize = to_u64(c.size)?;
            if csize > size {
                report.problems.push(format!(
                    "a checkpoint was signed for {csize} entries but the database holds {size}: rolled back?"
                ));
                bad_checkpoints += 1;
                continue;
            }
            let root = tree.root_at(csize).map_err(corrupt)?;
            if root.0.as_slice() != c.root.as_slice() {
                report
                    .problems
                    .push(format!("the checkpoint for {csize} entries does not match the entries"));
                bad_checkpoints += 1;
            }
            if let Some(key) = key {
                match key.open(c.note.as_bytes()) {
                    Ok(opened) if opened.size == csize && opened.root == root => {}
                    _ => {
                        report.problems.push(format!(
                            "the checkpoint for {csize} entries is not signed by the ledger key"
                        ));
                        bad_checkpoints += 1;
                    }
                }
            }
        }
        if bad_checkpoints == 0 {
            report.passed.push(format!(
                "{} signed checkpoints match the entries{}",
                checkpoints.len(),
                if key.is_some() {
                    " and verify with the ledger key"
                } else {
                    ""
                }
            ));
        }
        if let Some(w) = witness {
            if w.size > size {
                report.problems.push(format!(
                    "rollback: this server signed a checkpoint for {} entries, the database holds {size}",
                    w.size
                ));
            } else if tree.root_at(w.size).map_err(corrupt)? != w.root {
                report.problems.push(format!(
                    "rewritten: the first {} entries no longer hash to the root this server signed",
                    w.size
                ));
            } else {
                report.passed.push(format!(
                    "the newest checkpoint this server signed ({} entries) is a prefix of the database's ledger",
                    w.size
                ));
            }
        }
        Ok(report)
    }
}

/// The entry the books say should be logged for `j`. Public parts that
/// cannot be recomputed (a recipient's pseudonym) are taken from `logged`.
fn expected_entry(
    j: &journal_entries::Model,
    deltas: &HashMap<uuid::Uuid, Vec<(ProjectId, i64)>>,
    kinds_of: &HashMap<uuid::Uuid, String>,
    logged: &LedgerEntry,
    gift: Option<&&gifts::Model>,
    donor_names: &HashMap<uuid::Uuid, String>,
) -> Result<LedgerEntry, String> {
    let reverses_kind = match j.reverses_id {
        Some(r) => Some(
            kinds_of
                .get(&r)
                .and_then(|k| EntryKind::parse(k))
                .ok_or_else(|| format!("reversed entry {r} is missing"))?,
        ),
        None => None,
    };
    let entry = to_entry(j.clone()).map_err(|e| e.to_string())?;
    let mut meta = EntryMeta {
        reverses_kind,
        public_recipient: logged.recipient.clone(),
        ..EntryMeta::default()
    };
    if entry.kind != EntryKind::Reversal {
        if let Some(g) = gift {
            let name = g
                .donor_id
                .and_then(|d| donor_names.get(&d))
                .map(String::as_str)
                .unwrap_or("");
            meta.public_donor = logged.donor.clone();
            meta.commitment = match g.commitment_salt.as_deref() {
                Some(salt) => Some(boai_ledger::commitment(&g.certificate_no, name, salt)),
                // Anonymisation erased the salt (PIPL): the logged commitment
                // can no longer be opened to the person, and stands as logged.
                None if name == boai_domain::privacy::ANONYMISED_NAME => logged.commitment.clone(),
                None => None,
            };
        }
    }
    let empty = Vec::new();
    Ok(ledger_entry_for(&entry, deltas.get(&j.id).unwrap_or(&empty), &meta))
}
