//! Funds and the journal. [`post`] writes one planned entry: it takes the
//! next posting number, writes the entry and its lines, moves each account's
//! running balance with a guarded UPDATE (`… WHERE balance + delta >= 0`; no
//! row changed means the fund would be overdrawn and the whole transaction is
//! refused), and keeps each project's raised / allocated / spent / refunded
//! totals. Reading balances and totals never sums history; [`Store::books_check`]
//! does, to prove the running figures equal the journal.

use crate::audit::{append, AuditChange};
use crate::entities::{accounts, journal_entries, journal_lines, orgs, projects};
use crate::journal::{entry_row, ledger_entry_for, line_row, net_deltas};
use crate::sequences::next_in_sequence;
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

mod books;
mod moves;
mod post;
mod views;

pub use books::BooksReport;
pub(crate) use post::{entry_lines, post, reversed_amount};

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

crate::scoped::org_owned!(projects);
