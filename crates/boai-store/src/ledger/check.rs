//! `boai ledger check`: the ledger against the books, in the database. It
//! recomputes the tree from the stored entries and compares every stored
//! node and signed checkpoint with it; compares every ledger entry with the
//! journal entry and lines it mirrors (and every gift with both); and
//! compares the newest checkpoint this server signed (kept in the data
//! folder) with the database, which shows a database rolled back to an
//! older copy.
//!
//! Rule: memory stays bounded whatever the ledger's size — a page of
//! entries, the tree's right edge, and what is found wrong — so the check
//! runs at ten million gifts. The entries are walked in pages by index; each
//! page fetches only what it needs: the journal entries naming its indexes
//! (and any other one an entry mirrors), their lines' net-asset changes,
//! their gifts, those donors' names, the kinds of the entries they reverse,
//! the stored nodes its leaves complete and the checkpoints signed for sizes
//! within it. The tree is rebuilt as a [`Frontier`]: each stored node is
//! compared when the leaf completing it is appended, each checkpoint's (and
//! the witness's) root is taken when the walk passes its size, and stored
//! nodes the tree has no place for are found by counting. Checks across the
//! whole books (journal entries no ledger entry can mirror, gifts against
//! their journal entries, two entries mirroring one journal entry) and the
//! counts are SQL queries that answer only the rows at fault.

use super::{corrupt, to_i64, to_u64, SignedCheckpoint};
use crate::entities::{
    accounts, donors, gifts, journal_entries, journal_lines, ledger_checkpoints, ledger_entries, ledger_nodes,
};
use crate::funds::{to_entry, EntryMeta};
use crate::journal::ledger_entry_for;
use crate::{Store, StoreResult};
use boai_domain::funds::EntryKind;
use boai_domain::ids::ProjectId;
use boai_ledger::tree::{leaf_hash, Frontier, Hash, NodeId};
use boai_ledger::{LedgerEntry, VerifierKey};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use std::collections::HashMap;
use uuid::Uuid;

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

/// What one page of entries needs from the books, by journal entry id.
#[derive(Default)]
struct PageBooks {
    journal: HashMap<Uuid, journal_entries::Model>,
    /// Each journal entry's net-asset change per fund, in line order.
    deltas: HashMap<Uuid, Vec<(ProjectId, i64)>>,
    /// The kinds of the journal entries these reverse.
    kinds_of: HashMap<Uuid, String>,
    /// Gifts by their journal entry.
    gifts: HashMap<Uuid, gifts::Model>,
    donor_names: HashMap<Uuid, String>,
}

/// Signed checkpoints, compared one by one as the walk reaches their sizes.
struct Checkpoints<'a> {
    key: Option<&'a VerifierKey>,
    seen: usize,
    bad: usize,
    problems: Vec<String>,
}

impl Checkpoints<'_> {
    fn compare(&mut self, c: &ledger_checkpoints::Model, size: u64, root: Hash) {
        self.seen += 1;
        if root.0.as_slice() != c.root.as_slice() {
            self.problems
                .push(format!("the checkpoint for {size} entries does not match the entries"));
            self.bad += 1;
        }
        if let Some(key) = self.key {
            match key.open(c.note.as_bytes()) {
                Ok(opened) if opened.size == size && opened.root == root => {}
                _ => {
                    self.problems.push(format!(
                        "the checkpoint for {size} entries is not signed by the ledger key"
                    ));
                    self.bad += 1;
                }
            }
        }
    }
}

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
        let size_i = to_i64(size)?;
        // Journal entries no ledger entry can mirror.
        let unmirrored: Vec<(Uuid, i64, Option<i64>)> = journal_entries::Entity::find()
            .select_only()
            .column(journal_entries::Column::Id)
            .column(journal_entries::Column::Seq)
            .column(journal_entries::Column::LedgerIndex)
            .filter(
                Condition::any()
                    .add(journal_entries::Column::LedgerIndex.is_null())
                    .add(journal_entries::Column::LedgerIndex.lt(0))
                    .add(journal_entries::Column::LedgerIndex.gte(size_i)),
            )
            .order_by_asc(journal_entries::Column::Seq)
            .into_tuple()
            .all(&self.read)
            .await?;
        for (id, seq, index) in unmirrored {
            match index {
                None => report
                    .problems
                    .push(format!("journal entry {id} (#{seq}) has no ledger entry")),
                Some(i) => report.problems.push(format!(
                    "journal entry {id} (#{seq}) names ledger index {i}, beyond the ledger's {size} entries"
                )),
            }
        }
        report.journal_entries = journal_entries::Entity::find().count(&self.read).await?;
        report.gifts = gifts::Entity::find().count(&self.read).await?;
        self.gifts_against_journal(&mut report).await?;
        let twins = self.twin_entries(size_i).await?;
        // The entries, page by page, rebuilding the tree's right edge.
        let stored_nodes = ledger_nodes::Entity::find().count(&self.read).await?;
        let mut placed_nodes = 0u64;
        let mut bad_nodes = 0u64;
        let mut checkpoints = Checkpoints {
            key,
            seen: 0,
            bad: 0,
            problems: Vec::new(),
        };
        let mut tree = Frontier::new();
        let mut witness_root = None;
        let empty = tree.root().map_err(corrupt)?;
        for c in self.checkpoints_within(i64::MIN, 0).await? {
            let csize = to_u64(c.size)?;
            checkpoints.compare(&c, csize, empty);
        }
        if witness.is_some_and(|w| w.size == 0) {
            witness_root = Some(empty);
        }
        let mut start = 0u64;
        while start < size {
            let end = (start + PAGE).min(size);
            let rows = ledger_entries::Entity::find()
                .filter(ledger_entries::Column::Idx.gte(to_i64(start)?))
                .filter(ledger_entries::Column::Idx.lt(to_i64(end)?))
                .order_by_asc(ledger_entries::Column::Idx)
                .all(&self.read)
                .await?;
            let books = self.page_books(to_i64(start)?, to_i64(end)?, &rows).await?;
            let nodes = self.page_nodes(start, end).await?;
            placed_nodes += nodes.len() as u64;
            let mut signed = self
                .checkpoints_within(to_i64(start)?, to_i64(end)?)
                .await?
                .into_iter()
                .peekable();
            for row in rows {
                let index = to_u64(row.idx)?;
                if index != tree.size() {
                    report.problems.push(format!(
                        "ledger entry {} is missing (next stored is {index})",
                        tree.size()
                    ));
                    return Ok(report);
                }
                for (id, hash) in tree.push(leaf_hash(&row.body)).map_err(corrupt)? {
                    if nodes
                        .get(&id)
                        .is_some_and(|stored| stored.as_slice() != hash.0.as_slice())
                    {
                        bad_nodes += 1;
                    }
                }
                report.entries_checked += 1;
                let now = tree.size();
                if let Some(c) = signed.next_if(|c| c.size == row.idx + 1) {
                    checkpoints.compare(&c, now, tree.root().map_err(corrupt)?);
                }
                if witness.is_some_and(|w| w.size == now) {
                    witness_root = Some(tree.root().map_err(corrupt)?);
                }
                if let Some(other) = twins.get(&index) {
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
                let Some(j) = books.journal.get(&row.journal_id) else {
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
                let expected = expected_entry(j, &books, &entry);
                let mut from_lines: Vec<(String, i64)> = books
                    .deltas
                    .get(&j.id)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
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
            start = end;
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
            .filter(ledger_entries::Column::Idx.gte(size_i))
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
        // Stored nodes against the recomputed tree: each was compared as its
        // leaf went in; any other stored node is one the tree has no place for.
        bad_nodes += stored_nodes.saturating_sub(placed_nodes);
        let expected_nodes: u64 = (0..64).map(|level| size >> level).sum();
        if bad_nodes > 0 || stored_nodes != expected_nodes {
            report.problems.push(format!(
                "{bad_nodes} stored tree nodes differ from the tree recomputed from the entries ({stored_nodes} stored, {expected_nodes} expected)"
            ));
        } else {
            report.passed.push(format!(
                "all {stored_nodes} stored tree nodes equal the recomputed tree"
            ));
        }
        // Signed checkpoints: those within the ledger were compared on the way.
        for c in self.checkpoints_within(size_i, i64::MAX).await? {
            checkpoints.problems.push(format!(
                "a checkpoint was signed for {} entries but the database holds {size}: rolled back?",
                c.size
            ));
            checkpoints.seen += 1;
            checkpoints.bad += 1;
        }
        report.problems.append(&mut checkpoints.problems);
        if checkpoints.bad == 0 {
            report.passed.push(format!(
                "{} signed checkpoints match the entries{}",
                checkpoints.seen,
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
            } else if witness_root.ok_or_else(|| corrupt("the walk did not reach the witness"))? != w.root {
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

    /// Every gift whose journal entry is gone or differs from it in amount,
    /// project or ledger index (one join, answering only those).
    async fn gifts_against_journal(&self, report: &mut LedgerReport) -> StoreResult<()> {
        let backend = self.read.get_database_backend();
        let rows = self
            .read
            .query_all(Statement::from_string(
                backend,
                "SELECT g.certificate_no, g.amount_fen, g.project_id, g.ledger_index, j.id AS j_id, \
                 j.amount_fen AS j_amount_fen, j.project_id AS j_project_id, j.ledger_index AS j_ledger_index \
                 FROM gifts g LEFT JOIN journal_entries j ON j.id = g.journal_entry_id \
                 WHERE j.id IS NULL OR j.amount_fen <> g.amount_fen OR j.project_id <> g.project_id \
                 OR j.ledger_index <> g.ledger_index \
                 OR (j.ledger_index IS NULL AND g.ledger_index IS NOT NULL) \
                 OR (j.ledger_index IS NOT NULL AND g.ledger_index IS NULL) \
                 ORDER BY g.certificate_no",
            ))
            .await?;
        for row in rows {
            let certificate_no: String = row.try_get("", "certificate_no")?;
            if row.try_get::<Option<Uuid>>("", "j_id")?.is_none() {
                report
                    .problems
                    .push(format!("gift {certificate_no} has no journal entry"));
                continue;
            }
            let amount: i64 = row.try_get("", "amount_fen")?;
            let project: Uuid = row.try_get("", "project_id")?;
            let index: Option<i64> = row.try_get("", "ledger_index")?;
            let j_amount: i64 = row.try_get("", "j_amount_fen")?;
            let j_project: Uuid = row.try_get("", "j_project_id")?;
            let j_index: Option<i64> = row.try_get("", "j_ledger_index")?;
            if j_amount != amount || j_project != project {
                report.problems.push(format!(
                    "gift {certificate_no}: amount {amount} fen / project {project} differ from its journal entry's {j_amount} fen / {j_project}"
                ));
            }
            if j_index != index {
                report.problems.push(format!(
                    "gift {certificate_no}: ledger index {index:?} differs from its journal entry's {j_index:?}"
                ));
            }
        }
        Ok(())
    }

    /// Ledger entries (within the first `size`) that mirror a journal entry
    /// an earlier one mirrors too: each index, with the previous such index.
    /// (The inner GROUP BY reads just the unique index on `journal_id`.)
    async fn twin_entries(&self, size: i64) -> StoreResult<HashMap<u64, u64>> {
        let backend = self.read.get_database_backend();
        let rows = self
            .read
            .query_all(Statement::from_string(
                backend,
                format!(
                    "SELECT journal_id, idx FROM ledger_entries WHERE idx >= 0 AND idx < {size} AND journal_id IN \
                     (SELECT journal_id FROM ledger_entries GROUP BY journal_id HAVING COUNT(*) > 1) \
                     ORDER BY journal_id, idx"
                ),
            ))
            .await?;
        let mut twins = HashMap::new();
        let mut previous: Option<(Uuid, u64)> = None;
        for row in rows {
            let journal: Uuid = row.try_get("", "journal_id")?;
            let index = to_u64(row.try_get("", "idx")?)?;
            if let Some((j, other)) = previous {
                if j == journal {
                    twins.insert(index, other);
                }
            }
            previous = Some((journal, index));
        }
        Ok(twins)
    }

    /// The signed checkpoints for sizes in (`after`, `upto`], smallest first.
    async fn checkpoints_within(&self, after: i64, upto: i64) -> StoreResult<Vec<ledger_checkpoints::Model>> {
        Ok(ledger_checkpoints::Entity::find()
            .filter(ledger_checkpoints::Column::Size.gt(after))
            .filter(ledger_checkpoints::Column::Size.lte(upto))
            .order_by_asc(ledger_checkpoints::Column::Size)
            .all(&self.read)
            .await?)
    }

    /// The stored nodes that appending leaves `start..end` completes: at
    /// each level, those whose last leaf lies in the range.
    async fn page_nodes(&self, start: u64, end: u64) -> StoreResult<HashMap<NodeId, Vec<u8>>> {
        let mut any = Condition::any();
        for level in 0..64u8 {
            let (first, past) = (start >> level, end >> level);
            if past > first {
                any = any.add(
                    Condition::all()
                        .add(ledger_nodes::Column::Level.eq(i16::from(level)))
                        .add(ledger_nodes::Column::Idx.gte(to_i64(first)?))
                        .add(ledger_nodes::Column::Idx.lt(to_i64(past)?)),
                );
            }
        }
        let mut out = HashMap::new();
        for row in ledger_nodes::Entity::find().filter(any).all(&self.read).await? {
            let id = NodeId {
                level: u8::try_from(row.level).map_err(|_| corrupt("level"))?,
                index: to_u64(row.idx)?,
            };
            out.insert(id, row.hash);
        }
        Ok(out)
    }

    /// The books behind the ledger entries `rows` (indexes `start..end`):
    /// the journal entries naming those indexes (by the index
    /// `journal_entries_ledger_index`) and any other one an entry mirrors,
    /// then, by those ids, their lines' net-asset changes, their gifts,
    /// those donors' names and the kinds of the entries they reverse. The
    /// ids go in `IN (…)` lists, which both backends answer with an index
    /// lookup per id (PostgreSQL chose to scan whole tables for the same
    /// rows asked by subquery).
    async fn page_books(&self, start: i64, end: i64, rows: &[ledger_entries::Model]) -> StoreResult<PageBooks> {
        let mut books = PageBooks::default();
        for j in journal_entries::Entity::find()
            .filter(journal_entries::Column::LedgerIndex.gte(start))
            .filter(journal_entries::Column::LedgerIndex.lt(end))
            .all(&self.read)
            .await?
        {
            books.journal.insert(j.id, j);
        }
        // An entry may mirror a journal entry naming another index (the
        // caller reports it): fetched by id.
        let elsewhere = in_list(
            rows.iter()
                .map(|r| r.journal_id)
                .filter(|id| !books.journal.contains_key(id)),
        );
        if !elsewhere.is_empty() {
            for j in journal_entries::Entity::find()
                .filter(journal_entries::Column::Id.is_in(elsewhere))
                .all(&self.read)
                .await?
            {
                books.journal.insert(j.id, j);
            }
        }
        let ids = in_list(books.journal.keys().copied());
        if ids.is_empty() {
            return Ok(books);
        }
        // Net-asset changes per fund, from the lines in line order.
        let lines = Query::select()
            .column((journal_lines::Entity, journal_lines::Column::EntryId))
            .column((accounts::Entity, accounts::Column::FundId))
            .column((journal_lines::Entity, journal_lines::Column::DebitFen))
            .column((journal_lines::Entity, journal_lines::Column::CreditFen))
            .from(journal_lines::Entity)
            .inner_join(
                accounts::Entity,
                Expr::col((accounts::Entity, accounts::Column::Id))
                    .equals((journal_lines::Entity, journal_lines::Column::AccountId)),
            )
            .and_where(Expr::col((accounts::Entity, accounts::Column::Kind)).eq("net_assets"))
            .and_where(Expr::col((journal_lines::Entity, journal_lines::Column::EntryId)).is_in(ids.iter().copied()))
            .order_by((journal_lines::Entity, journal_lines::Column::EntryId), Order::Asc)
            .order_by((journal_lines::Entity, journal_lines::Column::LineNo), Order::Asc)
            .to_owned();
        let backend = self.read.get_database_backend();
        for row in self.read.query_all(backend.build(&lines)).await? {
            let entry: Uuid = row.try_get("", "entry_id")?;
            let fund: Uuid = row.try_get("", "fund_id")?;
            let d = row.try_get::<i64>("", "credit_fen")? - row.try_get::<i64>("", "debit_fen")?;
            let v = books.deltas.entry(entry).or_default();
            match v.iter_mut().find(|(f, _)| f.0 == fund) {
                Some((_, x)) => *x += d,
                None => v.push((ProjectId(fund), d)),
            }
        }
        // Gifts, for their public parts, and their donors' names.
        for g in gifts::Entity::find()
            .filter(gifts::Column::JournalEntryId.is_in(ids))
            .all(&self.read)
            .await?
        {
            books.gifts.insert(g.journal_entry_id, g);
        }
        let donor_ids = in_list(books.gifts.values().filter_map(|g| g.donor_id));
        if !donor_ids.is_empty() {
            let names: Vec<(Uuid, String)> = donors::Entity::find()
                .select_only()
                .column(donors::Column::Id)
                .column(donors::Column::Name)
                .filter(donors::Column::Id.is_in(donor_ids))
                .into_tuple()
                .all(&self.read)
                .await?;
            books.donor_names.extend(names);
        }
        // The kinds of the entries these reverse.
        let reversed = in_list(books.journal.values().filter_map(|j| j.reverses_id));
        if !reversed.is_empty() {
            let kinds: Vec<(Uuid, String)> = journal_entries::Entity::find()
                .select_only()
                .column(journal_entries::Column::Id)
                .column(journal_entries::Column::Kind)
                .filter(journal_entries::Column::Id.is_in(reversed))
                .into_tuple()
                .all(&self.read)
                .await?;
            books.kinds_of.extend(kinds);
        }
        Ok(books)
    }
}

/// `ids` without repeats, for an `IN (…)` list, padded to a power of two by
/// repeating the last: the list then has one of a dozen lengths, so each
/// query prepares a dozen statements, not one per page.
fn in_list(ids: impl IntoIterator<Item = Uuid>) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    if let Some(&last) = ids.last() {
        ids.resize(ids.len().next_power_of_two(), last);
    }
    ids
}

/// The entry the books say should be logged for `j`. Public parts that
/// cannot be recomputed (a recipient's pseudonym) are taken from `logged`.
fn expected_entry(j: &journal_entries::Model, books: &PageBooks, logged: &LedgerEntry) -> Result<LedgerEntry, String> {
    let reverses_kind = match j.reverses_id {
        Some(r) => Some(
            books
                .kinds_of
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
        if let Some(g) = books.gifts.get(&j.id) {
            let name = g
                .donor_id
                .and_then(|d| books.donor_names.get(&d))
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
    let deltas = books.deltas.get(&j.id).map(Vec::as_slice).unwrap_or_default();
    Ok(ledger_entry_for(&entry, deltas, &meta))
}
