//! Major donors (大额捐赠人): the list by cumulative giving with recognition
//! titles, each donor's history, totals and visits, follow-up reminders, the
//! configurable recognition levels, and the yearly statement PDF. Pages
//! under `/fundraising/major-donors`, API under `/api/v1/giving/…`.

use crate::api::{json_response, ApiJson, ApiPath, ApiQuery};
use crate::auth::csrf::CsrfForm;
use crate::auth::{Authorized, PageUser, RecordGifts, ViewGifts};
use crate::components::statement::{render_statement, StatementData, StatementRow};
use crate::pages::{lang_of, render, Layout};
use crate::{ApiError, AppState, PageError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use boai_domain::fundraising::major_donors::{RecognitionLevel, VisitForCreate, VisitInput};
use boai_domain::ids::DonorId;
use boai_domain::money::Fen;
use boai_store::fundraising::major_donors::{DonorGiving, DonorTotals, Visit};
use boai_store::{Page, ScopedStore};
use serde::Deserialize;

/// The routes (merged into the app's router).
pub fn routes() -> Vec<crate::routes::Route> {
    use crate::routes::{get, post, put, Access::Needs};
    use boai_domain::accounts::Permission as P;
    vec![
        get("/fundraising/major-donors", Needs(P::ViewGifts), list_page),
        get("/fundraising/major-donors/{id}", Needs(P::ViewGifts), donor_page),
        post(
            "/fundraising/major-donors/{id}/visits",
            Needs(P::RecordGifts),
            visit_form,
        ),
        post("/fundraising/visits/{id}/done", Needs(P::RecordGifts), done_form),
        get(
            "/fundraising/major-donors/{id}/statement/{year}",
            Needs(P::ViewGifts),
            statement_pdf,
        ),
        get("/api/v1/giving/donors", Needs(P::ViewGifts), api_totals),
        get("/api/v1/giving/donors/{id}", Needs(P::ViewGifts), api_donor),
        post("/api/v1/giving/donors/{id}/visits", Needs(P::RecordGifts), api_visit),
        get("/api/v1/giving/reminders", Needs(P::ViewGifts), api_reminders),
        get("/api/v1/giving/recognition-levels", Needs(P::ViewGifts), api_levels),
        put(
            "/api/v1/giving/recognition-levels",
            Needs(P::RecordGifts),
            api_levels_set,
        ),
        get(
            "/api/v1/giving/donors/{id}/statement/{year}",
            Needs(P::ViewGifts),
            api_statement,
        ),
    ]
}

#[derive(Debug, Default, Deserialize)]
pub struct TotalsQuery {
    /// Only donors who gave at least this much (fen); default the lowest level.
    pub min_fen: Option<i64>,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

async fn lowest(store: &ScopedStore) -> Result<Fen, ApiError> {
    Ok(Fen(store
        .recognition_levels()
        .await?
        .iter()
        .map(|l| l.threshold_fen)
        .min()
        .unwrap_or(0)))
}

fn totals_json(t: &DonorTotals) -> serde_json::Value {
    serde_json::json!({
        "donor_id": t.donor.id, "name": t.donor.name, "kind": t.donor.kind,
        "total_fen": t.total.0, "gifts": t.gifts, "first": t.first, "last": t.last, "level": t.level,
    })
}

/// `GET /api/v1/giving/donors`: cumulative giving per donor, largest first.
#[utoipa::path(get, path = "/api/v1/giving/donors", tag = "giving",
    params(("min_fen" = Option<i64>, Query, description = "at least this much (default: the lowest recognition level)"),
           ("page" = Option<u64>, Query, description = "page"), ("per_page" = Option<u64>, Query, description = "per page")),
    responses((status = 200, description = "`{items: [{donor_id, name, total_fen, gifts, level}], total}`"), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn api_totals(auth: Authorized<ViewGifts>, ApiQuery(q): ApiQuery<TotalsQuery>) -> Result<Response, ApiError> {
    let min = match q.min_fen {
        Some(m) => Fen(m),
        None => lowest(&auth.store).await?,
    };
    let (items, total) = auth.store.donor_totals(min, Page::new(q.page, q.per_page)).await?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"items": items.iter().map(totals_json).collect::<Vec<_>>(), "total": total}),
    ))
}

fn giving_json(g: &DonorGiving) -> serde_json::Value {
    serde_json::json!({
        "totals": totals_json(&g.totals),
        "next_level": g.next_level.as_ref().map(|(t, f)| serde_json::json!({"title": t, "missing_fen": f.0})),
        "history": g.history.iter().map(|x| serde_json::json!({
            "id": x.id, "certificate_no": x.certificate_no, "received_on": x.received_on,
            "project_name": x.project_name, "channel": x.channel, "amount_fen": x.amount.0,
            "refunded_fen": x.refunded.0, "status": x.status, "ledger_index": x.ledger_index,
        })).collect::<Vec<_>>(),
        "visits": g.visits,
    })
}

#[utoipa::path(get, path = "/api/v1/giving/donors/{id}", tag = "giving",
    params(("id" = uuid::Uuid, Path, description = "the donor")),
    responses((status = 200, description = "totals, level, history, visits"), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn api_donor(auth: Authorized<ViewGifts>, ApiPath(id): ApiPath<uuid::Uuid>) -> Result<Response, ApiError> {
    let giving = auth.store.donor_giving(DonorId(id)).await?;
    Ok(json_response(StatusCode::OK, &giving_json(&giving)))
}

/// A visit, as sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VisitBody {
    pub visited_on: Option<String>,
    pub visitor: Option<String>,
    pub notes: Option<String>,
    pub follow_up_on: Option<String>,
}

fn visit_input(b: VisitBody) -> VisitInput {
    VisitInput {
        visited_on: b.visited_on,
        visitor: b.visitor,
        notes: b.notes,
        follow_up_on: b.follow_up_on,
    }
}

#[utoipa::path(post, path = "/api/v1/giving/donors/{id}/visits", tag = "giving", request_body = VisitBody,
    params(("id" = uuid::Uuid, Path, description = "the donor")),
    responses((status = 201, description = "the visit"), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = [])))]
pub async fn api_visit(
    auth: Authorized<RecordGifts>,
    ApiPath(id): ApiPath<uuid::Uuid>,
    body: ApiJson<VisitBody>,
) -> Result<Response, ApiError> {
    let today = auth.store.today();
    let visit = VisitForCreate::parse(&visit_input(body.value), today)?;
    let saved = auth.store.donor_visit_add(DonorId(id), visit).await?;
    Ok(json_response(StatusCode::CREATED, &saved))
}

#[utoipa::path(get, path = "/api/v1/giving/reminders", tag = "giving",
    responses((status = 200, description = "follow-ups due today or earlier"), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn api_reminders(auth: Authorized<ViewGifts>) -> Result<Response, ApiError> {
    let items = auth.store.visit_reminders().await?;
    let total = items.len();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({"items": items, "total": total}),
    ))
}

#[utoipa::path(get, path = "/api/v1/giving/recognition-levels", tag = "giving",
    responses((status = 200, description = "`[{threshold_fen, title}]`"), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn api_levels(auth: Authorized<ViewGifts>) -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::OK, &auth.store.recognition_levels().await?))
}

#[utoipa::path(put, path = "/api/v1/giving/recognition-levels", tag = "giving",
    request_body(content = Object, description = "`[{threshold_fen, title}]`"),
    responses((status = 200), (status = 401), (status = 403), (status = 422)), security(("bearer" = [])))]
pub async fn api_levels_set(
    auth: Authorized<RecordGifts>,
    body: ApiJson<Vec<RecognitionLevel>>,
) -> Result<Response, ApiError> {
    let levels = auth.store.recognition_levels_set(body.value).await?;
    Ok(json_response(StatusCode::OK, &levels))
}

async fn statement(state: &AppState, store: &ScopedStore, id: uuid::Uuid, year: &str) -> Result<Response, ApiError> {
    let year: i32 = year
        .trim_end_matches(".pdf")
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or(ApiError::NotFound)?;
    let (donor, gifts) = store.donor_year_gifts(DonorId(id), year).await?;
    let font = state
        .certificate_font()
        .map_err(|e| ApiError::Internal(format!("certificate font: {e}")))?;
    let total: i64 = gifts.iter().map(|g| g.amount.0).sum();
    let refunded: i64 = gifts.iter().map(|g| g.refunded.0).sum();
    let data = StatementData {
        society_name: state.store.society_name().await?,
        donor_name: donor.name.clone(),
        year,
        rows: gifts
            .iter()
            .map(|g| StatementRow {
                date: g.received_on.to_string(),
                certificate_no: g.certificate_no.clone(),
                project: g.project_name.clone(),
                channel: g.channel.label_zh().to_owned(),
                amount: g.amount.display_yuan(),
                refunded: if g.refunded.0 > 0 {
                    g.refunded.display_yuan()
                } else {
                    "—".to_owned()
                },
            })
            .collect(),
        total: Fen(total).display_yuan(),
        total_refunded: Fen(refunded).display_yuan(),
        net: Fen(total - refunded).display_yuan(),
        issued_on: store.today().to_string(),
    };
    let bytes = tokio::task::spawn_blocking(move || render_statement(&data, &font))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(format!("statement: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"statement-{year}.pdf\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/giving/donors/{id}/statement/{year}", tag = "giving",
    params(("id" = uuid::Uuid, Path, description = "the donor"), ("year" = String, Path, description = "e.g. 2026 or 2026.pdf")),
    responses((status = 200, content_type = "application/pdf"), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn api_statement(
    State(state): State<AppState>,
    auth: Authorized<ViewGifts>,
    ApiPath((id, year)): ApiPath<(uuid::Uuid, String)>,
) -> Result<Response, ApiError> {
    statement(&state, &auth.store, id, &year).await
}

pub async fn statement_pdf(
    State(state): State<AppState>,
    user: PageUser<ViewGifts>,
    Path((id, year)): Path<(uuid::Uuid, String)>,
) -> Result<Response, PageError> {
    Ok(statement(&state, &user.store, id, &year).await?)
}

#[derive(Template)]
#[template(path = "major_donors.html")]
struct ListPage {
    layout: Layout,
    csrf: String,
    donors: Vec<DonorTotals>,
    total: u64,
    levels: Vec<RecognitionLevel>,
    reminders: Vec<Visit>,
}

pub async fn list_page(headers: HeaderMap, user: PageUser<ViewGifts>) -> Result<Response, PageError> {
    let min = lowest(&user.store).await?;
    let (donors, total) = user.store.donor_totals(min, Page::new(None, Some(100))).await?;
    Ok(render(&ListPage {
        layout: Layout::new(
            lang_of(&headers),
            "大额捐赠人",
            "/fundraising/major-donors",
            Some(&user.identity),
        ),
        csrf: user.identity.csrf_token().to_owned(),
        donors,
        total,
        levels: user.store.recognition_levels().await?,
        reminders: user.store.visit_reminders().await?,
    }))
}

#[derive(Template)]
#[template(path = "major_donor.html")]
struct DonorPage {
    layout: Layout,
    csrf: String,
    giving: DonorGiving,
    years: Vec<i32>,
    errors: boai_domain::validation::FieldErrors,
}

async fn donor_view<N: crate::auth::Need>(
    headers: &HeaderMap,
    user: &PageUser<N>,
    id: uuid::Uuid,
    errors: boai_domain::validation::FieldErrors,
) -> Result<Response, PageError> {
    use chrono::Datelike;
    let giving = user.store.donor_giving(DonorId(id)).await?;
    let mut years: Vec<i32> = giving.history.iter().map(|g| g.received_on.year()).collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    years.dedup();
    let failed = !errors.is_empty();
    let mut response = render(&DonorPage {
        layout: Layout::new(
            lang_of(headers),
            giving.totals.donor.name.clone(),
            "/fundraising/major-donors",
            Some(&user.identity),
        ),
        csrf: user.identity.csrf_token().to_owned(),
        giving,
        years,
        errors,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

pub async fn donor_page(
    headers: HeaderMap,
    user: PageUser<ViewGifts>,
    Path(id): Path<uuid::Uuid>,
) -> Result<Response, PageError> {
    donor_view(&headers, &user, id, Default::default()).await
}

#[derive(Debug, Deserialize)]
pub struct VisitForm {
    #[serde(default)]
    pub visited_on: String,
    #[serde(default)]
    pub visitor: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub follow_up_on: String,
}

pub async fn visit_form(
    headers: HeaderMap,
    user: PageUser<RecordGifts>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(form): CsrfForm<VisitForm>,
) -> Result<Response, PageError> {
    let today = user.store.today();
    let opt = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let input = VisitInput {
        visited_on: opt(form.visited_on),
        visitor: opt(form.visitor),
        notes: opt(form.notes),
        follow_up_on: opt(form.follow_up_on),
    };
    match VisitForCreate::parse(&input, today) {
        Err(errors) => donor_view(&headers, &user, id, errors).await,
        Ok(visit) => {
            user.store.donor_visit_add(DonorId(id), visit).await?;
            Ok(Redirect::to(&format!("/fundraising/major-donors/{id}")).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct DoneForm {}

pub async fn done_form(
    user: PageUser<RecordGifts>,
    Path(id): Path<uuid::Uuid>,
    CsrfForm(_): CsrfForm<DoneForm>,
) -> Result<Response, PageError> {
    user.store.visit_follow_up_done(id).await?;
    Ok(Redirect::to("/fundraising/major-donors").into_response())
}

/// `¥1,234.56` of fen (for templates).
pub fn yuan(fen: impl std::borrow::Borrow<i64>) -> String {
    Fen(*fen.borrow()).display_yuan()
}
