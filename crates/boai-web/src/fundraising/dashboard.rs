//! The fundraising dashboard (`/fundraising/dashboard`, `GET
//! /api/v1/giving/dashboard`): gifts in scope by channel, month, district and
//! project (SVG charts), the online share, the top projects and the bank
//! credits not yet reconciled.

use crate::api::json_response;
use crate::auth::{Authorized, PageUser, ViewGifts};
use crate::components::chart::{Bar, BarChart, LineChart};
use crate::pages::{lang_of, render, Layout};
use crate::{ApiError, PageError};
use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use boai_store::fundraising::dashboard::Dashboard;

/// The routes (merged into the app's router).
pub fn routes() -> Vec<crate::routes::Route> {
    use crate::routes::{get, Access::Needs};
    use boai_domain::accounts::Permission as P;
    vec![
        get("/fundraising/dashboard", Needs(P::ViewGifts), page),
        get("/api/v1/giving/dashboard", Needs(P::ViewGifts), api),
    ]
}

fn yuan(fen: i64) -> i64 {
    fen / 100
}

#[utoipa::path(get, path = "/api/v1/giving/dashboard", tag = "giving",
    responses((status = 200, description = "totals by channel, month, district and project; online share; unreconciled"),
        (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn api(auth: Authorized<ViewGifts>) -> Result<Response, ApiError> {
    let d = auth.store.fundraising_dashboard().await?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({
            "total_fen": d.total.0, "gifts": d.gifts, "online_fen": d.online.0,
            "online_share_permille": d.online_share_permille,
            "by_channel": d.by_channel.iter().map(|(c, f, n)| serde_json::json!({"channel": c, "amount_fen": f.0, "gifts": n})).collect::<Vec<_>>(),
            "by_month": d.by_month.iter().map(|(m, f)| serde_json::json!({"month": m, "amount_fen": f.0})).collect::<Vec<_>>(),
            "by_district": d.by_district.iter().map(|(n, f)| serde_json::json!({"district": n, "amount_fen": f.0})).collect::<Vec<_>>(),
            "top_projects": d.top_projects.iter().map(|(n, f)| serde_json::json!({"project": n, "amount_fen": f.0})).collect::<Vec<_>>(),
            "unreconciled_fen": d.unreconciled.0, "unreconciled_lines": d.unreconciled_lines,
        }),
    ))
}

#[derive(Template)]
#[template(path = "giving_dashboard.html")]
struct DashboardPage {
    layout: Layout,
    d: Dashboard,
    online_share: String,
    channel_svg: String,
    month_svg: String,
    district_svg: String,
    project_svg: String,
}

pub async fn page(headers: HeaderMap, user: PageUser<ViewGifts>) -> Result<Response, PageError> {
    let d = user.store.fundraising_dashboard().await?;
    let bars = |items: Vec<(String, i64)>| {
        items
            .into_iter()
            .map(|(label, v)| Bar { label, value: yuan(v) })
            .collect()
    };
    let channel_svg = BarChart {
        title: "按捐赠方式".to_owned(),
        unit: "元".to_owned(),
        bars: bars(
            d.by_channel
                .iter()
                .map(|(c, f, _)| (c.label_zh().to_owned(), f.0))
                .collect(),
        ),
    }
    .to_svg();
    let month_svg = LineChart {
        title: "近 12 个月捐赠".to_owned(),
        unit: "元".to_owned(),
        points: d.by_month.iter().map(|(m, f)| (m.clone(), yuan(f.0))).collect(),
    }
    .to_svg();
    let district_svg = BarChart {
        title: "按区县".to_owned(),
        unit: "元".to_owned(),
        bars: bars(
            d.by_district
                .iter()
                .map(|(n, f)| (n.trim_end_matches("红十字会").to_owned(), f.0))
                .collect(),
        ),
    }
    .to_svg();
    let project_svg = BarChart {
        title: "捐赠最多的项目".to_owned(),
        unit: "元".to_owned(),
        bars: bars(d.top_projects.iter().map(|(n, f)| (n.clone(), f.0)).collect()),
    }
    .to_svg();
    Ok(render(&DashboardPage {
        layout: Layout::new(
            lang_of(&headers),
            "募捐看板",
            "/fundraising/dashboard",
            Some(&user.identity),
        ),
        online_share: format!("{}.{}%", d.online_share_permille / 10, d.online_share_permille % 10),
        d,
        channel_svg,
        month_svg,
        district_svg,
        project_svg,
    }))
}
