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

pub mod files;

use crate::audit::{append, AuditChange};
use crate::entities::{journal_entries, orgs, projects, relief_attachments, relief_cases, relief_notifications};
use crate::entities::{relief_programmes, relief_reviews};
use crate::fundraising::china_date;
use crate::funds::{next_in_sequence, post, EntryMeta, JournalEntry};
use crate::scoped::OrgOwned;
use crate::{Actor, Page, ScopedStore, Store, StoreError, StoreResult};
use boai_domain::accounts::{Permission, Role};
use boai_domain::audit::AuditAction;
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

impl OrgOwned for relief_cases::Entity {
    fn org_column() -> Self::Column {
        relief_cases::Column::OrgId
    }
}

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

impl Store {
    /// Every programme, by code: for the public application form.
    pub async fn relief_programmes_public(&self) -> StoreResult<Vec<Programme>> {
        relief_programmes::Entity::find()
            .order_by_asc(relief_programmes::Column::Code)
            .all(&self.read)
            .await?
            .into_iter()
            .map(to_programme)
            .collect()
    }

    /// The city's district short names, for forms.
    pub async fn relief_districts(&self) -> StoreResult<Vec<String>> {
        Ok(district_names(&self.read).await?.into_iter().map(|d| d.1).collect())
    }

    /// Files an application made online by the person (no sign-in): the case
    /// goes to the first community unit of the applicant's district.
    pub async fn relief_apply_online(
        &self,
        programme_id: ProgrammeId,
        input: &boai_domain::relief::ApplicationInput,
        files: &dyn FileStore,
        ip: Option<String>,
    ) -> StoreResult<Filed> {
        let programme = self.relief_programme_row(programme_id).await?;
        let districts = district_names(&self.read).await?;
        let names: Vec<String> = districts.iter().map(|d| d.1.clone()).collect();
        let app = Application::parse(input, &programme.settings, &names).map_err(StoreError::Invalid)?;
        let district_path = districts
            .iter()
            .find(|d| d.1 == app.district)
            .map(|d| d.2.clone())
            .ok_or_else(|| invalid("district", "区县不在本市范围内"))?;
        let unit = orgs::Entity::find()
            .filter(orgs::Column::Level.eq(OrgLevel::Unit.as_str()))
            .filter(orgs::Column::Kind.eq(OrgKind::Community.as_str()))
            .filter(crate::scoped::orgs_within(&district_path))
            .order_by_asc(orgs::Column::Code)
            .one(&self.read)
            .await?
            .ok_or_else(|| invalid("district", "该区县暂无受理单位, 请到红十字会现场申请"))?;
        let actor = public_actor(OrgId(unit.id), ip);
        self.relief_file(&actor, &programme, app, OrgId(unit.id), Channel::Online, files)
            .await
    }

    async fn relief_programme_row(&self, id: ProgrammeId) -> StoreResult<Programme> {
        let row = relief_programmes::Entity::find_by_id(id.0)
            .one(&self.read)
            .await?
            .ok_or_else(|| invalid("programme_id", "救助项目不存在"))?;
        to_programme(row)
    }

    /// Files a validated application for `unit` (checks the programme's
    /// rule and duplicates, then writes case, files' metadata, a
    /// notification and the audit row in one transaction).
    async fn relief_file(
        &self,
        actor: &Actor,
        programme: &Programme,
        app: Application,
        unit: OrgId,
        channel: Channel,
        files: &dyn FileStore,
    ) -> StoreResult<Filed> {
        let now = self.now();
        let today = china_date(now);
        let id_hash = self.secrets.keyed_hash(app.id_card.as_str());
        let earlier = relief_cases::Entity::find()
            .filter(relief_cases::Column::IdHash.eq(id_hash.clone()))
            .filter(relief_cases::Column::ProgrammeId.eq(programme.id.0))
            .order_by_desc(relief_cases::Column::CreatedAt)
            .all(&self.read)
            .await?;
        if let Some(dup) = earlier
            .iter()
            .find(|c| c.status != CaseStatus::Rejected.as_str() && c.created_at > now - Duration::days(365))
        {
            return Err(invalid(
                "id_card",
                format!(
                    "该申请人 12 个月内已申请过本项目 (案件号 {}), 不能重复申请",
                    dup.case_no
                ),
            ));
        }
        let months_since_aid = earlier
            .iter()
            .filter_map(|c| c.paid_at)
            .max()
            .map(|at| months_between(china_date(at), today));
        let verdict = programme.settings.rule.evaluate(&app.facts(today, months_since_aid));
        if !verdict.eligible {
            return Err(invalid("eligibility", verdict.explanation()));
        }
        let mut stored = Vec::with_capacity(app.documents.len());
        for (doc, a) in &app.documents {
            let sha = files.put(&a.bytes).map_err(|e| StoreError::io("attachment store", e))?;
            stored.push((
                doc.clone(),
                a.name.clone(),
                a.kind.mime().to_owned(),
                a.bytes.len(),
                sha,
            ));
        }
        let code: String = {
            let mut rng = rand::thread_rng();
            (0..8).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
        };
        let txn = self.begin_write().await?;
        let n = next_in_sequence(&txn, "relief_case").await?;
        let case_no = format!("JZ{}{:06}", today.year(), n);
        let id = CaseId::new();
        let model = relief_cases::Model {
            id: id.0,
            pseudonym: format!("受助人 R{n:05}"),
            case_no: case_no.clone(),
            programme_id: programme.id.0,
            org_id: unit.0,
            district: app.district.clone(),
            channel: match channel {
                Channel::Online => "online",
                Channel::Staff => "staff",
            }
            .to_owned(),
            applicant_name: app.applicant_name.clone(),
            id_enc: self.secrets.encrypt(app.id_card.as_str()),
            id_hash,
            id_masked: app.id_card.masked(),
            phone_enc: self.secrets.encrypt(app.phone.as_str()),
            phone_masked: app.phone.masked(),
            household_size: i32::try_from(app.household_size).unwrap_or(1),
            household_income_fen: app.household_income.0,
            hardship: app.hardship.clone(),
            diagnosis: app.diagnosis.clone(),
            hospital: app.hospital.clone(),
            bank_name: app.bank_name.clone(),
            bank_account_enc: app.bank_account.as_deref().map(|a| self.secrets.encrypt(a)),
            bank_account_masked: app
                .bank_account
                .as_deref()
                .map(boai_domain::privacy::mask::bank_account),
            amount_fen: app.amount.0,
            status: CaseStatus::Pending.as_str().to_owned(),
            step: 0,
            step_since: now,
            public_reason: None,
            eligibility: verdict.explanation(),
            lookup_hash: self.secrets.keyed_hash(&format!("relief-lookup:{case_no}:{code}")),
            filed_by: actor.user_id.map(|u| u.0),
            filed_by_name: actor.username.clone(),
            created_at: now,
            decided_at: None,
            paid_at: None,
            journal_entry_id: None,
            ledger_index: None,
        };
        relief_cases::Entity::insert(relief_cases::ActiveModel::from(model.clone()))
            .exec_without_returning(&txn)
            .await?;
        if let Some(version) = &app.health_consent {
            crate::entities::consents::Entity::insert(crate::entities::consents::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                org_id: Set(unit.0),
                subject: Set("relief_cases".to_owned()),
                subject_id: Set(id.0),
                purpose: Set("health".to_owned()),
                version: Set(version.clone()),
                text: Set(boai_domain::privacy::HEALTH_CONSENT_TEXT.to_owned()),
                channel: Set(model.channel.clone()),
                given_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        for (doc, name, mime, size, sha) in &stored {
            relief_attachments::Entity::insert(relief_attachments::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                case_id: Set(id.0),
                document: Set(doc.clone()),
                file_name: Set(name.clone()),
                mime: Set(mime.clone()),
                size: Set(i64::try_from(*size).unwrap_or(i64::MAX)),
                sha256: Set(sha.clone()),
                created_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        notify(
            &txn,
            self,
            id,
            &model.phone_enc,
            format!(
                "【红十字会】您申请的「{}」已受理, 案件号 {case_no}, 请凭查询码查询进度。",
                programme.name
            ),
            now,
        )
        .await?;
        let case = to_case(model)?;
        append(
            &txn,
            actor,
            now,
            AuditChange {
                action: AuditAction::Create,
                entity: "relief_case",
                entity_id: id.to_string(),
                org_id: unit,
                before: None,
                after: Some(serde_json::json!({
                    "case": case_audit(&case),
                    "attachments": stored.iter().map(|s| serde_json::json!({"document": s.0, "name": s.1, "size": s.3, "sha256": s.4})).collect::<Vec<_>>(),
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Filed {
            case,
            lookup_code: code,
        })
    }

    /// The applicant's view of their case, if the case number and lookup
    /// code match (one answer for any wrong detail).
    pub async fn relief_status(&self, case_no: &str, code: &str) -> StoreResult<Option<CaseStatusView>> {
        let case_no = case_no.trim().to_ascii_uppercase();
        let Some(row) = relief_cases::Entity::find()
            .filter(relief_cases::Column::CaseNo.eq(case_no.clone()))
            .one(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let expected = self
            .secrets
            .keyed_hash(&format!("relief-lookup:{case_no}:{}", code.trim()));
        if !same(&expected, &row.lookup_hash) {
            return Ok(None);
        }
        let programme = self.relief_programme_row(ProgrammeId(row.programme_id)).await?;
        let case = to_case(row)?;
        Ok(Some(CaseStatusView {
            case_no: case.case_no,
            programme: programme.name,
            status: case.status,
            status_label: case.status.label_zh().to_owned(),
            reason: case.public_reason,
            amount: case.amount,
            created_at: case.created_at,
            paid_at: case.paid_at,
        }))
    }

    /// A paid case by the ledger index of its payment: public, no personal data.
    pub async fn relief_public_case(&self, ledger_index: i64) -> StoreResult<PublicCase> {
        let row = relief_cases::Entity::find()
            .filter(relief_cases::Column::LedgerIndex.eq(ledger_index))
            .filter(relief_cases::Column::Status.eq(CaseStatus::Paid.as_str()))
            .one(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let programme = self.relief_programme_row(ProgrammeId(row.programme_id)).await?;
        Ok(PublicCase {
            pseudonym: row.pseudonym,
            programme: programme.name,
            project_id: programme.project_id,
            district: row.district,
            amount: Fen(row.amount_fen),
            paid_on: row.paid_at.map(china_date),
            ledger_index,
        })
    }

    /// The paid cases among these ledger indexes (for the trace page).
    pub async fn relief_cases_at(&self, indexes: &[i64]) -> StoreResult<HashMap<i64, PublicCase>> {
        if indexes.is_empty() {
            return Ok(HashMap::new());
        }
        let programmes: HashMap<uuid::Uuid, Programme> = self
            .relief_programmes_public()
            .await?
            .into_iter()
            .map(|p| (p.id.0, p))
            .collect();
        let mut out = HashMap::new();
        for chunk in indexes.chunks(500) {
            let rows = relief_cases::Entity::find()
                .filter(relief_cases::Column::LedgerIndex.is_in(chunk.to_vec()))
                .filter(relief_cases::Column::Status.eq(CaseStatus::Paid.as_str()))
                .all(&self.read)
                .await?;
            for r in rows {
                let (Some(i), Some(p)) = (r.ledger_index, programmes.get(&r.programme_id)) else {
                    continue;
                };
                out.insert(
                    i,
                    PublicCase {
                        pseudonym: r.pseudonym,
                        programme: p.name.clone(),
                        project_id: p.project_id,
                        district: r.district,
                        amount: Fen(r.amount_fen),
                        paid_on: r.paid_at.map(china_date),
                        ledger_index: i,
                    },
                );
            }
        }
        Ok(out)
    }
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

impl ScopedStore {
    /// The programmes that apply to the actor (owned in their subtree or above them).
    pub async fn relief_programmes(&self) -> StoreResult<Vec<Programme>> {
        self.actor.require(Permission::ViewRelief)?;
        let all = self.store.relief_programmes_public().await?;
        let paths: HashMap<uuid::Uuid, String> = orgs::Entity::find()
            .filter(orgs::Column::Id.is_in(all.iter().map(|p| p.org_id.0).collect::<Vec<_>>()))
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|o| (o.id, o.path))
            .collect();
        Ok(all
            .into_iter()
            .filter(|p| {
                paths
                    .get(&p.org_id.0)
                    .is_some_and(|path| self.actor.scope.contains_or_above(path))
            })
            .collect())
    }

    /// One programme that applies to the actor.
    pub async fn relief_programme(&self, id: ProgrammeId) -> StoreResult<Programme> {
        self.relief_programmes()
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(StoreError::NotFound)
    }

    /// Changes a programme's settings (staff who may manage its owner's projects).
    pub async fn relief_programme_update(&self, id: ProgrammeId, settings: Settings) -> StoreResult<Programme> {
        self.actor.require(Permission::ManageProjects)?;
        let before = self.relief_programme(id).await?;
        if self.org_in_scope(&self.store.read, before.org_id).await?.is_none() {
            return Err(StoreError::Forbidden);
        }
        settings.check().map_err(StoreError::Invalid)?;
        let now = self.store.now();
        let json = serde_json::to_string(&settings).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let txn = self.store.begin_write().await?;
        relief_programmes::Entity::update_many()
            .col_expr(relief_programmes::Column::Settings, Expr::value(json))
            .col_expr(relief_programmes::Column::UpdatedAt, Expr::value(now))
            .filter(relief_programmes::Column::Id.eq(id.0))
            .exec(&txn)
            .await?;
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "relief_programme",
                entity_id: id.to_string(),
                org_id: before.org_id,
                before: Some(serde_json::to_value(&before.settings).map_err(|e| StoreError::Corrupt(e.to_string()))?),
                after: Some(serde_json::to_value(&settings).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Programme { settings, ..before })
    }

    /// Files an application on behalf of a person: for the actor's own
    /// unit, or (district and city staff) for a unit in scope they name.
    pub async fn relief_apply(
        &self,
        programme_id: ProgrammeId,
        unit_id: Option<OrgId>,
        input: &boai_domain::relief::ApplicationInput,
        files: &dyn FileStore,
    ) -> StoreResult<Filed> {
        self.actor.require(Permission::HandleRelief)?;
        let programme = self
            .relief_programme(programme_id)
            .await
            .map_err(|_| invalid("programme_id", "救助项目不存在"))?;
        let districts = district_names(&self.store.read).await?;
        let names: Vec<String> = districts.iter().map(|d| d.1.clone()).collect();
        let mut errors = match Application::parse(input, &programme.settings, &names) {
            Ok(_) => FieldErrors::new(),
            Err(e) => e,
        };
        let unit_id = unit_id.unwrap_or(self.actor.org_id);
        let unit = self
            .org_in_scope(&self.store.read, unit_id)
            .await?
            .filter(|o| o.level == OrgLevel::Unit.as_str());
        match &unit {
            None => errors.add("unit_id", "请选择受理的基层单位 (须在您的管辖范围内)"),
            Some(u) => {
                let d = district_of_path(&districts, &u.path);
                let wanted = input.district.as_deref().map(str::trim);
                if wanted.is_some_and(|w| names.iter().any(|n| n == w)) && d.as_deref() != wanted {
                    errors.add("unit_id", "受理单位不在申请人居住的区县");
                }
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let app = Application::parse(input, &programme.settings, &names).map_err(StoreError::Invalid)?;
        let unit = unit.ok_or(StoreError::NotFound)?;
        self.store
            .relief_file(&self.actor, &programme, app, OrgId(unit.id), Channel::Staff, files)
            .await
    }

    /// Cases in scope, newest first.
    pub async fn relief_cases(&self, filter: &CaseFilter, page: Page) -> StoreResult<(Vec<Case>, u64)> {
        self.actor.require(Permission::ViewRelief)?;
        let mut query = self.select::<relief_cases::Entity>();
        if let Some(p) = filter.programme_id {
            query = query.filter(relief_cases::Column::ProgrammeId.eq(p.0));
        }
        if let Some(s) = filter.status {
            query = query.filter(relief_cases::Column::Status.eq(s.as_str()));
        }
        if filter.overdue {
            let programmes: HashMap<uuid::Uuid, Programme> = self
                .store
                .relief_programmes_public()
                .await?
                .into_iter()
                .map(|p| (p.id.0, p))
                .collect();
            let now = self.store.now();
            let rows = query
                .filter(relief_cases::Column::Status.eq(CaseStatus::Pending.as_str()))
                .order_by_asc(relief_cases::Column::StepSince)
                .all(&self.store.read)
                .await?;
            let mut out = Vec::new();
            for r in rows {
                let case = to_case(r)?;
                let late = programmes
                    .get(&case.programme_id.0)
                    .and_then(|p| due_of(&case, p))
                    .is_some_and(|d| d < now);
                if late {
                    out.push(case);
                }
            }
            let total = out.len() as u64;
            let out = out
                .into_iter()
                .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
                .take(usize::try_from(page.per_page).unwrap_or(100))
                .collect();
            return Ok((out, total));
        }
        let total = query.clone().count(&self.store.read).await?;
        let rows = query
            .order_by_desc(relief_cases::Column::CreatedAt)
            .order_by_desc(relief_cases::Column::Id)
            .offset(page.offset())
            .limit(page.per_page)
            .all(&self.store.read)
            .await?;
        Ok((rows.into_iter().map(to_case).collect::<StoreResult<_>>()?, total))
    }

    async fn case_row(&self, id: CaseId) -> StoreResult<relief_cases::Model> {
        self.select::<relief_cases::Entity>()
            .filter(relief_cases::Column::Id.eq(id.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// One case in scope, with its reviews, attachments and payment.
    pub async fn relief_case(&self, id: CaseId) -> StoreResult<CaseDetail> {
        self.actor.require(Permission::ViewRelief)?;
        let case = to_case(self.case_row(id).await?)?;
        let programme = self.store.relief_programme_row(case.programme_id).await?;
        let org_name = orgs::Entity::find_by_id(case.org_id.0)
            .one(&self.store.read)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let reviews = relief_reviews::Entity::find()
            .filter(relief_reviews::Column::CaseId.eq(id.0))
            .order_by_asc(relief_reviews::Column::At)
            .order_by_asc(relief_reviews::Column::Id)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|r| Review {
                step: r.step,
                level: r.level,
                decision: r.decision,
                reason: r.reason,
                reviewer_id: r.reviewer_id.map(UserId),
                reviewer_name: r.reviewer_name,
                at: r.at,
            })
            .collect();
        let attachments = relief_attachments::Entity::find()
            .filter(relief_attachments::Column::CaseId.eq(id.0))
            .order_by_asc(relief_attachments::Column::CreatedAt)
            .all(&self.store.read)
            .await?
            .into_iter()
            .map(|a| AttachmentMeta {
                id: a.id,
                document: a.document,
                file_name: a.file_name,
                mime: a.mime,
                size: a.size,
                sha256: a.sha256,
            })
            .collect();
        let entry = match case.journal_entry_id {
            Some(e) => match journal_entries::Entity::find_by_id(e).one(&self.store.read).await? {
                Some(m) => Some(crate::funds::to_entry(m)?),
                None => None,
            },
            None => None,
        };
        let due = due_of(&case, &programme);
        let overdue = due.is_some_and(|d| d < self.store.now());
        let consents = self.consents_of(&[id.0]).await?.remove(&id.0).unwrap_or_default();
        Ok(CaseDetail {
            consents,
            case,
            programme,
            org_name,
            reviews,
            attachments,
            entry,
            due,
            overdue,
        })
    }

    /// An attachment of a case in scope: its particulars and bytes.
    pub async fn relief_attachment(
        &self,
        case: CaseId,
        attachment: uuid::Uuid,
        files: &dyn FileStore,
    ) -> StoreResult<(AttachmentMeta, Vec<u8>)> {
        self.actor.require(Permission::ViewRelief)?;
        self.case_row(case).await?;
        let a = relief_attachments::Entity::find_by_id(attachment)
            .filter(relief_attachments::Column::CaseId.eq(case.0))
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        let bytes = files.get(&a.sha256).map_err(|_| StoreError::NotFound)?;
        Ok((
            AttachmentMeta {
                id: a.id,
                document: a.document,
                file_name: a.file_name,
                mime: a.mime,
                size: a.size,
                sha256: a.sha256,
            },
            bytes,
        ))
    }

    /// Records a review decision at the case's current step.
    pub async fn relief_review(&self, id: CaseId, input: ReviewInput) -> StoreResult<Case> {
        self.actor.require(Permission::HandleRelief)?;
        let row = self.case_row(id).await?;
        let case = to_case(row.clone())?;
        let programme = self.store.relief_programme_row(case.programme_id).await?;
        let me = self.actor.user_id.ok_or(StoreError::Forbidden)?;
        let my_org = orgs::Entity::find_by_id(self.actor.org_id.0)
            .one(&self.store.read)
            .await?
            .ok_or(StoreError::Forbidden)?;
        let my_level = OrgLevel::parse(&my_org.level).ok_or_else(|| StoreError::Corrupt("org level".into()))?;
        let approvers: Vec<UserId> = relief_reviews::Entity::find()
            .filter(relief_reviews::Column::CaseId.eq(id.0))
            .filter(relief_reviews::Column::Decision.eq(Decision::Approve.as_str()))
            .all(&self.store.read)
            .await?
            .into_iter()
            .filter_map(|r| r.reviewer_id.map(UserId))
            .collect();
        let step = usize::try_from(case.step).unwrap_or(0);
        let reason = input.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > 500) {
            return Err(invalid("reason", "理由不能超过 500 个字"));
        }
        let outcome = decide(
            &ReviewContext {
                flow: &programme.settings.flow,
                status: case.status,
                step,
                amount: case.amount,
                filed_by: case.filed_by,
                approvers: &approvers,
                reviewer: me,
                reviewer_level: my_level,
            },
            input.decision,
            reason,
        )
        .map_err(|e| match e {
            boai_domain::relief::review::ReviewError::ReasonRequired => invalid("reason", e.to_string()),
            boai_domain::relief::review::ReviewError::WrongLevel(_)
            | boai_domain::relief::review::ReviewError::OwnCase
            | boai_domain::relief::review::ReviewError::ApprovedTwice => invalid("decision", e.to_string()),
            _ => StoreError::Conflict(e.to_string()),
        })?;
        let level = programme
            .settings
            .flow
            .steps
            .get(step)
            .map(|s| s.level.as_str())
            .unwrap_or_default();
        let now = self.store.now();
        let final_decision = outcome.status.decided();
        let public_reason = match input.decision {
            Decision::Approve => None,
            _ => reason.map(str::to_owned),
        };
        let txn = self.store.begin_write().await?;
        let changed = relief_cases::Entity::update_many()
            .col_expr(relief_cases::Column::Status, Expr::value(outcome.status.as_str()))
            .col_expr(
                relief_cases::Column::Step,
                Expr::value(i32::try_from(outcome.step).unwrap_or(0)),
            )
            .col_expr(relief_cases::Column::StepSince, Expr::value(now))
            .col_expr(relief_cases::Column::PublicReason, Expr::value(public_reason.clone()))
            .col_expr(
                relief_cases::Column::DecidedAt,
                Expr::value(if final_decision { Some(now) } else { None }),
            )
            .filter(relief_cases::Column::Id.eq(id.0))
            .filter(relief_cases::Column::Status.eq(case.status.as_str()))
            .filter(relief_cases::Column::Step.eq(case.step))
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            return Err(StoreError::Conflict("该申请刚被他人处理, 请刷新后再试".to_owned()));
        }
        relief_reviews::Entity::insert(relief_reviews::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            case_id: Set(id.0),
            step: Set(case.step),
            level: Set(level.to_owned()),
            decision: Set(input.decision.as_str().to_owned()),
            reason: Set(reason.map(str::to_owned)),
            reviewer_id: Set(Some(me.0)),
            reviewer_name: Set(self.actor.username.clone()),
            at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        let message = match outcome.status {
            CaseStatus::Approved => Some(format!(
                "【红十字会】您的救助申请 {} 已批准, 救助金额 {}, 将尽快拨付。",
                case.case_no,
                case.amount.display_yuan()
            )),
            CaseStatus::Returned => Some(format!(
                "【红十字会】您的救助申请 {} 需补充材料: {}",
                case.case_no,
                reason.unwrap_or_default()
            )),
            CaseStatus::Rejected => Some(format!(
                "【红十字会】您的救助申请 {} 未获批准, 原因: {}",
                case.case_no,
                reason.unwrap_or_default()
            )),
            _ => None,
        };
        if let Some(m) = message {
            notify(&txn, &self.store, id, &row.phone_enc, m, now).await?;
        }
        let after = Case {
            status: outcome.status,
            step: i32::try_from(outcome.step).unwrap_or(0),
            step_since: now,
            public_reason,
            decided_at: if final_decision { Some(now) } else { None },
            ..case.clone()
        };
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "relief_case",
                entity_id: id.to_string(),
                org_id: case.org_id,
                before: Some(case_audit(&case)),
                after: Some(serde_json::json!({
                    "case": case_audit(&after),
                    "review": {"step": case.step, "level": level, "decision": input.decision.as_str(), "reason": reason},
                })),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Puts a case returned for documents back at its step (the documents
    /// have arrived).
    pub async fn relief_resubmit(&self, id: CaseId) -> StoreResult<Case> {
        self.actor.require(Permission::HandleRelief)?;
        let case = to_case(self.case_row(id).await?)?;
        if case.status != CaseStatus::Returned {
            return Err(StoreError::Conflict("只有退回补充材料的申请可以重新提交".to_owned()));
        }
        let now = self.store.now();
        let txn = self.store.begin_write().await?;
        let changed = relief_cases::Entity::update_many()
            .col_expr(relief_cases::Column::Status, Expr::value(CaseStatus::Pending.as_str()))
            .col_expr(relief_cases::Column::StepSince, Expr::value(now))
            .filter(relief_cases::Column::Id.eq(id.0))
            .filter(relief_cases::Column::Status.eq(CaseStatus::Returned.as_str()))
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            return Err(StoreError::Conflict("该申请刚被他人处理, 请刷新后再试".to_owned()));
        }
        let after = Case {
            status: CaseStatus::Pending,
            step_since: now,
            ..case.clone()
        };
        append(
            &txn,
            &self.actor,
            now,
            AuditChange {
                action: AuditAction::Update,
                entity: "relief_case",
                entity_id: id.to_string(),
                org_id: case.org_id,
                before: Some(case_audit(&case)),
                after: Some(case_audit(&after)),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Approved cases in scope waiting for payment, with what the bank needs.
    pub async fn relief_payable(&self, programme: Option<ProgrammeId>) -> StoreResult<Vec<PayableCase>> {
        self.actor.require(Permission::ManageFunds)?;
        let (cases, _) = self
            .relief_cases(
                &CaseFilter {
                    programme_id: programme,
                    status: Some(CaseStatus::Approved),
                    overdue: false,
                },
                Page {
                    page: 1,
                    per_page: 10_000,
                },
            )
            .await?;
        let programmes: HashMap<uuid::Uuid, Programme> = self
            .store
            .relief_programmes_public()
            .await?
            .into_iter()
            .map(|p| (p.id.0, p))
            .collect();
        let mut out = Vec::with_capacity(cases.len());
        for case in cases {
            let row = self.case_row(case.id).await?;
            let p = programmes
                .get(&case.programme_id.0)
                .ok_or_else(|| StoreError::Corrupt("case without programme".into()))?;
            let payee = match p.settings.payee {
                Payee::Person => case.applicant_name.clone(),
                Payee::Hospital => case.hospital.clone().unwrap_or_default(),
            };
            out.push(PayableCase {
                programme: p.name.clone(),
                payee,
                bank_name: case.bank_name.clone(),
                bank_account: match p.settings.payee {
                    Payee::Person => row
                        .bank_account_enc
                        .as_deref()
                        .and_then(|a| self.store.secrets.decrypt(a)),
                    Payee::Hospital => None,
                },
                case,
            });
        }
        Ok(out)
    }

    /// Pays approved cases (all or none): each a disbursement from its
    /// programme's fund, with the case's pseudonym on the public ledger.
    pub async fn relief_pay(&self, ids: &[CaseId]) -> StoreResult<Vec<Case>> {
        self.actor.require(Permission::ManageFunds)?;
        if ids.is_empty() || ids.len() > 500 {
            return Err(invalid("case_ids", "请选择 1–500 个待拨付的案件"));
        }
        let mut cases = Vec::with_capacity(ids.len());
        for id in ids {
            let case = to_case(self.case_row(*id).await?)?;
            if case.status != CaseStatus::Approved {
                return Err(StoreError::Conflict(format!(
                    "案件 {} 当前状态为「{}」, 只有已批准的案件可以拨付",
                    case.case_no,
                    case.status.label_zh()
                )));
            }
            cases.push(case);
        }
        let programmes: HashMap<uuid::Uuid, Programme> = self
            .store
            .relief_programmes_public()
            .await?
            .into_iter()
            .map(|p| (p.id.0, p))
            .collect();
        let now = self.store.now();
        let year = china_date(now).year();
        // Paid so far this year, per programme, and what this batch adds.
        let mut used: HashMap<uuid::Uuid, i64> = HashMap::new();
        for p in programmes.keys() {
            let paid: Vec<(i64, Option<DateTime<Utc>>)> = relief_cases::Entity::find()
                .select_only()
                .column(relief_cases::Column::AmountFen)
                .column(relief_cases::Column::PaidAt)
                .filter(relief_cases::Column::ProgrammeId.eq(*p))
                .filter(relief_cases::Column::Status.eq(CaseStatus::Paid.as_str()))
                .into_tuple()
                .all(&self.store.read)
                .await?;
            let sum = paid
                .into_iter()
                .filter(|(_, at)| at.is_some_and(|at| china_date(at).year() == year))
                .map(|(a, _)| a)
                .sum();
            used.insert(*p, sum);
        }
        for case in &cases {
            let p = programmes
                .get(&case.programme_id.0)
                .ok_or_else(|| StoreError::Corrupt("case without programme".into()))?;
            let u = used.entry(p.id.0).or_default();
            *u += case.amount.0;
            if *u > p.settings.yearly_budget.0 {
                let left = p.settings.yearly_budget.0 - (*u - case.amount.0);
                return Err(invalid(
                    "amount_fen",
                    format!(
                        "案件 {} 的救助金额 {} 超出「{}」{year} 年度剩余预算 {}",
                        case.case_no,
                        case.amount.display_yuan(),
                        p.name,
                        Fen(left.max(0)).display_yuan()
                    ),
                ));
            }
        }
        let txn = self.store.begin_write().await?;
        let mut out = Vec::with_capacity(cases.len());
        for case in cases {
            let p = &programmes[&case.programme_id.0];
            // The case row first (lock order: case, then the books, then the audit head).
            let claimed = relief_cases::Entity::update_many()
                .col_expr(relief_cases::Column::Status, Expr::value(CaseStatus::Paid.as_str()))
                .col_expr(relief_cases::Column::PaidAt, Expr::value(now))
                .filter(relief_cases::Column::Id.eq(case.id.0))
                .filter(relief_cases::Column::Status.eq(CaseStatus::Approved.as_str()))
                .exec(&txn)
                .await?;
            if claimed.rows_affected != 1 {
                return Err(StoreError::Conflict(format!(
                    "案件 {} 刚被他人处理, 请刷新后再试",
                    case.case_no
                )));
            }
            let plan = funds::disbursement(p.project_id, case.amount)
                .map_err(|e| crate::funds::funds_error(e, "amount_fen"))?;
            let payee = match p.settings.payee {
                Payee::Person => case.applicant_name.clone(),
                Payee::Hospital => case.hospital.clone().unwrap_or_default(),
            };
            let entry = post(
                &txn,
                &self.actor,
                p.org_id,
                now,
                &plan,
                &EntryMeta {
                    counterparty: Some(payee),
                    memo: Some(format!("{} 救助款 {}", p.name, case.case_no)),
                    decision_ref: Some(format!("救助审批 {}", case.case_no)),
                    public_recipient: Some(case.pseudonym.clone()),
                    ..EntryMeta::default()
                },
            )
            .await?;
            relief_cases::Entity::update_many()
                .col_expr(relief_cases::Column::JournalEntryId, Expr::value(entry.id.0))
                .col_expr(relief_cases::Column::LedgerIndex, Expr::value(entry.ledger_index))
                .filter(relief_cases::Column::Id.eq(case.id.0))
                .exec(&txn)
                .await?;
            let phone_enc = relief_cases::Entity::find_by_id(case.id.0)
                .one(&txn)
                .await?
                .map(|r| r.phone_enc)
                .unwrap_or_default();
            notify(
                &txn,
                &self.store,
                case.id,
                &phone_enc,
                format!(
                    "【红十字会】您的救助申请 {} 的救助款 {} 已拨付。",
                    case.case_no,
                    case.amount.display_yuan()
                ),
                now,
            )
            .await?;
            let after = Case {
                status: CaseStatus::Paid,
                paid_at: Some(now),
                journal_entry_id: Some(entry.id.0),
                ledger_index: entry.ledger_index,
                ..case.clone()
            };
            append(
                &txn,
                &self.actor,
                now,
                AuditChange {
                    action: AuditAction::Update,
                    entity: "relief_case",
                    entity_id: case.id.to_string(),
                    org_id: case.org_id,
                    before: Some(case_audit(&case)),
                    after: Some(case_audit(&after)),
                },
            )
            .await?;
            out.push(after);
        }
        txn.commit().await?;
        Ok(out)
    }

    /// A programme's figures over the cases in scope.
    pub async fn relief_figures(&self, programme: Option<ProgrammeId>) -> StoreResult<Figures> {
        self.actor.require(Permission::ViewRelief)?;
        let mut query = self.select::<relief_cases::Entity>();
        if let Some(p) = programme {
            query = query.filter(relief_cases::Column::ProgrammeId.eq(p.0));
        }
        let rows: Vec<(String, String, DateTime<Utc>, String, i64)> = query
            .select_only()
            .column(relief_cases::Column::Status)
            .column(relief_cases::Column::District)
            .column(relief_cases::Column::CreatedAt)
            .column(relief_cases::Column::IdHash)
            .column(relief_cases::Column::AmountFen)
            .into_tuple()
            .all(&self.store.read)
            .await?;
        let cases: Vec<CaseFigure> = rows
            .into_iter()
            .map(|(status, district, at, person, amount)| {
                let status = CaseStatus::parse(&status).ok_or_else(|| StoreError::Corrupt("case status".into()))?;
                Ok(CaseFigure {
                    paid: if status == CaseStatus::Paid {
                        Fen(amount)
                    } else {
                        Fen(0)
                    },
                    status,
                    district,
                    month: china_date(at).format("%Y-%m").to_string(),
                    person,
                })
            })
            .collect::<StoreResult<_>>()?;
        Ok(figures(&cases))
    }
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
