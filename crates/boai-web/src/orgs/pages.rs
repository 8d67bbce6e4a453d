//! Organisation pages: the tree browser, the list (search, level filter,
//! paging, Excel export), one organisation, and the new-organisation form
//! with errors next to each field.

use crate::auth::csrf::CsrfForm;
use crate::auth::{ManageOrgs, PageUser, ViewOrgs};
use crate::components::export::{Cell, Sheet};
use crate::components::list::{export_href, fetch_all, xlsx_download, CellView, ListQuery, ListView, Pager};
use crate::i18n::t;
use crate::pages::{china_time, lang_of, render, Layout};
use crate::query::PageQuery;
use crate::{ApiError, PageError};
use askama::Template;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::accounts::Permission;
use boai_domain::ids::OrgId;
use boai_domain::orgs::{Org, OrgForCreate, OrgInput, OrgKind, OrgLevel};
use boai_domain::validation::FieldErrors;
use boai_store::orgs::OrgFilter;
use boai_store::{Page, StoreError};
use serde::Deserialize;
use std::collections::HashMap;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Nested lists of the organisations, roots being those whose parent is not
/// among them.
fn tree_html(orgs: &[Org]) -> String {
    let ids: std::collections::HashSet<OrgId> = orgs.iter().map(|o| o.id).collect();
    let mut children: HashMap<Option<OrgId>, Vec<&Org>> = HashMap::new();
    for org in orgs {
        let parent = org.parent_id.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(org);
    }
    fn walk(out: &mut String, parent: Option<OrgId>, children: &HashMap<Option<OrgId>, Vec<&Org>>, depth: usize) {
        let Some(list) = children.get(&parent) else { return };
        out.push_str(if depth == 0 { "<ul class=\"org-tree\">" } else { "<ul>" });
        for org in list {
            let has_children = children.contains_key(&Some(org.id));
            out.push_str("<li>");
            // The link stands before the disclosure: a link inside <summary>
            // is an interactive control nested in another (axe: nested-interactive).
            out.push_str(&format!(
                "<a href=\"/orgs/{}\">{}</a> <small class=\"kind\">{}</small>",
                org.id,
                escape(&org.name),
                org.kind.label_zh()
            ));
            if has_children && depth > 0 {
                let n = children.get(&Some(org.id)).map(Vec::len).unwrap_or_default();
                out.push_str(&format!(
                    "<details><summary><small class=\"count\">下级 {n} 个</small></summary>"
                ));
                walk(out, Some(org.id), children, depth + 1);
                out.push_str("</details>");
            } else {
                walk(out, Some(org.id), children, depth + 1);
            }
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    let mut out = String::new();
    walk(&mut out, None, &children, 0);
    out
}

#[derive(Template)]
#[template(path = "orgs_tree.html")]
struct TreePage {
    layout: Layout,
    tree: String,
    can_create: bool,
}

pub async fn tree(headers: HeaderMap, user: PageUser<ViewOrgs>) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let orgs = user.store.orgs_tree().await?;
    Ok(render(&TreePage {
        layout: Layout::new(lang, t(lang, "orgs.tree"), "/orgs", Some(&user.identity)),
        tree: tree_html(&orgs),
        can_create: user.identity.actor.role.can(Permission::ManageOrgs),
    }))
}

#[derive(Debug, Deserialize)]
pub struct OrgListQuery {
    #[serde(flatten)]
    list: ListQuery,
    level: Option<String>,
}

#[derive(Template)]
#[template(path = "orgs_list.html")]
struct ListPage {
    layout: Layout,
    q: String,
    level: String,
    list: ListView,
}

fn columns(lang: crate::i18n::Lang) -> Vec<String> {
    ["orgs.code", "orgs.name", "orgs.level", "orgs.kind", "audit.at"]
        .iter()
        .map(|k| t(lang, k).to_owned())
        .collect()
}

pub async fn list(
    headers: HeaderMap,
    user: PageUser<ViewOrgs>,
    PageQuery(q): PageQuery<OrgListQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let level = q.level.as_deref().and_then(OrgLevel::parse);
    let filter = OrgFilter {
        q: q.list.q.clone(),
        level,
        parent_id: None,
    };
    let params = [
        ("q", q.list.q().to_owned()),
        ("level", level.map(|l| l.as_str().to_owned()).unwrap_or_default()),
    ];
    if q.list.wants_xlsx() {
        let all = fetch_all(|p| user.store.orgs_list(&filter, p), 100_000).await?;
        let rows = all
            .iter()
            .map(|o| {
                vec![
                    Cell::Text(o.code.clone()),
                    Cell::Text(o.name.clone()),
                    Cell::Text(o.level.label_zh().to_owned()),
                    Cell::Text(o.kind.label_zh().to_owned()),
                    Cell::DateTime(o.created_at),
                ]
            })
            .collect();
        let sheet = Sheet {
            name: t(lang, "orgs.list").to_owned(),
            columns: columns(lang),
            rows,
        };
        return Ok(xlsx_download("组织列表", &sheet)?);
    }
    let page = q.list.page();
    let (items, total) = user.store.orgs_list(&filter, page).await?;
    let rows = items
        .iter()
        .map(|o| {
            vec![
                CellView::text(&o.code),
                CellView::link(&o.name, format!("/orgs/{}", o.id)),
                CellView::text(o.level.label_zh()),
                CellView::text(o.kind.label_zh()),
                CellView::text(china_time(o.created_at)),
            ]
        })
        .collect();
    Ok(render(&ListPage {
        layout: Layout::new(lang, t(lang, "orgs.list"), "/orgs/list", Some(&user.identity)),
        q: q.list.q().to_owned(),
        level: level.map(|l| l.as_str().to_owned()).unwrap_or_default(),
        list: ListView {
            columns: columns(lang),
            rows,
            pager: Pager::new("/orgs/list", &params, page, total),
            export_href: export_href("/orgs/list", &params),
        },
    }))
}

#[derive(Template)]
#[template(path = "org_detail.html")]
struct DetailPage {
    layout: Layout,
    org: Org,
    parent: Option<Org>,
    children: Vec<Org>,
    created: String,
    can_create: bool,
    /// A branch's units: how many, by type (SVG), 五有 compliance.
    network: Option<BranchNetwork>,
    /// Pages of the children (a branch may hold hundreds of units).
    children_pager: crate::components::list::Pager,
    /// A branch's dues this year (when the viewer may see members).
    dues: Option<BranchDues>,
}

/// Dues collected vs expected for the year, with a chart.
struct BranchDues {
    summary: boai_domain::members::DuesSummary,
    expected: String,
    collected: String,
    svg: String,
}

/// The page of the children list.
#[derive(Debug, Deserialize)]
pub struct DetailQuery {
    page: Option<u64>,
}

/// A branch's grassroots units on its page.
struct BranchNetwork {
    count: usize,
    svg: String,
    compliance: boai_domain::network::Compliance,
}

pub async fn detail(
    headers: HeaderMap,
    user: PageUser<ViewOrgs>,
    Path(id): Path<String>,
    PageQuery(dq): PageQuery<DetailQuery>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let id: OrgId = id.parse().map_err(|_| ApiError::NotFound)?;
    let org = user.store.org_get(id).await?;
    let parent = match org.parent_id {
        Some(p) => match user.store.org_get(p).await {
            Ok(parent) => Some(parent),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let children_page = Page::new(dq.page, Some(100));
    let (children, children_total) = user
        .store
        .orgs_list(
            &OrgFilter {
                parent_id: Some(org.id),
                ..OrgFilter::default()
            },
            children_page,
        )
        .await?;
    let children_pager =
        crate::components::list::Pager::new(&format!("/orgs/{}", org.id), &[], children_page, children_total);
    let dues = if org.level != OrgLevel::Unit && user.identity.actor.role.can(Permission::ViewMembers) {
        let year = user.store.dues_year();
        let summary = user.store.dues_summary(year, Some(org.id)).await?;
        let svg = crate::components::chart::BarChart {
            title: format!("{year} 年会费 (元)"),
            unit: "元".to_owned(),
            bars: vec![
                crate::components::chart::Bar {
                    label: "应收".to_owned(),
                    value: summary.expected_fen / 100,
                },
                crate::components::chart::Bar {
                    label: "实收".to_owned(),
                    value: summary.collected_fen / 100,
                },
            ],
        }
        .to_svg();
        Some(BranchDues {
            expected: boai_domain::money::Fen(summary.expected_fen).display_yuan(),
            collected: boai_domain::money::Fen(summary.collected_fen).display_yuan(),
            summary,
            svg,
        })
    } else {
        None
    };
    let network = if org.level == OrgLevel::District {
        let units = user
            .store
            .network_units(&boai_store::network::UnitFilter {
                branch_id: Some(org.id),
                ..Default::default()
            })
            .await?;
        let mut compliance = boai_domain::network::Compliance::default();
        for u in &units {
            compliance.add(u.details.status, u.score.passed);
        }
        let svg = crate::network::pages::kind_chart(t(lang, "network.by_kind"), &units);
        Some(BranchNetwork {
            count: units.len(),
            svg,
            compliance,
        })
    } else {
        None
    };
    Ok(render(&DetailPage {
        network,
        children_pager,
        dues,
        layout: Layout::new(lang, org.name.clone(), "/orgs", Some(&user.identity)),
        created: china_time(org.created_at),
        can_create: user.identity.actor.role.can(Permission::ManageOrgs) && org.level.child().is_some(),
        org,
        parent,
        children,
    }))
}

#[derive(Template)]
#[template(path = "org_new.html")]
struct NewPage {
    layout: Layout,
    parents: Vec<Org>,
    kinds: Vec<(&'static str, &'static str)>,
    input: OrgFormValues,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
pub struct OrgFormValues {
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    kind: String,
}

async fn new_page(
    user: &PageUser<ManageOrgs>,
    headers: &HeaderMap,
    input: OrgFormValues,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let lang = lang_of(headers);
    let parents = user
        .store
        .orgs_tree()
        .await?
        .into_iter()
        .filter(|o| o.level.child().is_some())
        .collect();
    let kinds = OrgKind::ALL
        .iter()
        .filter(|k| k.level() != OrgLevel::City)
        .map(|k| (k.as_str(), k.label_zh()))
        .collect();
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&NewPage {
        layout: Layout::new(lang, t(lang, "orgs.new"), "/orgs", Some(&user.identity)),
        parents,
        kinds,
        input,
        errors,
    });
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Deserialize)]
pub struct NewQuery {
    parent_id: Option<String>,
}

pub async fn new_form(
    headers: HeaderMap,
    user: PageUser<ManageOrgs>,
    PageQuery(q): PageQuery<NewQuery>,
) -> Result<Response, PageError> {
    let input = OrgFormValues {
        parent_id: q.parent_id.unwrap_or_default(),
        ..OrgFormValues::default()
    };
    new_page(&user, &headers, input, FieldErrors::new()).await
}

pub async fn create(
    headers: HeaderMap,
    user: PageUser<ManageOrgs>,
    CsrfForm(form): CsrfForm<OrgFormValues>,
) -> Result<Response, PageError> {
    let kind = OrgKind::parse(form.kind.trim());
    let input = OrgInput {
        name: Some(form.name.clone()),
        code: Some(form.code.clone()),
        parent_id: Some(form.parent_id.clone()),
        level: kind.map(|k| k.level().as_str().to_owned()).or(Some("unit".to_owned())),
        kind: Some(form.kind.clone()),
    };
    let parsed = match OrgForCreate::parse(&input) {
        Ok(parsed) => parsed,
        Err(errors) => return new_page(&user, &headers, form, errors).await,
    };
    match user.store.org_create(parsed, None).await {
        Ok(org) => Ok(Redirect::to(&format!("/orgs/{}", org.id)).into_response()),
        Err(StoreError::Invalid(errors)) => new_page(&user, &headers, form, errors).await,
        Err(e) => Err(e.into()),
    }
}
