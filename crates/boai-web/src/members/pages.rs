//! Member pages: list (filters, export, search by ID number), new member,
//! member page (dues history, payment form), dues settings, arrears with
//! reminders and lapsing, and the import page.

use super::{read_member_import, template_sheet};
use crate::auth::csrf::{CsrfForm, CsrfMultipart};
use crate::auth::{ManageDues, ManageMembers, PageUser, ViewMembers};
use crate::components::export::{Cell, Sheet};
use crate::components::list::{export_href, xlsx_download, CellView, ListQuery, ListView, Pager};
use crate::pages::{lang_of, render, Layout};
use crate::query::PageQuery;
use crate::{ApiError, PageError};
use askama::Template;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::ids::OrgId;
use boai_domain::members::{
    years_text, MemberForCreate, MemberId, MemberInput, MemberStatus, MemberType, PaymentForCreate, PaymentInput,
};
use boai_domain::money::{parse_yuan, Fen};
use boai_domain::orgs::{Org, OrgLevel};
use boai_domain::validation::FieldErrors;
use boai_store::members::{Member, MemberFilter, MemberView, Reminder};
use boai_store::network::{ImportMode, ImportReport};
use boai_store::{Page, ScopedStore, StoreError};
use serde::Deserialize;

/// Yuan text of fen.
pub fn yuan(fen: impl std::borrow::Borrow<i64>) -> String {
    Fen(*fen.borrow()).display_yuan()
}

fn status_text(m: &Member) -> String {
    match (m.status, m.lapsed_on) {
        (MemberStatus::Lapsed, Some(d)) => format!("{} ({})", m.status.label_zh(), d.format("%Y-%m-%d")),
        _ => m.status.label_zh().to_owned(),
    }
}

fn arrears_text(m: &Member) -> String {
    if m.arrears_years.is_empty() {
        "—".to_owned()
    } else {
        format!("{} ({})", years_text(&m.arrears_years), yuan(m.arrears_fen))
    }
}

const COLUMNS: [&str; 9] = [
    "会员编号",
    "姓名或名称",
    "会员类型",
    "身份证号码",
    "所属基层组织",
    "所属区县",
    "入会日期",
    "状态",
    "欠缴年度",
];

fn export_row(m: &Member) -> Vec<Cell> {
    vec![
        Cell::Text(m.member_no.clone()),
        Cell::Text(m.name.clone()),
        Cell::Text(m.type_name.clone()),
        m.id_card_masked.clone().map_or(Cell::Empty, Cell::Text),
        Cell::Text(m.unit_name.clone()),
        Cell::Text(m.branch_name.clone().unwrap_or_default()),
        Cell::Date(m.joined_on),
        Cell::Text(status_text(m)),
        Cell::Text(if m.arrears_years.is_empty() {
            String::new()
        } else {
            years_text(&m.arrears_years)
        }),
    ]
}

fn view_row(m: &Member) -> Vec<CellView> {
    vec![
        CellView::link(&m.member_no, format!("/members/{}", m.id)),
        CellView::link(&m.name, format!("/members/{}", m.id)),
        CellView::text(&m.type_name),
        CellView::text(m.id_card_masked.clone().unwrap_or_else(|| "—".to_owned())),
        CellView::link(&m.unit_name, format!("/network/units/{}", m.unit_id)),
        CellView::text(
            m.branch_name
                .as_deref()
                .map(|b| b.trim_end_matches("红十字会").to_owned())
                .unwrap_or_default(),
        ),
        CellView::text(m.joined_on.format("%Y-%m-%d").to_string()),
        CellView::text(status_text(m)),
        CellView::text(arrears_text(m)),
    ]
}

/// The search to run and the text to show in the search box: a full ID
/// number becomes its keyed-hash token and is shown masked; a token stays a
/// token (shown as such); anything else is itself.
fn search_terms(store: &ScopedStore, q: &str) -> (String, String) {
    match store.id_search_token(q) {
        Some((token, masked)) => (token, masked),
        None => (q.trim().to_owned(), q.trim().to_owned()),
    }
}

/// The list's query.
#[derive(Debug, Deserialize)]
pub struct MembersQuery {
    #[serde(flatten)]
    list: ListQuery,
    unit: Option<String>,
    branch: Option<String>,
    #[serde(rename = "type")]
    type_code: Option<String>,
    status: Option<String>,
    arrears: Option<String>,
}

async fn branches(store: &ScopedStore) -> Result<Vec<Org>, StoreError> {
    Ok(store
        .orgs_tree()
        .await?
        .into_iter()
        .filter(|o| o.level == OrgLevel::District)
        .collect())
}

#[derive(Template)]
#[template(path = "members_list.html")]
struct ListPage {
    layout: Layout,
    q: String,
    unit: String,
    unit_name: String,
    branch: String,
    type_code: String,
    status: String,
    arrears: bool,
    branches: Vec<Org>,
    types: Vec<MemberType>,
    statuses: Vec<(&'static str, &'static str)>,
    can_manage: bool,
    can_settings: bool,
    list: ListView,
}

pub async fn list(
    headers: HeaderMap,
    user: PageUser<ViewMembers>,
    PageQuery(q): PageQuery<MembersQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let unit_id = q.unit.as_deref().and_then(|u| u.parse::<OrgId>().ok());
    let branch_id = q.branch.as_deref().and_then(|b| b.parse::<OrgId>().ok());
    let status = q.status.as_deref().and_then(MemberStatus::parse);
    let arrears = q.arrears.as_deref().is_some_and(|a| !a.is_empty() && a != "0");
    let type_code = q.type_code.clone().unwrap_or_default();
    // A full ID number never goes back to the browser: links carry a keyed
    // hash token instead, the search box the masked number.
    let (search, shown) = search_terms(&user.store, q.list.q());
    let filter = MemberFilter {
        q: Some(search.clone()),
        unit_id,
        branch_id,
        type_code: Some(type_code.clone()).filter(|t| !t.is_empty()),
        status,
        arrears_only: arrears,
    };
    let members = user.store.members_all(&filter).await?;
    let params = [
        ("q", search.clone()),
        ("unit", unit_id.map(|u| u.to_string()).unwrap_or_default()),
        ("branch", branch_id.map(|b| b.to_string()).unwrap_or_default()),
        ("type", type_code.clone()),
        ("status", status.map(|s| s.as_str().to_owned()).unwrap_or_default()),
        ("arrears", if arrears { "1".to_owned() } else { String::new() }),
    ];
    if q.list.wants_xlsx() {
        let sheet = Sheet {
            name: "会员".to_owned(),
            columns: COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
            rows: members.iter().map(export_row).collect(),
        };
        return Ok(xlsx_download(if arrears { "欠缴会费会员" } else { "会员" }, &sheet)?);
    }
    let page = q.list.page();
    let total = members.len() as u64;
    let rows = members
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(100))
        .map(view_row)
        .collect();
    let unit_name = match unit_id {
        Some(u) => user.store.org_get(u).await.map(|o| o.name).unwrap_or_default(),
        None => String::new(),
    };
    let role = user.identity.actor.role;
    Ok(render(&ListPage {
        layout: Layout::new(lang, "会员", "/orgs", Some(&user.identity)),
        q: shown,
        unit: params[1].1.clone(),
        unit_name,
        branch: params[2].1.clone(),
        type_code,
        status: params[4].1.clone(),
        arrears,
        branches: branches(&user.store).await?,
        types: user.store.dues_settings().await?.types,
        statuses: MemberStatus::ALL.iter().map(|s| (s.as_str(), s.label_zh())).collect(),
        can_manage: role.can(Permission::ManageMembers),
        can_settings: role.can(Permission::ManageDues),
        list: ListView {
            columns: COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
            rows,
            pager: Pager::new("/members", &params, page, total),
            export_href: export_href("/members", &params),
        },
    }))
}

/// The new-member form's fields, kept to show again.
#[derive(Debug, Default, Deserialize)]
pub struct NewMemberForm {
    #[serde(default)]
    unit_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    type_code: String,
    #[serde(default)]
    id_card_no: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    joined_on: String,
}

#[derive(Template)]
#[template(path = "member_new.html")]
struct NewPage {
    layout: Layout,
    form: NewMemberForm,
    types: Vec<MemberType>,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    unit_code: Option<String>,
}

pub async fn new_form(
    headers: HeaderMap,
    user: PageUser<ManageMembers>,
    PageQuery(q): PageQuery<NewQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    Ok(render(&NewPage {
        layout: Layout::new(lang, "登记会员", "/orgs", Some(&user.identity)),
        form: NewMemberForm {
            unit_code: q.unit_code.unwrap_or_default(),
            ..NewMemberForm::default()
        },
        types: user.store.dues_settings().await?.types,
        errors: FieldErrors::new(),
    }))
}

pub async fn create(
    headers: HeaderMap,
    user: PageUser<ManageMembers>,
    CsrfForm(mut form): CsrfForm<NewMemberForm>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let types = user.store.dues_settings().await?.types;
    let today = user.store.today();
    let input = MemberInput {
        name: Some(form.name.clone()),
        type_code: Some(form.type_code.clone()),
        id_card_no: Some(form.id_card_no.clone()),
        credit_code: Some(form.credit_code.clone()),
        phone: Some(form.phone.clone()),
        joined_on: Some(form.joined_on.clone()),
    };
    let mut errors = FieldErrors::new();
    let unit = user.store.unit_by_code(form.unit_code.trim()).await?;
    if unit.is_none() {
        errors.add("unit_code", "基层组织代码不存在或不在您的管辖范围内");
    }
    let parsed = MemberForCreate::parse(&input, &types, today);
    let result = match (parsed, unit) {
        (Ok(member), Some(unit)) if errors.is_empty() => user.store.member_create(unit, member).await,
        (Err(e), _) => Err(StoreError::Invalid(FieldErrors(
            errors.0.into_iter().chain(e.0).collect(),
        ))),
        _ => Err(StoreError::Invalid(errors)),
    };
    match result {
        Ok(view) => Ok(Redirect::to(&format!("/members/{}", view.member.id)).into_response()),
        Err(StoreError::Invalid(errors)) => {
            // The ID number is never sent back to the browser.
            form.id_card_no.clear();
            let mut response = render(&NewPage {
                layout: Layout::new(lang, "登记会员", "/orgs", Some(&user.identity)),
                form,
                types,
                errors,
            });
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

/// The payment form's fields, kept to show again.
#[derive(Debug, Default, Deserialize)]
pub struct PayForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    receipt_no: String,
    #[serde(default)]
    paid_on: String,
}

#[derive(Template)]
#[template(path = "member_detail.html")]
struct DetailPage {
    layout: Layout,
    view: MemberView,
    can_manage: bool,
    form: PayForm,
    errors: FieldErrors,
    arrears: String,
}

async fn detail_page(
    user: &PageUser<impl crate::auth::Need>,
    headers: &HeaderMap,
    id: MemberId,
    form: Option<PayForm>,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let view = user.store.member_get(id).await?;
    let form = match form {
        Some(f) => f,
        None => {
            let settings = user.store.dues_settings().await?;
            let year = view
                .member
                .arrears_years
                .first()
                .copied()
                .unwrap_or_else(|| user.store.dues_year());
            let amount = settings
                .rates
                .iter()
                .find(|(t, y, _)| *t == view.member.type_code && *y == year)
                .map(|(_, _, f)| Fen(*f).display_yuan().trim_start_matches('¥').replace(',', ""))
                .unwrap_or_default();
            PayForm {
                year: year.to_string(),
                amount,
                ..PayForm::default()
            }
        }
    };
    let failed = !errors.is_empty();
    let mut response = render(&DetailPage {
        layout: Layout::new(lang, view.member.name.clone(), "/orgs", Some(&user.identity)),
        arrears: arrears_text(&view.member),
        can_manage: user.identity.actor.role.can(Permission::ManageMembers),
        view,
        form,
        errors,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

pub async fn detail(
    headers: HeaderMap,
    user: PageUser<ViewMembers>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    if id == "new" {
        return Err(ApiError::NotFound.into());
    }
    let id: MemberId = id.parse().map_err(|_| ApiError::NotFound)?;
    detail_page(&user, &headers, id, None, FieldErrors::new()).await
}

pub async fn pay(
    headers: HeaderMap,
    user: PageUser<ManageMembers>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PayForm>,
) -> Result<Response, PageError> {
    let id: MemberId = id.parse().map_err(|_| ApiError::NotFound)?;
    let input = PaymentInput {
        year: Some(form.year.clone()),
        amount: Some(form.amount.clone()),
        amount_fen: None,
        receipt_no: Some(form.receipt_no.clone()),
        paid_on: Some(form.paid_on.clone()),
    };
    let result = match PaymentForCreate::parse(&input, user.store.today()) {
        Ok(p) => user.store.payment_record(id, p, None).await.map(|_| ()),
        Err(e) => Err(StoreError::Invalid(e)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/members/{id}")).into_response()),
        Err(StoreError::Invalid(errors)) => detail_page(&user, &headers, id, Some(form), errors).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "members_dues.html")]
struct DuesPage {
    layout: Layout,
    types: Vec<MemberType>,
    years: Vec<i32>,
    /// (type name, amounts by year as text)
    table: Vec<(String, Vec<String>)>,
    lapse_after: u32,
    can_manage: bool,
    errors: FieldErrors,
    saved: bool,
}

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

async fn dues_page(
    user: &PageUser<impl crate::auth::Need>,
    headers: &HeaderMap,
    errors: FieldErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let settings = user.store.dues_settings().await?;
    let mut years: Vec<i32> = settings.rates.iter().map(|r| r.1).collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    years.dedup();
    let table = settings
        .types
        .iter()
        .map(|t| {
            (
                t.name_zh.clone(),
                years
                    .iter()
                    .map(|y| {
                        settings
                            .rates
                            .iter()
                            .find(|(c, ry, _)| *c == t.code && ry == y)
                            .map_or_else(|| "—".to_owned(), |r| yuan(r.2))
                    })
                    .collect(),
            )
        })
        .collect();
    let failed = !errors.is_empty();
    let mut response = render(&DuesPage {
        layout: Layout::new(lang, "会费标准", "/orgs", Some(&user.identity)),
        types: settings.types,
        years,
        table,
        lapse_after: settings.lapse_after,
        can_manage: user.identity.actor.role.can(Permission::ManageDues),
        errors,
        saved,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

pub async fn dues(
    headers: HeaderMap,
    user: PageUser<ViewMembers>,
    PageQuery(q): PageQuery<SavedQuery>,
) -> Result<Response, PageError> {
    dues_page(&user, &headers, FieldErrors::new(), q.saved.is_some()).await
}

/// Either a rate (type, year, amount) or the lapse rule.
#[derive(Debug, Default, Deserialize)]
pub struct DuesForm {
    #[serde(default)]
    type_code: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    lapse_after: String,
}

pub async fn dues_save(
    headers: HeaderMap,
    user: PageUser<ManageDues>,
    CsrfForm(form): CsrfForm<DuesForm>,
) -> Result<Response, PageError> {
    let result = if !form.lapse_after.trim().is_empty() {
        match form.lapse_after.trim().parse::<u32>() {
            Ok(n) => user.store.members_set_lapse_after(n).await,
            Err(_) => {
                let mut e = FieldErrors::new();
                e.add("lapse_after", "失效年限应为 1–10 年");
                Err(StoreError::Invalid(e))
            }
        }
    } else {
        let mut e = FieldErrors::new();
        let year = form.year.trim().parse::<i32>().ok();
        if year.is_none() {
            e.add("year", "请填写年度");
        }
        let amount = parse_yuan(form.amount.trim());
        if amount.is_none() {
            e.add("amount", "金额应为元数, 最多两位小数");
        }
        match (year, amount) {
            (Some(y), Some(a)) if e.is_empty() => user.store.dues_set_rate(form.type_code.trim(), y, a).await,
            _ => Err(StoreError::Invalid(e)),
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to("/members/dues?saved=1").into_response()),
        Err(StoreError::Invalid(errors)) => dues_page(&user, &headers, errors, false).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "members_arrears.html")]
struct ArrearsPage {
    layout: Layout,
    q: String,
    branch: String,
    branches: Vec<Org>,
    list: ListView,
    outbox: Vec<Reminder>,
    outbox_pager: Pager,
    can_manage: bool,
    notice: String,
}

#[derive(Debug, Deserialize)]
pub struct ArrearsQuery {
    #[serde(flatten)]
    list: ListQuery,
    branch: Option<String>,
    #[serde(default, deserialize_with = "crate::query::opt_u64")]
    opage: Option<u64>,
    #[serde(default, deserialize_with = "crate::query::opt_u64")]
    sent: Option<u64>,
    #[serde(default, deserialize_with = "crate::query::opt_u64")]
    lapsed: Option<u64>,
}

pub async fn arrears(
    headers: HeaderMap,
    user: PageUser<ViewMembers>,
    PageQuery(q): PageQuery<ArrearsQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let branch_id = q.branch.as_deref().and_then(|b| b.parse::<OrgId>().ok());
    let (search, shown) = search_terms(&user.store, q.list.q());
    let members = user
        .store
        .members_all(&MemberFilter {
            q: Some(search.clone()),
            branch_id,
            status: Some(MemberStatus::Active),
            arrears_only: true,
            ..MemberFilter::default()
        })
        .await?;
    let params = [
        ("q", search.clone()),
        ("branch", branch_id.map(|b| b.to_string()).unwrap_or_default()),
    ];
    if q.list.wants_xlsx() {
        let sheet = Sheet {
            name: "欠缴会费".to_owned(),
            columns: COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
            rows: members.iter().map(export_row).collect(),
        };
        return Ok(xlsx_download("欠缴会费会员", &sheet)?);
    }
    let page = q.list.page();
    let total = members.len() as u64;
    let rows = members
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.per_page).unwrap_or(100))
        .map(view_row)
        .collect();
    let opage = Page::new(q.opage, Some(20));
    let (outbox, outbox_total) = user.store.reminders_list(opage).await?;
    let mut notice = String::new();
    if let Some(n) = q.sent {
        notice = format!("已生成 {n} 条催缴提醒 (已提醒过的会员本年度不再重复)");
    }
    if let Some(n) = q.lapsed {
        notice = format!("已将 {n} 名会员标记为失效");
    }
    let outbox_params: Vec<(&str, String)> = params.to_vec();
    let mut outbox_pager = Pager::new("/members/arrears", &outbox_params, opage, outbox_total);
    // The outbox pages with `opage`, not `page`.
    let fix = |h: Option<String>| h.map(|h| h.replace("&page=", "&opage=").replace("?page=", "?opage="));
    outbox_pager.prev_href = fix(outbox_pager.prev_href);
    outbox_pager.next_href = fix(outbox_pager.next_href);
    Ok(render(&ArrearsPage {
        layout: Layout::new(lang, "欠缴会费", "/orgs", Some(&user.identity)),
        q: shown,
        branch: params[1].1.clone(),
        branches: branches(&user.store).await?,
        list: ListView {
            columns: COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
            rows,
            pager: Pager::new("/members/arrears", &params, page, total),
            export_href: export_href("/members/arrears", &params),
        },
        outbox,
        outbox_pager,
        can_manage: user.identity.actor.role.can(Permission::ManageMembers),
        notice,
    }))
}

pub async fn send_reminders(
    user: PageUser<ManageMembers>,
    CsrfForm(_): CsrfForm<FieldsIgnored>,
) -> Result<Response, PageError> {
    let n = user.store.reminders_send().await?;
    Ok(Redirect::to(&format!("/members/arrears?sent={n}")).into_response())
}

pub async fn lapse(user: PageUser<ManageMembers>, CsrfForm(_): CsrfForm<FieldsIgnored>) -> Result<Response, PageError> {
    let n = user.store.members_lapse().await?;
    Ok(Redirect::to(&format!("/members/arrears?lapsed={n}")).into_response())
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Default, Deserialize)]
pub struct FieldsIgnored {}

#[derive(Template)]
#[template(path = "members_import.html")]
struct ImportPage {
    layout: Layout,
    error: String,
    report: Option<ImportReport>,
}

pub async fn import_form(headers: HeaderMap, user: PageUser<ManageMembers>) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    Ok(render(&ImportPage {
        layout: Layout::new(lang, "导入会员", "/orgs", Some(&user.identity)),
        error: String::new(),
        report: None,
    }))
}

pub async fn import_submit(
    headers: HeaderMap,
    user: PageUser<ManageMembers>,
    upload: CsrfMultipart,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let page = |error: String, report: Option<ImportReport>| {
        let failed = !error.is_empty();
        let mut response = render(&ImportPage {
            layout: Layout::new(lang, "导入会员", "/orgs", Some(&user.identity)),
            error,
            report,
        });
        if failed {
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        }
        response
    };
    let Some(mode) = ImportMode::parse(&upload.text("mode")) else {
        return Ok(page("请选择导入方式".to_owned(), None));
    };
    let Some(file) = upload.file("file") else {
        return Ok(page("请选择要导入的文件".to_owned(), None));
    };
    let types = user.store.dues_settings().await?.types;
    let rows = match read_member_import(&file.bytes, &types, user.store.today()) {
        Ok(rows) => rows,
        Err(message) => return Ok(page(message, None)),
    };
    let report = user.store.members_import(rows, mode).await?;
    Ok(page(String::new(), Some(report)))
}

pub async fn import_template(_user: PageUser<ViewMembers>) -> Result<Response, PageError> {
    Ok(xlsx_download("会员导入模板", &template_sheet())?)
}
