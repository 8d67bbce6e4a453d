//! Network pages: the dashboard, the unit list (with shortfalls and export),
//! the unit page with its 五有 checklist and move form, and the import page.

use super::{missing_names, read_import, template_sheet, unit_kinds};
use crate::auth::csrf::{CsrfForm, CsrfMultipart};
use crate::auth::{ManageOrgs, PageUser, ViewOrgs};
use crate::components::chart::{Bar, BarChart};
use crate::components::export::{Cell, Sheet};
use crate::components::list::{export_href, xlsx_download, CellView, ListQuery, ListView, Pager};
use crate::i18n::t;
use crate::pages::{lang_of, render, Layout};
use crate::query::PageQuery;
use crate::{ApiError, PageError};
use askama::Template;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::ids::OrgId;
use boai_domain::network::{Compliance, UnitStatus, WuyouItem};
use boai_domain::orgs::{Org, OrgKind, OrgLevel};
use boai_store::network::{AssessmentInput, ImportMode, ImportReport, UnitFilter, UnitSummary, UnitView};
use boai_store::{ScopedStore, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

/// One district's line of the dashboard.
#[derive(Debug, Clone)]
pub struct DistrictLine {
    pub id: OrgId,
    pub name: String,
    pub units: u64,
    pub compliance: Compliance,
}

/// Counts per district (in code order) and for all units in scope.
pub fn district_lines(districts: &[Org], units: &[UnitSummary]) -> (Vec<DistrictLine>, Compliance) {
    let mut lines: Vec<DistrictLine> = districts
        .iter()
        .map(|d| DistrictLine {
            id: d.id,
            name: d.name.clone(),
            units: 0,
            compliance: Compliance::default(),
        })
        .collect();
    let index: HashMap<OrgId, usize> = lines.iter().enumerate().map(|(i, l)| (l.id, i)).collect();
    let mut all = Compliance::default();
    for u in units {
        all.add(u.details.status, u.score.passed);
        if let Some(&i) = u.branch_id.as_ref().and_then(|b| index.get(b)) {
            lines[i].units += 1;
            lines[i].compliance.add(u.details.status, u.score.passed);
        }
    }
    (lines, all)
}

fn short(name: &str) -> String {
    name.trim_end_matches("红十字会").to_owned()
}

/// Bar chart of units by kind.
pub fn kind_chart(title: &str, units: &[UnitSummary]) -> String {
    let bars = unit_kinds()
        .into_iter()
        .map(|k| Bar {
            label: k.label_zh().to_owned(),
            value: i64::try_from(units.iter().filter(|u| u.kind == k).count()).unwrap_or(i64::MAX),
        })
        .filter(|b| b.value > 0)
        .collect();
    BarChart {
        title: title.to_owned(),
        unit: "个".to_owned(),
        bars,
    }
    .to_svg()
}

async fn districts_in_scope(store: &ScopedStore) -> Result<Vec<Org>, StoreError> {
    Ok(store
        .orgs_tree()
        .await?
        .into_iter()
        .filter(|o| o.level == OrgLevel::District)
        .collect())
}

#[derive(Template)]
#[template(path = "network_dashboard.html")]
struct DashboardPage {
    layout: Layout,
    unit_count: usize,
    all: Compliance,
    pass_mark: String,
    lines: Vec<DistrictLine>,
    district_svg: String,
    kind_svg: String,
    compliance_svg: String,
    shortfall_svg: String,
    can_import: bool,
    can_settings: bool,
    /// The whole checklist with each item's state (shown to administrators).
    checklist: Vec<(WuyouItem, bool)>,
}

#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    format: Option<String>,
}

pub async fn dashboard(
    headers: HeaderMap,
    user: PageUser<ViewOrgs>,
    PageQuery(q): PageQuery<DashboardQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let units = user.store.network_units(&UnitFilter::default()).await?;
    let districts = districts_in_scope(&user.store).await?;
    let (lines, all) = district_lines(&districts, &units);
    if q.format.as_deref() == Some("xlsx") {
        let sheet = Sheet {
            name: t(lang, "network.title").to_owned(),
            columns: [
                "network.district",
                "network.units",
                "network.active",
                "network.passed",
                "network.rate",
            ]
            .iter()
            .map(|k| t(lang, k).to_owned())
            .collect(),
            rows: lines
                .iter()
                .map(|l| {
                    vec![
                        Cell::Text(l.name.clone()),
                        Cell::Int(l.units as i64),
                        Cell::Int(l.compliance.active as i64),
                        Cell::Int(l.compliance.passed as i64),
                        Cell::Text(l.compliance.rate_text()),
                    ]
                })
                .collect(),
        };
        return Ok(xlsx_download("基层组织五有达标率", &sheet)?);
    }
    let items = user.store.wuyou_checklist().await?;
    let mark = user.store.wuyou_mark().await?;
    let district_svg = BarChart {
        title: t(lang, "orgs.by_district").to_owned(),
        unit: "个".to_owned(),
        bars: lines
            .iter()
            .map(|l| Bar {
                label: short(&l.name),
                value: l.units as i64,
            })
            .collect(),
    }
    .to_svg();
    let compliance_svg = BarChart {
        title: t(lang, "network.rate_by_district").to_owned(),
        unit: "%".to_owned(),
        bars: lines
            .iter()
            .filter_map(|l| {
                l.compliance.permille().map(|p| Bar {
                    label: short(&l.name),
                    value: i64::try_from((p + 5) / 10).unwrap_or(0),
                })
            })
            .collect(),
    }
    .to_svg();
    let shortfall_svg = BarChart {
        title: t(lang, "network.shortfall_by_item").to_owned(),
        unit: "个".to_owned(),
        bars: items
            .iter()
            .map(|i| Bar {
                label: i.name_zh.clone(),
                value: units
                    .iter()
                    .filter(|u| u.details.status == UnitStatus::Active && u.missing.contains(&i.code))
                    .count() as i64,
            })
            .collect(),
    }
    .to_svg();
    Ok(render(&DashboardPage {
        layout: Layout::new(lang, t(lang, "network.title"), "/orgs", Some(&user.identity)),
        unit_count: units.len(),
        all,
        pass_mark: mark.label_zh(items.len()),
        lines,
        district_svg,
        kind_svg: kind_chart(t(lang, "network.by_kind"), &units),
        compliance_svg,
        shortfall_svg,
        can_import: user.identity.actor.role.can(Permission::ManageOrgs),
        can_settings: user.identity.actor.role.can(Permission::ManageSettings),
        checklist: if user.identity.actor.role.can(Permission::ManageSettings) {
            user.store.wuyou_all_items().await?
        } else {
            Vec::new()
        },
    }))
}

#[derive(Debug, Deserialize)]
pub struct UnitListQuery {
    #[serde(flatten)]
    list: ListQuery,
    branch: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    shortfall: Option<String>,
}

#[derive(Template)]
#[template(path = "network_units.html")]
struct UnitsPage {
    layout: Layout,
    q: String,
    branch: String,
    kind: String,
    status: String,
    shortfall: bool,
    branches: Vec<Org>,
    kinds: Vec<(&'static str, &'static str)>,
    statuses: Vec<(&'static str, &'static str)>,
    list: ListView,
}

fn unit_columns(lang: crate::i18n::Lang) -> Vec<String> {
    [
        "orgs.code",
        "orgs.name",
        "network.district",
        "orgs.kind",
        "network.status",
        "network.credit_code",
        "network.score",
        "network.missing",
    ]
    .iter()
    .map(|k| t(lang, k).to_owned())
    .collect()
}

pub async fn units(
    headers: HeaderMap,
    user: PageUser<ViewOrgs>,
    PageQuery(q): PageQuery<UnitListQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let branch_id = q.branch.as_deref().and_then(|b| b.parse::<OrgId>().ok());
    let kind = q.kind.as_deref().and_then(OrgKind::parse);
    let status = q.status.as_deref().and_then(UnitStatus::parse);
    let shortfall = q.shortfall.as_deref().is_some_and(|s| !s.is_empty() && s != "0");
    let filter = UnitFilter {
        q: q.list.q.clone(),
        branch_id,
        kind,
        status,
        shortfall_only: shortfall,
    };
    let units = user.store.network_units(&filter).await?;
    let items = user.store.wuyou_checklist().await?;
    let params = [
        ("q", q.list.q().to_owned()),
        ("branch", branch_id.map(|b| b.to_string()).unwrap_or_default()),
        ("kind", kind.map(|k| k.as_str().to_owned()).unwrap_or_default()),
        ("status", status.map(|s| s.as_str().to_owned()).unwrap_or_default()),
        ("shortfall", if shortfall { "1".to_owned() } else { String::new() }),
    ];
    if q.list.wants_xlsx() {
        let rows = units
            .iter()
            .map(|u| {
                vec![
                    Cell::Text(u.code.clone()),
                    Cell::Text(u.name.clone()),
                    Cell::Text(u.branch_name.clone().unwrap_or_default()),
                    Cell::Text(u.kind.label_zh().to_owned()),
                    Cell::Text(u.details.status.label_zh().to_owned()),
                    u.details
                        .credit_code
                        .as_ref()
                        .map_or(Cell::Empty, |c| Cell::Text(c.as_str().to_owned())),
                    Cell::Text(format!("{}/{}", u.score.met, u.score.total)),
                    Cell::Text(missing_names(u, &items)),
                ]
            })
            .collect();
        let sheet = Sheet {
            name: t(lang, "network.units").to_owned(),
            columns: unit_columns(lang),
            rows,
        };
        let stem = if shortfall {
            "五有未达标基层组织"
        } else {
            "基层组织"
        };
        return Ok(xlsx_download(stem, &sheet)?);
    }
    let page = q.list.page();
    let total = units.len() as u64;
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX).min(units.len());
    let end = start
        .saturating_add(usize::try_from(page.per_page).unwrap_or(100))
        .min(units.len());
    let rows = units[start..end]
        .iter()
        .map(|u| {
            vec![
                CellView::text(&u.code),
                CellView::link(&u.name, format!("/network/units/{}", u.id)),
                CellView::text(u.branch_name.as_deref().map(short).unwrap_or_default()),
                CellView::text(u.kind.label_zh()),
                CellView::text(u.details.status.label_zh()),
                CellView::text(
                    u.details
                        .credit_code
                        .as_ref()
                        .map(|c| c.as_str().to_owned())
                        .unwrap_or_default(),
                ),
                CellView::text(format!("{}/{}", u.score.met, u.score.total)),
                CellView::text(missing_names(u, &items)),
            ]
        })
        .collect();
    let title = if shortfall {
        "network.shortfalls"
    } else {
        "network.units"
    };
    Ok(render(&UnitsPage {
        layout: Layout::new(lang, t(lang, title), "/orgs", Some(&user.identity)),
        q: q.list.q().to_owned(),
        branch: params[1].1.clone(),
        kind: params[2].1.clone(),
        status: params[3].1.clone(),
        shortfall,
        branches: districts_in_scope(&user.store).await?,
        kinds: unit_kinds().into_iter().map(|k| (k.as_str(), k.label_zh())).collect(),
        statuses: UnitStatus::ALL.iter().map(|s| (s.as_str(), s.label_zh())).collect(),
        list: ListView {
            columns: unit_columns(lang),
            rows,
            pager: Pager::new("/network/units", &params, page, total),
            export_href: export_href("/network/units", &params),
        },
    }))
}

#[derive(Template)]
#[template(path = "network_unit.html")]
struct UnitPage {
    layout: Layout,
    unit: UnitView,
    /// The unit's members (when the viewer may see members): total, first rows.
    members_count: Option<usize>,
    members: Vec<boai_store::members::Member>,
    /// The particulars form (values as typed) and its errors.
    edit: UnitEditForm,
    edit_errors: boai_domain::validation::FieldErrors,
    branches: Vec<Org>,
    can_manage: bool,
    /// May register members (ManageMembers), which not every organiser may.
    can_add_member: bool,
    founded: String,
    pass_mark: String,
    error: String,
}

async fn unit_page(
    user: &PageUser<impl crate::auth::Need>,
    headers: &HeaderMap,
    id: OrgId,
    error: String,
) -> Result<Response, PageError> {
    unit_page_with(
        user,
        headers,
        id,
        error,
        None,
        boai_domain::validation::FieldErrors::new(),
    )
    .await
}

async fn unit_page_with(
    user: &PageUser<impl crate::auth::Need>,
    headers: &HeaderMap,
    id: OrgId,
    error: String,
    edit: Option<UnitEditForm>,
    edit_errors: boai_domain::validation::FieldErrors,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let unit = user.store.network_unit(id).await?;
    let (members_count, members) = if user.identity.actor.role.can(Permission::ViewMembers) {
        let all = user
            .store
            .members_all(&boai_store::members::MemberFilter {
                unit_id: Some(id),
                ..Default::default()
            })
            .await?;
        (Some(all.len()), all.into_iter().take(20).collect())
    } else {
        (None, Vec::new())
    };
    let edit = edit.unwrap_or_else(|| UnitEditForm::of(&unit));
    let can_manage = user.identity.actor.role.can(Permission::ManageOrgs);
    let branches = if can_manage {
        districts_in_scope(&user.store)
            .await?
            .into_iter()
            .filter(|b| Some(b.id) != unit.org.parent_id)
            .collect()
    } else {
        Vec::new()
    };
    let status = if error.is_empty() && edit_errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&UnitPage {
        layout: Layout::new(lang, unit.org.name.clone(), "/orgs", Some(&user.identity)),
        founded: unit
            .details
            .founded_on
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "—".to_owned()),
        pass_mark: unit.pass_mark.label_zh(unit.score.total),
        unit,
        members_count,
        members,
        edit,
        edit_errors,
        branches,
        can_manage,
        can_add_member: user.identity.actor.role.can(Permission::ManageMembers),
        error,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn unit(headers: HeaderMap, user: PageUser<ViewOrgs>, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    unit_page(&user, &headers, id, String::new()).await
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    to_branch_id: String,
}

pub async fn move_unit(
    headers: HeaderMap,
    user: PageUser<ManageOrgs>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<Response, PageError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let Ok(to) = form.to_branch_id.trim().parse::<OrgId>() else {
        return unit_page(&user, &headers, id, "请选择目标区县".to_owned()).await;
    };
    match user.store.unit_move(id, to).await {
        Ok(_) => Ok(Redirect::to(&format!("/network/units/{id}")).into_response()),
        Err(StoreError::Invalid(errors)) => {
            let message = errors
                .0
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            unit_page(&user, &headers, id, message).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn assess(
    headers: HeaderMap,
    user: PageUser<ManageOrgs>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let items = user.store.wuyou_checklist().await?;
    let input = items
        .iter()
        .map(|i| AssessmentInput {
            item_code: i.code.clone(),
            met: form
                .get(&format!("met_{}", i.code))
                .is_some_and(|v| v == "1" || v == "on"),
            evidence: form
                .get(&format!("evidence_{}", i.code))
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty()),
        })
        .collect();
    match user.store.wuyou_assess(id, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/network/units/{id}")).into_response()),
        Err(StoreError::Invalid(errors)) => {
            let message = errors
                .0
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            unit_page(&user, &headers, id, message).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "network_import.html")]
struct ImportPage {
    layout: Layout,
    error: String,
    report: Option<ImportReport>,
}

pub async fn import_form(headers: HeaderMap, user: PageUser<ManageOrgs>) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    Ok(render(&ImportPage {
        layout: Layout::new(lang, t(lang, "network.import"), "/orgs", Some(&user.identity)),
        error: String::new(),
        report: None,
    }))
}

pub async fn import_submit(
    headers: HeaderMap,
    user: PageUser<ManageOrgs>,
    upload: CsrfMultipart,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let page = |error: String, report: Option<ImportReport>| {
        let failed = !error.is_empty();
        let mut response = render(&ImportPage {
            layout: Layout::new(lang, t(lang, "network.import"), "/orgs", Some(&user.identity)),
            error,
            report,
        });
        if failed {
            *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
        }
        response
    };
    let Some(mode) = ImportMode::parse(&upload.text("mode")) else {
        return Ok(page("请选择导入方式".to_owned(), None));
    };
    let Some(file) = upload.file("file") else {
        return Ok(page("请选择要导入的文件".to_owned(), None));
    };
    let rows = match read_import(&file.bytes) {
        Ok(rows) => rows,
        Err(message) => return Ok(page(message, None)),
    };
    let report = user.store.units_import(rows, mode).await?;
    Ok(page(String::new(), Some(report)))
}

pub async fn import_template(_user: PageUser<ViewOrgs>) -> Result<Response, PageError> {
    Ok(xlsx_download("基层组织导入模板", &template_sheet())?)
}

/// The particulars form of a unit.
#[derive(Debug, Default, Deserialize)]
pub struct UnitEditForm {
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    leader: String,
    #[serde(default)]
    founded_on: String,
    #[serde(default)]
    status: String,
}

impl UnitEditForm {
    fn of(unit: &UnitView) -> Self {
        let d = &unit.details;
        UnitEditForm {
            credit_code: d
                .credit_code
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            address: d.address.clone().unwrap_or_default(),
            phone: d.phone.clone().unwrap_or_default(),
            leader: d.leader.clone().unwrap_or_default(),
            founded_on: d
                .founded_on
                .map(|f| f.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            status: d.status.as_str().to_owned(),
        }
    }
}

/// Saves a unit's particulars from its page (the API's `PUT`).
pub async fn edit_unit(
    headers: HeaderMap,
    user: PageUser<ManageOrgs>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<UnitEditForm>,
) -> Result<Response, PageError> {
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let input = boai_domain::network::UnitInput {
        credit_code: Some(form.credit_code.clone()),
        address: Some(form.address.clone()),
        phone: Some(form.phone.clone()),
        leader: Some(form.leader.clone()),
        founded_on: Some(form.founded_on.clone()),
        status: Some(form.status.clone()),
    };
    let result = match boai_domain::network::UnitDetails::parse(&input) {
        Ok(d) => user.store.unit_update(id, d).await.map(|_| ()),
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/network/units/{id}")).into_response()),
        Err(StoreError::Invalid(errors)) => {
            unit_page_with(&user, &headers, id, String::new(), Some(form), errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The city's pass mark, from the dashboard (administrators).
#[derive(Debug, Default, Deserialize)]
pub struct PassMarkForm {
    #[serde(default)]
    at_least: String,
}

pub async fn set_pass_mark(
    user: PageUser<crate::auth::ManageSettings>,
    CsrfForm(form): CsrfForm<PassMarkForm>,
) -> Result<Response, PageError> {
    let mark = match form.at_least.trim() {
        "" | "all" => boai_domain::network::PassMark::All,
        n => match n.parse::<u32>() {
            Ok(n) if n > 0 => boai_domain::network::PassMark::AtLeast(n),
            _ => {
                return Err(ApiError::Validation({
                    let mut e = boai_domain::validation::FieldErrors::new();
                    e.add("at_least", "达标标准应为正整数或留空 (全部达到)");
                    e
                })
                .into())
            }
        },
    };
    user.store.wuyou_set_pass_mark(mark).await?;
    Ok(Redirect::to("/network").into_response())
}

/// The dashboard's checklist form: add an item or change one.
#[derive(Debug, Deserialize)]
pub struct ChecklistItemForm {
    code: String,
    name_zh: String,
    #[serde(default)]
    name_en: String,
    /// A checkbox: present when ticked.
    active: Option<String>,
}

pub async fn save_checklist_item(
    user: PageUser<crate::auth::ManageSettings>,
    CsrfForm(form): CsrfForm<ChecklistItemForm>,
) -> Result<Response, PageError> {
    user.store
        .wuyou_item_save(
            boai_domain::network::WuyouItem {
                code: form.code,
                name_zh: form.name_zh,
                name_en: form.name_en,
            },
            form.active.is_some(),
        )
        .await?;
    Ok(Redirect::to("/network").into_response())
}
