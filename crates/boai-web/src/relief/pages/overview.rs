//! The staff overview (figures and charts per programme) and the case list.

use super::*;
use crate::query::PageQuery;

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
