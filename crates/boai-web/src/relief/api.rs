//! `/api/v1/relief/…`: programmes (list; settings changed by staff who may
//! manage the owner's projects), cases (scoped list and page; filing on
//! behalf of a person with base64 attachments), review decisions, payment,
//! figures; public: a case's status by case number and lookup code
//! (rate-limited, one answer for any wrong detail) and a paid case's public
//! summary by its ledger index.

use crate::api::{json_response, ApiJson, ApiPath, ApiQuery, ListOf};
use crate::auth::pages::RawParts;
use crate::auth::{client_ip, Authorized, HandleRelief, ManageFunds, ManageProjects, ViewRelief};
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use boai_domain::ids::OrgId;
use boai_domain::money::Fen;
use boai_domain::relief::review::{CaseStatus, Decision, Flow};
use boai_domain::relief::rules::Rule;
use boai_domain::relief::{ApplicationInput, CaseId, Figures, Payee, ProgrammeId, Settings};
use boai_domain::transparency::FileInput;
use boai_domain::validation::FieldErrors;
use boai_store::relief::{Case, CaseDetail, CaseFilter, Filed, Programme, PublicCase, ReviewInput};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A relief programme.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeDto {
    pub id: Uuid,
    pub name: String,
    /// The project (fund) it pays from.
    pub project_id: Uuid,
    pub code: String,
    pub yearly_budget_fen: i64,
    /// The documents an application needs, one file each, in this order.
    pub documents: Vec<String>,
    pub standard_grant_fen: i64,
    pub max_grant_fen: i64,
    /// `person` or `hospital`.
    pub payee: String,
    /// The eligibility rule: `{"combine": "all"|"any", "conditions": [{"field", "op", "value"}]}`.
    #[schema(value_type = Object)]
    pub rule: Rule,
    /// The rule in words.
    pub rule_text: String,
    /// The review flow: `{"steps": [{"level", "deadline_days", "final_up_to_fen"}]}`.
    #[schema(value_type = Object)]
    pub flow: Flow,
}

impl From<&Programme> for ProgrammeDto {
    fn from(p: &Programme) -> Self {
        ProgrammeDto {
            id: p.id.0,
            name: p.name.clone(),
            project_id: p.project_id.0,
            code: p.code.clone(),
            yearly_budget_fen: p.settings.yearly_budget.0,
            documents: p.settings.documents.clone(),
            standard_grant_fen: p.settings.standard_grant.0,
            max_grant_fen: p.settings.max_grant.0,
            payee: p.settings.payee.as_str().to_owned(),
            rule: p.settings.rule.clone(),
            rule_text: p.settings.rule.describe(),
            flow: p.settings.flow.clone(),
        }
    }
}

/// A relief case (personal numbers masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDto {
    pub id: Uuid,
    pub case_no: String,
    /// The name the public ledger shows for the beneficiary.
    pub pseudonym: String,
    pub programme_id: Uuid,
    pub org_id: Uuid,
    pub district: String,
    /// `online` or `staff`.
    pub channel: String,
    pub applicant_name: String,
    pub id_card_masked: String,
    pub phone_masked: String,
    pub household_size: i32,
    pub household_income_fen: i64,
    pub hardship: Option<String>,
    pub diagnosis: String,
    pub hospital: Option<String>,
    pub bank_account_masked: Option<String>,
    pub amount_fen: i64,
    /// `pending`, `returned`, `rejected`, `approved` or `paid`.
    pub status: String,
    pub status_label: String,
    /// 0-based review step the case waits at (or was decided at).
    pub step: i32,
    /// The reason the applicant sees (return or rejection).
    pub public_reason: Option<String>,
    pub eligibility: String,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub paid_at: Option<DateTime<Utc>>,
    /// The disbursement's journal entry and public ledger index, once paid.
    pub journal_entry_id: Option<Uuid>,
    pub ledger_index: Option<i64>,
}

impl From<&Case> for CaseDto {
    fn from(c: &Case) -> Self {
        CaseDto {
            id: c.id.0,
            case_no: c.case_no.clone(),
            pseudonym: c.pseudonym.clone(),
            programme_id: c.programme_id.0,
            org_id: c.org_id.0,
            district: c.district.clone(),
            channel: c.channel.clone(),
            applicant_name: c.applicant_name.clone(),
            id_card_masked: c.id_masked.clone(),
            phone_masked: c.phone_masked.clone(),
            household_size: c.household_size,
            household_income_fen: c.household_income.0,
            hardship: c.hardship.clone(),
            diagnosis: c.diagnosis.clone(),
            hospital: c.hospital.clone(),
            bank_account_masked: c.bank_account_masked.clone(),
            amount_fen: c.amount.0,
            status: c.status.as_str().to_owned(),
            status_label: c.status.label_zh().to_owned(),
            step: c.step,
            public_reason: c.public_reason.clone(),
            eligibility: c.eligibility.clone(),
            created_at: c.created_at,
            decided_at: c.decided_at,
            paid_at: c.paid_at,
            journal_entry_id: c.journal_entry_id,
            ledger_index: c.ledger_index,
        }
    }
}

/// A case with its reviews, attachments and payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetailDto {
    #[serde(flatten)]
    pub case: CaseDto,
    pub programme_name: String,
    pub org_name: String,
    #[schema(value_type = Vec<Object>)]
    pub reviews: Vec<boai_store::relief::Review>,
    #[schema(value_type = Vec<Object>)]
    pub attachments: Vec<boai_store::relief::AttachmentMeta>,
    /// The disbursement entry it drew on (fund = `project_id`).
    #[schema(value_type = Option<Object>)]
    pub entry: Option<boai_store::funds::JournalEntry>,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
}

impl From<&CaseDetail> for CaseDetailDto {
    fn from(d: &CaseDetail) -> Self {
        CaseDetailDto {
            case: CaseDto::from(&d.case),
            programme_name: d.programme.name.clone(),
            org_name: d.org_name.clone(),
            reviews: d.reviews.clone(),
            attachments: d.attachments.clone(),
            entry: d.entry.clone(),
            due_at: d.due,
            overdue: d.overdue,
        }
    }
}

/// A filed case and the code the applicant checks its status with (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct FiledDto {
    #[serde(flatten)]
    pub case: CaseDto,
    pub lookup_code: String,
}

impl From<&Filed> for FiledDto {
    fn from(f: &Filed) -> Self {
        FiledDto {
            case: CaseDto::from(&f.case),
            lookup_code: f.lookup_code.clone(),
        }
    }
}

/// Programmes that apply to the caller.
#[utoipa::path(get, path = "/api/v1/relief/programmes", tag = "relief",
    responses((status = 200, body = ListOf<ProgrammeDto>)),
    security(("bearer" = [])))]
pub async fn programmes(auth: Authorized<ViewRelief>) -> Result<Response, ApiError> {
    let list = auth.store.relief_programmes().await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            total: list.len() as u64,
            items: list.iter().map(ProgrammeDto::from).collect::<Vec<_>>(),
        },
    ))
}

/// New settings of a programme.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProgrammeBody {
    pub yearly_budget_fen: i64,
    pub documents: Vec<String>,
    pub standard_grant_fen: i64,
    pub max_grant_fen: i64,
    /// `person` or `hospital`.
    pub payee: String,
    #[schema(value_type = Object)]
    pub rule: Rule,
    #[schema(value_type = Object)]
    pub flow: Flow,
}

/// Changes a programme's settings (rule, flow, budget…).
#[utoipa::path(put, path = "/api/v1/relief/programmes/{id}", tag = "relief", request_body = ProgrammeBody,
    responses((status = 200, body = ProgrammeDto), (status = 422, description = "bad settings, fields named")),
    params(("id" = Uuid, Path, description = "the record's id")), security(("bearer" = [])))]
pub async fn programme_update(
    auth: Authorized<ManageProjects>,
    ApiPath(id): ApiPath<Uuid>,
    body: ApiJson<ProgrammeBody>,
) -> Result<Response, ApiError> {
    let b = body.value;
    let Some(payee) = Payee::parse(&b.payee) else {
        let mut e = FieldErrors::new();
        e.add("payee", "收款方须为 person 或 hospital");
        return Err(ApiError::Validation(e));
    };
    let settings = Settings {
        yearly_budget: Fen(b.yearly_budget_fen),
        documents: b.documents,
        standard_grant: Fen(b.standard_grant_fen),
        max_grant: Fen(b.max_grant_fen),
        payee,
        rule: b.rule,
        flow: b.flow,
    };
    let p = auth.store.relief_programme_update(ProgrammeId(id), settings).await?;
    Ok(json_response(StatusCode::OK, &ProgrammeDto::from(&p)))
}

/// Case filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    pub programme_id: Option<Uuid>,
    /// `pending`, `returned`, `rejected`, `approved` or `paid`.
    pub status: Option<String>,
    /// `true`: only cases past their step's deadline.
    pub overdue: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl CaseQuery {
    pub fn filter(&self) -> CaseFilter {
        CaseFilter {
            programme_id: self.programme_id.map(ProgrammeId),
            status: self.status.as_deref().and_then(CaseStatus::parse),
            overdue: self.overdue.unwrap_or(false),
        }
    }
}

/// Cases in the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/relief/cases", tag = "relief", params(CaseQuery),
    responses((status = 200, body = ListOf<CaseDto>)),
    security(("bearer" = [])))]
pub async fn cases(auth: Authorized<ViewRelief>, ApiQuery(q): ApiQuery<CaseQuery>) -> Result<Response, ApiError> {
    let page = boai_store::Page::new(q.page, q.per_page);
    let (items, total) = auth.store.relief_cases(&q.filter(), page).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(CaseDto::from).collect::<Vec<_>>(),
            total,
        },
    ))
}

/// One document of an application.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DocumentBody {
    /// File name; its extension decides the type (.pdf, .png, .jpg, .gif, .webp, .docx, .xlsx).
    pub name: Option<String>,
    /// Standard base64, at most 5 MB decoded.
    pub content_base64: Option<String>,
}

/// An application filed by staff on behalf of a person.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CaseBody {
    pub programme_id: Option<Uuid>,
    /// The grassroots unit taking the case (default: the caller's own unit).
    pub unit_id: Option<Uuid>,
    pub applicant_name: Option<String>,
    pub id_card: Option<String>,
    pub phone: Option<String>,
    /// The district's short name (历下区).
    pub district: Option<String>,
    pub household_size: Option<u32>,
    /// Monthly household income, fen.
    pub household_income_fen: Option<i64>,
    /// 低保, 特困, 低收入, 因病致贫 or empty.
    pub hardship: Option<String>,
    pub diagnosis: Option<String>,
    pub hospital: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    /// Default: the programme's standard grant.
    pub amount_fen: Option<i64>,
    /// One per required document, in the programme's order (`null` = missing).
    #[serde(default)]
    pub documents: Vec<Option<DocumentBody>>,
    /// The applicant's separate consent to process their health information
    /// (the diagnosis and hospital): required, since a diagnosis is; recorded
    /// with its version and the time.
    pub health_consent: Option<bool>,
    /// The version of the consent text the applicant agreed to (default: the
    /// current one, `health-2026-11`); an older version is refused.
    pub health_consent_version: Option<String>,
}

fn yuan_text(fen: Option<i64>) -> Option<String> {
    fen.map(|f| {
        if f < 0 {
            "-1".to_owned()
        } else {
            format!("{}.{:02}", f / 100, f % 100)
        }
    })
}

impl CaseBody {
    fn input(&self, errors: &mut FieldErrors) -> ApplicationInput {
        ApplicationInput {
            applicant_name: self.applicant_name.clone(),
            id_card: self.id_card.clone(),
            phone: self.phone.clone(),
            district: self.district.clone(),
            household_size: self.household_size.map(|n| n.to_string()),
            household_income: yuan_text(self.household_income_fen),
            hardship: self.hardship.clone(),
            diagnosis: self.diagnosis.clone(),
            hospital: self.hospital.clone(),
            bank_name: self.bank_name.clone(),
            bank_account: self.bank_account.clone(),
            amount: yuan_text(self.amount_fen),
            documents: self
                .documents
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let d = d.as_ref()?;
                    match base64::engine::general_purpose::STANDARD
                        .decode(d.content_base64.as_deref().unwrap_or_default())
                    {
                        Ok(bytes) => Some(FileInput {
                            name: d.name.clone().unwrap_or_default(),
                            bytes,
                        }),
                        Err(_) => {
                            errors.add(&format!("documents[{i}]"), "文件内容须为 base64 编码");
                            None
                        }
                    }
                })
                .collect(),
            health_consent: match self.health_consent {
                Some(true) => Some(
                    self.health_consent_version
                        .clone()
                        .unwrap_or_else(|| boai_domain::privacy::HEALTH_CONSENT_VERSION.to_owned()),
                ),
                _ => None,
            },
        }
    }
}

/// Files an application on behalf of a person.
#[utoipa::path(post, path = "/api/v1/relief/cases", tag = "relief", request_body = CaseBody,
    responses((status = 201, body = FiledDto),
        (status = 422, description = "incomplete or bad input, an ineligible applicant (`eligibility`: the failing rule in words) or a duplicate application (`id_card`)")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    auth: Authorized<HandleRelief>,
    body: ApiJson<CaseBody>,
) -> Result<Response, ApiError> {
    let b = body.value;
    let mut errors = FieldErrors::new();
    let input = b.input(&mut errors);
    let Some(programme) = b.programme_id else {
        errors.add("programme_id", "请选择救助项目");
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let filed = auth
        .store
        .relief_apply(
            ProgrammeId(programme),
            b.unit_id.map(OrgId),
            &input,
            state.relief_files.as_ref(),
        )
        .await?;
    Ok(json_response(StatusCode::CREATED, &FiledDto::from(&filed)))
}

/// One case in scope.
#[utoipa::path(get, path = "/api/v1/relief/cases/{id}", tag = "relief",
    responses((status = 200, body = CaseDetailDto), (status = 404)),
    params(("id" = Uuid, Path, description = "the record's id")), security(("bearer" = [])))]
pub async fn case(auth: Authorized<ViewRelief>, ApiPath(id): ApiPath<Uuid>) -> Result<Response, ApiError> {
    let d = auth.store.relief_case(CaseId(id)).await?;
    Ok(json_response(StatusCode::OK, &CaseDetailDto::from(&d)))
}

/// A review decision.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewBody {
    /// `approve`, `return` (for more documents) or `reject`.
    pub decision: Option<String>,
    /// Required to return or reject: the applicant sees it.
    pub reason: Option<String>,
}

/// Decides the case's current review step.
#[utoipa::path(post, path = "/api/v1/relief/cases/{id}/reviews", tag = "relief", request_body = ReviewBody,
    responses((status = 200, body = CaseDto),
        (status = 404, description = "no such case in scope"),
        (status = 409, description = "already decided or waiting for documents"),
        (status = 422, description = "wrong level, own case, second approval, reason missing")),
    params(("id" = Uuid, Path, description = "the record's id")), security(("bearer" = [])))]
pub async fn review(
    auth: Authorized<HandleRelief>,
    ApiPath(id): ApiPath<Uuid>,
    body: ApiJson<ReviewBody>,
) -> Result<Response, ApiError> {
    let Some(decision) = body.value.decision.as_deref().and_then(Decision::parse) else {
        let mut e = FieldErrors::new();
        e.add("decision", "请选择审核意见: approve、return 或 reject");
        return Err(ApiError::Validation(e));
    };
    let case = auth
        .store
        .relief_review(
            CaseId(id),
            ReviewInput {
                decision,
                reason: body.value.reason.clone(),
            },
        )
        .await?;
    Ok(json_response(StatusCode::OK, &CaseDto::from(&case)))
}

/// Puts a case returned for documents back into review.
#[utoipa::path(post, path = "/api/v1/relief/cases/{id}/resubmit", tag = "relief",
    responses((status = 200, body = CaseDto), (status = 409)),
    params(("id" = Uuid, Path, description = "the record's id")), security(("bearer" = [])))]
pub async fn resubmit(auth: Authorized<HandleRelief>, ApiPath(id): ApiPath<Uuid>) -> Result<Response, ApiError> {
    let case = auth.store.relief_resubmit(CaseId(id)).await?;
    Ok(json_response(StatusCode::OK, &CaseDto::from(&case)))
}

/// Cases to pay.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PayBody {
    pub case_ids: Vec<Uuid>,
}

/// Pays approved cases, all or none: each a disbursement from its
/// programme's fund (journal + public ledger entry with the pseudonym).
#[utoipa::path(post, path = "/api/v1/relief/payments", tag = "relief", request_body = PayBody,
    responses((status = 200, body = ListOf<CaseDto>),
        (status = 409, description = "a case is not approved"),
        (status = 422, description = "above the fund's balance or the programme's remaining budget")),
    security(("bearer" = [])))]
pub async fn pay(auth: Authorized<ManageFunds>, body: ApiJson<PayBody>) -> Result<Response, ApiError> {
    let ids: Vec<CaseId> = body.value.case_ids.iter().map(|i| CaseId(*i)).collect();
    let paid = auth.store.relief_pay(&ids).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            total: paid.len() as u64,
            items: paid.iter().map(CaseDto::from).collect::<Vec<_>>(),
        },
    ))
}

/// Which figures.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// One programme (default: all).
    pub programme_id: Option<Uuid>,
}

/// Figures over the cases in scope: applications, approved, paid, amount
/// paid, people helped; in all, by district and by month filed.
#[utoipa::path(get, path = "/api/v1/relief/stats", tag = "relief", params(StatsQuery),
    responses((status = 200, description = "`{total, by_district, by_month}` of tallies", content_type = "application/json")),
    security(("bearer" = [])))]
pub async fn stats(auth: Authorized<ViewRelief>, ApiQuery(q): ApiQuery<StatsQuery>) -> Result<Response, ApiError> {
    let f: Figures = auth.store.relief_figures(q.programme_id.map(ProgrammeId)).await?;
    Ok(json_response(StatusCode::OK, &f))
}

/// A status look-up.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusBody {
    pub case_no: String,
    pub lookup_code: String,
}

/// The applicant's view of their case (public, rate-limited).
#[utoipa::path(post, path = "/api/v1/relief/status", tag = "relief", request_body = StatusBody,
    responses((status = 200, description = "status, label, the reason the applicant sees", content_type = "application/json"),
        (status = 404, description = "no case with this number and code"), (status = 429)))]
pub async fn status(
    State(state): State<AppState>,
    RawParts(parts): RawParts,
    body: ApiJson<StatusBody>,
) -> Result<Response, ApiError> {
    state
        .lookup_limiter
        .check(client_ip(&parts).as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let view = state
        .store
        .relief_status(&body.value.case_no, &body.value.lookup_code)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(json_response(StatusCode::OK, &view))
}

/// A paid case as the public sees it, by its payment's ledger index.
#[utoipa::path(get, path = "/api/v1/relief/aided/{index}", tag = "relief",
    responses((status = 200, description = "pseudonym, programme, district, amount, date paid", content_type = "application/json"), (status = 404)),
    params(("index" = i64, Path, description = "the ledger index of the payment")))]
pub async fn aided(State(state): State<AppState>, ApiPath(index): ApiPath<i64>) -> Result<Response, ApiError> {
    let c: PublicCase = state.store.relief_public_case(index).await?;
    Ok(json_response(StatusCode::OK, &c))
}
