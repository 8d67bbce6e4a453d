//! Relief pages: the public application form (phone first) and its answer,
//! the status look-up, a paid case's public page; the staff overview with
//! figures and charts, case list, case page (review, payment, the entry it
//! drew on), programme page (figures by district and month, rule form),
//! filing on behalf of a person, the bank's payment file.

use super::{ApplyForm, PublicMultipart, APPLY_CSRF_COOKIE};
use crate::auth::csrf::{CsrfForm, CsrfMultipart};
use crate::auth::pages::RawParts;
use crate::auth::{new_secret, HandleRelief, ManageFunds, MaybeCaller, PageUser, ViewRelief};
use crate::components::chart::{Bar, BarChart, LineChart};
use crate::components::export::{Cell, Sheet};
use crate::components::list::xlsx_download;
use crate::pages::{lang_of, render, Layout};
use crate::query::PageQuery;
use crate::{ApiError, AppState, PageError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::ids::OrgId;
use boai_domain::money::Fen;
use boai_domain::relief::review::{level_label, CaseStatus, Decision};
use boai_domain::relief::rules::{Combine, Condition, Field, Rule};
use boai_domain::relief::{CaseId, Figures, ProgrammeId, Tally, HARDSHIP};
use boai_domain::validation::FieldErrors;
use boai_store::relief::{Case, CaseDetail, CaseFilter, CaseStatusView, Programme, PublicCase, ReviewInput};
use boai_store::{Page, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

fn yuan(f: i64) -> String {
    Fen(f).display_yuan()
}

fn china_time(at: chrono::DateTime<chrono::Utc>) -> String {
    chrono::FixedOffset::east_opt(8 * 3600)
        .map(|tz| at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

// ------------------------------------------------------------ public form

/// A programme as the form shows it.
pub struct ProgrammeChoice {
    pub id: String,
    pub name: String,
    pub documents: Vec<String>,
    pub payee_person: bool,
    pub standard: String,
    pub max: String,
    pub rule_text: String,
}

fn choice(p: &Programme) -> ProgrammeChoice {
    ProgrammeChoice {
        id: p.id.to_string(),
        name: p.name.clone(),
        documents: p.settings.documents.clone(),
        payee_person: p.settings.payee == boai_domain::relief::Payee::Person,
        standard: p.settings.standard_grant.display_yuan(),
        max: p.settings.max_grant.display_yuan(),
        rule_text: p.settings.rule.describe(),
    }
}

#[derive(Template)]
#[template(path = "relief/apply.html")]
struct ApplyPage {
    layout: Layout,
    action: String,
    csrf: String,
    programmes: Vec<ProgrammeChoice>,
    chosen: Option<ProgrammeChoice>,
    districts: Vec<String>,
    hardship: Vec<&'static str>,
    units: Vec<(String, String)>,
    staff: bool,
    form: ApplyForm,
    errors: FieldErrors,
    error_list: Vec<String>,
    /// The separate consent to health information: its text and version.
    consent_text: &'static str,
    consent_version: &'static str,
}

#[derive(Debug, Deserialize)]
pub struct ApplyQuery {
    programme: Option<String>,
}

fn set_cookie(state: &AppState, response: &mut Response, value: &str) {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{APPLY_CSRF_COOKIE}={value}; Path=/relief; HttpOnly; SameSite=Strict; Max-Age=7200{secure}"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply_page(
    state: &AppState,
    lang: crate::i18n::Lang,
    caller: Option<&crate::auth::Identity>,
    staff: Option<&boai_store::ScopedStore>,
    csrf: String,
    form: ApplyForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let programmes = match staff {
        Some(s) => s.relief_programmes().await?,
        None => state.store.relief_programmes_public().await?,
    };
    let chosen = programmes
        .iter()
        .find(|p| p.id.to_string() == form.programme_id)
        .map(choice);
    let units = match staff {
        Some(s) if s.actor().scope.is_district_or_above() => {
            let all = s.orgs_tree().await?;
            all.into_iter()
                .filter(|o| o.level == boai_domain::orgs::OrgLevel::Unit)
                .take(400)
                .map(|o| (o.id.to_string(), o.name))
                .collect()
        }
        _ => Vec::new(),
    };
    let error_list = errors.0.iter().map(|e| e.message.clone()).collect();
    let action = if staff.is_some() {
        "/relief/new"
    } else {
        "/relief/apply"
    };
    let mut response = render(&ApplyPage {
        layout: Layout::new(lang, "人道救助申请", action, caller),
        action: action.to_owned(),
        csrf: csrf.clone(),
        programmes: programmes.iter().map(choice).collect(),
        chosen,
        districts: state.store.relief_districts().await?,
        hardship: HARDSHIP.to_vec(),
        units,
        staff: staff.is_some(),
        form,
        errors,
        error_list,
        consent_text: boai_domain::privacy::HEALTH_CONSENT_TEXT,
        consent_version: boai_domain::privacy::HEALTH_CONSENT_VERSION,
    });
    *response.status_mut() = status;
    if staff.is_none() {
        set_cookie(state, &mut response, &csrf);
    }
    Ok(response)
}

/// `/relief/apply`: the public application form (pick a programme first).
pub async fn apply_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCaller(caller): MaybeCaller,
    PageQuery(q): PageQuery<ApplyQuery>,
) -> Result<Response, PageError> {
    let form = ApplyForm {
        programme_id: q.programme.unwrap_or_default(),
        household_size: "1".to_owned(),
        ..ApplyForm::default()
    };
    apply_page(
        &state,
        lang_of(&headers),
        caller.as_ref(),
        None,
        new_secret(),
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

#[derive(Template)]
#[template(path = "relief/applied.html")]
struct AppliedPage {
    layout: Layout,
    case_no: String,
    lookup_code: String,
    programme: String,
    amount: String,
}

/// Files the public form (rate-limited before the body is read, CSRF-checked).
pub async fn apply_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    upload: PublicMultipart,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let form = ApplyForm::from_fields(&upload.fields);
    let csrf = upload.fields.get("csrf").cloned().unwrap_or_default();
    let programmes = state.store.relief_programmes_public().await?;
    let Some(programme) = programmes.iter().find(|p| p.id.to_string() == form.programme_id) else {
        let mut e = FieldErrors::new();
        e.add("programme_id", "请选择救助项目");
        return apply_page(
            &state,
            lang,
            caller.as_ref(),
            None,
            csrf,
            form,
            e,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = form.input(&programme.settings, &upload.files);
    match state
        .store
        .relief_apply_online(
            programme.id,
            &input,
            state.relief_files.as_ref(),
            crate::auth::client_ip(&parts),
        )
        .await
    {
        Ok(filed) => Ok(render(&AppliedPage {
            layout: Layout::new(lang, "申请已受理", "/relief/apply", caller.as_ref()),
            case_no: filed.case.case_no.clone(),
            lookup_code: filed.lookup_code.clone(),
            programme: programme.name.clone(),
            amount: filed.case.amount.display_yuan(),
        })),
        Err(StoreError::Invalid(e)) => {
            apply_page(
                &state,
                lang,
                caller.as_ref(),
                None,
                csrf,
                form,
                e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `/relief/new`: staff file on behalf of a person.
pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<HandleRelief>,
    PageQuery(q): PageQuery<ApplyQuery>,
) -> Result<Response, PageError> {
    let form = ApplyForm {
        programme_id: q.programme.unwrap_or_default(),
        household_size: "1".to_owned(),
        ..ApplyForm::default()
    };
    apply_page(
        &state,
        lang_of(&headers),
        Some(&user.identity),
        Some(&user.store),
        user.identity.csrf_token().to_owned(),
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn new_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<HandleRelief>,
    upload: CsrfMultipart,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let form = ApplyForm::from_fields(&upload.fields);
    let csrf = user.identity.csrf_token().to_owned();
    let programmes = user.store.relief_programmes().await?;
    let Some(programme) = programmes.iter().find(|p| p.id.to_string() == form.programme_id) else {
        let mut e = FieldErrors::new();
        e.add("programme_id", "请选择救助项目");
        return apply_page(
            &state,
            lang,
            Some(&user.identity),
            Some(&user.store),
            csrf,
            form,
            e,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let input = form.input(&programme.settings, &upload.files);
    let unit = form.unit_id.parse().ok().map(OrgId);
    match user
        .store
        .relief_apply(programme.id, unit, &input, state.relief_files.as_ref())
        .await
    {
        Ok(filed) => Ok(Redirect::to(&format!("/relief/cases/{}", filed.case.id)).into_response()),
        Err(StoreError::Invalid(e)) => {
            apply_page(
                &state,
                lang,
                Some(&user.identity),
                Some(&user.store),
                csrf,
                form,
                e,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------ public look-ups

#[derive(Template)]
#[template(path = "relief/status.html")]
struct StatusPage {
    layout: Layout,
    case_no: String,
    found: Option<CaseStatusView>,
    error: String,
}

impl StatusPage {
    fn amount(&self) -> String {
        self.found.as_ref().map(|f| f.amount.display_yuan()).unwrap_or_default()
    }
}

pub async fn status_form(headers: HeaderMap, MaybeCaller(caller): MaybeCaller) -> Response {
    render(&StatusPage {
        layout: Layout::new(lang_of(&headers), "救助申请进度查询", "/relief/status", caller.as_ref()),
        case_no: String::new(),
        found: None,
        error: String::new(),
    })
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    case_no: String,
    lookup_code: String,
}

pub async fn status_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawParts(parts): RawParts,
    MaybeCaller(caller): MaybeCaller,
    axum::Form(form): axum::Form<StatusForm>,
) -> Result<Response, PageError> {
    state
        .lookup_limiter
        .check(crate::auth::client_ip(&parts).as_deref())
        .map_err(|secs| ApiError::TooManyRequests { retry_after_secs: secs })?;
    let found = state.store.relief_status(&form.case_no, &form.lookup_code).await?;
    let error = if found.is_none() {
        "未找到: 案件号或查询码不正确".to_owned()
    } else {
        String::new()
    };
    let mut response = render(&StatusPage {
        layout: Layout::new(lang_of(&headers), "救助申请进度查询", "/relief/status", caller.as_ref()),
        case_no: form.case_no,
        found,
        error,
    });
    if response.status() == StatusCode::OK && !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

#[derive(Template)]
#[template(path = "relief/aided.html")]
struct AidedPage {
    layout: Layout,
    case: PublicCase,
    amount: String,
}

/// `/relief/aided/{ledger_index}`: a paid case, without personal data.
pub async fn aided(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCaller(caller): MaybeCaller,
    Path(index): Path<i64>,
) -> Result<Response, PageError> {
    let case = state.store.relief_public_case(index).await?;
    Ok(render(&AidedPage {
        layout: Layout::new(lang_of(&headers), "受助个案", "/relief/aided", caller.as_ref()),
        amount: case.amount.display_yuan(),
        case,
    }))
}

// ------------------------------------------------------------ staff overview

/// One programme's line of the overview.
pub struct ProgrammeLine {
    pub id: String,
    pub name: String,
    pub budget: String,
    pub tally: Tally,
    pub paid: String,
}

#[derive(Template)]
#[template(path = "relief/index.html")]
struct IndexPage {
    layout: Layout,
    lines: Vec<ProgrammeLine>,
    total: Tally,
    total_paid: String,
    overdue: u64,
    chart: String,
    can_file: bool,
    can_pay: bool,
}

pub async fn index(headers: HeaderMap, user: PageUser<ViewRelief>) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let programmes = user.store.relief_programmes().await?;
    let mut lines = Vec::with_capacity(programmes.len());
    let mut total = Tally::default();
    for p in &programmes {
        let f = user.store.relief_figures(Some(p.id)).await?;
        total.applications += f.total.applications;
        total.approved += f.total.approved;
        total.paid += f.total.paid;
        total.paid_fen += f.total.paid_fen;
        total.people += f.total.people;
        lines.push(ProgrammeLine {
            id: p.id.to_string(),
            name: p.name.clone(),
            budget: p.settings.yearly_budget.display_yuan(),
            paid: yuan(f.total.paid_fen),
            tally: f.total,
        });
    }
    let (_, overdue) = user
        .store
        .relief_cases(
            &CaseFilter {
                overdue: true,
                ..CaseFilter::default()
            },
            Page::new(Some(1), Some(1)),
        )
        .await?;
    let chart = BarChart {
        title: "各项目已拨付救助金 (元)".to_owned(),
        unit: "元".to_owned(),
        bars: lines
            .iter()
            .map(|l| Bar {
                label: l.name.clone(),
                value: l.tally.paid_fen / 100,
            })
            .collect(),
    }
    .to_svg();
    let role = user.identity.actor.role;
    Ok(render(&IndexPage {
        layout: Layout::new(lang, "人道救助", "/relief", Some(&user.identity)),
        total_paid: yuan(total.paid_fen),
        lines,
        total,
        overdue,
        chart,
        can_file: role.can(Permission::HandleRelief),
        can_pay: role.can(Permission::ManageFunds),
    }))
}

/// One row of a case list.
pub struct CaseRow {
    pub id: String,
    pub case_no: String,
    pub programme: String,
    pub applicant: String,
    pub district: String,
    pub amount: String,
    pub status: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "relief/cases.html")]
struct CasesPage {
    layout: Layout,
    rows: Vec<CaseRow>,
    total: u64,
    programmes: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    programme: String,
    status: String,
    overdue: bool,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CasesQuery {
    programme_id: Option<String>,
    status: Option<String>,
    overdue: Option<String>,
    page: Option<u64>,
}

fn case_rows(cases: &[Case], names: &HashMap<ProgrammeId, String>) -> Vec<CaseRow> {
    cases
        .iter()
        .map(|c| CaseRow {
            id: c.id.to_string(),
            case_no: c.case_no.clone(),
            programme: names.get(&c.programme_id).cloned().unwrap_or_default(),
            applicant: c.applicant_name.clone(),
            district: c.district.clone(),
            amount: c.amount.display_yuan(),
            status: c.status.label_zh().to_owned(),
            created: china_time(c.created_at),
        })
        .collect()
}

pub async fn cases(
    headers: HeaderMap,
    user: PageUser<ViewRelief>,
    PageQuery(q): PageQuery<CasesQuery>,
) -> Result<Response, PageError> {
    let programmes = user.store.relief_programmes().await?;
    let names: HashMap<ProgrammeId, String> = programmes.iter().map(|p| (p.id, p.name.clone())).collect();
    let filter = CaseFilter {
        programme_id: q.programme_id.as_deref().and_then(|p| p.parse().ok()).map(ProgrammeId),
        status: q.status.as_deref().and_then(CaseStatus::parse),
        overdue: q.overdue.as_deref() == Some("1"),
    };
    let page = Page::new(q.page, Some(50));
    let (list, total) = user.store.relief_cases(&filter, page).await?;
    let base = format!(
        "/relief/cases?programme_id={}&status={}&overdue={}",
        q.programme_id.clone().unwrap_or_default(),
        q.status.clone().unwrap_or_default(),
        if filter.overdue { "1" } else { "" }
    );
    Ok(render(&CasesPage {
        layout: Layout::new(lang_of(&headers), "救助案件", "/relief/cases", Some(&user.identity)),
        rows: case_rows(&list, &names),
        total,
        programmes: programmes.iter().map(|p| (p.id.to_string(), p.name.clone())).collect(),
        statuses: CaseStatus::ALL.iter().map(|s| (s.as_str(), s.label_zh())).collect(),
        programme: q.programme_id.unwrap_or_default(),
        status: q.status.unwrap_or_default(),
        overdue: filter.overdue,
        prev: (page.page > 1).then(|| format!("{base}&page={}", page.page - 1)),
        next: (page.offset() + page.per_page < total).then(|| format!("{base}&page={}", page.page + 1)),
    }))
}

// ------------------------------------------------------------ case page

/// A review as shown.
pub struct ReviewRow {
    pub level: String,
    pub decision: String,
    pub reason: String,
    pub reviewer: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "relief/case.html")]
struct CasePage {
    layout: Layout,
    d: CaseDetail,
    amount: String,
    income: String,
    created: String,
    due: String,
    step_label: String,
    reviews: Vec<ReviewRow>,
    entry_amount: String,
    can_review: bool,
    can_pay: bool,
    can_resubmit: bool,
    pending: bool,
    error: String,
}

async fn case_page<N: crate::auth::Need>(
    headers: &HeaderMap,
    user: &PageUser<N>,
    id: CaseId,
    error: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let d = user.store.relief_case(id).await?;
    let role = user.identity.actor.role;
    let step_label = d
        .programme
        .settings
        .flow
        .steps
        .get(usize::try_from(d.case.step).unwrap_or(0))
        .map(|s| level_label(s.level).to_owned())
        .unwrap_or_default();
    let reviews = d
        .reviews
        .iter()
        .map(|r| ReviewRow {
            level: boai_domain::orgs::OrgLevel::parse(&r.level)
                .map(level_label)
                .unwrap_or_default()
                .to_owned(),
            decision: Decision::parse(&r.decision)
                .map(Decision::label_zh)
                .unwrap_or_default()
                .to_owned(),
            reason: r.reason.clone().unwrap_or_default(),
            reviewer: r.reviewer_name.clone(),
            at: china_time(r.at),
        })
        .collect();
    let mut response = render(&CasePage {
        layout: Layout::new(
            lang_of(headers),
            d.case.case_no.clone(),
            "/relief/cases",
            Some(&user.identity),
        ),
        amount: d.case.amount.display_yuan(),
        income: d.case.household_income.display_yuan(),
        created: china_time(d.case.created_at),
        due: d.due.map(china_time).unwrap_or_default(),
        step_label,
        reviews,
        entry_amount: d.entry.as_ref().map(|e| e.amount.display_yuan()).unwrap_or_default(),
        can_review: role.can(Permission::HandleRelief) && d.case.status == CaseStatus::Pending,
        can_pay: role.can(Permission::ManageFunds) && d.case.status == CaseStatus::Approved,
        can_resubmit: role.can(Permission::HandleRelief) && d.case.status == CaseStatus::Returned,
        pending: d.case.status == CaseStatus::Pending,
        error,
        d,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn case(
    headers: HeaderMap,
    user: PageUser<ViewRelief>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response, PageError> {
    case_page(&headers, &user, CaseId(id), String::new(), StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    decision: String,
    reason: Option<String>,
}

fn error_text(e: &StoreError) -> Option<String> {
    match e {
        StoreError::Invalid(errors) => Some(
            errors
                .0
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        StoreError::Conflict(why) => Some(why.clone()),
        StoreError::Forbidden => Some("您的角色无权执行此操作".to_owned()),
        _ => None,
    }
}

pub async fn review(
    headers: HeaderMap,
    user: PageUser<HandleRelief>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> Result<Response, PageError> {
    let Some(decision) = Decision::parse(&form.decision) else {
        return case_page(
            &headers,
            &user,
            CaseId(id),
            "请选择审核意见".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match user
        .store
        .relief_review(
            CaseId(id),
            ReviewInput {
                decision,
                reason: form.reason,
            },
        )
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/relief/cases/{id}")).into_response()),
        Err(e) => match error_text(&e) {
            Some(text) => case_page(&headers, &user, CaseId(id), text, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

pub async fn resubmit(
    headers: HeaderMap,
    user: PageUser<HandleRelief>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    match user.store.relief_resubmit(CaseId(id)).await {
        Ok(_) => Ok(Redirect::to(&format!("/relief/cases/{id}")).into_response()),
        Err(e) => match error_text(&e) {
            Some(text) => case_page(&headers, &user, CaseId(id), text, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}

pub async fn pay(
    headers: HeaderMap,
    user: PageUser<ManageFunds>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    match user.store.relief_pay(&[CaseId(id)]).await {
        Ok(_) => Ok(Redirect::to(&format!("/relief/cases/{id}")).into_response()),
        Err(e) => match error_text(&e) {
            Some(text) => case_page(&headers, &user, CaseId(id), text, StatusCode::UNPROCESSABLE_ENTITY).await,
            None => Err(e.into()),
        },
    }
}

/// An attachment of a case in scope.
pub async fn attachment(
    State(state): State<AppState>,
    user: PageUser<ViewRelief>,
    Path((id, file)): Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<Response, PageError> {
    let (meta, bytes) = user
        .store
        .relief_attachment(CaseId(id), file, state.relief_files.as_ref())
        .await?;
    let mut response = crate::transparency::file_response(boai_store::transparency::DisclosureFile {
        name: meta.file_name,
        mime: meta.mime,
        bytes,
    })?;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

// ------------------------------------------------------------ programme page

/// One row of the rule form.
pub struct RuleRow {
    pub field: String,
    pub value: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "relief/programme.html")]
struct ProgrammePage {
    layout: Layout,
    p: Programme,
    figures: Figures,
    paid: String,
    budget: String,
    district_chart: String,
    month_chart: String,
    rows: Vec<RuleRow>,
    any: bool,
    fields: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    error: String,
    saved: bool,
}

impl ProgrammePage {
    fn yuan(&self, f: impl AsFen) -> String {
        yuan(f.fen())
    }

    fn level(&self, s: &boai_domain::relief::review::Step) -> &'static str {
        level_label(s.level)
    }
}

/// An amount in fen, however many references deep a template passes it.
trait AsFen {
    fn fen(&self) -> i64;
}

impl AsFen for i64 {
    fn fen(&self) -> i64 {
        *self
    }
}

impl<T: AsFen + ?Sized> AsFen for &T {
    fn fen(&self) -> i64 {
        (**self).fen()
    }
}

fn rule_rows(rule: &Rule, errors: &FieldErrors) -> Vec<RuleRow> {
    let mut rows: Vec<RuleRow> = rule
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| RuleRow {
            field: c.field.as_str().to_owned(),
            value: c.value.clone(),
            error: errors
                .for_field(&format!("conditions[{i}]"))
                .unwrap_or_default()
                .to_owned(),
        })
        .collect();
    for _ in 0..2 {
        rows.push(RuleRow {
            field: String::new(),
            value: String::new(),
            error: String::new(),
        });
    }
    rows
}

#[derive(Debug, Deserialize)]
pub struct ProgrammeQuery {
    saved: Option<String>,
}

async fn programme_page<N: crate::auth::Need>(
    headers: &HeaderMap,
    user: &PageUser<N>,
    id: ProgrammeId,
    rule: Option<Rule>,
    errors: FieldErrors,
    saved: bool,
) -> Result<Response, PageError> {
    let p = user.store.relief_programme(id).await?;
    let figures = user.store.relief_figures(Some(id)).await?;
    let district_chart = BarChart {
        title: "各区县受助人数".to_owned(),
        unit: "人".to_owned(),
        bars: figures
            .by_district
            .iter()
            .map(|(d, t)| Bar {
                label: d.clone(),
                value: i64::try_from(t.people).unwrap_or(i64::MAX),
            })
            .collect(),
    }
    .to_svg();
    let month_chart = LineChart {
        title: "每月申请数".to_owned(),
        unit: "件".to_owned(),
        points: figures
            .by_month
            .iter()
            .map(|(m, t)| (m.clone(), i64::try_from(t.applications).unwrap_or(i64::MAX)))
            .collect(),
    }
    .to_svg();
    let shown = rule.unwrap_or_else(|| p.settings.rule.clone());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&ProgrammePage {
        layout: Layout::new(
            lang_of(headers),
            p.name.clone(),
            "/relief/programmes",
            Some(&user.identity),
        ),
        paid: yuan(figures.total.paid_fen),
        budget: p.settings.yearly_budget.display_yuan(),
        district_chart,
        month_chart,
        rows: rule_rows(&shown, &errors),
        any: shown.combine == Combine::Any,
        fields: Field::ALL.iter().map(|f| (f.as_str(), f.label_zh())).collect(),
        can_edit: user.identity.actor.role.can(Permission::ManageProjects),
        error: errors
            .0
            .iter()
            .filter(|e| !e.field.starts_with("conditions["))
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        saved,
        figures,
        p,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn programme(
    headers: HeaderMap,
    user: PageUser<ViewRelief>,
    Path(id): Path<uuid::Uuid>,
    PageQuery(q): PageQuery<ProgrammeQuery>,
) -> Result<Response, PageError> {
    programme_page(
        &headers,
        &user,
        ProgrammeId(id),
        None,
        FieldErrors::new(),
        q.saved.is_some(),
    )
    .await
}

/// Saves the rule form: `combine`, then `field_i` / `value_i` rows (blank rows dropped).
pub async fn programme_rule(
    headers: HeaderMap,
    user: PageUser<crate::auth::ManageProjects>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let mut errors = FieldErrors::new();
    let mut conditions = Vec::new();
    for i in 0..22 {
        let field = form.get(&format!("field_{i}")).map(|s| s.trim()).unwrap_or_default();
        let value = form.get(&format!("value_{i}")).map(|s| s.trim()).unwrap_or_default();
        if field.is_empty() && value.is_empty() {
            continue;
        }
        match Field::parse(field) {
            Some(f) => conditions.push(Condition {
                field: f,
                op: f.operator(),
                value: value.to_owned(),
            }),
            None => errors.add("rule", format!("第 {} 行: 请选择条件", i + 1)),
        }
    }
    let rule = Rule {
        combine: Combine::parse(form.get("combine").map(String::as_str).unwrap_or("all")).unwrap_or(Combine::All),
        conditions,
    };
    if !errors.is_empty() {
        return programme_page(&headers, &user, ProgrammeId(id), Some(rule), errors, false).await;
    }
    let current = user.store.relief_programme(ProgrammeId(id)).await?;
    let settings = boai_domain::relief::Settings {
        rule: rule.clone(),
        ..current.settings
    };
    match user.store.relief_programme_update(ProgrammeId(id), settings).await {
        Ok(_) => Ok(Redirect::to(&format!("/relief/programmes/{id}?saved=1")).into_response()),
        Err(StoreError::Invalid(e)) => programme_page(&headers, &user, ProgrammeId(id), Some(rule), e, false).await,
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------ bank file

#[derive(Debug, Deserialize)]
pub struct PaymentFileQuery {
    programme_id: Option<uuid::Uuid>,
}

/// `/relief/payments.xlsx`: approved cases waiting for payment, for the bank.
pub async fn payment_file(
    user: PageUser<ManageFunds>,
    PageQuery(q): PageQuery<PaymentFileQuery>,
) -> Result<Response, PageError> {
    let list = user.store.relief_payable(q.programme_id.map(ProgrammeId)).await?;
    let sheet = Sheet {
        name: "救助款拨付".to_owned(),
        columns: [
            "案件号",
            "救助项目",
            "收款方",
            "开户银行",
            "银行账号",
            "金额 (元)",
            "批准时间",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        rows: list
            .iter()
            .map(|p| {
                vec![
                    Cell::Text(p.case.case_no.clone()),
                    Cell::Text(p.programme.clone()),
                    Cell::Text(p.payee.clone()),
                    p.bank_name.clone().map_or(Cell::Empty, Cell::Text),
                    p.bank_account.clone().map_or(Cell::Empty, Cell::Text),
                    Cell::Fen(p.case.amount.0),
                    p.case.decided_at.map_or(Cell::Empty, Cell::DateTime),
                ]
            })
            .collect(),
    };
    Ok(xlsx_download("relief-payments", &sheet)?)
}
