//! `/api/v1/members/…`: members (list, create, one), dues payments (with
//! `Idempotency-Key`), arrears, dues figures, rates, reminders, lapsing and
//! imports (the file as the request body). ID numbers appear masked only.

use super::read_member_import;
use crate::api::{idempotency_claim, idempotency_prior, json_response, ApiJson, ApiPath, ApiQuery, ListOf, Paging};
use crate::auth::{Authorized, ManageDues, ManageMembers, ViewMembers};
use crate::ApiError;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use boai_domain::ids::OrgId;
use boai_domain::members::{MemberForCreate, MemberId, MemberInput, MemberStatus, PaymentForCreate, PaymentInput};
use boai_domain::money::Fen;
use boai_domain::validation::FieldErrors;
use boai_store::idempotency::StoredResponse;
use boai_store::members::{Member, MemberFilter, Payment, Reminder};
use boai_store::network::ImportMode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A member. The ID number is only ever given masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDto {
    pub id: Uuid,
    pub member_no: String,
    pub name: String,
    /// `individual` or `group`.
    pub kind: String,
    pub type_code: String,
    pub type_name: String,
    /// e.g. `370***********123X`.
    pub id_card_masked: Option<String>,
    pub credit_code: Option<String>,
    pub phone_masked: Option<String>,
    pub joined_on: chrono::NaiveDate,
    /// `active` or `lapsed`.
    pub status: String,
    pub lapsed_on: Option<chrono::NaiveDate>,
    pub unit_id: Uuid,
    pub unit_code: String,
    pub unit_name: String,
    pub branch_id: Option<Uuid>,
    pub branch_name: Option<String>,
    /// Due years not paid, oldest first.
    pub arrears_years: Vec<i32>,
    pub arrears_fen: i64,
}

impl From<&Member> for MemberDto {
    fn from(m: &Member) -> Self {
        MemberDto {
            id: m.id.0,
            member_no: m.member_no.clone(),
            name: m.name.clone(),
            kind: m.kind.as_str().to_owned(),
            type_code: m.type_code.clone(),
            type_name: m.type_name.clone(),
            id_card_masked: m.id_card_masked.clone(),
            credit_code: m.credit_code.clone(),
            phone_masked: m.phone_masked.clone(),
            joined_on: m.joined_on,
            status: m.status.as_str().to_owned(),
            lapsed_on: m.lapsed_on,
            unit_id: m.unit_id.0,
            unit_code: m.unit_code.clone(),
            unit_name: m.unit_name.clone(),
            branch_id: m.branch_id.map(|b| b.0),
            branch_name: m.branch_name.clone(),
            arrears_years: m.arrears_years.clone(),
            arrears_fen: m.arrears_fen,
        }
    }
}

/// A dues payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDto {
    pub id: Uuid,
    pub member_id: Uuid,
    pub year: i32,
    pub amount_fen: i64,
    pub receipt_no: String,
    pub paid_on: chrono::NaiveDate,
    pub recorded_by: String,
}

impl From<&Payment> for PaymentDto {
    fn from(p: &Payment) -> Self {
        PaymentDto {
            id: p.id,
            member_id: p.member_id.0,
            year: p.year,
            amount_fen: p.amount_fen,
            receipt_no: p.receipt_no.clone(),
            paid_on: p.paid_on,
            recorded_by: p.recorded_by.clone(),
        }
    }
}

/// A member with their payments.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberDetailDto {
    #[serde(flatten)]
    pub member: MemberDto,
    pub payments: Vec<PaymentDto>,
}

/// Filters of the member list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Name (contains), member number, or a full ID number (matched by keyed hash).
    pub q: Option<String>,
    pub unit_id: Option<Uuid>,
    /// A branch (district): its units' members.
    pub branch_id: Option<Uuid>,
    pub type_code: Option<String>,
    /// `active` or `lapsed`.
    pub status: Option<String>,
    /// `true`: only members with a year in arrears.
    pub arrears: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

fn filter_of(q: &MemberQuery) -> MemberFilter {
    MemberFilter {
        q: q.q.clone(),
        unit_id: q.unit_id.map(OrgId),
        branch_id: q.branch_id.map(OrgId),
        type_code: q.type_code.clone().filter(|t| !t.is_empty()),
        status: q.status.as_deref().and_then(MemberStatus::parse),
        arrears_only: q.arrears.unwrap_or(false),
    }
}

async fn list_response(
    auth: &Authorized<ViewMembers>,
    filter: &MemberFilter,
    q: &MemberQuery,
) -> Result<Response, ApiError> {
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .page();
    let (items, total) = auth.store.members_list(filter, page).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(MemberDto::from).collect(),
            total,
        },
    ))
}

#[utoipa::path(get, path = "/api/v1/members", tag = "members", params(MemberQuery),
    responses((status = 200, body = ListOf<MemberDto>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn list(auth: Authorized<ViewMembers>, ApiQuery(q): ApiQuery<MemberQuery>) -> Result<Response, ApiError> {
    list_response(&auth, &filter_of(&q), &q).await
}

#[utoipa::path(get, path = "/api/v1/members/arrears", tag = "members", params(MemberQuery),
    responses((status = 200, body = ListOf<MemberDto>, description = "active members with a year in arrears"), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn arrears(auth: Authorized<ViewMembers>, ApiQuery(q): ApiQuery<MemberQuery>) -> Result<Response, ApiError> {
    let mut filter = filter_of(&q);
    filter.arrears_only = true;
    filter.status = Some(MemberStatus::Active);
    list_response(&auth, &filter, &q).await
}

#[utoipa::path(get, path = "/api/v1/members/{id}", tag = "members", params(("id" = Uuid, Path)),
    responses((status = 200, body = MemberDetailDto), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn get(auth: Authorized<ViewMembers>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let id: MemberId = id.parse().map_err(|_| ApiError::NotFound)?;
    let view = auth.store.member_get(id).await?;
    Ok(json_response(
        StatusCode::OK,
        &MemberDetailDto {
            member: MemberDto::from(&view.member),
            payments: view.payments.iter().map(PaymentDto::from).collect(),
        },
    ))
}

/// A new member.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberBody {
    /// The grassroots unit joined through.
    pub unit_id: Option<String>,
    pub name: Option<String>,
    /// A member type code (`ordinary`, `youth`, `group`, …) or its name.
    pub type_code: Option<String>,
    /// Required for individual members; validated (check digit); never returned.
    pub id_card_no: Option<String>,
    pub credit_code: Option<String>,
    pub phone: Option<String>,
    /// `YYYY-MM-DD`, default today.
    pub joined_on: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/members", tag = "members", request_body = MemberBody,
    responses((status = 201, body = MemberDetailDto), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn create(auth: Authorized<ManageMembers>, body: ApiJson<MemberBody>) -> Result<Response, ApiError> {
    let b = body.value;
    let types = auth.store.dues_settings().await?.types;
    let unit = b.unit_id.as_deref().and_then(|u| u.trim().parse::<OrgId>().ok());
    let parsed = MemberForCreate::parse(
        &MemberInput {
            name: b.name,
            type_code: b.type_code,
            id_card_no: b.id_card_no,
            credit_code: b.credit_code,
            phone: b.phone,
            joined_on: b.joined_on,
        },
        &types,
        auth.store.today(),
    );
    let (member, unit) = match (parsed, unit) {
        (Ok(m), Some(u)) => (m, u),
        (parsed, unit) => {
            let mut errors = parsed.err().unwrap_or_default();
            if unit.is_none() {
                errors.add("unit_id", "请填写所属基层组织");
            }
            return Err(ApiError::Validation(errors));
        }
    };
    let view = auth.store.member_create(unit, member).await?;
    Ok(json_response(
        StatusCode::CREATED,
        &MemberDetailDto {
            member: MemberDto::from(&view.member),
            payments: Vec::new(),
        },
    ))
}

/// A dues payment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PaymentBody {
    pub year: Option<i32>,
    pub amount_fen: Option<i64>,
    /// Unique; a number already used is refused (422) and nothing changes.
    pub receipt_no: Option<String>,
    /// `YYYY-MM-DD`, default today.
    pub paid_on: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/members/{id}/payments", tag = "members", request_body = PaymentBody,
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "repeat-safe key")),
    responses((status = 201, body = PaymentDto), (status = 401), (status = 403), (status = 404), (status = 409), (status = 422)),
    security(("bearer" = [])))]
pub async fn pay(
    auth: Authorized<ManageMembers>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    body: ApiJson<PaymentBody>,
) -> Result<Response, ApiError> {
    let id: MemberId = id.parse().map_err(|_| ApiError::NotFound)?;
    let path = format!("/api/v1/members/{id}/payments");
    let claim = idempotency_claim(&headers, "POST", &path, &body.raw)?;
    if let Some(replayed) = idempotency_prior(&auth.store, claim.as_ref()).await? {
        return Ok(replayed);
    }
    let b = body.value;
    let input = PaymentForCreate::parse(
        &PaymentInput {
            year: b.year.map(|y| y.to_string()),
            amount: None,
            amount_fen: b.amount_fen,
            receipt_no: b.receipt_no,
            paid_on: b.paid_on,
        },
        auth.store.today(),
    )?;
    let render = |p: &Payment| StoredResponse {
        status: 201,
        body: serde_json::to_string(&PaymentDto::from(p)).unwrap_or_default(),
    };
    let payment = auth
        .store
        .payment_record(
            id,
            input,
            claim
                .as_ref()
                .map(|c| (c, &render as &(dyn Fn(&Payment) -> StoredResponse + Sync))),
        )
        .await?;
    Ok(json_response(StatusCode::CREATED, &PaymentDto::from(&payment)))
}

/// Which dues figures.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuesQuery {
    /// Default: the current year.
    pub year: Option<i32>,
    /// An organisation in scope (a branch or a unit); default the whole scope.
    pub org_id: Option<Uuid>,
}

/// Dues of one year.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuesDto {
    pub year: i32,
    pub members_due: u64,
    pub members_paid: u64,
    /// Members for whom the year is due and unpaid.
    pub in_arrears: u64,
    pub expected_fen: i64,
    pub collected_fen: i64,
    /// Paid share of members due, tenths of a percent.
    pub rate_permille: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/members/dues", tag = "members", params(DuesQuery),
    responses((status = 200, body = DuesDto), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn dues(auth: Authorized<ViewMembers>, ApiQuery(q): ApiQuery<DuesQuery>) -> Result<Response, ApiError> {
    let year = q.year.unwrap_or_else(|| auth.store.dues_year());
    if let Some(org) = q.org_id {
        auth.store.org_get(OrgId(org)).await?;
    }
    let s = auth.store.dues_summary(year, q.org_id.map(OrgId)).await?;
    Ok(json_response(
        StatusCode::OK,
        &DuesDto {
            year: s.year,
            members_due: s.members_due,
            members_paid: s.members_paid,
            in_arrears: s.in_arrears,
            expected_fen: s.expected_fen,
            collected_fen: s.collected_fen,
            rate_permille: s.permille(),
        },
    ))
}

/// A dues rate.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RateBody {
    pub type_code: String,
    pub year: i32,
    pub amount_fen: i64,
}

#[utoipa::path(put, path = "/api/v1/members/dues-rates", tag = "members", request_body = RateBody,
    responses((status = 200, description = "saved"), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn set_rate(auth: Authorized<ManageDues>, body: ApiJson<RateBody>) -> Result<Response, ApiError> {
    let b = body.value;
    auth.store
        .dues_set_rate(&b.type_code, b.year, Fen(b.amount_fen))
        .await?;
    Ok(json_response(StatusCode::OK, &serde_json::json!({"saved": true})))
}

/// A reminder in the outbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReminderDto {
    pub id: Uuid,
    pub member_id: Uuid,
    pub member_no: String,
    pub member_name: String,
    pub year: i32,
    pub amount_fen: i64,
    pub message: String,
    /// `pending` until a sender picks it up.
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&Reminder> for ReminderDto {
    fn from(r: &Reminder) -> Self {
        ReminderDto {
            id: r.id,
            member_id: r.member_id.0,
            member_no: r.member_no.clone(),
            member_name: r.member_name.clone(),
            year: r.year,
            amount_fen: r.amount_fen,
            message: r.message.clone(),
            status: r.status.clone(),
            created_at: r.created_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/members/reminders", tag = "members", params(Paging),
    responses((status = 200, body = ListOf<ReminderDto>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn reminders(auth: Authorized<ViewMembers>, ApiQuery(p): ApiQuery<Paging>) -> Result<Response, ApiError> {
    let (items, total) = auth.store.reminders_list(p.page()).await?;
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items: items.iter().map(ReminderDto::from).collect(),
            total,
        },
    ))
}

/// How many records an action wrote.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountDto {
    pub count: usize,
}

#[utoipa::path(post, path = "/api/v1/members/reminders", tag = "members",
    responses((status = 200, body = CountDto, description = "reminders written (one per member in arrears and year; repeats add none)"), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn send_reminders(auth: Authorized<ManageMembers>) -> Result<Response, ApiError> {
    let count = auth.store.reminders_send().await?;
    Ok(json_response(StatusCode::OK, &CountDto { count }))
}

#[utoipa::path(post, path = "/api/v1/members/lapse", tag = "members",
    responses((status = 200, body = CountDto, description = "members marked lapsed"), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn lapse(auth: Authorized<ManageMembers>) -> Result<Response, ApiError> {
    let count = auth.store.members_lapse().await?;
    Ok(json_response(StatusCode::OK, &CountDto { count }))
}

/// How to import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `all_or_nothing` (default) or `valid_rows`.
    pub mode: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/members/import", tag = "members", params(ImportQuery),
    request_body(content = Vec<u8>, description = ".xlsx or .csv (UTF-8 or GBK) file bytes"),
    responses((status = 200, description = "the row-by-row report"), (status = 401), (status = 403),
        (status = 413), (status = 422, description = "the file as a whole was refused")),
    security(("bearer" = [])))]
pub async fn import(
    auth: Authorized<ManageMembers>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    crate::api::ApiBytes(body): crate::api::ApiBytes,
) -> Result<Response, ApiError> {
    let mode = match q.mode.as_deref() {
        None | Some("") => ImportMode::AllOrNothing,
        Some(m) => ImportMode::parse(m).ok_or_else(|| {
            let mut errors = FieldErrors::new();
            errors.add("mode", "导入方式应为 all_or_nothing 或 valid_rows");
            ApiError::Validation(errors)
        })?,
    };
    let types = auth.store.dues_settings().await?.types;
    let rows = read_member_import(&body, &types, auth.store.today()).map_err(|message| {
        let mut errors = FieldErrors::new();
        errors.add("file", message);
        ApiError::Validation(errors)
    })?;
    let report = auth.store.members_import(rows, mode).await?;
    Ok(json_response(StatusCode::OK, &report))
}
