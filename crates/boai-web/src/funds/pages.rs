//! Funds pages: every fund's balances with the trial balance, a chart of
//! what each project raised, and a project's page with raised / allocated /
//! spent, a monthly chart and its journal entries.

use crate::auth::{PageUser, SignedIn, ViewFunds};
use crate::components::chart::{Bar, BarChart, LineChart};
use crate::i18n::t;
use crate::pages::{china_time, lang_of, render, Layout};
use crate::{ApiError, PageError};
use askama::Template;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use boai_domain::funds::TrialBalance;
use boai_domain::ids::ProjectId;
use boai_store::funds::{FundBalance, JournalEntry, Project};
use boai_store::Page;

#[derive(Template)]
#[template(path = "funds_overview.html")]
struct OverviewPage {
    layout: Layout,
    balances: Vec<FundBalance>,
    trial: TrialBalance,
    chart_svg: String,
}

pub async fn overview(headers: HeaderMap, user: PageUser<ViewFunds>) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let balances = user.store.fund_balances().await?;
    let trial = user.store.trial_balance().await?;
    let chart = BarChart {
        title: "各项目累计募集 (元)".to_owned(),
        unit: "元".to_owned(),
        bars: balances
            .iter()
            .filter(|b| b.project.raised.0 > 0)
            .map(|b| Bar {
                label: b.project.name.clone(),
                value: b.project.raised.0 / 100,
            })
            .collect(),
    };
    Ok(render(&OverviewPage {
        layout: Layout::new(lang, t(lang, "nav.funds"), "/funds", Some(&user.identity)),
        balances,
        trial,
        chart_svg: chart.to_svg(),
    }))
}

#[derive(Template)]
#[template(path = "project_detail.html")]
struct ProjectPage {
    layout: Layout,
    project: Project,
    chart_svg: String,
    entries: Vec<(JournalEntry, String)>,
    total_entries: u64,
}

pub async fn project(
    headers: HeaderMap,
    user: PageUser<SignedIn>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = lang_of(&headers);
    let id: ProjectId = id.parse().map_err(|_| ApiError::NotFound)?;
    let project = user.store.project_get(id).await?;
    let monthly = user.store.project_monthly(id).await?;
    let mut cumulative = 0i64;
    let chart = LineChart {
        title: "累计收入 (元, 含分配)".to_owned(),
        unit: "元".to_owned(),
        points: monthly
            .iter()
            .map(|(m, raised, _)| {
                cumulative += raised;
                (m.clone(), cumulative / 100)
            })
            .collect(),
    };
    let (entries, total_entries) = user.store.project_entries(id, Page::new(Some(1), Some(50))).await?;
    Ok(render(&ProjectPage {
        layout: Layout::new(lang, project.name.clone(), "/funds", Some(&user.identity)),
        project,
        chart_svg: chart.to_svg(),
        entries: entries
            .into_iter()
            .map(|e| {
                let at = china_time(e.at);
                (e, at)
            })
            .collect(),
        total_entries,
    }))
}
