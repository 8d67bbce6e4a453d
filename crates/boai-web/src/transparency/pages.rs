//! Transparency pages: the public list of disclosures (filters by kind and
//! project, Excel export), one disclosure with its attachment, the staff form
//! that publishes one with a file (multipart, CSRF-checked, errors next to
//! each field, nothing written on bad input) and the deadlines of every
//! project in scope, overdue ones in red, exportable to Excel.

use crate::auth::csrf::CsrfMultipart;
use crate::auth::{ManageProjects, MaybeCaller, PageUser, ViewFunds};
use crate::components::export::{Cell, Sheet};
use crate::components::list::{export_href, fetch_all, xlsx_download, CellView, ListView, Pager};
use crate::i18n::{t, Lang};
use crate::pages::{lang_of, render, Layout};
use crate::query::PageQuery;
use crate::transparency::{file_response, file_url};
use crate::{ApiError, AppState, PageError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::ids::ProjectId;
use boai_domain::transparency::{DisclosureForCreate, DisclosureId, DisclosureInput, DisclosureKind, FileInput};
use boai_domain::validation::FieldErrors;
use boai_store::transparency::{Disclosure, DisclosureFilter, ProjectDeadline};
use boai_store::{Page, StoreError};
use serde::Deserialize;

fn kind_label(lang: Lang, kind: DisclosureKind) -> &'static str {
    match lang {
        Lang::Zh => kind.label_zh(),
        Lang::En => kind.label_en(),
    }
}

fn kinds(lang: Lang) -> Vec<(&'static str, &'static str)> {
    DisclosureKind::ALL
        .iter()
        .map(|k| (k.as_str(), kind_label(lang, *k)))
        .collect()
}

/// A size in bytes as people read it.
fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{:.0} KB", (bytes as f64 / 1024.0).ceil())
    } else {
        format!("{bytes} B")
    }
}

fn columns(lang: Lang) -> Vec<String> {
    [
        "transparency.published_on",
        "transparency.kind",
        "transparency.title",
        "transparency.project",
        "transparency.org",
        "transparency.file",
    ]
    .iter()
    .map(|k| t(lang, k).to_owned())
    .collect()
}

#[derive(Template)]
#[template(path = "disclosures_list.html")]
struct ListPage {
    layout: Layout,
    kind: String,
    project_id: String,
    kinds: Vec<(&'static str, &'static str)>,
    projects: Vec<(ProjectId, String)>,
    list: ListView,
    can_publish: bool,
    can_view_deadlines: bool,
}

/// The public list of disclosures (`?format=xlsx` for Excel).
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCaller(caller): MaybeCaller,
    PageQuery(q): PageQuery<ListQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let filter = q.filter();
    let view_kind = filter.kind.map(|k| k.as_str().to_owned()).unwrap_or_default();
    let view_project = filter.project_id.map(|p| p.to_string()).unwrap_or_default();
    let params = [("kind", view_kind.clone()), ("project_id", view_project.clone())];
    if q.format.as_deref() == Some("xlsx") {
        let all = fetch_all(|p| state.store.public_disclosures(&filter, p), 10_000).await?;
        let rows = all
            .iter()
            .map(|d| {
                vec![
                    Cell::Date(d.published_on),
                    Cell::Text(kind_label(lang, d.kind).to_owned()),
                    Cell::Text(d.title.clone()),
                    Cell::Text(d.project_name.clone().unwrap_or_default()),
                    Cell::Text(d.org_name.clone()),
                    Cell::Text(d.file.as_ref().map(|f| f.name.clone()).unwrap_or_default()),
                ]
            })
            .collect();
        return Ok(xlsx_download(
            "信息公开",
            &Sheet {
                name: "信息公开".to_owned(),
                columns: columns(lang),
                rows,
            },
        )?);
    }
    let page = Page::new(q.page, q.per_page);
    let (items, total) = state.store.public_disclosures(&filter, page).await?;
    let rows = items
        .iter()
        .map(|d| {
            vec![
                CellView::text(d.published_on.to_string()),
                CellView::text(kind_label(lang, d.kind)),
                CellView::link(&d.title, format!("/transparency/disclosures/{}", d.id)),
                CellView::text(d.project_name.clone().unwrap_or_else(|| "—".to_owned())),
                CellView::text(&d.org_name),
                match &d.file {
                    Some(f) => CellView::link(format!("{} ({})", f.name, human_size(f.size)), file_url(d.id)),
                    None => CellView::text("—"),
                },
            ]
        })
        .collect();
    let role = caller.as_ref().map(|c| c.actor.role);
    Ok(render(&ListPage {
        layout: Layout::new(
            lang,
            t(lang, "transparency.disclosures"),
            "/transparency/disclosures",
            caller.as_ref(),
        ),
        kind: view_kind,
        project_id: view_project,
        kinds: kinds(lang),
        projects: state.store.public_disclosure_projects().await?,
        list: ListView {
            columns: columns(lang),
            rows,
            pager: Pager::new("/transparency/disclosures", &params, page, total),
            export_href: export_href("/transparency/disclosures", &params),
        },
        can_publish: role.is_some_and(|r| r.can(Permission::ManageProjects)),
        can_view_deadlines: role.is_some_and(|r| r.can(Permission::ViewFunds)),
    }))
}

/// The public list's query: filters are lenient (a blank or unknown value
/// means all), as a filter form sends them.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    kind: Option<String>,
    project_id: Option<String>,
    page: Option<u64>,
    per_page: Option<u64>,
    format: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> DisclosureFilter {
        DisclosureFilter {
            kind: self.kind.as_deref().and_then(DisclosureKind::parse),
            project_id: self.project_id.as_deref().and_then(|p| p.trim().parse().ok()),
        }
    }
}

/// `?format=xlsx`.
#[derive(Debug, Default, Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

impl FormatQuery {
    fn wants_xlsx(&self) -> bool {
        self.format.as_deref() == Some("xlsx")
    }
}

#[derive(Template)]
#[template(path = "disclosure_detail.html")]
struct DetailPage {
    layout: Layout,
    d: Disclosure,
    kind_label: &'static str,
    file_href: String,
    file_size: String,
}

/// One published disclosure (public).
pub async fn detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    MaybeCaller(caller): MaybeCaller,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let id: DisclosureId = id.parse().map_err(|_| ApiError::NotFound)?;
    let d = state.store.public_disclosure(id).await?;
    Ok(render(&DetailPage {
        layout: Layout::new(lang, d.title.clone(), "/transparency/disclosures", caller.as_ref()),
        kind_label: kind_label(lang, d.kind),
        file_href: file_url(d.id),
        file_size: d.file.as_ref().map(|f| human_size(f.size)).unwrap_or_default(),
        d,
    }))
}

/// A published disclosure's attachment (public).
pub async fn file(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: DisclosureId = id.parse().map_err(|_| ApiError::NotFound)?;
    Ok(file_response(state.store.public_disclosure_file(id).await?)?)
}

/// The fields of the publishing form, kept to show again.
#[derive(Debug, Default, Clone)]
struct DisclosureForm {
    kind: String,
    project_id: String,
    title: String,
    body: String,
    published_on: String,
    file_name: String,
}

#[derive(Template)]
#[template(path = "disclosure_new.html")]
struct NewPage {
    layout: Layout,
    kinds: Vec<(&'static str, &'static str)>,
    projects: Vec<(ProjectId, String)>,
    form: DisclosureForm,
    errors: FieldErrors,
    today: String,
}

async fn new_page(
    state: &AppState,
    user: &PageUser<ManageProjects>,
    headers: &HeaderMap,
    form: DisclosureForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&NewPage {
        layout: Layout::new(
            lang,
            t(lang, "transparency.publish"),
            "/transparency/disclosures",
            Some(&user.identity),
        ),
        kinds: kinds(lang),
        projects: user.store.disclosure_projects().await?,
        form,
        errors,
        today: state.store.china_today().to_string(),
    });
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    project_id: Option<String>,
    kind: Option<String>,
}

/// The form to publish a disclosure (staff who may manage projects).
pub async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<ManageProjects>,
    PageQuery(q): PageQuery<NewQuery>,
) -> Result<Response, PageError> {
    let form = DisclosureForm {
        kind: q.kind.unwrap_or_else(|| "progress_report".to_owned()),
        project_id: q.project_id.unwrap_or_default(),
        published_on: state.store.china_today().to_string(),
        ..DisclosureForm::default()
    };
    new_page(&state, &user, &headers, form, FieldErrors::new()).await
}

/// Publishes a disclosure from the form.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<ManageProjects>,
    upload: CsrfMultipart,
) -> Result<Response, PageError> {
    let file = upload.file("file");
    let form = DisclosureForm {
        kind: upload.text("kind"),
        project_id: upload.text("project_id"),
        title: upload.text("title"),
        body: upload.text("body"),
        published_on: upload.text("published_on"),
        file_name: file.map(|f| f.file_name.clone()).unwrap_or_default(),
    };
    let input = DisclosureInput {
        kind: Some(form.kind.clone()),
        title: Some(form.title.clone()),
        body: Some(form.body.clone()),
        published_on: Some(form.published_on.clone()),
        project_id: Some(form.project_id.clone()),
        file: file.map(|f| FileInput {
            name: f.file_name.clone(),
            bytes: f.bytes.clone(),
        }),
    };
    let parsed = match DisclosureForCreate::parse(&input, state.store.china_today()) {
        Ok(p) => p,
        Err(errors) => return new_page(&state, &user, &headers, form, errors).await,
    };
    match user.store.disclosure_create(parsed, None).await {
        Ok(d) => Ok(Redirect::to(&format!("/transparency/disclosures/{}", d.id)).into_response()),
        Err(StoreError::Invalid(errors)) => new_page(&state, &user, &headers, form, errors).await,
        Err(e) => Err(e.into()),
    }
}

/// One row of the deadlines page.
struct DeadlineRow {
    d: ProjectDeadline,
    basis: &'static str,
    due: String,
    last: String,
    state: String,
}

#[derive(Template)]
#[template(path = "disclosure_deadlines.html")]
struct DeadlinesPage {
    layout: Layout,
    rows: Vec<DeadlineRow>,
    overdue: usize,
    rule_text: String,
    export_href: String,
    can_publish: bool,
}

fn deadline_state(lang: Lang, d: &ProjectDeadline) -> String {
    let dl = &d.deadline;
    if dl.overdue() {
        format!(
            "{} {} {}",
            t(lang, "transparency.overdue"),
            dl.overdue_days,
            t(lang, "transparency.days")
        )
    } else if dl.due_on.is_none() {
        t(lang, "transparency.done").to_owned()
    } else {
        format!(
            "{} {} {}",
            t(lang, "transparency.days_left"),
            dl.days_left,
            t(lang, "transparency.days")
        )
    }
}

fn basis_label(lang: Lang, d: &ProjectDeadline) -> &'static str {
    use boai_domain::transparency::DueBasis;
    match (lang, d.deadline.basis) {
        (Lang::Zh, b) => b.label_zh(),
        (Lang::En, DueBasis::NotStarted) => "Not started",
        (Lang::En, DueBasis::Ongoing) => "Periodic",
        (Lang::En, DueBasis::AfterEnd) => "Final (after end)",
        (Lang::En, DueBasis::Done) => "Final published",
    }
}

/// Every project's disclosure deadline in scope (`?format=xlsx` for Excel).
pub async fn deadlines(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: PageUser<ViewFunds>,
    PageQuery(format): PageQuery<FormatQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let rules = state.config.disclosure_rules;
    let all = user
        .store
        .disclosure_deadlines(&rules, state.store.china_today())
        .await?;
    if format.wants_xlsx() {
        let columns = [
            "transparency.project",
            "transparency.code",
            "transparency.status",
            "transparency.last",
            "transparency.basis",
            "transparency.due",
            "transparency.overdue_days",
        ]
        .iter()
        .map(|k| t(lang, k).to_owned())
        .collect();
        let rows = all
            .iter()
            .map(|d| {
                vec![
                    Cell::Text(d.project_name.clone()),
                    Cell::Text(d.project_code.clone()),
                    Cell::Text(d.status.label_zh().to_owned()),
                    d.last_disclosed_on.map_or(Cell::Empty, Cell::Date),
                    Cell::Text(basis_label(lang, d).to_owned()),
                    d.deadline.due_on.map_or(Cell::Empty, Cell::Date),
                    Cell::Int(d.deadline.overdue_days),
                ]
            })
            .collect();
        return Ok(xlsx_download(
            "信息公开期限",
            &Sheet {
                name: "信息公开期限".to_owned(),
                columns,
                rows,
            },
        )?);
    }
    let overdue = all.iter().filter(|d| d.deadline.overdue()).count();
    let rows = all
        .into_iter()
        .map(|d| DeadlineRow {
            basis: basis_label(lang, &d),
            due: d
                .deadline
                .due_on
                .map(|x| x.to_string())
                .unwrap_or_else(|| "—".to_owned()),
            last: d
                .last_disclosed_on
                .map(|x| x.to_string())
                .unwrap_or_else(|| "—".to_owned()),
            state: deadline_state(lang, &d),
            d,
        })
        .collect();
    Ok(render(&DeadlinesPage {
        layout: Layout::new(
            lang,
            t(lang, "transparency.deadlines"),
            "/transparency/deadlines",
            Some(&user.identity),
        ),
        rows,
        overdue,
        rule_text: match lang {
            Lang::Zh => format!(
                "募集中的项目至少每 {} 个月公开一次; 已结束的项目须在结束后 {} 个月内公开。",
                rules.ongoing_months, rules.after_end_months
            ),
            Lang::En => format!(
                "Open projects disclose at least every {} months; closed ones within {} months of their end.",
                rules.ongoing_months, rules.after_end_months
            ),
        },
        export_href: export_href("/transparency/deadlines", &[]),
        can_publish: user.identity.actor.role.can(Permission::ManageProjects),
    }))
}
