//! Humanitarian relief (人道救助) in the database. Rules:
//! - Programmes are city-wide: a user sees those owned in their subtree or
//!   by an organisation above them; only staff who may manage the owning
//!   organisation's projects edit their settings (audited).
//! - A case belongs to a grassroots unit (the filing staff's unit, a unit
//!   they name, or — filed online — the district's first community unit);
//!   lists and pages go through the scope (out of scope = not found).
//! - Filing refuses, with nothing written: incomplete input (field errors),
//!   an ineligible applicant (the failing rule in words), and a second
//!   application of the same person (keyed hash of the ID number) to the
//!   same programme within 12 months unless the earlier one was rejected.
//! - Review follows [`boai_domain::relief::review::decide`]; the case row is
//!   updated only if it still is as read (no double decisions).
//! - Payment posts one disbursement per case through [`crate::funds::post`]
//!   (journal + public ledger entry with the case's pseudonym), never above
//!   the fund's balance or the programme's remaining budget for the year.
//! - ID numbers, phones and bank accounts are encrypted; lists show them masked;
//!   the audit trail never holds them.

mod cases;
pub mod files;
mod filing;
mod payment;
mod review;

use crate::audit::{append, AuditChange};
use crate::entities::{journal_entries, orgs, projects, relief_attachments, relief_cases, relief_notifications};
use crate::entities::{relief_programmes, relief_reviews};
use crate::funds::{post, EntryMeta, JournalEntry};
use crate::sequences::next_in_sequence;
use crate::{Actor, Page, ScopedStore, Store, StoreError, StoreResult};
use boai_domain::accounts::{Permission, Role};
use boai_domain::audit::AuditAction;
use boai_domain::clock::china_date;
use boai_domain::funds;
use boai_domain::ids::{OrgId, ProjectId, UserId};
use boai_domain::money::Fen;
use boai_domain::orgs::{OrgKind, OrgLevel};
use boai_domain::relief::review::{decide, CaseStatus, Decision, ReviewContext};
use boai_domain::relief::{
    figures, months_between, Application, CaseFigure, CaseId, Figures, Payee, ProgrammeId, Settings,
};
use boai_domain::validation::FieldErrors;
use chrono::{DateTime, Datelike, Duration, Utc};
use files::FileStore;
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use std::collections::HashMap;

crate::scoped::org_owned!(relief_cases);

/// A programme as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Programme {
    pub id: ProgrammeId,
    pub project_id: ProjectId,
    pub org_id: OrgId,
    pub code: String,
    pub name: String,
    pub settings: Settings,
}

fn to_programme(m: relief_programmes::Model) -> StoreResult<Programme> {
    Ok(Programme {
        id: ProgrammeId(m.id),
        project_id: ProjectId(m.project_id),
        org_id: OrgId(m.org_id),
        code: m.code,
        name: m.name,
        settings: serde_json::from_str(&m.settings)
            .map_err(|e| StoreError::Corrupt(format!("programme settings: {e}")))?,
    })
}

/// A case as listed (personal numbers masked).
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub id: CaseId,
    pub case_no: String,
    pub pseudonym: String,
    pub programme_id: ProgrammeId,
    pub org_id: OrgId,
    pub district: String,
    pub channel: String,
    pub applicant_name: String,
    pub id_masked: String,
    pub phone_masked: String,
    pub household_size: i32,
    pub household_income: Fen,
    pub hardship: Option<String>,
    pub diagnosis: String,
    pub hospital: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account_masked: Option<String>,
    pub amount: Fen,
    pub status: CaseStatus,
    pub step: i32,
    pub step_since: DateTime<Utc>,
    pub public_reason: Option<String>,
    pub eligibility: String,
    pub filed_by: Option<UserId>,
    pub filed_by_name: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    pub journal_entry_id: Option<uuid::Uuid>,
    pub ledger_index: Option<i64>,
}

fn to_case(m: relief_cases::Model) -> StoreResult<Case> {
    Ok(Case {
        id: CaseId(m.id),
        status: CaseStatus::parse(&m.status).ok_or_else(|| StoreError::Corrupt(format!("case status {}", m.status)))?,
        case_no: m.case_no,
        pseudonym: m.pseudonym,
        programme_id: ProgrammeId(m.programme_id),
        org_id: OrgId(m.org_id),
        district: m.district,
        channel: m.channel,
        applicant_name: m.applicant_name,
        id_masked: m.id_masked,
        phone_masked: m.phone_masked,
        household_size: m.household_size,
        household_income: Fen(m.household_income_fen),
        hardship: m.hardship,
        diagnosis: m.diagnosis,
        hospital: m.hospital,
        bank_name: m.bank_name,
        bank_account_masked: m.bank_account_masked,
        amount: Fen(m.amount_fen),
        step: m.step,
        step_since: m.step_since,
        public_reason: m.public_reason,
        eligibility: m.eligibility,
        filed_by: m.filed_by.map(UserId),
        filed_by_name: m.filed_by_name,
        created_at: m.created_at,
        decided_at: m.decided_at,
        paid_at: m.paid_at,
        journal_entry_id: m.journal_entry_id,
        ledger_index: m.ledger_index,
    })
}

/// One review step as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub step: i32,
    pub level: String,
    pub decision: String,
    pub reason: Option<String>,
    pub reviewer_id: Option<UserId>,
    pub reviewer_name: String,
    pub at: DateTime<Utc>,
}

/// An attachment's particulars.
#[derive(Debug, Clone, Serialize)]
pub struct AttachmentMeta {
    pub id: uuid::Uuid,
    pub document: String,
    pub file_name: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
}

/// A case with everything the staff page shows.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDetail {
    pub case: Case,
    pub programme: Programme,
    pub org_name: String,
    pub reviews: Vec<Review>,
    pub attachments: Vec<AttachmentMeta>,
    /// The disbursement that paid it.
    pub entry: Option<JournalEntry>,
    /// When the current step is due, and whether it is overdue.
    pub due: Option<DateTime<Utc>>,
    pub overdue: bool,
    /// Separate consents recorded with the application (health information).
    pub consents: Vec<crate::privacy::ConsentView>,
}

/// A filed case and the code the applicant checks its status with.
#[derive(Debug, Clone)]
pub struct Filed {
    pub case: Case,
    pub lookup_code: String,
}

/// How a case was filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Online,
    Staff,
}

/// Case list filters.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub programme_id: Option<ProgrammeId>,
    pub status: Option<CaseStatus>,
    pub overdue: bool,
}

/// What the applicant sees of their case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseStatusView {
    pub case_no: String,
    pub programme: String,
    pub status: CaseStatus,
    pub status_label: String,
    pub reason: Option<String>,
    pub amount: Fen,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// A paid case as the public sees it: no personal data.
#[derive(Debug, Clone, Serialize)]
pub struct PublicCase {
    pub pseudonym: String,
    pub programme: String,
    pub project_id: ProjectId,
    pub district: String,
    pub amount: Fen,
    pub paid_on: Option<chrono::NaiveDate>,
    pub ledger_index: i64,
}

/// One line of the bank's payment file.
#[derive(Clone, Serialize)]
pub struct PayableCase {
    pub case: Case,
    pub programme: String,
    pub payee: String,
    pub bank_name: Option<String>,
    /// Decrypted: for the bank file only.
    pub bank_account: Option<String>,
}

impl std::fmt::Debug for PayableCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayableCase")
            .field("case_no", &self.case.case_no)
            .finish()
    }
}

/// Constant-time comparison of two hashes.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    StoreError::Invalid(errors)
}

/// The due time of a case waiting at its step.
fn due_of(case: &Case, programme: &Programme) -> Option<DateTime<Utc>> {
    if case.status != CaseStatus::Pending {
        return None;
    }
    let step = programme.settings.flow.steps.get(usize::try_from(case.step).ok()?)?;
    Some(case.step_since + Duration::days(i64::from(step.deadline_days)))
}

/// What the audit trail keeps of a case: no personal numbers.
fn case_audit(c: &Case) -> serde_json::Value {
    serde_json::json!({
        "case_no": c.case_no, "programme_id": c.programme_id, "org_id": c.org_id, "district": c.district,
        "channel": c.channel, "applicant_name": c.applicant_name, "id_masked": c.id_masked,
        "amount_fen": c.amount.0, "status": c.status, "step": c.step, "public_reason": c.public_reason,
        "ledger_index": c.ledger_index,
    })
}

/// The system actor (online filings are audited as `public`).
fn public_actor(org: OrgId, ip: Option<String>) -> Actor {
    Actor {
        user_id: None,
        username: "public".to_owned(),
        role: Role::Partner,
        org_id: org,
        scope: boai_domain::scope::Scope {
            org_id: org,
            path: String::new(),
        },
        ip,
    }
}

/// The city's district short names (历下区…), in code order.
async fn district_names<C: ConnectionTrait>(conn: &C) -> StoreResult<Vec<(uuid::Uuid, String, String)>> {
    Ok(orgs::Entity::find()
        .filter(orgs::Column::Level.eq(OrgLevel::District.as_str()))
        .order_by_asc(orgs::Column::Code)
        .all(conn)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name.trim_end_matches("红十字会").to_owned(), o.path))
        .collect())
}

/// The short district name an organisation path lies in.
fn district_of_path(districts: &[(uuid::Uuid, String, String)], path: &str) -> Option<String> {
    districts
        .iter()
        .find(|(_, _, p)| boai_domain::scope::is_within(path, p))
        .map(|(_, n, _)| n.clone())
}

/// Writes a notification to the outbox.
async fn notify<C: ConnectionTrait>(
    conn: &C,
    _store: &Store,
    case: CaseId,
    phone_enc: &str,
    body: String,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    relief_notifications::Entity::insert(relief_notifications::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        case_id: Set(case.0),
        channel: Set("sms".to_owned()),
        recipient_enc: Set(phone_enc.to_owned()),
        body: Set(body),
        created_at: Set(now),
        sent_at: Set(None),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A review decision from the API or a page.
#[derive(Debug, Clone)]
pub struct ReviewInput {
    pub decision: Decision,
    pub reason: Option<String>,
}

/// Bulk rows for the demo: writes programmes (one per relief project).
pub(crate) async fn insert_programme<C: ConnectionTrait>(
    conn: &C,
    project: &projects::Model,
    settings: &Settings,
    now: DateTime<Utc>,
) -> StoreResult<Programme> {
    let id = ProgrammeId::new();
    let json = serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    relief_programmes::Entity::insert(relief_programmes::ActiveModel {
        id: Set(id.0),
        project_id: Set(project.id),
        org_id: Set(project.org_id),
        code: Set(project.code.clone()),
        name: Set(project.name.clone()),
        settings: Set(json),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(Programme {
        id,
        project_id: ProjectId(project.id),
        org_id: OrgId(project.org_id),
        code: project.code.clone(),
        name: project.name.clone(),
        settings: settings.clone(),
    })
}
