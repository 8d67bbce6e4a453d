//! `/api/v1/network/…`: units (list, one, move, 五有 assessment), compliance
//! by district, and unit imports (the file as the request body).

use super::pages::district_lines;
use super::read_import;
use crate::api::{json_response, ApiJson, ApiPath, ApiQuery, ListOf, Paging};
use crate::auth::{Authorized, ManageOrgs, ManageSettings, ViewOrgs};
use crate::ApiError;
use axum::http::StatusCode;
use axum::response::Response;
use boai_domain::ids::OrgId;
use boai_domain::network::{UnitDetails, UnitInput, UnitStatus};
use boai_domain::orgs::{OrgKind, OrgLevel};
use boai_domain::validation::FieldErrors;
use boai_store::network::{AssessmentInput, ImportMode, UnitFilter, UnitSummary, UnitView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A grassroots unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitDto {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    /// `community`, `village`, `school`, `university`, `enterprise`,
    /// `hospital`, `government` or `social_organisation`.
    pub kind: String,
    pub branch_id: Option<Uuid>,
    pub branch_name: Option<String>,
    /// `active`, `suspended` or `dissolved`.
    pub status: String,
    pub credit_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub leader: Option<String>,
    pub founded_on: Option<chrono::NaiveDate>,
    /// 五有 items met.
    pub wuyou_met: usize,
    pub wuyou_total: usize,
    pub wuyou_passed: bool,
    /// Codes of the items not met.
    pub wuyou_missing: Vec<String>,
}

impl From<&UnitSummary> for UnitDto {
    fn from(u: &UnitSummary) -> Self {
        UnitDto {
            id: u.id.0,
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind.as_str().to_owned(),
            branch_id: u.branch_id.map(|b| b.0),
            branch_name: u.branch_name.clone(),
            status: u.details.status.as_str().to_owned(),
            credit_code: u.details.credit_code.as_ref().map(|c| c.as_str().to_owned()),
            address: u.details.address.clone(),
            phone: u.details.phone.clone(),
            leader: u.details.leader.clone(),
            founded_on: u.details.founded_on,
            wuyou_met: u.score.met,
            wuyou_total: u.score.total,
            wuyou_passed: u.score.passed,
            wuyou_missing: u.missing.clone(),
        }
    }
}

impl From<&UnitView> for UnitDto {
    fn from(u: &UnitView) -> Self {
        UnitDto {
            id: u.org.id.0,
            code: u.org.code.clone(),
            name: u.org.name.clone(),
            kind: u.org.kind.as_str().to_owned(),
            branch_id: u.org.parent_id.map(|b| b.0),
            branch_name: u.branch.as_ref().map(|b| b.name.clone()),
            status: u.details.status.as_str().to_owned(),
            credit_code: u.details.credit_code.as_ref().map(|c| c.as_str().to_owned()),
            address: u.details.address.clone(),
            phone: u.details.phone.clone(),
            leader: u.details.leader.clone(),
            founded_on: u.details.founded_on,
            wuyou_met: u.score.met,
            wuyou_total: u.score.total,
            wuyou_passed: u.score.passed,
            wuyou_missing: u
                .assessments
                .iter()
                .filter(|a| a.met != Some(true))
                .map(|a| a.item.code.clone())
                .collect(),
        }
    }
}

/// Filters of the unit list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitQuery {
    /// Matches name, code or credit code.
    pub q: Option<String>,
    /// The branch (district) id.
    pub branch_id: Option<Uuid>,
    pub kind: Option<String>,
    pub status: Option<String>,
    /// `true`: only active units that fall short of the 五有 pass mark.
    pub shortfall: Option<bool>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

#[utoipa::path(get, path = "/api/v1/network/units", tag = "network", params(UnitQuery),
    responses((status = 200, body = ListOf<UnitDto>), (status = 401)),
    security(("bearer" = [])))]
pub async fn units(auth: Authorized<ViewOrgs>, ApiQuery(q): ApiQuery<UnitQuery>) -> Result<Response, ApiError> {
    let filter = UnitFilter {
        q: q.q.clone(),
        branch_id: q.branch_id.map(OrgId),
        kind: q.kind.as_deref().and_then(OrgKind::parse),
        status: q.status.as_deref().and_then(UnitStatus::parse),
        shortfall_only: q.shortfall.unwrap_or(false),
    };
    let page = Paging {
        page: q.page,
        per_page: q.per_page,
    }
    .page();
    let all = auth.store.network_units(&filter).await?;
    let items = all
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(100))
        .map(UnitDto::from)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &ListOf {
            items,
            total: all.len() as u64,
        },
    ))
}

#[utoipa::path(get, path = "/api/v1/network/units/{id}", tag = "network",
    params(("id" = Uuid, Path, description = "unit id")),
    responses((status = 200, body = UnitDto), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn unit(auth: Authorized<ViewOrgs>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let unit = auth.store.network_unit(id).await?;
    Ok(json_response(StatusCode::OK, &UnitDto::from(&unit)))
}

/// A unit's particulars (all replaced; absent fields are cleared).
#[derive(Debug, Deserialize, ToSchema)]
pub struct UnitBody {
    pub credit_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub leader: Option<String>,
    /// `YYYY-MM-DD`.
    pub founded_on: Option<String>,
    /// `active` (default), `suspended` or `dissolved` (final).
    pub status: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/network/units/{id}", tag = "network", request_body = UnitBody,
    params(("id" = Uuid, Path, description = "unit id")),
    responses((status = 200, body = UnitDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn update(
    auth: Authorized<ManageOrgs>,
    ApiPath(id): ApiPath<String>,
    body: ApiJson<UnitBody>,
) -> Result<Response, ApiError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let b = body.value;
    let details = UnitDetails::parse(&UnitInput {
        credit_code: b.credit_code,
        address: b.address,
        phone: b.phone,
        leader: b.leader,
        founded_on: b.founded_on,
        status: b.status,
    })?;
    auth.store.unit_update(id, details).await?;
    let unit = auth.store.network_unit(id).await?;
    Ok(json_response(StatusCode::OK, &UnitDto::from(&unit)))
}

/// Where to move a unit.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveBody {
    pub to_branch_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/network/units/{id}/move", tag = "network", request_body = MoveBody,
    params(("id" = Uuid, Path, description = "unit id")),
    responses((status = 200, body = UnitDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn move_unit(
    auth: Authorized<ManageOrgs>,
    ApiPath(id): ApiPath<String>,
    body: ApiJson<MoveBody>,
) -> Result<Response, ApiError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let Some(to) = body
        .value
        .to_branch_id
        .as_deref()
        .and_then(|t| t.trim().parse::<OrgId>().ok())
    else {
        let mut errors = FieldErrors::new();
        errors.add("to_branch_id", "请选择目标区县");
        return Err(ApiError::Validation(errors));
    };
    auth.store.unit_move(id, to).await?;
    let unit = auth.store.network_unit(id).await?;
    Ok(json_response(StatusCode::OK, &UnitDto::from(&unit)))
}

/// One item's assessment.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssessmentBody {
    pub item_code: String,
    pub met: bool,
    pub evidence: Option<String>,
}

/// A unit's 五有 assessment (items not listed keep theirs).
#[derive(Debug, Deserialize, ToSchema)]
pub struct WuyouBody {
    pub items: Vec<AssessmentBody>,
}

#[utoipa::path(put, path = "/api/v1/network/units/{id}/wuyou", tag = "network", request_body = WuyouBody,
    params(("id" = Uuid, Path, description = "unit id")),
    responses((status = 200, body = UnitDto), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn assess(
    auth: Authorized<ManageOrgs>,
    ApiPath(id): ApiPath<String>,
    body: ApiJson<WuyouBody>,
) -> Result<Response, ApiError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let input = body
        .value
        .items
        .into_iter()
        .map(|a| AssessmentInput {
            item_code: a.item_code,
            met: a.met,
            evidence: a.evidence,
        })
        .collect();
    let unit = auth.store.wuyou_assess(id, input).await?;
    Ok(json_response(StatusCode::OK, &UnitDto::from(&unit)))
}

/// 五有 compliance of one group of units.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceDto {
    pub org_id: Option<Uuid>,
    pub name: String,
    pub units: u64,
    /// Active units (the only ones counted).
    pub active: u64,
    pub passed: u64,
    /// Pass rate in tenths of a percent, null without active units.
    pub rate_permille: Option<u64>,
}

/// Compliance in scope and by district.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplianceReport {
    /// `all` or `at_least:n`.
    pub pass_mark: String,
    pub total: ComplianceDto,
    pub districts: Vec<ComplianceDto>,
}

#[utoipa::path(get, path = "/api/v1/network/compliance", tag = "network",
    responses((status = 200, body = ComplianceReport), (status = 401)),
    security(("bearer" = [])))]
pub async fn compliance(auth: Authorized<ViewOrgs>) -> Result<Response, ApiError> {
    let units = auth.store.network_units(&UnitFilter::default()).await?;
    let districts: Vec<_> = auth
        .store
        .orgs_tree()
        .await?
        .into_iter()
        .filter(|o| o.level == OrgLevel::District)
        .collect();
    let (lines, all) = district_lines(&districts, &units);
    let mark = auth.store.wuyou_mark().await?;
    Ok(json_response(
        StatusCode::OK,
        &ComplianceReport {
            pass_mark: mark.as_setting(),
            total: ComplianceDto {
                org_id: None,
                name: "合计".to_owned(),
                units: units.len() as u64,
                active: all.active,
                passed: all.passed,
                rate_permille: all.permille(),
            },
            districts: lines
                .into_iter()
                .map(|l| ComplianceDto {
                    org_id: Some(l.id.0),
                    name: l.name,
                    units: l.units,
                    active: l.compliance.active,
                    passed: l.compliance.passed,
                    rate_permille: l.compliance.permille(),
                })
                .collect(),
        },
    ))
}

/// How to import.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `all_or_nothing` (default) or `valid_rows`.
    pub mode: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/network/units/import", tag = "network", params(ImportQuery),
    request_body(content = Vec<u8>, description = ".xlsx or .csv (UTF-8 or GBK) file bytes"),
    responses((status = 200, description = "the row-by-row report"), (status = 401), (status = 403),
        (status = 413), (status = 422, description = "the file as a whole was refused")),
    security(("bearer" = [])))]
pub async fn import(
    auth: Authorized<ManageOrgs>,
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
    let rows = read_import(&body).map_err(|message| {
        let mut errors = FieldErrors::new();
        errors.add("file", message);
        ApiError::Validation(errors)
    })?;
    let report = auth.store.units_import(rows, mode).await?;
    Ok(json_response(StatusCode::OK, &report))
}

/// One item of the city's 五有 checklist.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecklistItemDto {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Inactive items are kept (with their past assessments) but no longer count.
    pub active: bool,
}

/// A checklist item's new or changed particulars.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChecklistItemBody {
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

async fn checklist_response(store: &boai_store::ScopedStore) -> Result<Response, ApiError> {
    let items: Vec<ChecklistItemDto> = store
        .wuyou_all_items()
        .await?
        .into_iter()
        .map(|(i, active)| ChecklistItemDto {
            code: i.code,
            name_zh: i.name_zh,
            name_en: i.name_en,
            active,
        })
        .collect();
    let total = items.len() as u64;
    Ok(json_response(StatusCode::OK, &ListOf { items, total }))
}

#[utoipa::path(get, path = "/api/v1/network/checklist", tag = "network",
    responses((status = 200, description = "the city's 五有 checklist, in order"), (status = 401)),
    security(("bearer" = [])))]
pub async fn checklist(auth: Authorized<ViewOrgs>) -> Result<Response, ApiError> {
    checklist_response(&auth.store).await
}

#[utoipa::path(put, path = "/api/v1/network/checklist/{code}", tag = "network", request_body = ChecklistItemBody,
    params(("code" = String, Path, description = "item code, e.g. LEADER")),
    responses((status = 200, description = "the checklist after the change"), (status = 401), (status = 403), (status = 422)),
    security(("bearer" = [])))]
pub async fn checklist_item_save(
    auth: Authorized<ManageSettings>,
    ApiPath(code): ApiPath<String>,
    body: ApiJson<ChecklistItemBody>,
) -> Result<Response, ApiError> {
    let body = body.value;
    auth.store
        .wuyou_item_save(
            boai_domain::network::WuyouItem {
                code,
                name_zh: body.name_zh,
                name_en: body.name_en,
            },
            body.active,
        )
        .await?;
    checklist_response(&auth.store).await
}
