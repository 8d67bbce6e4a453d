//! `/api/v1/projects` and `/api/v1/funds/…`.

use crate::api::{json_response, ApiJson, ApiPath, ApiQuery, ListOf};
use crate::auth::{Authorized, ManageFunds, ManageProjects, SignedIn, ViewFunds};
use crate::ApiError;
use axum::http::StatusCode;
use axum::response::Response;
use boai_domain::fundraising::{parse_date, parse_fen, parse_project_id};
use boai_domain::ids::{OrgId, ProjectId};
use boai_domain::validation::{optional_text, required_text, FieldErrors};
use boai_store::funds::{JournalEntry, Project, ProjectFilter, ProjectForCreate, ProjectStatus};
use boai_store::Page;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A fund or project with its running totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectDto {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// `general`, `management`, `relief`, `appeal` or `campaign`.
    pub kind: String,
    /// `draft`, `open` or `closed`.
    pub status: String,
    /// True when gifts to it may only pay for it; the general fund is false.
    pub designated: bool,
    pub target_fen: Option<i64>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub org_id: Uuid,
    pub management_rate_bp: i32,
    pub raised_fen: i64,
    pub allocated_fen: i64,
    pub spent_fen: i64,
    pub refunded_fen: i64,
}

impl From<&Project> for ProjectDto {
    fn from(p: &Project) -> Self {
        ProjectDto {
            id: p.id.0,
            code: p.code.clone(),
            name: p.name.clone(),
            kind: p.kind.clone(),
            status: p.status.as_str().to_owned(),
            designated: p.designated,
            target_fen: p.target.map(|t| t.0),
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            org_id: p.org_id.0,
            management_rate_bp: p.management_rate_bp,
            raised_fen: p.raised.0,
            allocated_fen: p.allocated.0,
            spent_fen: p.spent.0,
            refunded_fen: p.refunded.0,
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    pub q: Option<String>,
    /// `draft`, `open` or `closed`.
    pub status: Option<String>,
    pub kind: Option<String>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "funds", params(ProjectQuery),
    responses((status = 200, body = ListOf<ProjectDto>), (status = 401)), security(("bearer" = [])))]
pub async fn projects_list(
    auth: Authorized<SignedIn>,
    ApiQuery(q): ApiQuery<ProjectQuery>,
) -> Result<Response, ApiError> {
    let filter = ProjectFilter {
        q: q.q,
        status: q.status.as_deref().and_then(ProjectStatus::parse),
        kind: q.kind,
    };
    let (items, total) = auth.store.projects_list(&filter, Page::new(q.page, q.per_page)).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(ProjectDto::from).collect(),
            total,
        },
    ))
}

#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "funds", params(("id" = Uuid, Path)),
    responses((status = 200, body = ProjectDto), (status = 401), (status = 404)), security(("bearer" = [])))]
pub async fn project_get(auth: Authorized<SignedIn>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let id: ProjectId = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(json_response(
        StatusCode::OK,
        &ProjectDto::from(&auth.store.project_get(id).await?),
    ))
}

/// A new project.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProjectBody {
    pub code: Option<String>,
    pub name: Option<String>,
    /// `relief`, `appeal` or `campaign`.
    pub kind: Option<String>,
    /// Default true: gifts to a project pay only for it.
    pub designated: Option<bool>,
    /// `draft` (default) or `open`.
    pub status: Option<String>,
    pub target_fen: Option<i64>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    /// The owning organisation (default: the caller's).
    pub org_id: Option<Uuid>,
    /// Management-cost rate in basis points (default 0; capped by the city).
    pub management_rate_bp: Option<i32>,
}

#[utoipa::path(post, path = "/api/v1/projects", tag = "funds", request_body = ProjectBody,
    responses((status = 201, body = ProjectDto), (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn project_create(
    auth: Authorized<ManageProjects>,
    body: ApiJson<ProjectBody>,
) -> Result<Response, ApiError> {
    let b = body.value;
    let mut errors = FieldErrors::new();
    let code = required_text(&mut errors, "code", "项目代码", b.code.as_deref(), 32);
    if code
        .as_ref()
        .is_some_and(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-'))
    {
        errors.add("code", "项目代码只能包含字母、数字和连字符");
    }
    let name = required_text(&mut errors, "name", "项目名称", b.name.as_deref(), 200);
    let kind = b.kind.unwrap_or_else(|| "campaign".to_owned());
    if !["relief", "appeal", "campaign"].contains(&kind.as_str()) {
        errors.add("kind", "项目类型应为 relief、appeal 或 campaign");
    }
    let status = match b.status.as_deref() {
        None => ProjectStatus::Draft,
        Some(s) => match ProjectStatus::parse(s) {
            Some(ProjectStatus::Closed) | None => {
                errors.add("status", "新项目的状态应为 draft 或 open");
                ProjectStatus::Draft
            }
            Some(s) => s,
        },
    };
    if b.target_fen.is_some_and(|t| t <= 0) {
        errors.add("target_fen", "目标金额须为正整数 (分)");
    }
    let starts_on = parse_date(&mut errors, "starts_on", b.starts_on.as_deref());
    let ends_on = parse_date(&mut errors, "ends_on", b.ends_on.as_deref());
    if let (Some(s), Some(e)) = (starts_on, ends_on) {
        if e < s {
            errors.add("ends_on", "结束日期不能早于开始日期");
        }
    }
    let (Some(code), Some(name)) = (code, name) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let project = auth
        .store
        .project_create(ProjectForCreate {
            code,
            name,
            kind,
            designated: b.designated.unwrap_or(true),
            status,
            target: b.target_fen.map(boai_domain::Fen),
            starts_on,
            ends_on,
            org_id: b.org_id.map(OrgId).unwrap_or(auth.identity.actor.org_id),
            management_rate_bp: b.management_rate_bp.unwrap_or(0),
        })
        .await?;
    Ok(json_response(StatusCode::CREATED, &ProjectDto::from(&project)))
}

/// The trial balance (CONTRACT.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct TrialBalanceDto {
    pub debit_fen: i64,
    pub credit_fen: i64,
    pub balanced: bool,
}

#[utoipa::path(get, path = "/api/v1/funds/trial-balance", tag = "funds",
    responses((status = 200, body = TrialBalanceDto), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn trial_balance(auth: Authorized<ViewFunds>) -> Result<Response, ApiError> {
    let _ = &auth.identity;
    let tb = auth.store.trial_balance().await?;
    Ok(json_response(
        StatusCode::OK,
        &TrialBalanceDto {
            debit_fen: tb.debit.0,
            credit_fen: tb.credit.0,
            balanced: tb.balanced(),
        },
    ))
}

/// One fund's balances.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceDto {
    pub project: ProjectDto,
    pub money_fen: i64,
    pub goods_fen: i64,
    pub net_assets_fen: i64,
}

#[utoipa::path(get, path = "/api/v1/funds/balances", tag = "funds",
    responses((status = 200, body = ListOf<BalanceDto>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn balances(auth: Authorized<ViewFunds>) -> Result<Response, ApiError> {
    let items: Vec<BalanceDto> = auth
        .store
        .fund_balances()
        .await?
        .iter()
        .map(|b| BalanceDto {
            project: ProjectDto::from(&b.project),
            money_fen: b.money.0,
            goods_fen: b.goods.0,
            net_assets_fen: b.net_assets.0,
        })
        .collect();
    let total = items.len() as u64;
    Ok(json_response(StatusCode::OK, &ListOf { items, total }))
}

/// A posted journal entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryDto {
    pub id: Uuid,
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub project_id: Uuid,
    pub amount_fen: i64,
    pub reverses_id: Option<Uuid>,
    pub counterparty: Option<String>,
    pub memo: Option<String>,
    pub decision_ref: Option<String>,
    pub ledger_index: Option<i64>,
}

impl From<&JournalEntry> for EntryDto {
    fn from(e: &JournalEntry) -> Self {
        EntryDto {
            id: e.id.0,
            seq: e.seq,
            at: e.at,
            kind: e.kind.as_str().to_owned(),
            project_id: e.project_id.0,
            amount_fen: e.amount.0,
            reverses_id: e.reverses_id.map(|r| r.0),
            counterparty: e.counterparty.clone(),
            memo: e.memo.clone(),
            decision_ref: e.decision_ref.clone(),
            ledger_index: e.ledger_index,
        }
    }
}

/// An allocation of undesignated money to a project.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AllocationBody {
    /// The giving fund (default: the general fund).
    pub from_project_id: Option<String>,
    pub project_id: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub amount_fen: Option<serde_json::Value>,
    /// The decision that allocates it (e.g. minutes of the executive committee).
    pub decision_ref: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/funds/allocations", tag = "funds", request_body = AllocationBody,
    responses((status = 201, body = EntryDto), (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn allocate(auth: Authorized<ManageFunds>, body: ApiJson<AllocationBody>) -> Result<Response, ApiError> {
    let b = body.value;
    let mut errors = FieldErrors::new();
    let from = match b.from_project_id.as_deref() {
        Some(raw) => parse_project_id(&mut errors, "from_project_id", Some(raw)),
        None => Some(auth.store.store_house_funds().await?.0.id),
    };
    let to = parse_project_id(&mut errors, "project_id", b.project_id.as_deref());
    let amount = parse_fen(&mut errors, "amount_fen", b.amount_fen.as_ref());
    let (Some(from), Some(to), Some(amount)) = (from, to, amount) else {
        return Err(errors.into());
    };
    let entry = auth
        .store
        .allocate(from, to, amount, b.decision_ref.as_deref().unwrap_or_default())
        .await?;
    Ok(json_response(StatusCode::CREATED, &EntryDto::from(&entry)))
}

/// Money paid out of a fund.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DisbursementBody {
    pub project_id: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub amount_fen: Option<serde_json::Value>,
    /// Who is paid (a supplier, a hospital, or a case's pseudonym).
    pub payee: Option<String>,
    pub memo: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/funds/disbursements", tag = "funds", request_body = DisbursementBody,
    responses((status = 201, body = EntryDto), (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn disburse(auth: Authorized<ManageFunds>, body: ApiJson<DisbursementBody>) -> Result<Response, ApiError> {
    let b = body.value;
    let mut errors = FieldErrors::new();
    let project = parse_project_id(&mut errors, "project_id", b.project_id.as_deref());
    let amount = parse_fen(&mut errors, "amount_fen", b.amount_fen.as_ref());
    let memo = optional_text(&mut errors, "memo", "备注", b.memo.as_deref(), 500);
    let (Some(project), Some(amount)) = (project, amount) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let entry = auth
        .store
        .disburse(project, amount, b.payee.as_deref().unwrap_or_default(), memo)
        .await?;
    Ok(json_response(StatusCode::CREATED, &EntryDto::from(&entry)))
}

/// Goods given out of a fund.
#[derive(Debug, Deserialize, ToSchema)]
pub struct GoodsOutBody {
    pub project_id: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub value_fen: Option<serde_json::Value>,
    pub recipient: Option<String>,
    pub memo: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/funds/goods-out", tag = "funds", request_body = GoodsOutBody,
    responses((status = 201, body = EntryDto), (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn goods_out(auth: Authorized<ManageFunds>, body: ApiJson<GoodsOutBody>) -> Result<Response, ApiError> {
    let b = body.value;
    let mut errors = FieldErrors::new();
    let project = parse_project_id(&mut errors, "project_id", b.project_id.as_deref());
    let value = parse_fen(&mut errors, "value_fen", b.value_fen.as_ref());
    let recipient = required_text(&mut errors, "recipient", "接收方", b.recipient.as_deref(), 200);
    let (Some(project), Some(value), Some(recipient)) = (project, value, recipient) else {
        return Err(errors.into());
    };
    let entry = auth.store.goods_out(project, value, &recipient, b.memo).await?;
    Ok(json_response(StatusCode::CREATED, &EntryDto::from(&entry)))
}

/// Money moved between two undesignated funds.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TransferBody {
    pub from_project_id: Option<String>,
    pub project_id: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub amount_fen: Option<serde_json::Value>,
    pub decision_ref: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/funds/transfers", tag = "funds", request_body = TransferBody,
    responses((status = 201, body = EntryDto), (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn transfer(auth: Authorized<ManageFunds>, body: ApiJson<TransferBody>) -> Result<Response, ApiError> {
    let b = body.value;
    let mut errors = FieldErrors::new();
    let from = parse_project_id(&mut errors, "from_project_id", b.from_project_id.as_deref());
    let to = parse_project_id(&mut errors, "project_id", b.project_id.as_deref());
    let amount = parse_fen(&mut errors, "amount_fen", b.amount_fen.as_ref());
    let decision = required_text(&mut errors, "decision_ref", "决策依据", b.decision_ref.as_deref(), 200);
    let (Some(from), Some(to), Some(amount), Some(decision)) = (from, to, amount, decision) else {
        return Err(errors.into());
    };
    let entry = auth.store.transfer(from, to, amount, &decision).await?;
    Ok(json_response(StatusCode::CREATED, &EntryDto::from(&entry)))
}

/// A management-cost charge on a base amount at the project's agreed rate.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ManagementCostBody {
    pub project_id: Option<String>,
    /// The amount the rate applies to (e.g. the period's gifts).
    #[schema(value_type = Option<i64>)]
    pub base_fen: Option<serde_json::Value>,
}

#[utoipa::path(post, path = "/api/v1/funds/management-costs", tag = "funds", request_body = ManagementCostBody,
    responses((status = 201, body = EntryDto), (status = 204, description = "the project's rate is 0: nothing charged"),
        (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn management_cost(
    auth: Authorized<ManageFunds>,
    body: ApiJson<ManagementCostBody>,
) -> Result<Response, ApiError> {
    let b = body.value;
    let mut errors = FieldErrors::new();
    let project = parse_project_id(&mut errors, "project_id", b.project_id.as_deref());
    let base = parse_fen(&mut errors, "base_fen", b.base_fen.as_ref());
    let (Some(project), Some(base)) = (project, base) else {
        return Err(errors.into());
    };
    match auth.store.charge_management_cost(project, base).await? {
        Some(entry) => Ok(json_response(StatusCode::CREATED, &EntryDto::from(&entry))),
        None => Ok(axum::response::IntoResponse::into_response(StatusCode::NO_CONTENT)),
    }
}

/// A correction: (part of) an entry reversed by a new entry.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReversalBody {
    #[schema(value_type = Option<i64>)]
    pub amount_fen: Option<serde_json::Value>,
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/funds/entries/{id}/reversals", tag = "funds", params(("id" = Uuid, Path)),
    request_body = ReversalBody,
    responses((status = 201, body = EntryDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn reverse(
    auth: Authorized<ManageFunds>,
    ApiPath(id): ApiPath<String>,
    body: ApiJson<ReversalBody>,
) -> Result<Response, ApiError> {
    let id: boai_domain::ids::JournalEntryId = id.parse().map_err(|_| ApiError::NotFound)?;
    let b = body.value;
    let mut errors = FieldErrors::new();
    let amount = parse_fen(&mut errors, "amount_fen", b.amount_fen.as_ref());
    let reason = required_text(&mut errors, "reason", "冲销原因", b.reason.as_deref(), 200);
    let (Some(amount), Some(reason)) = (amount, reason) else {
        return Err(errors.into());
    };
    let entry = auth.store.reverse_entry(id, amount, &reason).await?;
    Ok(json_response(StatusCode::CREATED, &EntryDto::from(&entry)))
}
