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
use crate::funds::{
    entry_row, funds_error, ledger_entry_for, line_row, net_deltas, EntryMeta, JournalEntry, ProjectStatus,
};
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

/// Bound parameters per multi-row insert: under SQLite's 32,766 and
/// PostgreSQL's 65,535.
const PARAMS_PER_INSERT: usize = 30_000;

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

/// Takes `n` numbers of each named sequence at once, in one statement;
/// answers the first number taken of each, in the order of `names`.
async fn reserve_in_sequences<C: ConnectionTrait, const K: usize>(
    conn: &C,
    names: [&str; K],
    n: usize,
) -> StoreResult<[i64; K]> {
    use crate::entities::sequences;
    // An `i32` like `next_in_sequence`'s `1`: the statement text is the same,
    // and PostgreSQL keeps the parameter type of the first one prepared.
    let n = i32::try_from(n).map_err(|_| StoreError::Corrupt("batch too large".into()))?;
    let taken = sequences::Entity::update_many()
        .col_expr(sequences::Column::Value, Expr::col(sequences::Column::Value).add(n))
        .filter(sequences::Column::Name.is_in(names))
        .exec_with_returning(conn)
        .await?;
    let mut first = [0; K];
    for (slot, name) in first.iter_mut().zip(names) {
        let last = taken
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value)
            .ok_or_else(|| StoreError::Corrupt(format!("sequence {name} missing")))?;
        *slot = last - i64::from(n) + 1;
    }
    Ok(first)
}

/// Up to this many rows go in one insert of exactly their number; more are
/// split in chunks of a power of two.
pub(crate) const EXACT_INSERT_ROWS: usize = 64;

/// Inserts rows in chunks that stay under the parameter limit (see
/// [`insert_statements`]).
pub(crate) async fn insert_chunked<C, A>(conn: &C, rows: Vec<A>) -> StoreResult<()>
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    for statement in insert_statements(conn.get_database_backend(), rows) {
        conn.execute(statement).await?;
    }
    Ok(())
}

/// Multi-row inserts of `rows` that stay under the parameter limit: up to
/// [`EXACT_INSERT_ROWS`] in one statement (a group-commit batch is one
/// insert per table), beyond that chunks of a power of two, so that the
/// connection's statement cache (one prepared statement per distinct text)
/// holds a bounded number of sizes.
///
/// The statements are those SeaQuery builds (`insert_many`: the columns
/// any row sets, a typed NULL where a row leaves one unset), written
/// without it: each value is moved out of its row once (SeaQuery clones
/// every value twice on the way) and the text for a table, its columns and
/// a number of rows is written once and kept ([`insert_text`]). A column
/// that saves through an expression, and a backend other than SQLite and
/// PostgreSQL, go through SeaQuery.
pub(crate) fn insert_statements<A>(backend: sea_orm::DbBackend, rows: Vec<A>) -> Vec<sea_orm::Statement>
where
    A: sea_orm::ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::sea_query::SimpleExpr;
    use sea_orm::{ActiveValue, IdenStatic, Iterable};
    let all: Vec<<A::Entity as EntityTrait>::Column> = <A::Entity as EntityTrait>::Column::iter().collect();
    let plain = all
        .iter()
        .all(|c| matches!(c.save_as(Expr::val(sea_orm::Value::Int(None))), SimpleExpr::Value(_)));
    if rows.is_empty() || !plain || !matches!(backend, sea_orm::DbBackend::Sqlite | sea_orm::DbBackend::Postgres) {
        let columns = all.len();
        return insert_statements_built(backend, rows, columns);
    }
    let n = rows.len();
    let mut taken: Vec<Option<sea_orm::Value>> = Vec::with_capacity(n * all.len());
    let mut nulls: Vec<Option<sea_orm::Value>> = vec![None; all.len()];
    for mut row in rows {
        for (i, c) in all.iter().enumerate() {
            match row.take(*c) {
                ActiveValue::Set(v) | ActiveValue::Unchanged(v) => {
                    if nulls[i].is_none() {
                        nulls[i] = Some(v.as_null());
                    }
                    taken.push(Some(v));
                }
                ActiveValue::NotSet => taken.push(None),
            }
        }
    }
    let used: Vec<usize> = (0..all.len()).filter(|i| nulls[*i].is_some()).collect();
    let names: Vec<String> = used.iter().map(|i| all[*i].as_str().to_owned()).collect();
    let table = <A::Entity as Default>::default();
    let table = sea_orm::EntityName::table_name(&table);
    let mut values = taken.into_iter();
    insert_chunks(n, used.len())
        .into_iter()
        .map(|take| {
            let mut bound = Vec::with_capacity(take * used.len());
            for _ in 0..take {
                let mut next = 0;
                for (i, value) in values.by_ref().take(all.len()).enumerate() {
                    if used.get(next) == Some(&i) {
                        next += 1;
                        bound.push(value.or_else(|| nulls[i].clone()).unwrap_or(sea_orm::Value::Int(None)));
                    }
                }
            }
            let sql = insert_text(backend, table, &names, take);
            sea_orm::Statement::from_sql_and_values(backend, sql.as_str(), bound)
        })
        .collect()
}

/// How many rows each insert of `rows` rows of `columns` columns takes (see
/// [`insert_statements`]).
fn insert_chunks(rows: usize, columns: usize) -> Vec<usize> {
    let limit = (PARAMS_PER_INSERT / columns.max(1)).max(1);
    let per = 1usize << (usize::BITS - 1 - limit.leading_zeros());
    let mut left = rows;
    let mut out = Vec::new();
    while left > 0 {
        let take = if left <= EXACT_INSERT_ROWS.min(limit) {
            left
        } else if left >= per {
            per
        } else {
            1usize << (usize::BITS - 1 - left.leading_zeros())
        };
        out.push(take);
        left -= take;
    }
    out
}

/// [`insert_statements`] through SeaQuery's builder (and the oracle its
/// tests hold the direct statements to).
fn insert_statements_built<A>(backend: sea_orm::DbBackend, rows: Vec<A>, columns: usize) -> Vec<sea_orm::Statement>
where
    A: sea_orm::ActiveModelTrait,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    use sea_orm::QueryTrait;
    let mut rows = rows.into_iter();
    insert_chunks(rows.len(), columns)
        .into_iter()
        .map(|take| {
            let chunk: Vec<A> = rows.by_ref().take(take).collect();
            <A::Entity as EntityTrait>::insert_many(chunk).build(backend)
        })
        .collect()
}

/// The text of an insert of `rows` rows into `table`'s `columns`, as
/// SeaQuery writes it; made once per backend, table, columns and number of
/// rows, then kept (a bounded set: see [`insert_statements`]).
fn insert_text(backend: sea_orm::DbBackend, table: &str, columns: &[String], rows: usize) -> std::sync::Arc<String> {
    use std::fmt::Write;
    use std::sync::{Arc, Mutex, OnceLock};
    type Key = (bool, String, Vec<String>, usize);
    static TEXTS: OnceLock<Mutex<HashMap<Key, Arc<String>>>> = OnceLock::new();
    let postgres = backend == sea_orm::DbBackend::Postgres;
    let key = (postgres, table.to_owned(), columns.to_vec(), rows);
    let texts = TEXTS.get_or_init(Default::default);
    if let Some(text) = texts.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return text.clone();
    }
    let mut sql = format!("INSERT INTO \"{table}\" (");
    for (i, c) in columns.iter().enumerate() {
        let _ = write!(sql, "{}\"{c}\"", if i == 0 { "" } else { ", " });
    }
    sql.push_str(") VALUES ");
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for i in 0..columns.len() {
            n += 1;
            if i > 0 {
                sql.push_str(", ");
            }
            if postgres {
                let _ = write!(sql, "${n}");
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    let text = Arc::new(sql);
    texts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, text.clone());
    text
}

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

/// Sets a sequence's last number taken (a seeding writer owns it).
fn set_sequence(backend: sea_orm::DbBackend, name: &str, last: i64) -> sea_orm::Statement {
    use crate::entities::sequences;
    use sea_orm::QueryTrait;
    sequences::Entity::update_many()
        .col_expr(sequences::Column::Value, Expr::value(last))
        .filter(sequences::Column::Name.eq(name))
        .build(backend)
}

/// A gift's row: what staff see of it ([`Gift`]) and its commitment's salt.
fn gift_row(gift: &Gift, commitment_salt: String) -> gifts::ActiveModel {
    let goods = gift.goods.as_ref();
    gifts::ActiveModel {
        id: Set(gift.id.0),
        certificate_no: Set(gift.certificate_no.clone()),
        donor_id: Set(gift.donor_id.map(|d| d.0)),
        project_id: Set(gift.project_id.0),
        org_id: Set(gift.org_id.0),
        channel: Set(gift.channel.as_str().to_owned()),
        amount_fen: Set(gift.amount.0),
        status: Set(gift.status.as_str().to_owned()),
        refunded_fen: Set(gift.refunded.0),
        goods_item: Set(goods.map(|g| g.item.clone())),
        goods_quantity: Set(goods.map(|g| g.quantity)),
        goods_unit: Set(goods.map(|g| g.unit.clone())),
        goods_lot: Set(goods.and_then(|g| g.lot.clone())),
        goods_expires_on: Set(goods.and_then(|g| g.expires_on)),
        received_on: Set(gift.received_on),
        note: Set(gift.note.clone()),
        journal_entry_id: Set(gift.journal_entry_id.0),
        ledger_index: Set(gift.ledger_index),
        commitment_salt: Set(Some(commitment_salt)),
        created_by: Set(gift.created_by.clone()),
        created_at: Set(gift.created_at),
    }
}

/// The first number of each sequence a batch takes.
#[derive(Debug, Clone, Copy)]
struct Numbers {
    certificate: i64,
    journal: i64,
    /// The first ledger index (the log's size before the batch).
    ledger: u64,
}

/// A batch's rows, built in memory.
struct BatchRows {
    entry_rows: Vec<journal_entries::ActiveModel>,
    line_rows: Vec<journal_lines::ActiveModel>,
    ledger_rows: Vec<ledger_entries::ActiveModel>,
    node_rows: Vec<ledger_nodes::ActiveModel>,
    gift_rows: Vec<gifts::ActiveModel>,
    /// Balance moves per account, in account order (none negative).
    moves: Vec<(uuid::Uuid, i64)>,
    /// Money raised per project and the time of its last gift, in project order.
    projects_moved: Vec<(uuid::Uuid, (i64, DateTime<Utc>))>,
    /// Audit changes in chain order, with the position of the gift (and so
    /// the actor and time) each belongs to.
    audit: Vec<(usize, AuditChange<'static>)>,
    written: Vec<Gift>,
}

impl BatchRows {
    /// The statements that write the rows (all but the audit chain's) and
    /// move the balances and project totals.
    fn statements(&mut self, backend: sea_orm::DbBackend) -> Vec<sea_orm::Statement> {
        use sea_orm::QueryTrait;
        let mut out = Vec::new();
        out.extend(insert_statements(backend, std::mem::take(&mut self.entry_rows)));
        out.extend(insert_statements(backend, std::mem::take(&mut self.line_rows)));
        out.extend(insert_statements(backend, std::mem::take(&mut self.ledger_rows)));
        out.extend(insert_statements(backend, std::mem::take(&mut self.node_rows)));
        out.extend(insert_statements(backend, std::mem::take(&mut self.gift_rows)));
        if !self.moves.is_empty() {
            // One statement for every account the batch moved.
            let mut by_account = sea_orm::sea_query::CaseStatement::new();
            for (account, delta) in &self.moves {
                by_account = by_account.case(accounts::Column::Id.eq(*account), Expr::val(*delta));
            }
            out.push(
                accounts::Entity::update_many()
                    .col_expr(
                        accounts::Column::BalanceFen,
                        Expr::col(accounts::Column::BalanceFen).add(Expr::expr(by_account.finally(Expr::val(0i64)))),
                    )
                    .filter(accounts::Column::Id.is_in(self.moves.iter().map(|(account, _)| *account)))
                    .build(backend),
            );
        }
        for (project, (amount, at)) in &self.projects_moved {
            out.push(
                projects::Entity::update_many()
                    .col_expr(
                        projects::Column::RaisedFen,
                        Expr::col(projects::Column::RaisedFen).add(*amount),
                    )
                    .col_expr(projects::Column::UpdatedAt, Expr::value(*at))
                    .filter(projects::Column::Id.eq(*project))
                    .build(backend),
            );
        }
        out
    }
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

    /// Builds every row of `batch` (all but the audit chain's) with the
    /// numbers it was given, moving the frontier (and, when seeding, the
    /// digest) past it: THE place a gift's rows are made, from the plan
    /// `boai_domain::fundraising::plan` makes of it. No database access.
    fn build_rows(
        &mut self,
        store: &Store,
        batch: &[BulkGift],
        donor_ids: Vec<Option<DonorId>>,
        donor_changes: Vec<Option<AuditChange<'static>>>,
        numbers: Numbers,
    ) -> StoreResult<BatchRows> {
        let n = batch.len();
        let mut entry_rows = Vec::with_capacity(n);
        let mut line_rows = Vec::with_capacity(2 * n);
        let mut ledger_rows = Vec::with_capacity(n);
        let mut node_rows = Vec::with_capacity(2 * n);
        let mut gift_rows = Vec::with_capacity(n);
        let mut audit = Vec::with_capacity(n + 8);
        let mut written = Vec::with_capacity(n);
        let mut balance_moves: HashMap<uuid::Uuid, i64> = HashMap::new();
        let mut raised: HashMap<uuid::Uuid, (i64, DateTime<Utc>)> = HashMap::new();

        for (i, (g, (donor_id, donor_change))) in batch.iter().zip(donor_ids.into_iter().zip(donor_changes)).enumerate()
        {
            let index = numbers.ledger + i as u64;
            let draw = GiftDraw {
                gift_id: GiftId(store.draws.id(Drawn::Gift, g.at)),
                entry_id: JournalEntryId(store.draws.id(Drawn::JournalEntry, g.at)),
                commitment_salt: store.draws.salt(),
            };
            let gift_numbers = GiftNumbers {
                certificate: numbers.certificate + i as i64,
                journal_seq: numbers.journal + i as i64,
                ledger_index: index,
            };
            let planned = plan::plan(&g.input, g.at, &self.city_code, gift_numbers, draw)
                .map_err(|e| funds_error(e, "amount_fen"))?;
            let entry = JournalEntry {
                id: planned.entry_id,
                seq: planned.journal_seq,
                at: g.at,
                kind: planned.entry.kind,
                project_id: planned.entry.project,
                amount: planned.entry.amount,
                reverses_id: None,
                gift_id: Some(planned.gift.id.0),
                counterparty: None,
                memo: None,
                decision_ref: None,
                ledger_index: Some(to_i64(index)?),
            };
            entry_rows.push(entry_row(&entry, g.actor.org_id, &g.actor.username));
            for (line_no, line) in planned.entry.lines.iter().enumerate() {
                let account = *self.accounts.get(&(line.fund.0, line.account)).ok_or_else(|| {
                    StoreError::Corrupt(format!("fund {} has no {} account", line.fund, line.account.as_str()))
                })?;
                *balance_moves.entry(account).or_default() += line.balance_delta();
                line_rows.push(line_row(entry.id, line_no, account, line));
            }
            let net = net_deltas(&planned.entry.lines);
            for (fund, delta) in &net {
                let (r, _, _, _) = funds::totals_delta(entry.kind, None, *delta);
                let slot = raised.entry(fund.0).or_insert((0, g.at));
                slot.0 += r;
                slot.1 = g.at;
            }
            let meta = EntryMeta {
                gift_id: entry.gift_id,
                public_donor: Some(planned.public_donor.clone()),
                commitment: Some(boai_ledger::commitment(
                    &planned.gift.certificate_no,
                    &planned.committed_name,
                    &planned.gift.commitment_salt,
                )),
                ..EntryMeta::default()
            };
            let public = ledger_entry_for(&entry, &net, &meta);
            if self.seeding {
                self.digest
                    .add(&public)
                    .map_err(|e| StoreError::Corrupt(format!("ledger digest: {e}")))?;
            }
            let body = public
                .to_canonical()
                .map_err(|e| StoreError::Corrupt(format!("ledger entry: {e}")))?;
            let leaf = tree::leaf_hash(&body);
            let siblings: Vec<Hash> = tree::left_siblings(index)
                .iter()
                .map(|id| {
                    self.frontier
                        .get(id)
                        .copied()
                        .ok_or_else(|| StoreError::Corrupt(format!("ledger: node {id:?} missing")))
                })
                .collect::<StoreResult<_>>()?;
            for (id, hash) in tree::appended(index, leaf, &siblings).map_err(|e| StoreError::Corrupt(e.to_string()))? {
                self.frontier.insert(id, hash);
                node_rows.push(ledger_nodes::ActiveModel {
                    level: Set(i16::from(id.level)),
                    idx: Set(to_i64(id.index)?),
                    hash: Set(hash.0.to_vec()),
                });
            }
            ledger_rows.push(ledger_entries::ActiveModel {
                idx: Set(to_i64(index)?),
                journal_id: Set(entry.id.0),
                body: Set(body),
            });
            let donor = g.input.donor.as_ref();
            let project_name = self.projects.get(&planned.gift.project_id.0).map(|p| p.name.clone());
            let salt = planned.gift.commitment_salt.clone();
            let gift = Gift {
                id: planned.gift.id,
                certificate_no: planned.gift.certificate_no,
                donor_id,
                donor_kind: donor.map(DonorForCreate::kind),
                donor_name: donor.map(|d| d.name().to_owned()),
                public_name: planned.public_donor,
                project_id: planned.gift.project_id,
                project_name: project_name.unwrap_or_default(),
                org_id: g.actor.org_id,
                channel: planned.gift.channel,
                amount: planned.gift.amount,
                status: GiftStatus::Confirmed,
                refunded: Fen::ZERO,
                goods: planned.gift.goods,
                received_on: planned.gift.received_on,
                note: planned.gift.note,
                journal_entry_id: entry.id,
                ledger_index: entry.ledger_index,
                created_by: g.actor.username.clone(),
                created_at: planned.gift.at,
            };
            gift_rows.push(gift_row(&gift, salt));
            if let Some(change) = donor_change {
                audit.push((i, change));
            }
            audit.push((
                i,
                AuditChange {
                    action: AuditAction::Create,
                    entity: "gift",
                    entity_id: gift.id.to_string(),
                    org_id: gift.org_id,
                    before: None,
                    after: Some(gift_audit(&gift)),
                },
            ));
            written.push(gift);
        }
        // Only the right edge of the tree is ever a left sibling again.
        let next = numbers.ledger + n as u64;
        let keep = tree::frontier(next);
        self.frontier.retain(|id, _| keep.contains(id));
        self.frontier_at = next;

        let mut moves: Vec<(uuid::Uuid, i64)> = balance_moves.into_iter().collect();
        moves.sort();
        if moves.iter().any(|(_, delta)| *delta < 0) {
            return Err(StoreError::Corrupt("a gift cannot lower a balance".into()));
        }
        let mut projects_moved: Vec<_> = raised.into_iter().collect();
        projects_moved.sort_by_key(|(id, _)| *id);
        Ok(BatchRows {
            entry_rows,
            line_rows,
            ledger_rows,
            node_rows,
            gift_rows,
            moves,
            projects_moved,
            audit,
            written,
        })
    }

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use sea_orm::ActiveValue::NotSet;

    fn gift_row(i: usize) -> gifts::ActiveModel {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000 + i as i64, 0).unwrap();
        gifts::ActiveModel {
            id: Set(uuid::Uuid::from_u128(i as u128 + 1)),
            certificate_no: Set(format!("JN-2026-{i:07}")),
            donor_id: Set(i.is_multiple_of(3).then(|| uuid::Uuid::from_u128(7))),
            project_id: Set(uuid::Uuid::from_u128(9)),
            org_id: Set(uuid::Uuid::from_u128(10)),
            channel: Set("bank".into()),
            amount_fen: Set(100 + i as i64),
            status: Set("confirmed".into()),
            refunded_fen: Set(0),
            goods_item: Set(i.is_multiple_of(5).then(|| "大米".to_owned())),
            goods_quantity: Set(i.is_multiple_of(5).then_some(3)),
            goods_unit: Set(None),
            goods_lot: Set(None),
            goods_expires_on: Set(i.is_multiple_of(7).then(|| at.date_naive())),
            received_on: Set(at.date_naive()),
            // Left unset in some rows: SeaQuery binds a typed NULL there.
            note: if i % 4 == 1 {
                NotSet
            } else {
                Set(Some(format!("备注 {i}")))
            },
            journal_entry_id: Set(uuid::Uuid::from_u128(i as u128 + 1_000_000)),
            ledger_index: Set(Some(i as i64)),
            commitment_salt: Set(Some("00ff".into())),
            created_by: Set("admin".into()),
            created_at: Set(at),
        }
    }

    fn node_row(i: usize) -> ledger_nodes::ActiveModel {
        ledger_nodes::ActiveModel {
            level: Set((i % 3) as i16),
            idx: Set(i as i64),
            hash: Set(vec![i as u8; 32]),
        }
    }

    /// The direct statements are, text and values, what SeaQuery builds —
    /// for every chunking (one row, a few, exactly the limit for one
    /// statement, just over it, several powers of two) on both backends.
    #[test]
    fn direct_inserts_are_the_statements_sea_query_builds() {
        for backend in [sea_orm::DbBackend::Sqlite, sea_orm::DbBackend::Postgres] {
            for n in [1, 3, EXACT_INSERT_ROWS, EXACT_INSERT_ROWS + 1, 1_500, 3_333] {
                let direct = insert_statements(backend, (0..n).map(gift_row).collect());
                let built = insert_statements_built(backend, (0..n).map(gift_row).collect(), 21);
                assert_eq!(direct, built, "{backend:?}, {n} gifts");
                let direct = insert_statements(backend, (0..n).map(node_row).collect());
                let built = insert_statements_built(backend, (0..n).map(node_row).collect(), 3);
                assert_eq!(direct, built, "{backend:?}, {n} nodes");
            }
            // The kept text serves a second call of the same size.
            let again = insert_statements(backend, (0..3).map(node_row).collect());
            assert_eq!(
                again,
                insert_statements_built(backend, (0..3).map(node_row).collect(), 3)
            );
            assert!(insert_statements::<gifts::ActiveModel>(backend, Vec::new()).is_empty());
        }
    }

    #[test]
    fn chunks_cover_every_row_and_stay_under_the_parameter_limit() {
        for columns in [3, 5, 13, 21] {
            for rows in [0, 1, 64, 65, 1_000, 4_097, 20_000] {
                let chunks = insert_chunks(rows, columns);
                assert_eq!(chunks.iter().sum::<usize>(), rows);
                assert!(chunks.iter().all(|c| c * columns <= PARAMS_PER_INSERT));
                assert!(chunks.iter().all(|c| *c <= EXACT_INSERT_ROWS || c.is_power_of_two()));
            }
        }
    }
}
