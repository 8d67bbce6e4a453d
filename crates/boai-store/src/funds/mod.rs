//! Funds and the journal. [`post`] writes one planned entry: it takes the
//! next posting number, writes the entry and its lines, moves each account's
//! running balance with a guarded UPDATE (`… WHERE balance + delta >= 0`; no
//! row changed means the fund would be overdrawn and the whole transaction is
//! refused), and keeps each project's raised / allocated / spent / refunded
//! totals. Reading balances and totals never sums history; [`Store::books_check`]
//! does, to prove the running figures equal the journal.

use crate::audit::{append, AuditChange};
use crate::entities::{accounts, journal_entries, journal_lines, orgs, projects, sequences};
use crate::scoped::OrgOwned;
use crate::{Actor, Page, ScopedStore, Store, StoreError, StoreResult};
use boai_domain::accounts::Permission;
use boai_domain::audit::AuditAction;
use boai_domain::funds::{self, AccountKind, EntryKind, EntryPlan, FundsError, Line, TrialBalance};
use boai_domain::ids::{JournalEntryId, OrgId, ProjectId};
use boai_domain::money::Fen;
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use serde::Serialize;
use std::collections::HashMap;

/// Project status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    Draft,
    Open,
    Closed,
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectStatus::Draft => "draft",
            ProjectStatus::Open => "open",
            ProjectStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(ProjectStatus::Draft),
            "open" => Some(ProjectStatus::Open),
            "closed" => Some(ProjectStatus::Closed),
            _ => None,
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ProjectStatus::Draft => "筹备",
            ProjectStatus::Open => "募集中",
            ProjectStatus::Closed => "已结束",
        }
    }
}

/// A fund or project with its running totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub code: String,
    pub name: String,
    /// `general`, `management`, `relief`, `appeal` or `campaign`.
    pub kind: String,
    pub designated: bool,
    pub status: ProjectStatus,
    pub target: Option<Fen>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub org_id: OrgId,
    pub management_rate_bp: i32,
    /// Gifts received (net of refunds).
    pub raised: Fen,
    /// Net money allocated in by decision (negative for a fund that gives).
    pub allocated: Fen,
    /// Paid or given out, and management costs charged.
    pub spent: Fen,
    pub refunded: Fen,
    pub created_at: DateTime<Utc>,
}

fn to_project(m: projects::Model) -> StoreResult<Project> {
    Ok(Project {
        id: ProjectId(m.id),
        status: ProjectStatus::parse(&m.status).ok_or_else(|| StoreError::Corrupt(format!("status {}", m.status)))?,
        code: m.code,
        name: m.name,
        kind: m.kind,
        designated: m.designated,
        target: m.target_fen.map(Fen),
        starts_on: m.starts_on,
        ends_on: m.ends_on,
        org_id: OrgId(m.org_id),
        management_rate_bp: m.management_rate_bp,
        raised: Fen(m.raised_fen),
        allocated: Fen(m.allocated_fen),
        spent: Fen(m.spent_fen),
        refunded: Fen(m.refunded_fen),
        created_at: m.created_at,
    })
}

/// A new fund or project.
#[derive(Debug, Clone)]
pub struct ProjectForCreate {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub designated: bool,
    pub status: ProjectStatus,
    pub target: Option<Fen>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub org_id: OrgId,
    pub management_rate_bp: i32,
}

/// The city-wide cap on management-cost rates, in basis points (10%).
pub const MANAGEMENT_RATE_CAP_BP: i64 = 1000;

/// Who and why, for an entry.
#[derive(Debug, Clone, Default)]
pub struct EntryMeta {
    pub gift_id: Option<uuid::Uuid>,
    pub counterparty: Option<String>,
    pub memo: Option<String>,
    pub decision_ref: Option<String>,
    /// For a reversal: the kind of the entry it reverses.
    pub reverses_kind: Option<EntryKind>,
    /// Gifts: the donor's public name or `匿名`, as the ledger shows it.
    pub public_donor: Option<String>,
    /// Gifts: the salted commitment the certificate holder can open.
    pub commitment: Option<String>,
    /// Money or goods out: the recipient's pseudonym, as the ledger shows it.
    pub public_recipient: Option<String>,
}

/// The public ledger entry that mirrors a journal entry. `net_deltas` is
/// each fund's change of net assets: one fund rising and one falling make a
/// move (`from_project_id` → `project_id`); otherwise the entry is about its
/// own project. Used when posting and again by the ledger check.
pub(crate) fn ledger_entry_for(
    entry: &JournalEntry,
    net_deltas: &[(ProjectId, i64)],
    meta: &EntryMeta,
) -> boai_ledger::LedgerEntry {
    let to = net_deltas.iter().find(|(_, d)| *d > 0).map(|(f, _)| *f);
    let from = net_deltas.iter().find(|(_, d)| *d < 0).map(|(f, _)| *f);
    let (project, from_project) = match (to, from) {
        (Some(to), Some(from)) => (to, Some(from)),
        _ => (entry.project_id, None),
    };
    boai_ledger::LedgerEntry {
        v: boai_ledger::entry::ENTRY_VERSION,
        kind: entry.kind.as_str().to_owned(),
        amount_fen: entry.amount.0,
        project_id: project.to_string(),
        from_project_id: from_project.map(|f| f.to_string()),
        journal_id: entry.id.to_string(),
        journal_seq: entry.seq,
        at: entry.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        donor: meta.public_donor.clone(),
        commitment: meta.commitment.clone(),
        recipient: meta.public_recipient.clone(),
        reverses: entry.reverses_id.map(|r| r.to_string()),
        reverses_kind: meta.reverses_kind.map(|k| k.as_str().to_owned()),
    }
}

/// Each fund's net-asset change in a plan's lines, by fund id.
pub(crate) fn net_deltas(lines: &[Line]) -> Vec<(ProjectId, i64)> {
    let mut out: Vec<(ProjectId, i64)> = Vec::new();
    for l in lines.iter().filter(|l| l.account == AccountKind::NetAssets) {
        match out.iter_mut().find(|(f, _)| *f == l.fund) {
            Some((_, d)) => *d += l.balance_delta(),
            None => out.push((l.fund, l.balance_delta())),
        }
    }
    out
}

/// A posted entry, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    pub id: JournalEntryId,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    pub project_id: ProjectId,
    pub amount: Fen,
    pub reverses_id: Option<JournalEntryId>,
    pub gift_id: Option<uuid::Uuid>,
    pub counterparty: Option<String>,
    pub memo: Option<String>,
    pub decision_ref: Option<String>,
    pub ledger_index: Option<i64>,
}

pub(crate) fn to_entry(m: journal_entries::Model) -> StoreResult<JournalEntry> {
    Ok(JournalEntry {
        id: JournalEntryId(m.id),
        seq: m.seq,
        at: m.at,
        kind: EntryKind::parse(&m.kind).ok_or_else(|| StoreError::Corrupt(format!("entry kind {}", m.kind)))?,
        project_id: ProjectId(m.project_id),
        amount: Fen(m.amount_fen),
        reverses_id: m.reverses_id.map(JournalEntryId),
        gift_id: m.gift_id,
        counterparty: m.counterparty,
        memo: m.memo,
        decision_ref: m.decision_ref,
        ledger_index: m.ledger_index,
    })
}

pub(crate) fn funds_error(err: FundsError, field: &str) -> StoreError {
    let mut errors = FieldErrors::new();
    errors.add(field, err.to_string());
    StoreError::Invalid(errors)
}

fn overdrawn(fund_name: &str) -> StoreError {
    let mut errors = FieldErrors::new();
    errors.add("amount_fen", format!("{fund_name}余额不足, 不能透支"));
    StoreError::Invalid(errors)
}

/// Takes the next value of a named sequence inside the transaction.
pub(crate) async fn next_in_sequence<C: ConnectionTrait>(conn: &C, name: &str) -> StoreResult<i64> {
    sequences::Entity::update_many()
        .col_expr(sequences::Column::Value, Expr::col(sequences::Column::Value).add(1))
        .filter(sequences::Column::Name.eq(name))
        .exec_with_returning(conn)
        .await?
        .pop()
        .map(|s| s.value)
        .ok_or_else(|| StoreError::Corrupt(format!("sequence {name} missing")))
}

/// Creates a fund's three accounts.
async fn open_accounts<C: ConnectionTrait>(conn: &C, fund: ProjectId) -> StoreResult<()> {
    for kind in AccountKind::ALL {
        accounts::Entity::insert(accounts::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            fund_id: Set(fund.0),
            kind: Set(kind.as_str().to_owned()),
            balance_fen: Set(0),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn insert_project<C: ConnectionTrait>(
    conn: &C,
    input: &ProjectForCreate,
    now: DateTime<Utc>,
) -> StoreResult<Project> {
    let id = ProjectId::new();
    projects::Entity::insert(projects::ActiveModel {
        id: Set(id.0),
        code: Set(input.code.clone()),
        name: Set(input.name.clone()),
        kind: Set(input.kind.clone()),
        designated: Set(input.designated),
        status: Set(input.status.as_str().to_owned()),
        target_fen: Set(input.target.map(|t| t.0)),
        starts_on: Set(input.starts_on),
        ends_on: Set(input.ends_on),
        org_id: Set(input.org_id.0),
        management_rate_bp: Set(input.management_rate_bp),
        raised_fen: Set(0),
        allocated_fen: Set(0),
        spent_fen: Set(0),
        refunded_fen: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    open_accounts(conn, id).await?;
    let row = projects::Entity::find_by_id(id.0)
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    to_project(row)
}

/// A journal entry's row, by `created_by` for `org_id`: [`post`]'s and the
/// gift writer's.
pub(crate) fn entry_row(entry: &JournalEntry, org_id: OrgId, created_by: &str) -> journal_entries::ActiveModel {
    journal_entries::ActiveModel {
        id: Set(entry.id.0),
        seq: Set(entry.seq),
        at: Set(entry.at),
        kind: Set(entry.kind.as_str().to_owned()),
        project_id: Set(entry.project_id.0),
        amount_fen: Set(entry.amount.0),
        reverses_id: Set(entry.reverses_id.map(|r| r.0)),
        gift_id: Set(entry.gift_id),
        counterparty: Set(entry.counterparty.clone()),
        memo: Set(entry.memo.clone()),
        decision_ref: Set(entry.decision_ref.clone()),
        org_id: Set(org_id.0),
        created_by: Set(created_by.to_owned()),
        ledger_index: Set(entry.ledger_index),
    }
}

/// Line `n` of entry `entry_id`, on `account`: [`post`]'s and the gift
/// writer's.
pub(crate) fn line_row(
    entry_id: JournalEntryId,
    n: usize,
    account: uuid::Uuid,
    line: &Line,
) -> journal_lines::ActiveModel {
    journal_lines::ActiveModel {
        entry_id: Set(entry_id.0),
        line_no: Set(i32::try_from(n).unwrap_or(i32::MAX)),
        account_id: Set(account),
        debit_fen: Set(line.debit.0),
        credit_fen: Set(line.credit.0),
    }
}

/// Writes a planned entry with its lines, balances and totals. Fails (and
/// the caller's transaction must roll back) if an account would go below zero.
pub(crate) async fn post<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    org_id: OrgId,
    at: DateTime<Utc>,
    plan: &EntryPlan,
    meta: &EntryMeta,
) -> StoreResult<JournalEntry> {
    plan.check_balanced().map_err(|e| funds_error(e, "amount_fen"))?;
    let seq = next_in_sequence(conn, "journal").await?;
    let ledger_index = crate::ledger::next_index(conn).await?;
    let id = JournalEntryId::new();
    let mut funds_touched: Vec<ProjectId> = plan.lines.iter().map(|l| l.fund).collect();
    funds_touched.sort();
    funds_touched.dedup();
    let account_rows = accounts::Entity::find()
        .filter(accounts::Column::FundId.is_in(funds_touched.iter().map(|f| f.0)))
        .all(conn)
        .await?;
    let account_of: HashMap<(uuid::Uuid, String), uuid::Uuid> =
        account_rows.into_iter().map(|a| ((a.fund_id, a.kind), a.id)).collect();
    let entry = JournalEntry {
        id,
        seq,
        at,
        kind: plan.kind,
        project_id: plan.project,
        amount: plan.amount,
        reverses_id: plan.reverses,
        gift_id: meta.gift_id,
        counterparty: meta.counterparty.clone(),
        memo: meta.memo.clone(),
        decision_ref: meta.decision_ref.clone(),
        ledger_index: Some(ledger_index as i64),
    };
    journal_entries::Entity::insert(entry_row(&entry, org_id, &actor.username))
        .exec_without_returning(conn)
        .await?;
    // Balances are moved in account-id order (lines are written in plan
    // order), so concurrent entries over the same funds lock rows in one
    // order and cannot deadlock.
    let mut moves: Vec<(uuid::Uuid, i64, String)> = Vec::new();
    for line in &plan.lines {
        let account = *account_of
            .get(&(line.fund.0, line.account.as_str().to_owned()))
            .ok_or_else(|| {
                StoreError::Corrupt(format!("fund {} has no {} account", line.fund, line.account.as_str()))
            })?;
        moves.push((account, line.balance_delta(), line.fund.to_string()));
    }
    moves.sort_by_key(|m| m.0);
    for (account, delta, fund) in &moves {
        let moved = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::BalanceFen,
                Expr::col(accounts::Column::BalanceFen).add(*delta),
            )
            .filter(accounts::Column::Id.eq(*account))
            .filter(Expr::expr(Expr::col(accounts::Column::BalanceFen).add(*delta)).gte(0))
            .exec(conn)
            .await?;
        if moved.rows_affected == 0 {
            let fund: uuid::Uuid = fund.parse().map_err(|_| StoreError::Corrupt("fund id".into()))?;
            let name = projects::Entity::find_by_id(fund)
                .one(conn)
                .await?
                .map(|p| p.name)
                .unwrap_or_default();
            return Err(overdrawn(&name));
        }
    }
    for (n, line) in plan.lines.iter().enumerate() {
        let account = *account_of
            .get(&(line.fund.0, line.account.as_str().to_owned()))
            .ok_or_else(|| StoreError::Corrupt("account vanished".into()))?;
        journal_lines::Entity::insert(line_row(id, n, account, line))
            .exec_without_returning(conn)
            .await?;
    }
    for fund in funds_touched {
        let net: i64 = plan
            .lines
            .iter()
            .filter(|l| l.fund == fund && l.account == AccountKind::NetAssets)
            .map(Line::balance_delta)
            .sum();
        let (raised, allocated, spent, refunded) = funds::totals_delta(plan.kind, meta.reverses_kind, net);
        if (raised, allocated, spent, refunded) == (0, 0, 0, 0) {
            continue;
        }
        projects::Entity::update_many()
            .col_expr(
                projects::Column::RaisedFen,
                Expr::col(projects::Column::RaisedFen).add(raised),
            )
            .col_expr(
                projects::Column::AllocatedFen,
                Expr::col(projects::Column::AllocatedFen).add(allocated),
            )
            .col_expr(
                projects::Column::SpentFen,
                Expr::col(projects::Column::SpentFen).add(spent),
            )
            .col_expr(
                projects::Column::RefundedFen,
                Expr::col(projects::Column::RefundedFen).add(refunded),
            )
            .col_expr(projects::Column::UpdatedAt, Expr::value(at))
            .filter(projects::Column::Id.eq(fund.0))
            .exec(conn)
            .await?;
    }
    let public = ledger_entry_for(&entry, &net_deltas(&plan.lines), meta)
        .to_canonical()
        .map_err(|e| StoreError::Corrupt(format!("ledger entry: {e}")))?;
    crate::ledger::append(conn, ledger_index, id.0, &public).await?;
    if meta.gift_id.is_some() && plan.kind != EntryKind::Reversal {
        // A new gift's entry is audited with the gift itself (one row).
        return Ok(entry);
    }
    append(
        conn,
        actor,
        at,
        AuditChange {
            action: AuditAction::Create,
            entity: "journal_entry",
            entity_id: id.to_string(),
            org_id,
            before: None,
            after: Some(serde_json::json!({
                "seq": entry.seq, "kind": entry.kind, "project_id": entry.project_id,
                "amount_fen": entry.amount.0, "reverses_id": entry.reverses_id,
                "lines": plan.lines.iter().map(|l| serde_json::json!({
                    "fund": l.fund, "account": l.account, "debit_fen": l.debit.0, "credit_fen": l.credit.0
                })).collect::<Vec<_>>(),
                "counterparty": entry.counterparty, "memo": entry.memo, "decision_ref": entry.decision_ref,
            })),
        },
    )
    .await?;
    Ok(entry)
}

/// The lines of a posted entry, as plan lines.
pub(crate) async fn entry_lines<C: ConnectionTrait>(conn: &C, entry: JournalEntryId) -> StoreResult<Vec<Line>> {
    let lines = journal_lines::Entity::find()
        .filter(journal_lines::Column::EntryId.eq(entry.0))
        .order_by_asc(journal_lines::Column::LineNo)
        .all(conn)
        .await?;
    let ids: Vec<uuid::Uuid> = lines.iter().map(|l| l.account_id).collect();
    let accounts: HashMap<uuid::Uuid, accounts::Model> = accounts::Entity::find()
        .filter(accounts::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    lines
        .into_iter()
        .map(|l| {
            let a = accounts
                .get(&l.account_id)
                .ok_or_else(|| StoreError::Corrupt("line without account".into()))?;
            Ok(Line {
                fund: ProjectId(a.fund_id),
                account: AccountKind::parse(&a.kind).ok_or_else(|| StoreError::Corrupt("account kind".into()))?,
                debit: Fen(l.debit_fen),
                credit: Fen(l.credit_fen),
            })
        })
        .collect()
}

/// One fund's balances.
#[derive(Debug, Clone, Serialize)]
pub struct FundBalance {
    pub project: Project,
    pub money: Fen,
    pub goods: Fen,
    pub net_assets: Fen,
}

/// Filters for listing projects.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    pub q: Option<String>,
    pub status: Option<ProjectStatus>,
    pub kind: Option<String>,
}

/// What the books check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BooksReport {
    pub entries: u64,
    pub trial_balance: TrialBalance,
    /// Accounts whose running balance differs from the sum of their lines.
    pub mismatched_accounts: Vec<String>,
    /// Entries whose debits differ from their credits.
    pub unbalanced_entries: Vec<String>,
    /// Asset accounts below zero.
    pub overdrawn_accounts: Vec<String>,
}

impl BooksReport {
    pub fn holds(&self) -> bool {
        self.trial_balance.balanced()
            && self.mismatched_accounts.is_empty()
            && self.unbalanced_entries.is_empty()
            && self.overdrawn_accounts.is_empty()
    }
}

fn sum_i64(row: &sea_orm::QueryResult, col: &str) -> StoreResult<i64> {
    Ok(row.try_get::<Option<i64>>("", col)?.unwrap_or(0))
}

impl Store {
    /// The trial balance from running balances (no history summed).
    pub async fn trial_balance(&self) -> StoreResult<TrialBalance> {
        let rows = accounts::Entity::find().all(&self.read).await?;
        let mut tb = TrialBalance::default();
        for a in rows {
            let kind = AccountKind::parse(&a.kind).ok_or_else(|| StoreError::Corrupt("account kind".into()))?;
            if kind.debit_normal() {
                tb.debit.0 += a.balance_fen;
            } else {
                tb.credit.0 += a.balance_fen;
            }
        }
        Ok(tb)
    }

    /// Proves the running figures: every account's balance equals the sum of
    /// its journal lines, every entry balances, no asset account is negative.
    pub async fn books_check(&self) -> StoreResult<BooksReport> {
        let backend = self.read.get_database_backend();
        let sums = self
            .read
            .query_all(Statement::from_string(
                backend,
                "SELECT account_id, CAST(SUM(debit_fen) AS BIGINT) AS d, CAST(SUM(credit_fen) AS BIGINT) AS c \
                 FROM journal_lines GROUP BY account_id",
            ))
            .await?;
        let mut by_account: HashMap<uuid::Uuid, (i64, i64)> = HashMap::new();
        for row in &sums {
            let id: uuid::Uuid = row.try_get("", "account_id")?;
            by_account.insert(id, (sum_i64(row, "d")?, sum_i64(row, "c")?));
        }
        let mut report = BooksReport {
            entries: journal_entries::Entity::find().count(&self.read).await?,
            trial_balance: self.trial_balance().await?,
            mismatched_accounts: Vec::new(),
            unbalanced_entries: Vec::new(),
            overdrawn_accounts: Vec::new(),
        };
        for a in accounts::Entity::find().all(&self.read).await? {
            let kind = AccountKind::parse(&a.kind).ok_or_else(|| StoreError::Corrupt("account kind".into()))?;
            let (d, c) = by_account.get(&a.id).copied().unwrap_or((0, 0));
            let expected = if kind.debit_normal() { d - c } else { c - d };
            let label = format!("{}:{}", a.fund_id, a.kind);
            if expected != a.balance_fen {
                report
                    .mismatched_accounts
                    .push(format!("{label} running {} journal {expected}", a.balance_fen));
            }
            if a.balance_fen < 0 {
                report.overdrawn_accounts.push(label);
            }
        }
        let unbalanced = self
            .read
            .query_all(Statement::from_string(
                backend,
                "SELECT entry_id FROM journal_lines GROUP BY entry_id HAVING SUM(debit_fen) <> SUM(credit_fen)",
            ))
            .await?;
        for row in unbalanced {
            let id: uuid::Uuid = row.try_get("", "entry_id")?;
            report.unbalanced_entries.push(id.to_string());
        }
        Ok(report)
    }

    /// The society's name: the root organisation's.
    pub async fn society_name(&self) -> StoreResult<String> {
        Ok(orgs::Entity::find()
            .filter(orgs::Column::ParentId.is_null())
            .one(&self.read)
            .await?
            .map(|o| o.name)
            .unwrap_or_else(|| "红十字会".to_owned()))
    }

    /// The general fund and the management-cost fund (created on first use).
    pub async fn house_funds(&self) -> StoreResult<(Project, Project)> {
        let general = projects::Entity::find()
            .filter(projects::Column::Kind.eq("general"))
            .one(&self.read)
            .await?;
        let cost = projects::Entity::find()
            .filter(projects::Column::Kind.eq("management"))
            .one(&self.read)
            .await?;
        match (general, cost) {
            (Some(g), Some(c)) => Ok((to_project(g)?, to_project(c)?)),
            _ => Err(StoreError::NotFound),
        }
    }
}

/// Creates the general and management-cost funds of the city (`GENERAL`,
/// `ADMIN`) if they are missing.
pub(crate) async fn ensure_house_funds<C: ConnectionTrait>(
    conn: &C,
    city: OrgId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for (code, name, kind) in [
        ("GENERAL", "非定向捐赠资金 (总基金)", "general"),
        ("ADMIN", "管理费", "management"),
    ] {
        if projects::Entity::find()
            .filter(projects::Column::Code.eq(code))
            .count(conn)
            .await?
            == 0
        {
            insert_project(
                conn,
                &ProjectForCreate {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    kind: kind.to_owned(),
                    designated: false,
                    status: ProjectStatus::Open,
                    target: None,
                    starts_on: None,
                    ends_on: None,
                    org_id: city,
                    management_rate_bp: 0,
                },
                now,
            )
            .await?;
        }
    }
    Ok(())
}

impl OrgOwned for projects::Entity {
    fn org_column() -> Self::Column {
        projects::Column::OrgId
    }
}

impl ScopedStore {
    /// Projects the actor may read: those owned in their subtree, and every
    /// project the city owns.
    pub(crate) fn projects_select(&self) -> sea_orm::Select<projects::Entity> {
        self.select_or_city::<projects::Entity>()
    }

    pub async fn projects_list(&self, filter: &ProjectFilter, page: Page) -> StoreResult<(Vec<Project>, u64)> {
        let mut query = self.projects_select();
        if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            query = query.filter(
                Condition::any()
                    .add(projects::Column::Name.contains(q))
                    .add(projects::Column::Code.contains(q)),
            );
        }
        if let Some(status) = filter.status {
            query = query.filter(projects::Column::Status.eq(status.as_str()));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(projects::Column::Kind.eq(kind.as_str()));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_asc(projects::Column::Code)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_project).collect::<StoreResult<_>>()?, total))
    }

    pub async fn project_get(&self, id: ProjectId) -> StoreResult<Project> {
        let row = self
            .projects_select()
            .filter(projects::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        to_project(row)
    }

    /// Creates a project owned by an organisation in scope.
    pub async fn project_create(&self, input: ProjectForCreate) -> StoreResult<Project> {
        self.actor.require(Permission::ManageProjects)?;
        let mut errors = FieldErrors::new();
        if !(0..=MANAGEMENT_RATE_CAP_BP).contains(&i64::from(input.management_rate_bp)) {
            errors.add(
                "management_rate_bp",
                format!("管理费比例须在 0 至 {MANAGEMENT_RATE_CAP_BP} 个基点之间"),
            );
        }
        let txn = self.store.begin_write().await?;
        if self.org_in_scope(&txn, input.org_id).await?.is_none() {
            errors.add("org_id", "所属组织不存在或不在您的管辖范围内");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let now = self.store.now();
        let project = insert_project(&txn, &input, now)
            .await
            .map_err(|e| e.conflict_on("code", "该项目代码已被使用"))?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "project",
                entity_id: project.id.to_string(),
                org_id: project.org_id,
                before: None,
                after: serde_json::to_value(&project).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(project)
    }

    /// Opens or closes a project.
    pub async fn project_set_status(&self, id: ProjectId, status: ProjectStatus) -> StoreResult<Project> {
        self.actor.require(Permission::ManageProjects)?;
        let before = self.project_get(id).await?;
        if self.org_in_scope(&self.store.read, before.org_id).await?.is_none() {
            return Err(StoreError::Forbidden);
        }
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        projects::Entity::update_many()
            .col_expr(projects::Column::Status, Expr::value(status.as_str()))
            .col_expr(projects::Column::UpdatedAt, Expr::value(now))
            .filter(projects::Column::Id.eq(id.0))
            .exec(&txn)
            .await?;
        let after = to_project(
            projects::Entity::find_by_id(id.0)
                .one(&txn)
                .await?
                .ok_or(StoreError::NotFound)?,
        )?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "project",
                entity_id: id.to_string(),
                org_id: after.org_id,
                before: serde_json::to_value(&before).ok(),
                after: serde_json::to_value(&after).ok(),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// The trial balance of the funds in view, from running balances. Each
    /// fund balances by itself, so the sums over any set of funds balance.
    pub async fn trial_balance(&self) -> StoreResult<TrialBalance> {
        let mut tb = TrialBalance::default();
        for b in self.fund_balances().await? {
            tb.debit.0 += b.money.0 + b.goods.0;
            tb.credit.0 += b.net_assets.0;
        }
        Ok(tb)
    }

    /// Balances of every fund in view.
    pub async fn fund_balances(&self) -> StoreResult<Vec<FundBalance>> {
        self.actor.require(Permission::ViewFunds)?;
        let (projects, _) = self
            .projects_list(
                &ProjectFilter::default(),
                Page {
                    page: 1,
                    per_page: u64::MAX / 2,
                },
            )
            .await?;
        let ids: Vec<uuid::Uuid> = projects.iter().map(|p| p.id.0).collect();
        let accounts = accounts::Entity::find()
            .filter(accounts::Column::FundId.is_in(ids))
            .all(&self.store.read)
            .await?;
        let mut by_fund: HashMap<uuid::Uuid, (i64, i64, i64)> = HashMap::new();
        for a in accounts {
            let e = by_fund.entry(a.fund_id).or_default();
            match a.kind.as_str() {
                "money" => e.0 = a.balance_fen,
                "goods" => e.1 = a.balance_fen,
                _ => e.2 = a.balance_fen,
            }
        }
        Ok(projects
            .into_iter()
            .map(|p| {
                let (m, g, n) = by_fund.get(&p.id.0).copied().unwrap_or_default();
                FundBalance {
                    project: p,
                    money: Fen(m),
                    goods: Fen(g),
                    net_assets: Fen(n),
                }
            })
            .collect())
    }

    /// Journal entries of a project, newest first.
    pub async fn project_entries(&self, id: ProjectId, page: Page) -> StoreResult<(Vec<JournalEntry>, u64)> {
        let project = self.project_get(id).await?;
        let query = journal_entries::Entity::find().filter(journal_entries::Column::ProjectId.eq(project.id.0));
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(journal_entries::Column::Seq)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_entry).collect::<StoreResult<_>>()?, total))
    }

    /// Money in and out of a project by month (China time), for its chart:
    /// (month, raised, spent).
    pub async fn project_monthly(&self, id: ProjectId) -> StoreResult<Vec<(String, i64, i64)>> {
        let project = self.project_get(id).await?;
        let rows = journal_entries::Entity::find()
            .filter(journal_entries::Column::ProjectId.eq(project.id.0))
            .order_by_asc(journal_entries::Column::Seq)
            .all(&self.store.read)
            .await?;
        let mut months: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
        let cst = chrono::FixedOffset::east_opt(8 * 3600).ok_or_else(|| StoreError::Corrupt("offset".into()))?;
        for r in rows {
            let month = r.at.with_timezone(&cst).format("%Y-%m").to_string();
            let e = months.entry(month).or_default();
            match EntryKind::parse(&r.kind) {
                Some(EntryKind::Gift) | Some(EntryKind::GoodsIn) | Some(EntryKind::Allocation) => e.0 += r.amount_fen,
                Some(EntryKind::Disbursement) | Some(EntryKind::GoodsOut) | Some(EntryKind::ManagementCost) => {
                    e.1 += r.amount_fen
                }
                _ => {}
            }
        }
        Ok(months.into_iter().map(|(m, (a, b))| (m, a, b)).collect())
    }

    async fn fund_for_move(&self, id: ProjectId, field: &str) -> StoreResult<Project> {
        match self.project_get(id).await {
            Ok(p) => Ok(p),
            Err(StoreError::NotFound) => {
                let mut errors = FieldErrors::new();
                errors.add(field, "项目不存在");
                Err(errors.into())
            }
            Err(e) => Err(e),
        }
    }

    /// Allocates undesignated money to a project by a recorded decision.
    pub async fn allocate(
        &self,
        from: ProjectId,
        to: ProjectId,
        amount: Fen,
        decision_ref: &str,
    ) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        let source = self.fund_for_move(from, "from_project_id").await?;
        let target = self.fund_for_move(to, "project_id").await?;
        let mut errors = FieldErrors::new();
        let decision =
            boai_domain::validation::required_text(&mut errors, "decision_ref", "决策依据", Some(decision_ref), 200);
        if target.status == ProjectStatus::Closed {
            errors.add("project_id", "项目已结束");
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let plan = funds::allocation(source.id, source.designated, target.id, amount)
            .map_err(|e| funds_error(e, "from_project_id"))?;
        self.post_one(
            &plan,
            EntryMeta {
                decision_ref: decision,
                ..EntryMeta::default()
            },
        )
        .await
    }

    /// The name the public ledger gives a payee or recipient: a stable
    /// pseudonym (keyed hash), never the name itself.
    fn recipient_pseudonym(&self, name: &str) -> String {
        let hash = self.store.secrets.keyed_hash(&format!("recipient:{}", name.trim()));
        format!("受助方-{}", &hash[..10])
    }

    /// Pays money out of a fund.
    pub async fn disburse(
        &self,
        project: ProjectId,
        amount: Fen,
        payee: &str,
        memo: Option<String>,
    ) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        let fund = self.fund_for_move(project, "project_id").await?;
        let mut errors = FieldErrors::new();
        let payee = boai_domain::validation::required_text(&mut errors, "payee", "收款方", Some(payee), 200);
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let plan = funds::disbursement(fund.id, amount).map_err(|e| funds_error(e, "amount_fen"))?;
        self.post_one(
            &plan,
            EntryMeta {
                public_recipient: payee.as_deref().map(|p| self.recipient_pseudonym(p)),
                counterparty: payee,
                memo,
                ..EntryMeta::default()
            },
        )
        .await
    }

    /// Gives goods out of a fund, at valuation.
    pub async fn goods_out(
        &self,
        project: ProjectId,
        value: Fen,
        recipient: &str,
        memo: Option<String>,
    ) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        let fund = self.fund_for_move(project, "project_id").await?;
        let plan = funds::goods_out(fund.id, value).map_err(|e| funds_error(e, "value_fen"))?;
        self.post_one(
            &plan,
            EntryMeta {
                public_recipient: Some(self.recipient_pseudonym(recipient)),
                counterparty: Some(recipient.to_owned()),
                memo,
                ..EntryMeta::default()
            },
        )
        .await
    }

    /// Moves money between two undesignated funds.
    pub async fn transfer(
        &self,
        from: ProjectId,
        to: ProjectId,
        amount: Fen,
        decision_ref: &str,
    ) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        let source = self.fund_for_move(from, "from_project_id").await?;
        let target = self.fund_for_move(to, "project_id").await?;
        let plan = funds::transfer(source.id, source.designated, target.id, target.designated, amount)
            .map_err(|e| funds_error(e, "project_id"))?;
        self.post_one(
            &plan,
            EntryMeta {
                decision_ref: Some(decision_ref.to_owned()),
                ..EntryMeta::default()
            },
        )
        .await
    }

    /// Charges a project's management cost on a base amount at its rate.
    pub async fn charge_management_cost(&self, project: ProjectId, base: Fen) -> StoreResult<Option<JournalEntry>> {
        self.actor.require(Permission::ManageFunds)?;
        let fund = self.fund_for_move(project, "project_id").await?;
        let charge = funds::management_charge(base, i64::from(fund.management_rate_bp), MANAGEMENT_RATE_CAP_BP)
            .map_err(|e| funds_error(e, "management_rate_bp"))?;
        if charge == Fen::ZERO {
            return Ok(None);
        }
        let (_, cost_fund) = self.store.house_funds().await?;
        let plan = funds::management_cost(fund.id, cost_fund.id, charge).map_err(|e| funds_error(e, "amount_fen"))?;
        self.post_one(
            &plan,
            EntryMeta {
                memo: Some(format!("管理费 {} 基点", fund.management_rate_bp)),
                ..EntryMeta::default()
            },
        )
        .await
        .map(Some)
    }

    /// Reverses (part of) a non-gift entry: a correction.
    pub async fn reverse_entry(&self, entry: JournalEntryId, amount: Fen, reason: &str) -> StoreResult<JournalEntry> {
        self.actor.require(Permission::ManageFunds)?;
        // Read and check before the transaction: holding a writer while
        // waiting for a reader could exhaust a shared pool.
        let original = journal_entries::Entity::find_by_id(entry.0)
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let original = to_entry(original)?;
        self.project_get(original.project_id).await?;
        let txn = self.store.begin_write().await?;
        if original.gift_id.is_some() {
            let mut errors = FieldErrors::new();
            errors.add("entry_id", "捐赠收入请通过退款冲销");
            return Err(errors.into());
        }
        let already = reversed_amount(&txn, entry).await?;
        let remaining = Fen(original.amount.0 - already);
        if amount > remaining {
            return Err(funds_error(FundsError::ReversalTooLarge, "amount_fen"));
        }
        let lines = entry_lines(&txn, entry).await?;
        let plan = funds::reversal(
            entry,
            original.kind,
            original.project_id,
            original.amount,
            &lines,
            amount,
        )
        .map_err(|e| funds_error(e, "amount_fen"))?;
        let meta = EntryMeta {
            memo: Some(reason.to_owned()),
            reverses_kind: Some(original.kind),
            ..EntryMeta::default()
        };
        let posted = post(&txn, &self.actor, self.actor.org_id, self.store.now(), &plan, &meta).await?;
        txn.commit().await?;
        Ok(posted)
    }

    /// The general and management-cost funds.
    pub async fn store_house_funds(&self) -> StoreResult<(Project, Project)> {
        self.store.house_funds().await
    }

    async fn post_one(&self, plan: &EntryPlan, meta: EntryMeta) -> StoreResult<JournalEntry> {
        let txn = self.store.begin_write().await?;
        let entry = post(&txn, &self.actor, self.actor.org_id, self.store.now(), plan, &meta).await?;
        txn.commit().await?;
        Ok(entry)
    }
}

/// How much of an entry earlier reversals already took back.
pub(crate) async fn reversed_amount<C: ConnectionTrait>(conn: &C, entry: JournalEntryId) -> StoreResult<i64> {
    let rows = journal_entries::Entity::find()
        .filter(journal_entries::Column::ReversesId.eq(entry.0))
        .all(conn)
        .await?;
    Ok(rows.iter().map(|r| r.amount_fen).sum())
}
