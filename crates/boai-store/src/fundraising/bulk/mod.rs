//! THE gift writer: every gift is written here, whichever way it comes in —
//! a batch of the group commit ([`super::group_commit`]: staff's gifts), a
//! batch of one ([`ScopedStore::record_gift`]: online payments, bank
//! credits, a group-commit batch's gifts one by one after a refusal), the
//! demo at scale (`boai demo --gifts N`).
//!
//! Rules: `boai_domain::fundraising::plan` decides what a gift's rows say
//! (certificate number, date received, journal lines, public donor name,
//! what the commitment binds) from the input, the time, the numbers taken
//! and the ids and salt drawn ([`crate::draws`]); `build_rows` is the one
//! place those plans become rows — journal entry and lines, running balances
//! and project totals, public ledger entry and tree nodes, gift row, audit
//! rows (the donor's, then the gift's, in gift order) — so `boai ledger
//! check` and `boai audit verify` hold on the result, and a gift's bytes do
//! not depend on the batch it was in (tests/store/writer.rs). Donors are
//! found or created first (`find_or_create_donor`, or known from earlier
//! batches when seeding). Sequences are reserved once per batch, the
//! tree's right edge (the frontier) is kept in memory, balances are moved
//! once per account per batch, and rows go in multi-row inserts. Only gifts (money or goods in)
//! are written here; nothing in a batch can overdraw an account. Callers
//! pass the gifts in time order and own the transaction.
//!
//! Seeding can pipeline: [`BulkGiftWriter::prepare`] builds a batch's
//! statements from memory (numbers, frontier and audit head as
//! [`BulkGiftWriter::reload`] read them) and [`GiftInserter`] runs them, in
//! order, one transaction per batch, while the next is prepared. Nothing
//! else may write meanwhile; if something does, the stale batch's keys
//! collide and it is refused whole.

use super::{gift_audit, Gift, GiftStatus};
use crate::audit::{append_many_by, AuditChange};
use crate::draws::Drawn;
use crate::entities::{
    accounts, donors, gifts, journal_entries, journal_lines, ledger_entries, ledger_nodes, orgs, projects,
};
use crate::funds::{funds_error, EntryMeta, JournalEntry, ProjectStatus};
use crate::insert::insert_statements;
use crate::journal::{entry_row, ledger_entry_for, line_row, net_deltas};
use crate::sequences::{reserve_in_sequences, set_sequence};
use crate::{Actor, Store, StoreError, StoreResult};
use boai_domain::audit::AuditAction;
use boai_domain::fundraising::plan::{self, GiftDraw, GiftNumbers};
use boai_domain::fundraising::{DonationForCreate, DonorForCreate};
use boai_domain::funds::{self, AccountKind};
use boai_domain::ids::{DonorId, GiftId, JournalEntryId};
use boai_domain::money::Fen;
use boai_domain::validation::FieldErrors;
use boai_ledger::tree::{self, Hash, NodeId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect,
};
use std::collections::HashMap;

mod pipeline;
mod rows;

pub use pipeline::{GiftInserter, Prepared, PreparedGifts};
use rows::Numbers;

/// One gift to write: received at `at`, recorded by `actor` (for its
/// organisation; audited as that actor).
#[derive(Debug, Clone)]
pub struct BulkGift {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub input: DonationForCreate,
}

/// A project as the writer checks it: open, and visible to the gift's actor
/// (owned within their subtree, or by the root organisation).
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
struct ProjectLookup {
    id: uuid::Uuid,
    name: String,
    status: String,
    org_path: String,
}

impl ProjectLookup {
    fn visible_to(&self, actor: &Actor) -> bool {
        actor.scope.contains_or_city(&self.org_path)
    }
}

/// How a donor is recognised again (as `find_or_create_donor` does).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum DonorKey {
    IdCard(String),
    PhoneAndName(String, String),
    CreditCode(String),
}

/// State kept between batches: the tree's frontier, donors seen, the
/// projects' and accounts' ids. A seeding writer (nothing else writes
/// meanwhile) keeps the donors it saw and the portal's digest; the group
/// commit's writer looks donors up again in every batch (staff may merge
/// them) and leaves the digest to the portal.
pub struct BulkGiftWriter {
    seeding: bool,
    city_code: String,
    projects: HashMap<uuid::Uuid, ProjectLookup>,
    accounts: HashMap<(uuid::Uuid, AccountKind), uuid::Uuid>,
    donors: HashMap<DonorKey, DonorId>,
    frontier: HashMap<NodeId, Hash>,
    /// The ledger index the frontier is for (entries posted elsewhere in
    /// between make it stale: it is then read again).
    frontier_at: u64,
    /// The portal's digest of the log so far (saved by [`BulkGiftWriter::finish`]).
    digest: boai_ledger::LedgerDigest,
    /// When seeding: the next numbers and the audit chain's head, as the
    /// last [`BulkGiftWriter::reload`] read them and [`BulkGiftWriter::prepare`]
    /// advanced them (`None`: read them again).
    next: Option<SeedNumbers>,
}

/// What a seeding writer hands out next.
#[derive(Debug, Clone)]
struct SeedNumbers {
    numbers: Numbers,
    audit_seq: i64,
    audit_hash: String,
}

fn to_i64(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("index {v} too large")))
}

impl Store {
    /// A writer for seeding many gifts (nothing else may write meanwhile).
    pub async fn bulk_gift_writer(&self) -> StoreResult<BulkGiftWriter> {
        BulkGiftWriter::on(self, &self.write, true).await
    }

    /// The root organisation's code, the certificate numbers' prefix (read
    /// once per store).
    async fn city_code<C: ConnectionTrait>(&self, conn: &C) -> StoreResult<String> {
        let code = self
            .city_code
            .get_or_try_init(|| async {
                let root = orgs::Entity::find()
                    .filter(orgs::Column::ParentId.is_null())
                    .one(conn)
                    .await?;
                Ok::<_, StoreError>(root.map(|o| o.code).unwrap_or_else(|| "BOAI".to_owned()))
            })
            .await?;
        Ok(code.clone())
    }
}

impl BulkGiftWriter {
    /// A writer for `store`, reading what it needs over `conn`.
    pub(crate) async fn on<C: ConnectionTrait>(store: &Store, conn: &C, seeding: bool) -> StoreResult<BulkGiftWriter> {
        let city_code = store.city_code(conn).await?;
        Ok(BulkGiftWriter {
            seeding,
            city_code,
            projects: HashMap::new(),
            accounts: HashMap::new(),
            donors: HashMap::new(),
            frontier: HashMap::new(),
            frontier_at: 0,
            digest: boai_ledger::LedgerDigest::default(),
            next: None,
        })
    }

    /// Reads the batch's projects (with their organisation's place in the
    /// tree, for the scope check) and their funds' accounts.
    async fn load_lookups<C: ConnectionTrait>(&mut self, conn: &C, batch: &[BulkGift]) -> StoreResult<()> {
        let mut ids: Vec<uuid::Uuid> = batch.iter().map(|g| g.input.project_id.0).collect();
        ids.sort_unstable();
        ids.dedup();
        self.load_projects(conn, Some(ids)).await
    }

    /// Reads the projects `ids` names (all of them if `None`) and their
    /// funds' accounts.
    async fn load_projects<C: ConnectionTrait>(&mut self, conn: &C, ids: Option<Vec<uuid::Uuid>>) -> StoreResult<()> {
        let mut projects_of = Condition::all();
        let mut accounts_of = Condition::all();
        if let Some(ids) = ids {
            projects_of = projects_of.add(projects::Column::Id.is_in(ids.iter().copied()));
            accounts_of = accounts_of.add(accounts::Column::FundId.is_in(ids));
        }
        self.projects = projects::Entity::find()
            .select_only()
            .column(projects::Column::Id)
            .column(projects::Column::Name)
            .column(projects::Column::Status)
            .column_as(orgs::Column::Path, "org_path")
            .join(
                JoinType::InnerJoin,
                projects::Entity::belongs_to(orgs::Entity)
                    .from(projects::Column::OrgId)
                    .to(orgs::Column::Id)
                    .into(),
            )
            .filter(projects_of)
            .into_model::<ProjectLookup>()
            .all(conn)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        self.accounts = accounts::Entity::find()
            .filter(accounts_of)
            .all(conn)
            .await?
            .into_iter()
            .filter_map(|a| {
                let kind = AccountKind::ALL.into_iter().find(|k| k.as_str() == a.kind)?;
                Some(((a.fund_id, kind), a.id))
            })
            .collect();
        Ok(())
    }

    fn donor_key(&self, store: &Store, d: &DonorForCreate) -> Option<DonorKey> {
        match d {
            DonorForCreate::Person {
                name, phone, id_card, ..
            } => match (id_card, phone) {
                (Some(id), _) => Some(DonorKey::IdCard(store.secrets.keyed_hash(id.as_str()))),
                (None, Some(phone)) => Some(DonorKey::PhoneAndName(
                    store.secrets.keyed_hash(phone.as_str()),
                    name.clone(),
                )),
                (None, None) => None,
            },
            DonorForCreate::Organisation {
                credit_code: Some(code),
                ..
            } => Some(DonorKey::CreditCode(code.as_str().to_owned())),
            DonorForCreate::Organisation { .. } => None,
        }
    }

    /// Finds, in one statement, the donors already on file that the batch's
    /// gifts name and this writer has not seen yet (by the same keys
    /// `find_or_create_donor` uses); the rest are created one by one.
    async fn prefetch_donors<C: ConnectionTrait>(
        &mut self,
        store: &Store,
        conn: &C,
        batch: &[BulkGift],
    ) -> StoreResult<()> {
        let (mut id_cards, mut phones, mut codes) = (Vec::new(), Vec::new(), Vec::new());
        for d in batch.iter().filter_map(|g| g.input.donor.as_ref()) {
            match self.donor_key(store, d) {
                Some(key) if self.donors.contains_key(&key) => {}
                Some(DonorKey::IdCard(hash)) => id_cards.push(hash),
                Some(DonorKey::PhoneAndName(hash, _)) => phones.push(hash),
                Some(DonorKey::CreditCode(code)) => codes.push(code),
                None => {}
            }
        }
        if id_cards.is_empty() && phones.is_empty() && codes.is_empty() {
            return Ok(());
        }
        let mut any = Condition::any();
        if !id_cards.is_empty() {
            any = any.add(donors::Column::IdCardHash.is_in(id_cards));
        }
        if !phones.is_empty() {
            any = any.add(donors::Column::PhoneHash.is_in(phones));
        }
        if !codes.is_empty() {
            any = any.add(donors::Column::CreditCode.is_in(codes));
        }
        let found = donors::Entity::find()
            .filter(donors::Column::MergedInto.is_null())
            .filter(any)
            .all(conn)
            .await?;
        for d in found {
            let id = DonorId(d.id);
            if let Some(hash) = d.id_card_hash {
                self.donors.entry(DonorKey::IdCard(hash)).or_insert(id);
            }
            if let Some(hash) = d.phone_hash {
                self.donors.entry(DonorKey::PhoneAndName(hash, d.name)).or_insert(id);
            }
            if let Some(code) = d.credit_code {
                self.donors.entry(DonorKey::CreditCode(code)).or_insert(id);
            }
        }
        Ok(())
    }

    /// Writes `batch` (in time order) in one transaction: all of it or,
    /// if a gift's project is missing or not open, none of it.
    pub async fn write(&mut self, store: &Store, batch: Vec<BulkGift>) -> StoreResult<Vec<Gift>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // It takes numbers of its own: `prepare` must read them again.
        self.next = None;
        let txn = store.begin_write().await?;
        let gifts = self.write_in(store, &txn, &batch).await?;
        txn.commit().await.inspect_err(|_| self.forget())?;
        Ok(gifts)
    }

    /// Forgets the frontier and digest (after a rolled-back batch: what it
    /// added to them is gone): both are read again next time.
    pub(crate) fn forget(&mut self) {
        self.frontier.clear();
        self.frontier_at = u64::MAX;
        self.digest = boai_ledger::LedgerDigest::default();
        self.donors.clear();
        self.next = None;
    }

    /// Writes `batch` inside `txn` (a transaction or a savepoint); on an
    /// error the caller rolls back and nothing of the batch remains.
    pub(crate) async fn write_in<C: ConnectionTrait>(
        &mut self,
        store: &Store,
        txn: &C,
        batch: &[BulkGift],
    ) -> StoreResult<Vec<Gift>> {
        let written = self.write_rows(store, txn, batch).await;
        if written.is_err() {
            self.forget();
        }
        written
    }

    async fn write_rows<C: ConnectionTrait>(
        &mut self,
        store: &Store,
        txn: &C,
        batch: &[BulkGift],
    ) -> StoreResult<Vec<Gift>> {
        // Projects open and close, funds are created: look them up anew.
        self.load_lookups(txn, batch).await?;
        if !self.seeding {
            self.donors.clear();
        }
        for g in batch {
            match self.projects.get(&g.input.project_id.0) {
                Some(p) if !p.visible_to(&g.actor) => return Err(StoreError::NotFound),
                None => return Err(StoreError::NotFound),
                Some(p) if p.status != ProjectStatus::Open.as_str() => {
                    let mut errors = FieldErrors::new();
                    errors.add("project_id", "该项目未在募集中, 不能接收捐赠");
                    return Err(errors.into());
                }
                Some(_) => {}
            }
        }
        let n = batch.len();
        self.prefetch_donors(store, txn, batch).await?;
        // Donors first, remembering which gift made one.
        let mut donor_ids: Vec<Option<DonorId>> = Vec::with_capacity(n);
        let mut donor_changes: Vec<Option<AuditChange<'static>>> = Vec::with_capacity(n);
        for g in batch {
            let Some(d) = &g.input.donor else {
                donor_ids.push(None);
                donor_changes.push(None);
                continue;
            };
            let key = self.donor_key(store, d);
            if let Some(id) = key.as_ref().and_then(|k| self.donors.get(k)) {
                donor_ids.push(Some(*id));
                donor_changes.push(None);
                continue;
            }
            let scoped = store.scoped(g.actor.clone());
            let (id, change) = scoped.find_or_create_donor(txn, d, g.at).await?;
            if let Some(k) = key {
                self.donors.insert(k, id);
            }
            donor_ids.push(Some(id));
            donor_changes.push(change);
        }
        let [first_certificate, first_seq, first_ledger] =
            reserve_in_sequences(txn, ["certificate", "journal", "ledger"], n).await?;
        let first_index = u64::try_from(first_ledger - 1).map_err(|_| StoreError::Corrupt("ledger sequence".into()))?;
        if self.frontier_at != first_index {
            self.frontier = crate::ledger::read_nodes(txn, &tree::frontier(first_index)).await?;
        }

        if self.seeding && self.digest.size != first_index {
            store.fold_into_digest(&mut self.digest, first_index).await?;
        }
        let numbers = Numbers {
            certificate: first_certificate,
            journal: first_seq,
            ledger: first_index,
        };
        let mut rows = self.build_rows(store, batch, donor_ids, donor_changes, numbers)?;
        for statement in rows.statements(txn.get_database_backend()) {
            txn.execute(statement).await?;
        }
        append_many_by(
            txn,
            rows.audit
                .into_iter()
                .map(|(i, change)| (&batch[i].actor, batch[i].at, change))
                .collect(),
        )
        .await?;
        Ok(rows.written)
    }
}
